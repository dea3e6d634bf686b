"""Every screen at 80×24, in both languages, shows its labels whole: no header, label,
dropdown prompt or footer key cut at the edge, no table column pushed off the screen, no
one-line text wrapped (see ``fit.py``). The worker's screens are those of the SVG
snapshots plus the lists and tabs they do not cover (and their conflicts with the
supervisor's changes: Today's line, the list, one conflict); the supervisor's are the team view,
its conflicts, quarantine and export; then the unlock and first-run screens and the
Today sync line in each of the hub's states."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import Static

from fieldapp.config import Config
from fieldapp.domain import NoteAction, NoteStatus, SupervisionNote
from fieldapp.domain.clock import FixedClock, SystemClock
from fieldapp.i18n import t
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp
from fieldapp.tui.dialogs.conflict import ConflictDialog
from fieldapp.tui.screens.conflicts import ConflictsScreen
from fieldapp.tui.widgets.tables import FitTable
from sync import team
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.tui.conftest import make_app, running, settle
from tests.tui.fit import problems
from tests.tui.test_snapshots import LANGS, SCREENS, elderly, keys, open_elderly, steps
from tests.tui.test_supervisor import make, supervised
from tests.tui.test_worker_conflicts import showing, with_a_conflict

__all__ = ["supervised"]  # the fixture, for the supervisor's screens

Step = Callable[[Pilot[None]], Awaitable[None]]


async def with_notes(pilot: Pilot[None]) -> None:
    """Supervision notes on the elderly resident's file, as long as they come: one past due
    on a need, one acknowledged, one with a long text and no due date."""
    app: FieldApp = pilot.app  # type: ignore[assignment]
    ws = app.workspace
    assert ws is not None
    person = elderly(app)
    file = ws.resident_file(person.id)
    assert file is not None and file.needs
    today = ws.today()
    ws.write_note(
        person.id,
        NoteAction.UPDATE_PLAN,
        "服务方案中的居家安全目标需要按照上次家访的发现重新调整，并写明负责人和时间。" * 2,
        due_date=today,
        target_id=file.needs[0].id,
    )
    seen = ws.write_note(person.id, NoteAction.EXPLAIN, "Why was the visit shortened?")
    ws.set_note_status(seen.id, NoteStatus.ACKNOWLEDGED)
    late = SupervisionNote(  # written a week ago, due two days ago
        resident_id=person.id,
        target_id=person.id,
        action=NoteAction.CALL,
        text="请电话回访家属。",
        created_at=ws.now() - dt.timedelta(days=7),
        due_date=today - dt.timedelta(days=2),
    )
    ws.save(late)
    await pilot.press("g")


WORKER: dict[str, Step] = {
    **SCREENS,
    "resident_interviews": steps(open_elderly("tab-interviews")),
    "resident_visits": steps(open_elderly("tab-visits")),
    "resident_plan": steps(open_elderly("tab-plan")),
    "needs_list": steps(keys("l")),
    "needs_list_overdue": steps(keys("l"), keys("o")),
    "residents_all": steps(keys("r")),
    "residents_archived": steps(keys("r"), keys("ctrl+o")),
    "palette": steps(keys("ctrl+p")),
    "today_inbox": steps(with_notes),
    "resident_notes": steps(with_notes, open_elderly("tab-notes")),
    # The worker's own conflicts with the supervisor's changes: Today's line, the list, one.
    "today_conflicts": steps(with_a_conflict),
    "conflicts": steps(with_a_conflict, keys("c"), showing(ConflictsScreen)),
    "conflict": steps(with_a_conflict, keys("c"), keys("enter"), showing(ConflictDialog)),
}
SUPERVISOR: dict[str, list[str]] = {
    "team": [],
    "conflicts": ["c"],
    "conflict": ["c", "enter"],
    "quarantine": ["q"],
    "export": ["x"],
    "needs_list": ["l"],
    "resident_file": ["r", "enter"],
    "resident_notes": ["r", "enter", "left", "left"],
    "form_note": ["r", "enter", "right", "w"],
}


def check(app: FieldApp) -> None:
    found = problems(app.screen)
    import os

    if found and os.environ.get("FIT_DUMP"):
        text = "\n".join(s.text for s in app.screen._compositor.render_strips())
        with open(os.environ["FIT_DUMP"], "a") as f:
            f.write(f"==== {found}\n{text}\n")
    assert found == [], f"{type(app.screen).__name__} at 80×24: {found}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(WORKER))
async def test_worker_screens_fit(demo_vault: Path, name: str, lang: str) -> None:
    app = make_app(demo_vault, lang=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await WORKER[name](pilot)
        check(app)
    app.close_vault()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(SUPERVISOR))
async def test_supervisor_screens_fit(supervised: Path, name: str, lang: str) -> None:
    app = make(supervised, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await steps(*(keys(k) for k in SUPERVISOR[name]))(pilot)
        check(app)
    app.close_vault()


@pytest.mark.parametrize("lang", LANGS)
async def test_unlock_and_first_run_fit(demo_vault: Path, tmp_path: Path, lang: str) -> None:
    for path in (demo_vault, tmp_path / "new"):
        app = FieldApp(
            config=Config(language=lang),
            vault_path=path,
            save_settings=False,
            clock=FixedClock(T0),
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            check(app)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", ["unknown", "online", "offline", "denied", "clock"])
async def test_sync_line_fits(demo_vault: Path, tmp_path: Path, lang: str, state: str) -> None:
    """The Today sync line of a worker joined to a team, in each of the hub's states (with
    a retry time where there is one): one row, whole."""
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=SystemClock())
    code = team.create_team(
        sup, "督导", {"endpoint": "http://127.0.0.1:9", "bucket": "fieldapp"}
    ).code()
    worker = Vault.open(demo_vault, PASSPHRASE)
    team.join(worker, code, "李娜")
    worker.close(compact=False)
    sup.close(compact=False)
    app = make_app(demo_vault, lang)
    app.hub.state = state  # type: ignore[assignment]
    async with app.run_test(size=(80, 24)) as pilot:
        app.hub.next_try = app.clock.monotonic() + 125
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        line = str(app.screen.query_one("#sync-status", Static).render())
        assert state == "unknown" or line.strip(), "the sync line is empty"
        check(app)
    app.close_vault()


@pytest.mark.parametrize("lang", LANGS)
async def test_sync_line_with_both_directions_fits(
    demo_vault: Path, tmp_path: Path, lang: str
) -> None:
    """The Today sync line once the supervisor's bundles came down (some applied, one
    refused), the hub online: on as many rows as it needs, each part whole."""
    from fieldapp.services.syncing import RECEIVED

    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=SystemClock())
    code = team.create_team(
        sup, "督导", {"endpoint": "http://127.0.0.1:9", "bucket": "fieldapp"}
    ).code()
    worker = Vault.open(demo_vault, PASSPHRASE)
    team.join(worker, code, "李娜")
    last = {"at": "2026-11-29T10:30:00", "applied": 12, "ops": 480, "held": 0, "quarantined": 1}
    worker.put_meta(RECEIVED, last)
    worker.close(compact=False)
    sup.close(compact=False)
    app = make_app(demo_vault, lang)
    app.hub.state = "online"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        line = str(app.screen.query_one("#sync-status", Static).render())
        whole = line.replace("\n", " · ")
        assert t("ui.down_status", n=12, when="11-29 10:30") in whole, line
        assert t("ui.down_status_refused", n=1) in whole, line
        check(app)
    app.close_vault()


async def test_a_table_fits_again_when_the_terminal_is_resized(demo_vault: Path) -> None:
    """The free-text column gives way at 80 columns ("…") and takes the room back at 160;
    the cursor stays on its row."""
    async with running(demo_vault, lang="zh_CN") as (app, pilot, _ws):
        table = app.screen.query_one("#urgent", FitTable)
        description = list(table.columns.values())[-1]
        narrow = description.width
        longest = max(
            cell_len(str(table.get_cell_at(Coordinate(r, 5)))) for r in range(table.row_count)
        )
        assert narrow < longest, "at 80 columns the descriptions should give way"
        table.move_cursor(row=2)
        await pilot.resize_terminal(160, 24)
        await settle(pilot)
        check(app)
        description = list(table.columns.values())[-1]
        assert description.width == longest and table.cursor_row == 2
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert list(table.columns.values())[-1].width == narrow
        check(app)
    app.close_vault()
