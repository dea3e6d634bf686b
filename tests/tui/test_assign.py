"""The supervisor assigns a resident from the file (key ``g``, or the palette): to a
worker of the team chosen by name, shared with another, taken back; a worker has no
such key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.i18n import t
from fieldapp.services import assignments
from fieldapp.tui.dialogs.choose import ChooseDialog
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from tests.tui.conftest import open_file, running, settle
from tests.tui.test_supervisor import R1, make, supervised  # noqa: F401 (a fixture)


def _options(dialog: ChooseDialog) -> list[str]:
    return [text for text, _ in dialog.options]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_supervisor_assigns_shares_and_takes_back_by_worker_name(
    supervised: Path,  # noqa: F811
    toasts: list[tuple[str, str]],
    lang: str,
) -> None:
    app = make(supervised, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        file = await open_file(pilot, R1)
        ws = app.workspace
        assert ws is not None
        name = ws.vault.get(R1)["name"]  # type: ignore[index]
        li, wang = (d.device_id for d in assignments.workers(ws.vault))
        assert t("cmd.assign", lang) in [c.title for c in app.get_system_commands(file)]
        await pilot.press("g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ChooseDialog)
        assert t("ui.assign_title", lang, name=name, holders=t("assign.nobody", lang)) == (
            dialog.heading
        )
        assert _options(dialog) == [
            t("ui.assign_to", lang, name="李娜"),
            t("ui.assign_to", lang, name="王芳"),
        ]
        await pilot.press("enter")  # 李娜
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen)
        held = assignments.current(ws.vault, R1)
        assert held is not None and (held.worker, held.shared_with) == (li, [])
        assert ("information", t("ui.assigned", lang, name=name, holders="李娜")) in toasts
        await pilot.press("g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ChooseDialog)
        assert _options(dialog) == [
            t("ui.assign_to", lang, name="王芳"),
            t("ui.assign_share", lang, name="王芳"),
            t("ui.assign_take_back", lang),
        ]
        await pilot.press("down", "enter")  # share with 王芳 too
        await settle(pilot)
        held = assignments.current(ws.vault, R1)
        assert held is not None and (held.worker, held.shared_with) == (li, [wang])
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, ChooseDialog)
        await pilot.press("end", "enter")  # take back
        await settle(pilot)
        held = assignments.current(ws.vault, R1)
        assert held is not None and held.holders() == frozenset()
        history = ws.vault.history(held.id)
        assert {op.device_id for op in history} == {ws.vault.device_id}
        assert not [text for severity, text in toasts if severity == "error"]
    app.close_vault()


async def test_a_worker_has_no_assign_key(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        rid = next(rid for rid, _ in ws.vault.iter_records("resident"))
        file = await open_file(pilot, rid)
        enabled = {b.binding.key for b in file.active_bindings.values() if b.enabled}
        assert "g" not in enabled
        assert t("cmd.assign") not in [c.title for c in app.get_system_commands(file)]
        await pilot.press("g")
        await settle(pilot)
        assert app.screen is file
        assert assignments.current(ws.vault, rid) is None
