"""SVG snapshots of every screen and dialog at 80×24, in zh_CN and in English.

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from fieldapp.config import Config
from fieldapp.domain import Need, NeedStatus, Resident, Vulnerability
from fieldapp.domain.clock import FixedClock
from fieldapp.services.records import RecordService
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens import first_run
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from tests.conftest import T0
from tests.tui.conftest import make_app, settle

LANGS = ["zh_CN", "en"]
FIXED_KEY = (b"\x01" * 32, "0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-0G0G-1ABC")


def elderly(app: FieldApp) -> Resident:
    assert app.workspace is not None
    residents = RecordService(app.workspace.vault).all(Resident)
    return next(r for r in residents if Vulnerability.ELDERLY_ALONE in r.tags and r.household)


def steps(
    *actions: Callable[[Pilot[None]], Awaitable[None]],
) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
            await settle(pilot)

    return run


def keys(*pressed: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press(*pressed)

    return run


def open_elderly(tab: str | None = None) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        app: FieldApp = pilot.app  # type: ignore[assignment]
        app.open_resident(elderly(app).id)
        await settle(pilot)
        if tab:
            app.screen.query_one("#file-tabs").active = tab  # type: ignore[attr-defined]

    return run


def select_need(pilot_status: NeedStatus) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        app: FieldApp = pilot.app  # type: ignore[assignment]
        assert app.workspace is not None
        need = next(n for n in app.workspace.records.all(Need) if n.status is pilot_status)
        app.open_resident(need.resident_id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ResidentFileScreen)
        screen.query_one("#file-tabs").active = "tab-needs"  # type: ignore[attr-defined]
        table = screen.query_one("#needs")
        table.move_cursor(row=table.get_row_index(need.id))  # type: ignore[attr-defined]

    return run


async def open_checked_visit(pilot: Pilot[None]) -> None:
    """On the visits tab, Enter on the newest visit that has checklist answers."""
    screen = pilot.app.screen
    assert isinstance(screen, ResidentFileScreen) and screen.file is not None
    visit = next(v for v in screen.file.visits if v.checklist)
    table = screen.query_one("#visits", DataTable)
    table.move_cursor(row=table.get_row_index(visit.id))
    table.focus()
    await pilot.press("enter")


async def bad_phone(pilot: Pilot[None]) -> None:
    await pilot.press(*"赵六")
    box = pilot.app.screen.query_one("#f-phones", Input)
    box.focus()
    await pilot.press(*"12345", "ctrl+s")


SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "today": steps(),
    "residents": steps(keys("r"), keys("z")),
    "resident_file": steps(open_elderly()),
    "resident_history": steps(open_elderly("tab-history")),
    "resident_needs": steps(open_elderly("tab-needs")),
    "form_resident_invalid": steps(keys("n"), bad_phone),
    "form_need": steps(open_elderly(), keys("n")),
    "form_visit": steps(open_elderly(), keys("v")),
    "dialog_choose_template": steps(open_elderly(), keys("i")),
    "form_interview": steps(open_elderly(), keys("i"), keys("enter")),
    "form_plan": steps(open_elderly(), keys("p")),
    "dialog_status": steps(select_need(NeedStatus.IN_PROGRESS), keys("s")),
    "dialog_visit": steps(open_elderly("tab-visits"), open_checked_visit),
    "dialog_confirm": steps(keys("n"), keys("x"), keys("escape")),
    "help": steps(keys("question_mark")),
    "lock": steps(keys("ctrl+l")),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(snap_compare: Callable[..., bool], demo_vault: Path, name: str, lang: str) -> None:
    app = make_app(demo_vault, lang=lang)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=SCREENS[name])
    finally:
        app.close_vault()


@pytest.mark.parametrize("lang", LANGS)
def test_unlock(snap_compare: Callable[..., bool], demo_vault: Path, lang: str) -> None:
    app = FieldApp(
        config=Config(language=lang),
        vault_path=demo_vault,
        save_settings=False,
        clock=FixedClock(T0),
    )
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("step", ["language", "passphrase", "recovery", "profile"])
def test_first_run(
    snap_compare: Callable[..., bool],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    step: str,
) -> None:
    monkeypatch.setattr(first_run, "new_recovery_key", lambda: FIXED_KEY)
    monkeypatch.setattr(first_run.secrets, "SystemRandom", lambda: _FixedSample())
    app = FieldApp(
        config=Config(language=lang),
        vault_path=tmp_path / "new",
        save_settings=False,
        clock=FixedClock(T0),
    )

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        if step == "language":
            return
        pilot.app.screen.query_one(f"#lang-{lang}").press()  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press(*"river stone lantern")
        if step in ("recovery", "profile"):
            await pilot.press("enter", *"river stone lantern", "enter")
        if step == "profile":
            groups = FIXED_KEY[1].split("-")
            await pilot.press(*f"{groups[2]} {groups[9]}", "enter", *"李娜")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


class _FixedSample:
    def sample(self, population: range, k: int) -> list[int]:
        return [2, 9][:k]
