"""A form tells the worker what is wrong as they go: a field's problem beside it when
they leave it, the fields to fix by label at Ctrl+S with the first one in view, warnings
that do not refuse the save, and a restored draft said on the form itself (Pilot, 80×24)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from fieldapp.domain import Consent, Gender, Resident, Visit
from fieldapp.domain.idcard import make_id_number
from fieldapp.tui.forms import visit
from fieldapp.tui.screens.form import FormScreen
from tests.conftest import T0
from tests.tui.conftest import make_app, running, settle, type_into


def shown(screen: FormScreen, selector: str) -> str:
    box = screen.query_one(selector, Static)
    return str(box.render()) if box.has_class("-shown") else ""


async def test_a_fields_problem_shows_beside_it_when_the_worker_leaves_it(
    demo_vault: Path,
) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        await pilot.press("tab")  # past the empty name: not told off for passing by
        await pilot.pause()
        assert shown(form, "#e-name") == ""
        await type_into(pilot, "#f-phones", "12345")
        await pilot.press("tab")
        await pilot.pause()
        assert "Not a phone number" in shown(form, "#e-phones")
        await type_into(pilot, "#f-phones", "138 0013 8000")
        await pilot.press("tab")
        await pilot.pause()
        assert shown(form, "#e-phones") == ""


async def test_save_lists_the_fields_to_fix_and_scrolls_to_the_first(demo_vault: Path) -> None:
    for lang, summary, phone_text in (
        ("en", "Please correct 2 field(s): ID number, Phones", "Not a phone number"),
        ("zh_CN", "请更正 2 个字段：身份证号、电话", "不是有效电话号码"),
    ):
        app = make_app(demo_vault, lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, FormScreen)
            await pilot.press(*"赵六")
            await type_into(pilot, "#f-id_number", "110105194912310021")
            await type_into(pilot, "#f-phones", "12345")
            await type_into(pilot, "#f-name", "赵六")  # back to the top of the form
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert summary in shown(form, "#form-errors")
            assert form.focused is form.query_one("#f-id_number")
            view = form.query_one("#form", VerticalScroll).region
            for part in ("#f-id_number", "#e-id_number"):
                assert view.contains_region(form.query_one(part).region), part
            assert phone_text in shown(form, "#e-phones")
            app.close_vault()


async def test_an_id_number_of_the_other_gender_is_saved_with_a_warning(
    demo_vault: Path, toasts: list[tuple[str, str]]
) -> None:
    female_id = make_id_number("110105", dt.date(1949, 12, 31), 2)
    async with running(demo_vault) as (app, pilot, _ws):
        before = app.workspace.vault.count("resident")  # type: ignore[union-attr]
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        await pilot.press(*"赵六")
        form.query_one("#f-gender", Select).value = Gender.MALE.value
        await type_into(pilot, "#f-id_number", female_id)
        await pilot.press("tab")  # leaving it: told beside it already, as a warning
        await pilot.pause()
        assert "gender digit says Female" in shown(form, "#e-id_number")
        assert form.query_one("#e-id_number").has_class("-warning")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.workspace.vault.count("resident") == before + 1  # type: ignore[union-attr]
        warnings = [text for severity, text in toasts if severity == "warning"]
        assert any("gender digit says Female" in text for text in warnings), toasts


@pytest.mark.parametrize(
    ("status", "said"), [("pending", "not yet been asked"), ("withdrawn", "withdrawn consent")]
)
async def test_a_visit_with_someone_without_consent_is_saved_with_a_warning(
    demo_vault: Path, toasts: list[tuple[str, str]], status: str, said: str
) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        ws = app.workspace
        assert ws is not None and app.context is not None
        person = ws.records.all(Resident)[0]
        on = None if status == "pending" else ws.today()
        person = person.model_copy(update={"consent": Consent(status=status, on=on)})
        ws.save(person)
        visits = len(ws.records.all(Visit))
        app.push_screen(FormScreen(app.context, visit.build(ws, person)))
        await settle(pilot)
        await type_into(pilot, "#f-purpose", "月度家访")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(ws.records.all(Visit)) == visits + 1
        warnings = [text for severity, text in toasts if severity == "warning"]
        assert any(person.name in text and said in text for text in warnings), toasts


async def wait_for(pilot: Pilot[None], predicate: Callable[[], bool], limit: int = 200) -> None:
    for _ in range(limit):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never became true")


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "Your unsaved draft from {time} was restored"),
        ("zh_CN", "已恢复您 {time} 未保存的草稿"),
    ],
)
async def test_a_restored_draft_says_so_on_the_form(demo_vault: Path, lang: str, said: str) -> None:
    async with running(demo_vault, lang=lang) as (app, pilot, _ws):
        await pilot.press("n")
        await pilot.press(*"草稿里的人")
        ws = app.workspace
        assert ws is not None
        await wait_for(pilot, lambda: (ws.draft("resident:new") or {}).get("name") == "草稿里的人")
        form = app.screen
        assert isinstance(form, FormScreen) and shown(form, "#form-draft") == ""  # not a draft yet
        app.close_vault()
    again = make_app(demo_vault, lang=lang)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = again.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#f-name", Input).value == "草稿里的人"
        line = shown(form, "#form-draft")
        assert said.format(time=T0.strftime("%Y-%m-%d %H:%M")) in line
        assert "esc" in line  # how to discard it
        region = form.query_one("#form-draft").region
        assert region.height >= 1 and region.y < 3  # at the top, in view
        again.close_vault()
