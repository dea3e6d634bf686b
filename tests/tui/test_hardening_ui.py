"""The UI never loses or misdirects a worker's input (issue 11, part 12): a checklist
turned off hides what it would not save, the history names what was checked, and a
table keeps its cursor on the record the worker chose."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, DataTable, Select, TabbedContent

from fieldapp.domain import Need, Resident, Visit, Vulnerability
from fieldapp.domain.enums import NeedCategory
from fieldapp.tui.dialogs.confirm import ConfirmDialog
from fieldapp.tui.dialogs.status import StatusDialog
from fieldapp.tui.screens.form import FormScreen
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from tests.tui.conftest import make_app, open_file, running, settle, type_into
from tests.tui.test_flows import wait_for


def _elderly(app) -> Resident:  # type: ignore[no-untyped-def]
    ws = app.workspace
    return next(r for r in ws.records.all(Resident) if Vulnerability.ELDERLY_ALONE in r.tags)


async def _visit_form(pilot, app) -> tuple[Resident, FormScreen]:  # type: ignore[no-untyped-def]
    resident = _elderly(app)
    await open_file(pilot, resident.id)
    await pilot.press("v")
    await settle(pilot)
    form = app.screen
    assert isinstance(form, FormScreen)
    await type_into(pilot, "#f-purpose", "例行探访")
    return resident, form


def _visits(app, resident: Resident) -> list[Visit]:  # type: ignore[no-untyped-def]
    return [v for v in app.workspace.records.all(Visit) if v.resident_id == resident.id]


async def test_a_checklist_turned_off_hides_its_items_and_saves_none(demo_vault: Path) -> None:
    async with running(demo_vault, "zh_CN") as (app, pilot, _ws):
        resident, form = await _visit_form(pilot, app)
        before = {v.id for v in _visits(app, resident)}
        item = form.query_one("#f-chk_gas_off", Select)
        assert item.display and not item.has_class("-hidden")
        item.value = "no"  # answered, then the whole checklist turned off
        box = form.query_one("#f-checklist_title", Checkbox)
        box.focus()
        await pilot.press("space")
        await settle(pilot)
        assert not box.value
        hidden = form.query(".in-chk_gas_off")
        assert hidden and all(w.has_class("-hidden") for w in hidden)  # label and field
        assert form.query_one("#l-chk_gas_off").styles.display == "none"
        await pilot.press("ctrl+s")
        await settle(pilot)
        [visit] = [v for v in _visits(app, resident) if v.id not in before]
        assert visit.checklist == {} and visit.checklist_template is None  # as shown


async def test_the_history_names_the_checklist_items_and_answers(demo_vault: Path) -> None:
    app = make_app(demo_vault, "zh_CN")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _, form = await _visit_form(pilot, app)
        form.query_one("#f-chk_gas_off", Select).value = "no"  # the gas valve: 否
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)  # the 否 is offered as a need: not now
        await pilot.press("n")
        await settle(pilot)
        file = app.screen
        assert isinstance(file, ResidentFileScreen)
        await wait_for(pilot, lambda: file.query_one("#history", DataTable).row_count > 0)
        await settle(pilot)
        rows = [
            " ".join(str(c) for c in file.query_one("#history", DataTable).get_row_at(i))
            for i in range(file.query_one("#history", DataTable).row_count)
        ]
        checklist = [r for r in rows if "检查结果" in r]
        assert checklist and "燃气阀门" in checklist[0] and ": 否" in checklist[0], rows
        assert not any("gas_off" in r or "answer=" in r for r in rows)
        app.close_vault()


async def test_the_needs_cursor_stays_on_the_chosen_need_after_the_status_dialog(
    demo_vault: Path,
) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        resident = next(r for r in ws.records.all(Resident))
        for text in ("一", "二", "三"):
            ws.save(Need(resident_id=resident.id, category=NeedCategory.HOUSING, description=text))
        file = await open_file(pilot, resident.id)
        file.query_one("#file-tabs", TabbedContent).active = "tab-needs"
        table = file.query_one("#needs", DataTable)
        table.focus()
        await pilot.press("down", "down")
        chosen = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert table.cursor_row == 2
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, StatusDialog)
        await pilot.press("escape")  # the dialog reloads the file behind it
        await settle(pilot)
        assert app.screen is file
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == chosen
        await pilot.press("enter")  # and Enter edits that need, not row 1's
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and chosen in form.form.draft_key


async def test_s_on_the_profile_tab_shows_the_needs_instead_of_changing_one(
    demo_vault: Path,
) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        resident = next(r for r in ws.records.all(Resident))
        ws.save(Need(resident_id=resident.id, category=NeedCategory.HOUSING, description="一"))
        file = await open_file(pilot, resident.id)
        tabs = file.query_one("#file-tabs", TabbedContent)
        assert tabs.active == "tab-profile"
        await pilot.press("s")
        await settle(pilot)
        assert app.screen is file and tabs.active == "tab-needs"  # no dialog
        messages = [n.message for n in app._notifications]
        assert any("Choose the need" in m for m in messages)
