"""Supervision notes in the app (issue 14): the worker's inbox on Today, the notes tab of a
resident's file with its acknowledge and done keys, and the supervisor's pen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from fieldapp.domain import Need, NeedCategory, NoteAction, NoteStatus, Resident, SupervisionNote
from fieldapp.domain.clock import FixedClock
from fieldapp.i18n import t
from fieldapp.services import export, supervision
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.screens.form import FormScreen
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from fieldapp.tui.screens.today import TodayScreen
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.tui.conftest import TODAY, running, settle
from tests.tui.test_supervisor import N1, NOW, R1, make, rows, supervised

__all__ = ["supervised"]  # the fixture, for the supervisor's pen


def shown_keys(screen: ResidentFileScreen) -> set[str]:
    """The keys the footer shows now (enabled, and meant to be shown)."""
    return {b.binding.key for b in screen.active_bindings.values() if b.enabled and b.binding.show}


@pytest.fixture
def noted(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """Two residents; on 王秀英's file a note past due, one acknowledged, one done; on
    李建国's one new note (written last)."""
    path = tmp_path / "noted"
    clock = FixedClock(T0 - dt.timedelta(days=5))
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    ws = Workspace(vault)
    wang = Resident(name="王秀英", community="史家社区")
    li = Resident(name="李建国", community="史家社区")
    need = Need(
        resident_id=wang.id,
        category=NeedCategory.INCOME,
        description="低保复核材料",
        opened_on=clock.today(),
    )
    ws.records.save_many([wang, li, need])
    late = ws.write_note(
        wang.id, NoteAction.CALL, "请电话确认材料", due_date=TODAY - dt.timedelta(days=2)
    )
    clock.advance(3600)
    seen = ws.write_note(wang.id, NoteAction.REVIEW, "描述再具体些", target_id=need.id)
    ws.set_note_status(seen.id, NoteStatus.ACKNOWLEDGED)
    done = ws.write_note(wang.id, NoteAction.OTHER, "已办")
    ws.set_note_status(done.id, NoteStatus.DONE)
    clock.advance(3600)
    new = ws.write_note(li.id, NoteAction.VISIT, "本周上门看看", due_date=TODAY)
    vault.close()
    yield (
        path,
        {
            "wang": wang.id,
            "li": li.id,
            "late": late.id,
            "seen": seen.id,
            "done": done.id,
            "new": new.id,
        },
    )


async def test_todays_inbox_lists_open_notes_and_enter_opens_the_file_at_the_note(
    noted: tuple[Path, dict[str, str]],
) -> None:
    path, ids = noted
    async with running(path, lang="en") as (app, pilot, _ws):
        screen = app.screen
        assert isinstance(screen, TodayScreen)
        title = screen.query_one("#inbox-title", Static)
        assert title.display and str(title.render()) == "For you: notes and new residents (3)"
        inbox = screen.query_one("#inbox", DataTable)
        assert inbox.display and screen.focused is inbox  # the first thing Enter opens
        shown = rows(inbox)
        assert [r[0] for r in shown] == ["王秀英", "李建国", "王秀英"]  # overdue, newest, older
        assert shown[0][1:4] == ["Phone the resident", "New", f"{TODAY - dt.timedelta(days=2)} !"]
        assert shown[2][1:3] == ["Review the record", "Acknowledged"]
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        file = app.screen
        assert isinstance(file, ResidentFileScreen) and file.resident_id == ids["wang"]
        assert file.query_one("#file-tabs", TabbedContent).active == "tab-notes"
        notes = file.query_one("#notes", DataTable)
        assert file.focused is notes
        key = notes.coordinate_to_cell_key(notes.cursor_coordinate).row_key.value
        assert key == ids["seen"]


async def test_the_inbox_is_hidden_while_no_note_is_open(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, _pilot, _ws):
        assert not app.screen.query_one("#inbox").display
        assert not app.screen.query_one("#inbox-title").display


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_a_resident_newly_assigned_here_is_in_the_inbox_until_its_file_is_opened(
    tmp_path: Path, lang: str
) -> None:
    from fieldapp.domain.models import assignment_id
    from fieldapp.store import Change

    path = tmp_path / "assigned"
    clock = FixedClock(T0)
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    mine = Resident(name="卓玛", community="八廓社区")
    shared = Resident(name="扎西", community="吉日社区")
    other = Resident(name="他人", community="吉日社区")
    Workspace(vault).records.save_many([mine, shared, other])
    me = vault.device_id
    for r, fields in (
        (mine, {"worker": me, "shared_with": []}),
        (shared, {"worker": "someoneElse", "shared_with": [me]}),
        (other, {"worker": "someoneElse", "shared_with": []}),  # not this device's
    ):
        when = (T0 - dt.timedelta(hours=1 if r is mine else 30)).isoformat()
        fields = {"resident_id": r.id, "assigned_at": when, **fields}
        vault.commit([Change("assignment", assignment_id(r.id), fields)])
    vault.close()
    async with running(path, lang=lang) as (app, pilot, ws):
        screen = app.screen
        assert isinstance(screen, TodayScreen)
        title = screen.query_one("#inbox-title", Static)
        assert str(title.render()) == t("ui.inbox_title", lang, count=2)
        inbox = screen.query_one("#inbox", DataTable)
        assert [r[:4] for r in rows(inbox)] == [  # the newest first
            ["卓玛", t("ui.inbox_new_resident", lang), t("ui.inbox_assigned", lang), str(TODAY)],
            [
                "扎西",
                t("ui.inbox_new_resident", lang),
                t("ui.inbox_shared", lang),
                str(TODAY - dt.timedelta(days=1)),
            ],
        ]
        assert screen.focused is inbox
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen) and app.screen.resident_id == mine.id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert [r[0] for r in rows(inbox)] == ["扎西"]  # seen: no longer new
        # Assigned here again later (taken back, then given back): new again.
        stamp = ws.vault.commit([Change("assignment", assignment_id(mine.id), {"worker": None})])
        ws.vault.commit([Change("assignment", assignment_id(mine.id), {"worker": me})])
        assert stamp and [r.name for r in ws.today_summary().assignments] == ["卓玛", "扎西"]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_worker_acknowledges_then_marks_done_from_the_notes_tab(
    noted: tuple[Path, dict[str, str]], lang: str
) -> None:
    path, ids = noted
    clock = FixedClock(T0)
    async with running(path, lang=lang, clock=clock) as (app, pilot, _ws):
        await pilot.press("enter")  # the overdue note, on 王秀英's file
        await settle(pilot)
        file = app.screen
        assert isinstance(file, ResidentFileScreen)
        footer_keys = shown_keys(file)
        assert {"k", "x"} <= footer_keys and "w" not in footer_keys
        assert {"e", "s"}.isdisjoint(footer_keys)  # out of the footer there, still keys
        descriptions = {b.binding.id: b.binding.description for b in file.active_bindings.values()}
        assert descriptions["file.note_acknowledge"] == t("key.file.note_acknowledge", lang)
        notes = file.query_one("#notes", DataTable)
        assert rows(notes)[0][3] == t("enum.NoteStatus.new", lang)
        detail = str(file.query_one("#note-detail", Static).render())
        assert "请电话确认材料" in detail  # the note whole, under the table, with its author
        assert t("ui.note_written_by", lang, who="", at="").strip(", ") in detail
        clock.advance(600)
        await pilot.press("k")
        await settle(pilot)
        assert app.workspace is not None
        note = app.workspace.records.get(SupervisionNote, ids["late"])
        assert note is not None and note.status is NoteStatus.ACKNOWLEDGED
        assert note.acknowledged_at == T0 + dt.timedelta(seconds=600)
        assert rows(notes)[0][3] == t("enum.NoteStatus.acknowledged", lang)
        await pilot.press("x")
        await settle(pilot)
        note = app.workspace.records.get(SupervisionNote, ids["late"])
        assert note is not None and note.status is NoteStatus.DONE
        # The history says it in words: the status by its label, the time without a "T".
        await pilot.press("right")
        await settle(pilot)
        history = rows(file.query_one("#history", DataTable))
        changes = [r[3] for r in history if r[2].endswith(t("field.any.status", lang))]
        done = t("enum.NoteStatus.done", lang)
        assert any(c.endswith(done) for c in changes), changes
        # On another tab the note keys are gone and Status is back.
        file.query_one("#file-tabs", TabbedContent).active = "tab-profile"
        await settle(pilot)
        footer_keys = shown_keys(file)
        assert {"e", "s"} <= footer_keys and "k" not in footer_keys
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert [r[0] for r in rows(app.screen.query_one("#inbox", DataTable))] == [
            "李建国",
            "王秀英",
        ]


async def test_a_done_note_is_not_moved_back(
    noted: tuple[Path, dict[str, str]], toasts: list[tuple[str, str]]
) -> None:
    path, ids = noted
    async with running(path) as (app, pilot, _ws):
        await pilot.press("enter")
        await settle(pilot)
        notes = app.screen.query_one("#notes", DataTable)
        assert notes.row_count == 3
        notes.move_cursor(row=2)  # the one done (open ones first)
        await pilot.press("k")
        await settle(pilot)
        assert ("information", t("ui.note_already", status="Done")) in toasts
        assert app.workspace is not None
        note = app.workspace.records.get(SupervisionNote, ids["done"])
        assert note is not None and note.status is NoteStatus.DONE
        assert not [text for severity, text in toasts if severity == "error"]


async def test_the_supervisor_writes_a_note_on_the_need_under_the_cursor(
    supervised: Path,
) -> None:
    app = make(supervised, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_resident(R1)
        await settle(pilot)
        file = app.screen
        assert isinstance(file, ResidentFileScreen)
        enabled = {b.binding.key for b in file.active_bindings.values() if b.enabled}
        assert "w" in enabled and "k" not in enabled
        await pilot.press("right")  # the needs tab, the need under the cursor
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "Need·屋顶漏雨" in str(form.title)
        form.query_one("#f-text").focus()
        await pilot.press(*"请核实漏雨情况", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen)
        ws = app.workspace
        assert ws is not None
        [note] = ws.records.all(SupervisionNote)
        assert (note.resident_id, note.target_id, note.action) == (R1, N1, NoteAction.REVIEW)
        assert note.text == "请核实漏雨情况" and note.status is NoteStatus.NEW
        assert ws.vault.field_author(note.id, "created_at") == ws.vault.device_id
        app.close_vault()


@pytest.mark.parametrize(("lang", "typed"), [("en", "acknowledge"), ("zh_CN", "知悉督导")])
async def test_the_palette_acknowledges_the_note_under_the_cursor(
    noted: tuple[Path, dict[str, str]], lang: str, typed: str
) -> None:
    path, ids = noted
    async with running(path, lang=lang) as (app, pilot, _ws):
        await pilot.press("enter")  # the overdue note, on its file's notes tab
        await settle(pilot)
        file = app.screen
        assert isinstance(file, ResidentFileScreen)
        titles = [c.title for c in app.get_system_commands(file)]
        assert t("cmd.note_acknowledge", lang) in titles
        assert t("cmd.write_note", lang) not in titles  # the supervisor's
        await pilot.press("ctrl+p")
        await pilot.press(*typed)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.workspace is not None
        note = app.workspace.records.get(SupervisionNote, ids["late"])
        assert note is not None and note.status is NoteStatus.ACKNOWLEDGED
        file.query_one("#file-tabs", TabbedContent).active = "tab-profile"
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(file)]
        assert t("cmd.note_acknowledge", lang) not in titles  # only where it applies
        app.close_vault()


# ---------------------------------------------------------------- the team view


def answered(path: Path) -> None:
    """On 张三 (李娜's resident) three notes: one acknowledged after 2 days and done, one
    acknowledged after 1 day, one still new; the supervisor's clock moves between."""
    clock = FixedClock(NOW)
    with Vault.open(path, PASSPHRASE, clock=clock) as v:
        ws = Workspace(v)
        first = ws.write_note(R1, NoteAction.CALL, "电话回访")
        clock.advance(days=2)
        ws.set_note_status(first.id, NoteStatus.ACKNOWLEDGED)
        ws.set_note_status(first.id, NoteStatus.DONE)
        second = ws.write_note(R1, NoteAction.REVIEW, "复核需求", target_id=N1)
        clock.advance(days=1)
        ws.set_note_status(second.id, NoteStatus.ACKNOWLEDGED)
        ws.write_note(R1, NoteAction.VISIT, "上门")


def test_the_team_report_counts_open_notes_and_the_median_days_to_acknowledge(
    supervised: Path,
) -> None:
    answered(supervised)
    with Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)) as v:
        by_name = {r.name: r for r in supervision.team_report(v, TODAY)}
        assert (by_name["李娜"].notes_open, by_name["李娜"].notes_ack_days) == (2, 1.5)
        assert (by_name["王芳"].notes_open, by_name["王芳"].notes_ack_days) == (0, None)
        header, table = export.summary_table(v, TODAY)
    assert header[-2:] == [t("ui.team_col_notes_open"), t("ui.team_col_notes_ack_days")]
    assert sorted(tuple(row[-2:]) for row in table) == [(0, ""), (2, 1.5)]


async def test_the_team_view_shows_the_highlighted_workers_notes(supervised: Path) -> None:
    answered(supervised)
    app = make(supervised, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = app.screen.query_one("#worker-notes", Static)
        assert str(line.render()) == (
            "李娜: 2 supervision notes open · acknowledged in 1.5 days (median)"
        )
        app.screen.query_one("#workers", DataTable).focus()
        await pilot.press("down")
        await settle(pilot)
        assert str(line.render()) == "王芳: 0 supervision notes open · none acknowledged yet"
        app.close_vault()
