"""Conflicts on the worker (issue 14): the supervisor and the worker (offline) changed one
field of the worker's resident at once; once the downward bundle is in, Today says so, and
the supervisor's conflict review — the same screen and dialog — settles it by keyboard. The
resolution leaves in the worker's next bundle and the supervisor ends with the same record
and no conflict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Static

from fieldapp.domain.clock import FixedClock
from fieldapp.i18n import t
from fieldapp.store import Change, Vault
from fieldapp.tui.app import FieldApp
from fieldapp.tui.dialogs.conflict import ConflictDialog
from fieldapp.tui.screens.conflicts import ConflictsScreen
from fieldapp.tui.screens.today import TodayScreen
from sync import downward, merge, outbox, team
from sync.merge import Merger
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.tui.conftest import running, settle
from tests.tui.test_snapshots import LANGS, elderly

SUPERVISOR_NOTES = "督导：请核实独居情况"
WORKER_NOTES = "女儿每周来两次"


def supervisor_path(app: FieldApp) -> Path:
    """Where the supervisor's vault of a test is: beside the worker's."""
    return app.vault_path.parent / "supervisor"


def conflict_with_the_supervisor(app: FieldApp) -> str:
    """The worker's vault (open in ``app``) joins a team whose supervisor holds the elderly
    resident's file; the supervisor and the worker (offline) change its notes at once, and
    the supervisor's downward bundle is received. Returns the resident's id."""
    ws = app.workspace
    assert ws is not None
    worker = ws.vault
    rid = elderly(app).id
    sup, _ = Vault.create(supervisor_path(app), PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(T0))
    try:
        secrets = team.create_team(sup, "史家社区督导")
        _, code = team.join(worker, secrets.code(), "李娜")
        team.enrol(sup, code)
        sup.commit_ops(worker.history(rid))  # the file, as the worker's bundles brought it
        sup.commit([Change("resident", rid, {"notes": SUPERVISOR_NOTES})])
        worker.commit([Change("resident", rid, {"notes": WORKER_NOTES})])
        downward.cut_for(sup, worker.device_id, sup.history(rid))
        for seq in downward.pending_for(sup, worker.device_id):
            data = downward.bundle_for(sup, worker.device_id, seq)
            assert [o.kind for o in downward.receive(worker, data)] == ["applied"]
    finally:
        sup.close(compact=False)
    return rid


async def with_a_conflict(pilot: Pilot[None]) -> None:
    """A step (test_fit): the conflict above, then Today refreshed."""
    conflict_with_the_supervisor(pilot.app)  # type: ignore[arg-type]
    await pilot.press("g")


def showing(kind: type) -> Callable[[Pilot[None]], Awaitable[None]]:
    """A step (test_fit) that fails unless the app shows a screen of ``kind`` now: a key
    that opened nothing would leave the screen before it to be checked instead."""

    async def check(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app.screen, kind), pilot.app.screen

    return check


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.mark.parametrize("lang", LANGS)
async def test_the_worker_settles_its_conflict_from_today_and_the_supervisor_converges(
    demo_vault: Path, lang: str
) -> None:
    async with running(demo_vault, lang) as (app, pilot, ws):
        assert not app.screen.query_one("#today-conflicts", Static).display
        rid = conflict_with_the_supervisor(app)
        await pilot.press("g")
        await settle(pilot)
        line = app.screen.query_one("#today-conflicts", Static)
        assert line.display and str(line.render()) == t("ui.today_conflicts", n=1)

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        ((name, kind, field, values),) = rows(app.screen.query_one("#conflicts", DataTable))
        assert (name, kind, field) == (
            elderly(app).name,
            t("enum.RecordKind.resident"),
            t("field.resident.notes"),
        )
        assert set(values.split(" | ")) == {SUPERVISOR_NOTES, WORKER_NOTES}

        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConflictDialog)
        # Both values, with who wrote them: the supervisor as such, the worker by name.
        authors = {s.value: s.author for s in dialog.conflict.sides}
        assert authors == {
            SUPERVISOR_NOTES: t("ui.author_supervisor"),
            WORKER_NOTES: ws.records.profile()["name"],
        }
        shown = [str(o.prompt) for o in dialog.query_one("#sides", OptionList).options]
        for side, text in zip(dialog.conflict.sides, shown, strict=True):
            assert side.value in text and side.author in text
        keep = [s.value for s in dialog.conflict.sides].index(SUPERVISOR_NOTES)
        await pilot.press(*["down"] * keep, "enter")  # keep the supervisor's
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        assert app.screen.query_one("#conflicts", DataTable).row_count == 0

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert not app.screen.query_one("#today-conflicts", Static).display
        worker = ws.vault
        assert merge.conflicts(worker) == {}
        assert worker.get(rid)["notes"] == SUPERVISOR_NOTES  # type: ignore[index]
        assert (rid, "_resolved_notes") in {
            (o.record_id, o.field) for o in outbox.pending_ops(worker)
        }

        # The worker's next bundle reaches the supervisor: the same record, nothing open.
        outbox.cut(worker)
        sup = Vault.open(supervisor_path(app), PASSPHRASE, clock=FixedClock(T0))
        try:
            merger = Merger(sup)
            for seq in outbox.pending_bundles(worker):
                outcomes = merger.receive(outbox.bundle_bytes(worker, seq))
                assert [o.kind for o in outcomes] == ["applied"]
            assert merge.conflicts(sup) == {}
            assert sup.get(rid) == worker.get(rid)
        finally:
            sup.close(compact=False)


@pytest.mark.parametrize(("lang", "typed"), [("zh_CN", "冲突"), ("en", "conflicts")])
async def test_the_palette_offers_a_worker_its_conflicts(
    demo_vault: Path, lang: str, typed: str
) -> None:
    async with running(demo_vault, lang) as (app, pilot, _ws):
        conflict_with_the_supervisor(app)
        await pilot.press("ctrl+p")
        await pilot.press(*typed)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        assert app.screen.query_one("#conflicts", DataTable).row_count == 1
        # Escape goes back to Today here, not to a team view; in either language.
        for _ in LANGS:
            back = app.screen.active_bindings["escape"].binding
            assert back.tooltip == t("ui.conflicts_back_today") != t("tip.conflicts.back")
            assert app.screen.title == t("ui.conflicts_title")
            await pilot.press("f2")
            await settle(pilot)
            assert app.screen.query_one("#conflicts", DataTable).row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
