"""The resident's file and its dialogs (issue 13): reading a visit, a failed safety item
offered as a need, plans as text, the history in words, tab keys and the status dialog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static, TabbedContent, TextArea

from fieldapp.domain import (
    CasePlan,
    CheckAnswer,
    CheckItem,
    Goal,
    Need,
    NeedCategory,
    NeedStatus,
    PlanAction,
    PlanReview,
    Resident,
    Visit,
    VisitKind,
    Vulnerability,
)
from fieldapp.services import supervision
from fieldapp.tui.dialogs.confirm import ConfirmDialog
from fieldapp.tui.dialogs.help import HelpScreen
from fieldapp.tui.dialogs.status import StatusDialog
from fieldapp.tui.dialogs.visit import VisitDialog
from fieldapp.tui.screens.form import FormScreen
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from tests.tui import test_supervisor
from tests.tui.conftest import TODAY, open_file, running, settle
from tests.tui.test_supervisor import R1
from tests.tui.test_supervisor import make as supervisor_app

supervised = test_supervisor.supervised  # the supervisor's vault: two workers, a conflict


async def test_status_dialog_shows_its_keys_help_and_resolves_on_the_spot(
    demo_vault: Path,
) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        r = Resident(name="当场解决", community="史家社区")
        need = Need(resident_id=r.id, category=NeedCategory.DAILY_CARE, description="灯泡坏了")
        ws.records.save_many([r, need])
        file = await open_file(pilot, r.id)
        file.query_one("#file-tabs").active = "tab-needs"  # type: ignore[attr-defined]
        await pilot.pause()
        file.query_one("#needs", DataTable).focus()
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, StatusDialog)
        keys = str(dialog.query_one("#status-keys", Static).render()).lower()
        for key in ("ctrl+s", "escape", "f1"):
            assert app.get_key_display(Binding(key, "")).lower() in keys
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is dialog
        options = {v for _, v in dialog.query_one("#new-status", Select)._options if v}
        assert "resolved" in options  # open → resolved directly
        dialog.query_one("#new-status", Select).value = "resolved"
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = dialog.query_one("#status-error", Static)
        assert "Say how the need was resolved" in str(error.render())
        dialog.query_one("#note", TextArea).focus()
        await pilot.press(*"当场换好")
        await pilot.pause()
        assert str(error.render()) == ""  # the error goes once the note is typed
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert ws.records.get(Need, need.id).status is NeedStatus.RESOLVED  # type: ignore[union-attr]
        assert app.screen is file


async def test_a_case_plan_is_shown_as_text_not_markup(demo_vault: Path) -> None:
    async with running(demo_vault) as (_app, pilot, ws):
        r = Resident(name="帮教对象", community="史家社区")
        plan = CasePlan(
            resident_id=r.id,
            title="个性化帮教方案",
            start_date=TODAY,
            goals=[Goal(text="[i]按时上学[/i]")],
            actions=[PlanAction(text="每周面谈", owner="[red]王[/red]")],
            reviews=[PlanReview(held_on=TODAY, reviewer="督导", text="稳定 [b]继续[/b]")],
        )
        ws.records.save_many([r, plan])
        file = await open_file(pilot, r.id)
        file.query_one("#file-tabs").active = "tab-plan"  # type: ignore[attr-defined]
        await settle(pilot)
        shown = file.query_one("#plan", Static).render()
        text = str(shown)
        assert text.splitlines()[0].startswith("个性化帮教方案  ")  # no [b]…[/b] around it
        for typed in ("[i]按时上学[/i]", "[red]王[/red]", "稳定 [b]继续[/b]"):
            assert typed in text  # what the worker typed, as typed


async def test_history_names_the_workers_and_says_a_conflict_was_resolved(
    supervised: Path,
) -> None:
    app = supervisor_app(supervised)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        ws = app.workspace
        assert ws is not None
        (conflict,) = supervision.field_conflicts(ws.vault, R1)
        supervision.resolve(ws.vault, conflict, "张三丰（又名张叁）")
        file = await open_file(pilot, R1)
        file.query_one("#file-tabs").active = "tab-history"  # type: ignore[attr-defined]
        await settle(pilot)
        table = file.query_one("#history", DataTable)
        shown = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        authors = {row[1] for row in shown}
        assert {"李娜", "王芳"} <= authors  # the names they were enrolled with
        assert authors == {"李娜", "王芳", "史家社区督导"}  # the supervisor's own: the team
        resolved = [row for row in shown if "resolved" in row[3]]
        assert resolved and resolved[0][2] == "Name"
        assert resolved[0][3] == "Conflict resolved: kept 张三丰（又名张叁）"
        assert not any("_resolved" in cell for row in shown for cell in row)
        app.close_vault()


@pytest.mark.parametrize(
    ("lang", "gas", "smoke", "no"),
    [
        ("en", "Gas valve closed, no smell", "Smoke alarm works", "No"),
        ("zh_CN", "燃气阀门关闭、无异味", "烟感报警器正常", "否"),
    ],
)
async def test_enter_on_a_visit_shows_it_with_the_checklist(
    demo_vault: Path, lang: str, gas: str, smoke: str, no: str
) -> None:
    async with running(demo_vault, lang=lang) as (app, pilot, ws):
        r = Resident(name="独居老人", community="史家社区", tags=[Vulnerability.ELDERLY_ALONE])
        visit = Visit(
            resident_id=r.id,
            kind=VisitKind.HOME,
            started_at=dt.datetime.combine(TODAY, dt.time(10)),
            duration_minutes=30,
            purpose="[b]例行探访[/b]",
            observations="精神尚可",
            checklist_template="home_safety_elderly",
            checklist={
                "gas_off": CheckItem(answer=CheckAnswer.NO, note="阀门松动"),
                "smoke_alarm": CheckItem(answer=CheckAnswer.YES),
            },
        )
        ws.records.save_many([r, visit])
        file = await open_file(pilot, r.id)
        file.query_one("#file-tabs").active = "tab-visits"  # type: ignore[attr-defined]
        await pilot.pause()
        file.query_one("#visits", DataTable).focus()
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, VisitDialog)
        text = str(dialog.query_one("#visit-text", Static).render())
        assert f"{gas}: {no} (阀门松动)" in text
        assert f"{smoke}: " in text
        assert "[b]例行探访[/b]" in text and "精神尚可" in text
        await pilot.press("enter")  # read-only: Enter closes, nothing changes
        await settle(pilot)
        assert app.screen is file
        assert ws.records.get(Visit, visit.id) == visit


async def save_visit(pilot: Pilot[None], answers: dict[str, str]) -> None:
    """On a resident's file: ``v``, a purpose, the checklist ``answers``, Ctrl+S."""
    await pilot.press("v")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, FormScreen)
    form.query_one("#f-purpose", Input).value = "例行探访"
    for item, answer in answers.items():
        form.query_one(f"#f-chk_{item}", Select).value = answer
    await pilot.pause()
    await pilot.press("ctrl+s")
    await settle(pilot)


@pytest.mark.parametrize(("lang", "gas"), [("en", "Gas valve closed"), ("zh_CN", "燃气阀门关闭")])
async def test_a_no_on_the_safety_checklist_is_offered_as_a_need(
    demo_vault: Path, lang: str, gas: str
) -> None:
    async with running(demo_vault, lang=lang) as (app, pilot, ws):
        r = Resident(name="独居老人", community="史家社区", tags=[Vulnerability.ELDERLY_ALONE])
        ws.save(r)
        file = await open_file(pilot, r.id)

        def needs() -> list[Need]:
            return [n for n in ws.records.all(Need) if n.resident_id == r.id]

        await save_visit(pilot, {"gas_off": "no", "smoke_alarm": "yes"})
        ask = app.screen
        assert isinstance(ask, ConfirmDialog)
        assert gas in str(ask.query_one(".dialog-title", Static).render())
        await pilot.press("enter")  # the focus is on "no": Enter never creates a need
        await settle(pilot)
        assert app.screen is file and needs() == []

        await save_visit(pilot, {"gas_off": "no"})
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is file
        (need,) = needs()
        assert need.category is NeedCategory.HOUSING and need.status is NeedStatus.OPEN
        assert gas in need.description
        assert file.query_one("#needs", DataTable).row_count == 1

        await save_visit(pilot, {"gas_off": "no"})  # still open: not offered twice
        assert app.screen is file and len(needs()) == 1
        await save_visit(pilot, {"gas_off": "yes"})  # nothing failed, nothing asked
        assert app.screen is file


async def test_left_and_right_switch_tabs_from_the_tables(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        r = Resident(name="换页", community="史家社区")
        ws.save(r)
        file = await open_file(pilot, r.id)
        tabs = file.query_one("#file-tabs", TabbedContent)
        tabs.active = "tab-needs"
        await pilot.pause()
        file.query_one("#needs", DataTable).focus()
        await pilot.press("right")
        await settle(pilot)
        assert tabs.active == "tab-interviews"
        assert file.focused is file.query_one("#interviews", DataTable)  # ↑↓ work at once
        await pilot.press("left", "left")
        await settle(pilot)
        assert tabs.active == "tab-profile"
        await pilot.press("left")  # round to the last tab
        await settle(pilot)
        assert tabs.active == "tab-history"
        assert file.focused is file.query_one("#history", DataTable)
        await pilot.press("f1")  # and the help says so
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert any("tab" in row[1].lower() for row in app.screen.rows)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_profile_shows_the_whole_id_the_export_takes(demo_vault: Path, lang: str) -> None:
    """`fieldapp export resident <id>` needs the whole id: the profile tab shows it."""
    from fieldapp.services import export

    async with running(demo_vault, lang=lang) as (app, pilot, ws):
        twin = Resident(name="同名", community="史家社区")
        ws.records.save_many([twin, Resident(name="同名", community="和平社区")])
        await open_file(pilot, twin.id)
        profile = str(app.screen.query_one("#profile", Static).render())
        line = next(x for x in profile.splitlines() if twin.id in x)
        assert line.split()[-1] == twin.id  # whole, not cut
        assert [rid for rid, _ in export.residents_named(ws.vault, line.split()[-1])] == [twin.id]


async def test_a_resident_is_archived_out_of_the_lists_and_restored_from_the_file(
    demo_vault: Path,
) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        r = Resident(name="归档测试", community="史家社区")
        ws.save(r)
        file = await open_file(pilot, r.id)
        await pilot.press("f1")  # the help lists the keys the footer leaves out
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        described = " ".join(row[1] for row in app.screen.rows)
        assert "Archive/restore" in described and "Delete" in described
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert ws.records.get(Resident, r.id).archived is True  # type: ignore[union-attr]
        profile = str(file.query_one("#profile", Static).render())
        assert "Archived" in profile
        await pilot.press("escape")
        await settle(pilot)
        app.action_go_residents()
        await settle(pilot)
        search = app.screen.query_one("#search", Input)
        search.value = "归档测试"
        await settle(pilot)
        table = app.screen.query_one("#residents", DataTable)
        assert table.row_count == 0  # out of the list
        await pilot.press("ctrl+o")  # the archived ones only (from the search box too)
        await settle(pilot)
        count = str(app.screen.query_one("#result-count", Static).render())
        assert count.startswith("Archived residents only")
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["归档测试"]
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        file = app.screen
        assert isinstance(file, ResidentFileScreen)
        await pilot.press("a")  # restore
        await settle(pilot)
        assert ws.records.get(Resident, r.id).archived is False  # type: ignore[union-attr]
        file.query_one("#file-tabs", TabbedContent).active = "tab-history"
        await settle(pilot)
        history = file.query_one("#history", DataTable)
        shown = [[str(c) for c in history.get_row_at(i)] for i in range(history.row_count)]
        changes = [row[3] for row in shown if row[2] == "Archived"]
        # (Both in the same second of the test's fixed clock: their order is not the point.)
        assert sorted(changes) == ["Archived → Restored", "— → Archived"]
        await pilot.press("f2")  # the history in Chinese too
        await settle(pilot)
        history = app.screen.query_one("#history", DataTable)
        shown = [[str(c) for c in history.get_row_at(i)] for i in range(history.row_count)]
        changes = sorted(row[3] for row in shown if row[2] == "已归档")
        assert changes == ["— → 已归档", "已归档 → 已恢复"]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_delete_question_says_its_keys_delete_and_keep_not_discard(
    demo_vault: Path, lang: str
) -> None:
    """The confirmation's y and n say what this question is about: deleting the file, not
    discarding a form's changes; a language switch keeps it so."""
    from fieldapp.i18n import t

    async with running(demo_vault, lang) as (app, pilot, ws):
        r = Resident(name="问删除", community="史家社区")
        ws.save(r)
        await open_file(pilot, r.id)
        await pilot.press("d")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        tips = {b.binding.id: b.binding.tooltip for b in dialog.active_bindings.values()}
        assert tips["confirm.yes"] == t("ui.yes_delete")
        assert tips["confirm.no"] == t("ui.no_keep_file")
        await app.set_language("zh_CN" if lang == "en" else "en")  # re-translated: kept
        tips = {b.binding.id: b.binding.tooltip for b in dialog.active_bindings.values()}
        assert tips["confirm.yes"] == dialog.yes
        await pilot.press("n")
        await settle(pilot)
        assert ws.records.get(Resident, r.id) is not None


async def test_deleting_a_file_asks_first_and_is_offered_when_consent_is_withdrawn(
    demo_vault: Path,
) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        r = Resident(name="撤回同意", community="史家社区")
        ws.save(r)
        file = await open_file(pilot, r.id)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")  # "keep it" has the focus: Enter never deletes
        await settle(pilot)
        assert app.screen is file and ws.records.get(Resident, r.id) is not None
        # Consent withdrawn in the profile form: the deletion is offered at once.
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#f-consent_status", Select).value = "withdrawn"
        form.query_one("#f-consent_on", Input).value = TODAY.isoformat()
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "撤回同意" in dialog.question
        await pilot.press("y")
        await settle(pilot)
        assert ws.records.get(Resident, r.id) is None
        assert app.screen is not file and not isinstance(app.screen, ResidentFileScreen)
        assert ws.history(r.id)[-1].field == "_deleted"
