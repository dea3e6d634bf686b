"""The worker's flows, driven by keyboard through Pilot (80×24)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static, TextArea

from fieldapp import i18n
from fieldapp.config import Config
from fieldapp.domain import CasePlan, Interview, Need, NeedStatus, Resident, Visit
from fieldapp.domain.clock import FixedClock
from fieldapp.services import schedule
from fieldapp.services.records import RecordService
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp
from fieldapp.tui.dialogs.choose import ChooseDialog
from fieldapp.tui.dialogs.confirm import ConfirmDialog
from fieldapp.tui.dialogs.help import HelpScreen
from fieldapp.tui.dialogs.status import StatusDialog
from fieldapp.tui.screens.first_run import FirstRunScreen
from fieldapp.tui.screens.form import FormScreen
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from fieldapp.tui.screens.residents import ResidentsScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.screens.unlock import LockScreen, UnlockScreen, wrong_passphrase_delay
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.tui.conftest import TODAY, make_app, open_file, running, settle, type_into


async def wait_for(pilot: Pilot[None], predicate: Callable[[], bool], limit: int = 200) -> None:
    """Let the app run until ``predicate`` holds (timers, workers), never a fixed sleep."""
    for _ in range(limit):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never became true")


def cell_texts(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_first_resident(pilot: Pilot[None]) -> ResidentFileScreen:
    app: FieldApp = pilot.app  # type: ignore[assignment]
    await pilot.press("r")
    await settle(pilot)
    await pilot.press("enter")  # from the search box to the table
    await pilot.press("enter")  # open the highlighted resident
    await settle(pilot)
    assert isinstance(app.screen, ResidentFileScreen)
    return app.screen


# ------------------------------------------------------------------ start-up


async def test_first_run_creates_the_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "vault"
    app = FieldApp(
        config=Config(language="zh_CN"), vault_path=path, save_settings=False, clock=FixedClock(T0)
    )
    app.kdf_for_new_vaults = FAST_KDF
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, FirstRunScreen)
        screen.query_one("#lang-en", Button).press()
        await settle(pilot)
        assert i18n.current_language() == "en"
        await pilot.press(*"short")
        await pilot.press("enter")
        await pilot.press(*"short", "enter")
        assert "too short" in str(screen.query_one("#pass-error", Static).render())
        await type_into(pilot, "#pass1", "river stone lantern")
        await pilot.press("enter")
        await pilot.press(*"river stone lantern!", "enter")
        assert "differ" in str(screen.query_one("#pass-error", Static).render())
        await type_into(pilot, "#pass2", "river stone lantern")
        await pilot.press("enter")
        groups = screen.recovery[1].split("-")
        await pilot.press(*"WRNG WRNG", "enter")
        assert "does not match" in str(screen.query_one("#recovery-error", Static).render())
        await type_into(
            pilot, "#recovery-check", f"{groups[screen.asked[0]]} {groups[screen.asked[1]]}"
        )
        await pilot.press("enter")
        await pilot.press(*"李娜", "enter", *"史家社区", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert app.workspace is not None
        assert app.workspace.records.profile() == {"name": "李娜", "community": "史家社区"}
        app.workspace.vault.close()
    Vault.recover(path, screen.recovery[1], "a new passphrase", kdf=FAST_KDF).close()


async def test_unlock_waits_longer_after_each_wrong_passphrase(demo_vault: Path) -> None:
    assert [wrong_passphrase_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    app = FieldApp(
        config=Config(language="en"),
        vault_path=demo_vault,
        save_settings=False,
        clock=FixedClock(T0),
    )
    app.unlock_delay_base = 0.05
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        await pilot.press(*"wrong one", "enter")
        await settle(pilot)
        message = str(screen.query_one("#unlock-message", Static).render())
        assert "Wrong passphrase" in message and "Try again in" in message
        assert screen.last_delay == pytest.approx(0.05)
        box = screen.query_one("#passphrase", Input)
        await wait_for(pilot, lambda: not box.disabled and not screen.waiting)
        await pilot.press(*"wrong two", "enter")
        await settle(pilot)
        assert screen.failures == 2 and screen.last_delay == pytest.approx(0.1)
        await wait_for(pilot, lambda: not box.disabled and not screen.waiting)
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        app.close_vault()


async def test_the_unlock_wait_counts_down_and_keeps_what_is_typed_meanwhile(
    demo_vault: Path,
) -> None:
    """After a wrong passphrase the wait counts down, and a passphrase typed during it
    is not dropped: it is tried as soon as the wait is over."""
    app = FieldApp(
        config=Config(language="zh_CN"),
        vault_path=demo_vault,
        save_settings=False,
        clock=FixedClock(T0),
    )
    app.unlock_delay_base = 1.5  # two whole seconds to count down
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        await pilot.press(*"wrong one", "enter")
        message = screen.query_one("#unlock-message", Static)
        await wait_for(pilot, lambda: "请 2 秒后重试" in str(message.render()), limit=1000)
        box = screen.query_one("#passphrase", Input)
        assert not box.disabled and screen.waiting  # typing is allowed while it waits
        await wait_for(pilot, lambda: "请 1 秒后重试" in str(message.render()), limit=1000)
        await pilot.press(*PASSPHRASE, "enter")
        if screen.waiting:  # a slow machine may have ended the wait already
            assert "秒后核对您输入的口令" in str(message.render())
        await wait_for(pilot, lambda: isinstance(app.screen, TodayScreen), limit=1000)
        assert screen.failures == 1
        app.close_vault()


async def test_idle_lock_hides_everything_and_keeps_the_draft(demo_vault: Path) -> None:
    app = make_app(demo_vault, idle_lock_minutes=1)
    app.unlock_delay_base = 0.05
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        await pilot.press(*"未完成的名字")
        app.clock.advance(61)  # a minute without a key
        app._check_idle()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert not app.screen.query(DataTable) and not app.screen.query(TextArea)
        assert app.workspace is not None
        assert app.workspace.draft(form.form.draft_key)["name"] == "未完成的名字"
        lock = app.screen
        await pilot.press(*"not it", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and lock.failures == 1
        box = lock.query_one("#passphrase", Input)
        await wait_for(pilot, lambda: not box.disabled and not lock.waiting)
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert app.screen is form
        app.close_vault()


async def test_a_crashed_form_is_restored_from_its_draft(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("n")
        await pilot.press(*"草稿里的人")
        ws = app.workspace
        assert ws is not None
        # The draft is written a second after the last key.
        await wait_for(pilot, lambda: (ws.draft("resident:new") or {}).get("name") == "草稿里的人")
        # No save, no close: as if the laptop died here.
        app.workspace.vault.close(compact=False)  # type: ignore[union-attr]
    again = make_app(demo_vault)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert again.screen.query_one("#f-name", Input).value == "草稿里的人"
        again.close_vault()


# ------------------------------------------------------------------ today and search


async def test_today_lists_what_is_due_on_a_fixed_clock(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, _pilot, _ws):
        assert app.workspace is not None
        expected = schedule.due_items(app.workspace.vault, TODAY)
        table = app.screen.query_one("#due", DataTable)
        rows = cell_texts(table)
        assert len(rows) == len(expected) > 0
        for row, item in zip(rows, expected, strict=True):
            assert row[0] == app.workspace.vault.get(item.resident_id)["name"]
            assert row[3] == item.due.isoformat()
            late = (TODAY - item.due).days
            assert row[4] == (f"{late} days late" if late > 0 else "due today")


@pytest.mark.parametrize("query", ["pinyin-initials", "pinyin-full", "chinese", "id-digits", "tag"])
async def test_search_as_you_type(demo_vault: Path, query: str) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        assert app.workspace is not None
        residents = RecordService(app.workspace.vault).all(Resident)
        target = next(r for r in residents if len(r.name) == 3 and r.id_number)
        from pypinyin import Style, lazy_pinyin

        typed = {
            "pinyin-initials": "".join(lazy_pinyin(target.name, style=Style.FIRST_LETTER)),
            "pinyin-full": "".join(lazy_pinyin(target.name)),
            "chinese": target.name,
            "id-digits": target.id_number[-4:],
            "tag": "elderly",
        }[query]
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*typed)
        await settle(pilot)
        names = [row[0] for row in cell_texts(app.screen.query_one("#residents", DataTable))]
        if query == "tag":
            want = sorted(r.name for r in residents if "elderly_alone" in r.tags)
            assert sorted(names) == want
        else:
            assert target.name in names
            assert len(names) < len(residents)


async def test_filters_narrow_the_list(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ResidentsScreen)
        everyone = screen.query_one("#residents", DataTable).row_count
        screen.query_one("#overdue").toggle()  # type: ignore[attr-defined]
        await settle(pilot)
        late = cell_texts(screen.query_one("#residents", DataTable))
        assert 0 < len(late) < everyone
        assert app.workspace is not None
        overdue_names = {
            app.workspace.vault.get(i.resident_id)["name"]
            for i in schedule.overdue(app.workspace.vault, TODAY)
        }
        assert {row[0] for row in late} == overdue_names
        screen.query_one("#community", Select).value = "史家社区"
        await settle(pilot)
        assert all(
            row[1] == "史家社区" for row in cell_texts(screen.query_one("#residents", DataTable))
        )
        app.close_vault()


# ------------------------------------------------------------------ forms


async def test_invalid_resident_is_refused_with_messages_beside_the_fields(
    demo_vault: Path,
) -> None:
    for lang, phone_text, id_text in (
        ("en", "Not a phone number", "check digit"),
        ("zh_CN", "不是有效电话号码", "校验位"),
    ):
        app = make_app(demo_vault, lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            before = app.workspace.vault.count("resident")  # type: ignore[union-attr]
            await pilot.press("n")
            await settle(pilot)
            await pilot.press(*"赵六")
            await type_into(pilot, "#f-phones", "12345")
            await type_into(pilot, "#f-id_number", "110105194912310021")
            await pilot.press("ctrl+s")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, FormScreen)
            assert phone_text in str(screen.query_one("#e-phones", Static).render())
            assert id_text in str(screen.query_one("#e-id_number", Static).render())
            assert app.workspace.vault.count("resident") == before  # type: ignore[union-attr]
            await type_into(pilot, "#f-phones", "138 0013 8000")
            await type_into(pilot, "#f-id_number", "")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, ResidentFileScreen)  # the new resident's file
            assert app.screen.file is not None and app.screen.file.resident.name == "赵六"
            assert app.workspace.vault.count("resident") == before + 1  # type: ignore[union-attr]
            app.close_vault()


async def test_create_a_need_a_visit_an_interview_and_a_plan(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        file = await open_first_resident(pilot)
        rid = file.resident_id
        ws = app.workspace
        assert ws is not None

        def mine(model: type) -> list:  # type: ignore[type-arg]
            def links(r: object) -> list[str]:
                return getattr(r, "resident_ids", None) or [getattr(r, "resident_id", "")]

            return [r for r in ws.records.all(model) if rid in links(r)]

        counts = {m: len(mine(m)) for m in (Need, Visit, Interview, CasePlan)}

        await pilot.press("n")
        await settle(pilot)
        app.screen.query_one("#f-category", Select).value = "housing"
        await type_into(pilot, "#f-description", "屋顶漏雨")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(mine(Need)) == counts[Need] + 1

        await pilot.press("v")
        await settle(pilot)
        await type_into(pilot, "#f-purpose", "例行探访")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(mine(Visit)) == counts[Visit] + 1

        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, ChooseDialog)
        await pilot.press("enter")  # the first template
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(mine(Interview)) == counts[Interview] + 1

        await pilot.press("p")
        await settle(pilot)
        if not counts[CasePlan]:
            await type_into(pilot, "#f-title", "个案服务计划")
        await type_into(pilot, "#f-goals", "按时就医")
        await pilot.press("ctrl+s")
        await settle(pilot)
        plans = mine(CasePlan)
        assert len(plans) == max(1, counts[CasePlan])
        assert any(g.text == "按时就医" for p in plans for g in p.goals)


async def test_unsaved_changes_guard(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("n")
        await pilot.press(*"半途")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("escape")
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert app.workspace is not None and app.workspace.draft("resident:new") is None


async def test_need_status_follows_the_workflow(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        need = next(n for n in ws.records.all(Need) if n.status is NeedStatus.IN_PROGRESS)
        file = await open_file(pilot, need.resident_id)
        file.query_one("#file-tabs").active = "tab-needs"  # type: ignore[attr-defined]
        table = file.query_one("#needs", DataTable)
        table.move_cursor(row=table.get_row_index(need.id))
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, StatusDialog)
        options = {v for _, v in dialog.query_one("#new-status", Select)._options if v}
        assert options == {"resolved", "referred", "closed"}
        dialog.query_one("#new-status", Select).value = "resolved"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Say how the need was resolved" in str(
            dialog.query_one("#status-error", Static).render()
        )
        assert ws.records.get(Need, need.id).status is NeedStatus.IN_PROGRESS
        dialog.query_one("#note", TextArea).text = "已修缮完毕"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert ws.records.get(Need, need.id).status is NeedStatus.RESOLVED
        assert isinstance(app.screen, ResidentFileScreen)
        app.close_vault()


# ------------------------------------------------------------------ conventions


async def test_language_switch_at_run_time_keeps_typed_values(demo_vault: Path) -> None:
    async with running(demo_vault, lang="zh_CN") as (app, pilot, _ws):
        assert app.screen.title == "今日工作"
        await pilot.press("n")
        await pilot.press(*"王")
        await pilot.press("f2")
        await settle(pilot)
        assert i18n.current_language() == "en"
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.title == "New resident"
        assert str(form.query_one("#l-name").render()).startswith("Name")
        assert form.query_one("#f-name", Input).value == "王"
        descriptions = {a.binding.description for a in form.active_bindings.values()}
        assert "Save" in descriptions


async def test_keymap_from_config_overrides_keys(demo_vault: Path) -> None:
    async with running(demo_vault, keymap={"today.residents": "x"}) as (app, pilot, _ws):
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ResidentsScreen)


async def test_help_lists_the_keys_of_this_screen(demo_vault: Path) -> None:
    async with running(demo_vault, keymap={"today.residents": "x"}) as (app, pilot, _ws):
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = cell_texts(app.screen.query_one("#keys", DataTable))
        assert ["x", "Residents"] in [row[:2] for row in rows]
        assert any(row[1] == "Help" for row in rows)
        await pilot.press("escape")
        assert isinstance(app.screen, TodayScreen)


async def test_command_palette_jumps_to_a_resident(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        assert app.workspace is not None
        target = RecordService(app.workspace.vault).all(Resident)[5]
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*target.name)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen)
        assert app.screen.resident_id in {
            r.id for r in RecordService(app.workspace.vault).all(Resident) if r.name == target.name
        }


async def test_brackets_in_user_text_are_shown_not_interpreted(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        assert app.workspace is not None
        odd = Resident(name="[b]方括号[/b]", community="[red]社区", notes="[link=x]注意[/link]")
        app.workspace.save(odd)
        await open_file(pilot, odd.id)
        profile = str(app.screen.query_one("#profile", Static).render())
        assert "[b]方括号[/b]" in profile and "[link=x]注意[/link]" in profile
        await pilot.press("escape")
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"方括号")
        await settle(pilot)
        rows = cell_texts(app.screen.query_one("#residents", DataTable))
        assert rows[0][:2] == ["[b]方括号[/b]", "[red]社区"]


async def test_edit_a_resident_and_see_it_in_the_history(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        file = await open_first_resident(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        await type_into(pilot, "#f-address", "新地址 8 号")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is file
        assert app.workspace is not None
        assert app.workspace.records.get(Resident, file.resident_id).address == "新地址 8 号"  # type: ignore[union-attr]
        history = cell_texts(file.query_one("#history", DataTable))
        assert any(row[2] == "Address" and row[3].endswith("→ 新地址 8 号") for row in history)


async def test_language_switch_relabels_choices(demo_vault: Path) -> None:
    async with running(demo_vault, lang="en") as (app, pilot, _ws):
        await pilot.press("n")
        await settle(pilot)
        gender = app.screen.query_one("#f-gender", Select)
        gender.value = "female"
        await pilot.press("f2")
        await settle(pilot)
        assert gender.value == "female"
        assert ("女", "female") in [(str(a), b) for a, b in gender._options]


async def test_themes_include_high_contrast(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, _pilot, _ws):
        seen = set()
        for _ in range(3):
            app.action_next_theme()
            seen.add(app.theme)
        assert "fieldapp-high-contrast" in seen and app.config.theme == app.theme


async def test_sync_to_usb_from_the_app(demo_vault: Path, tmp_path: Path) -> None:
    from sync import team
    from sync.transports.folder import FolderTransport

    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    team_code = team.create_team(sup, "督导").code()
    app = make_app(demo_vault)
    stick = tmp_path / "stick"
    stick.mkdir()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = app.screen.query_one("#sync-status", Static)
        assert "not joined" in str(status.render())
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Join a team")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#answer", Input).value = team_code  # pasted
        await pilot.press("enter")
        await settle(pilot)
        body = str(app.screen.query_one("#message-body", Static).render())
        device_code = body.split()[-1]
        assert device_code.startswith("FD1-")
        await pilot.press("escape")
        await settle(pilot)
        assert "waiting" in str(status.render())
        team.enrol(sup, device_code)
        await pilot.press("u")
        await settle(pilot)
        await pilot.press(*str(stick), "enter")
        await settle(pilot)
        line = str(status.render())
        assert "0 changes and 0 bundles waiting" in line and "never" not in line
        keys = FolderTransport(stick).list()
        assert keys and all(k.endswith(".fbundle") for k in keys)
        assert list((stick / "fieldapp" / "cards").glob("*.fdevice"))
        app.close_vault()
    sup.close()


async def test_a_save_finishing_behind_the_lock_screen_does_not_unlock(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("n", *"慢保存")
        form = app.screen
        assert isinstance(form, FormScreen)
        app.action_lock()  # the lock screen goes up …
        await pilot.pause()
        form.action_save()  # … while the save is still finishing
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and app.locked
        box = app.screen.query_one("#passphrase", Input)
        box.value = PASSPHRASE
        await pilot.press("enter")
        await settle(pilot)
        # The form closed once it was on top, and the new resident's file opened.
        assert isinstance(app.screen, ResidentFileScreen)
        assert app.screen.file is not None and app.screen.file.resident.name == "慢保存"
        assert isinstance(app.screen_stack[-2], TodayScreen)
        assert any(r.name == "慢保存" for r in app.workspace.records.all(Resident))  # type: ignore[union-attr]


async def test_editing_keeps_household_fields_in_place(demo_vault: Path) -> None:
    from fieldapp.domain import HouseholdMember

    async with running(demo_vault) as (_app, pilot, ws):
        r = Resident(
            name="户主",
            community="史家社区",
            household=[HouseholdMember(name="张小明", phone="13800138000", notes="在外地")],
        )
        ws.save(r)
        await open_file(pilot, r.id)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        member = ws.records.get(Resident, r.id).household[0]  # type: ignore[union-attr]
        assert (member.relation, member.phone, member.notes) == ("", "13800138000", "在外地")


async def test_commas_stay_inside_plan_reviews(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        r = Resident(name="帮教对象", community="史家社区")
        ws.save(r)
        await open_file(pilot, r.id)
        await pilot.press("p")
        await settle(pilot)
        await type_into(pilot, "#f-title", "帮教方案")
        app.screen.query_one(
            "#f-reviews", TextArea
        ).text = "2026-11-20; 老人情况稳定，继续关注用药; 王督导"
        await pilot.press("ctrl+s")
        await settle(pilot)
        plan = next(p for p in ws.records.all(CasePlan) if p.resident_id == r.id)
        review = plan.reviews[0]
        assert (review.text, review.reviewer) == ("老人情况稳定，继续关注用药", "王督导")


async def test_a_name_that_looks_like_markup_is_safe_in_the_palette(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        ws.save(Resident(name="Chen [/] Wei", community="[b]社区"))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Chen")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen)


async def test_a_resident_that_is_gone_closes_its_file(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, ws):
        r = Resident(name="将删除", community="史家社区")
        ws.save(r)
        ws.delete(r.id)
        assert r.id not in ws.index.search("将删除")
        app.open_resident(r.id)
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)


async def test_quit_keeps_a_fresh_draft(demo_vault: Path) -> None:
    async with running(demo_vault) as (_app, pilot, _ws):
        await pilot.press("n", *"刚打的字")
        await pilot.press("ctrl+q")
        await settle(pilot)
    with Vault.open(demo_vault, PASSPHRASE) as v:
        assert v.get_meta("draft/resident:new")["name"] == "刚打的字"
