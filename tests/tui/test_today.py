"""Today: what is overdue and what is due this week, kept apart; overdue case-plan
actions; focus and the sync line (issue 13)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from fieldapp.domain import CasePlan, Need, NeedCategory, PlanAction, Resident, Urgency
from fieldapp.domain.clock import FixedClock
from fieldapp.services.records import RecordService
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from fieldapp.tui.screens.today import SHOWN, TodayScreen
from sync import outbox, team
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.tui.conftest import TODAY, make_app, running, settle


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def small_vault(tmp_path: Path) -> Iterator[Path]:
    """One resident with a need five months overdue, one due in three days, one due in
    three weeks, and an active case plan with one action overdue, one done, one ahead."""
    path = tmp_path / "small"
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(T0))
    records = RecordService(vault)
    records.set_profile("李娜", "史家社区")
    person = Resident(name="王秀英", community="史家社区")
    records.save(person)
    for text, opened, due in (
        ("送米送油，五个月前就该办", -160, -150),
        ("陪同就医", -2, 3),
        ("申请低保复核", -2, 21),
    ):
        records.save(
            Need(
                resident_id=person.id,
                category=NeedCategory.HEALTH,
                description=text,
                urgency=Urgency.MEDIUM,
                opened_on=days(opened),
                due_date=days(due),
            )
        )
    records.save(
        CasePlan(
            resident_id=person.id,
            title="居家安全",
            start_date=days(-60),
            actions=[
                PlanAction(text="安装燃气报警器", owner="李娜", due_date=days(-10)),
                PlanAction(text="联系家属", owner="李娜", due_date=days(-20), done=True),
                PlanAction(text="复查扶手", owner="李娜", due_date=days(5)),
            ],
        )
    )
    vault.close()
    yield path


def test_overdue_needs_are_not_due_this_week(small_vault: Path) -> None:
    vault = Vault.open(small_vault, PASSPHRASE, clock=FixedClock(T0))
    try:
        summary = Workspace(vault).today_summary()
        assert [n.description for n in summary.overdue_needs] == ["送米送油，五个月前就该办"]
        assert all(n.overdue for n in summary.overdue_needs)
        assert [n.description for n in summary.needs_due_soon] == ["陪同就医"]
        [action] = summary.overdue_actions
        assert (action.text, action.plan_title, action.days_overdue) == (
            "安装燃气报警器",
            "居家安全",
            10,
        )
        assert action.resident_name == "王秀英"
    finally:
        vault.close()


async def test_today_shows_overdue_needs_and_plan_actions_apart(small_vault: Path) -> None:
    for lang, late_title, soon_title, actions_title in (
        ("en", "Overdue needs (1)", "Needs due this week (1)", "Overdue case-plan actions (1)"),
        ("zh_CN", "逾期需求（1）", "本周到期的需求（1）", "逾期的帮教方案行动（1）"),
    ):
        app = make_app(small_vault, lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            titles = {
                name: str(screen.query_one(f"#{name}-title").render())
                for name in ("late", "soon", "actions")
            }
            assert titles == {"late": late_title, "soon": soon_title, "actions": actions_title}
            late = screen.query_one("#late", DataTable)
            soon = screen.query_one("#soon", DataTable)
            actions = screen.query_one("#actions", DataTable)
            assert "送米送油" in str(late.get_row_at(0)[5])
            assert soon.row_count == 1 and "陪同就医" in str(soon.get_row_at(0)[5])
            row = [str(c) for c in actions.get_row_at(0)]
            assert row[0] == "王秀英" and row[2] == "安装燃气报警器"
            assert row[4] == days(-10).isoformat()
            app.close_vault()


async def test_the_first_enter_opens_the_first_row_shown(small_vault: Path) -> None:
    """No Tab first: the first table with rows (here the overdue needs) has the focus."""
    async with running(small_vault) as (app, pilot, _ws):
        assert app.screen.focused is app.screen.query_one("#late", DataTable)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen)
        assert app.workspace is not None
        [need] = [n for n in app.workspace.records.all(Need) if n.due_date == days(-150)]
        assert app.screen.resident_id == need.resident_id


@pytest.fixture
def joined(small_vault: Path, tmp_path: Path) -> Path:
    """The small vault's worker joined to a team without a hub (the line counts changes)."""
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(T0))
    code = team.create_team(sup, "督导").code()
    sup.close(compact=False)
    worker = Vault.open(small_vault, PASSPHRASE, clock=FixedClock(T0))
    team.join(worker, code, "李娜")
    worker.close(compact=False)
    return small_vault


def changes_in(line: str) -> int:
    return int(line.split("Sync: ")[1].split(" changes")[0])


async def test_the_sync_line_counts_a_save_at_once_and_on_refresh(joined: Path) -> None:
    """Back on Today after a save, and after ``g``, the line counts the new changes."""
    async with running(joined) as (app, pilot, _ws):
        assert app.workspace is not None
        status = app.screen.query_one("#sync-status")
        before = outbox.status(app.workspace.vault).pending_ops
        assert changes_in(str(status.render())) == before
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"赵六", "ctrl+s")
        await settle(pilot)
        if not isinstance(app.screen, TodayScreen):  # the new resident's file
            await pilot.press("escape")
            await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        saved = outbox.status(app.workspace.vault).pending_ops
        assert saved > before
        assert changes_in(str(status.render())) == saved
        # A change made elsewhere (a sync pass, the command line's worker): g shows it.
        app.workspace.save(Resident(name="钱七", community="史家社区"))
        more = outbox.status(app.workspace.vault).pending_ops
        assert more > saved
        await pilot.press("g")
        await settle(pilot)
        assert changes_in(str(status.render())) == more


async def test_a_new_resident_opens_in_their_file_once_saved(small_vault: Path) -> None:
    """The first save of a new resident lands in their file; Escape goes back to Today."""
    async with running(small_vault) as (app, pilot, _ws):
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"赵六", "ctrl+s")
        await settle(pilot)
        assert app.workspace is not None
        [new] = [r for r in app.workspace.records.all(Resident) if r.name == "赵六"]
        assert isinstance(app.screen, ResidentFileScreen)
        assert app.screen.resident_id == new.id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_switching_the_language_keeps_todays_titles_in_view(
    demo_vault: Path, lang: str
) -> None:
    """F2 redraws Today in the other language from the top: the first table takes the focus
    (Enter still opens a row) without scrolling its section title out of view."""
    async with running(demo_vault, lang=lang) as (app, pilot, _ws):
        await pilot.press("f2")
        await settle(pilot)
        body = app.screen.query_one("#today-body")
        assert body.scroll_y == 0
        assert app.screen.focused is app.screen.query_one("#due")
        title = app.screen.query_one("#due-title")
        assert body.region.contains_region(title.region)
    app.close_vault()


def table_layout(screen: TodayScreen) -> dict[str, tuple[int, list[int], tuple[int, int]]]:
    """What Today's tables are drawn with: rows, each column's width, the table's size; and
    how far the body is scrolled."""
    body = screen.query_one("#today-body")
    layout = {
        str(table.id): (
            table.row_count,
            [column.get_render_width(table) for column in table.ordered_columns],
            (table.virtual_size.width, table.virtual_size.height),
        )
        for table in screen.query(DataTable)
    }
    layout["body"] = (0, [], (round(body.scroll_x), round(body.scroll_y)))
    return layout


async def test_todays_first_frame_with_rows_is_already_its_final_layout(
    demo_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moment the tables get their rows (before anything else can run, a frame
    included), their columns are as wide as their cells and the tables as tall as their
    rows: the first paint is the settled one, nothing re-laid out a moment later."""
    first: list[dict[str, tuple[int, list[int], tuple[int, int]]]] = []
    show = TodayScreen.show

    def show_and_look(self: TodayScreen, summary: object) -> None:
        show(self, summary)  # type: ignore[arg-type]
        if not first:
            first.append(table_layout(self))

    monkeypatch.setattr(TodayScreen, "show", show_and_look)
    async with running(demo_vault, lang="zh_CN") as (app, _pilot, _ws):
        assert isinstance(app.screen, TodayScreen)
        settled = table_layout(app.screen)
        due = app.screen.query_one("#due", DataTable)
        assert due.row_count > 10  # more rows than the table shows at once …
        name = due.ordered_columns[0]
        assert name.get_render_width(due) > len(name.label) * 2 + 2  # … and wider than 姓名
        assert first == [settled]


async def test_today_reads_its_summary_once_on_start(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Showing Today reads the summary (a scan of every resident, need and contact) once,
    not once on mount and again when the screen is first shown."""
    reads: list[object] = []
    summary = Workspace.today_summary

    def counted(self: Workspace, soon_days: int = 7) -> object:
        reads.append(self)
        return summary(self, soon_days)

    monkeypatch.setattr(Workspace, "today_summary", counted)
    async with running(small_vault) as (app, pilot, _ws):
        assert isinstance(app.screen, TodayScreen) and app.screen.summary is not None
        assert len(reads) == 1
        await pilot.press("g")  # a refresh reads it again
        await settle(pilot)
        assert len(reads) == 2


async def test_todays_footer_is_built_once_for_one_set_of_keys(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the way to the first paint the keys do not change (focus moves, bindings are
    translated): the footer builds its keys once, not once per change of focus; a change
    of language still shows the new keys."""
    built: list[Footer] = []
    compose = Footer.compose

    def counted(self: Footer) -> ComposeResult:
        if self._bindings_ready:  # the very first compose draws nothing, bindings unknown
            built.append(self)
        return compose(self)

    monkeypatch.setattr(Footer, "compose", counted)
    async with running(small_vault, lang="zh_CN") as (app, pilot, _ws):
        footer = app.screen.query_one(Footer)
        assert len(built) == 1
        assert "居民" in " ".join(str(key.description) for key in footer.query("FooterKey"))
        await pilot.press("f2")
        await settle(pilot)
        footer = app.screen.query_one(Footer)
        assert "Residents" in " ".join(str(key.description) for key in footer.query("FooterKey"))


async def test_a_sync_line_or_failure_arriving_after_today_closed_changes_nothing(
    small_vault: Path,
) -> None:
    """The sync line's worker can finish (or fail) after Today was closed, as when the app
    quits meanwhile: nothing to show, never a crash on the missing widget."""
    async with running(small_vault) as (app, pilot, _ws):
        today = app.screen
        assert isinstance(today, TodayScreen)
        app.switch_to(Screen())
        await settle(pilot)
        assert not today.is_attached
        today._show_sync_line("Hub: online")
        today.worker_failed("sync-status")
        today.worker_failed("today")
    app.close_vault()


async def _unlock(pilot: Pilot[None]) -> None:
    """On the unlock screen: type the passphrase, Enter, and wait until the app is in."""
    await settle(pilot)
    await pilot.press(*PASSPHRASE, "enter")
    await settle(pilot)


def locked_app(path: Path) -> FieldApp:
    """The worker's app on ``path`` as it starts on a laptop: on the unlock screen."""
    from fieldapp.config import Config

    return FieldApp(
        config=Config(language="en"),
        vault_path=path,
        save_settings=False,
        clock=FixedClock(T0),
        auto_sync=False,
    )


async def test_after_the_unlock_today_shows_the_summary_worked_out_by_the_unlock(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's summary is worked out in the unlock's worker, right after the vault opened
    (while the unlock screen is still up), and Today shows that one: no second scan."""
    seen_on: list[str] = []
    summary = Workspace.today_summary
    app = locked_app(small_vault)

    def counted(self: Workspace, soon_days: int = 7) -> object:
        if self._primed is None:  # a real scan, not the primed one handed over
            seen_on.append(type(app.screen).__name__)
        return summary(self, soon_days)

    monkeypatch.setattr(Workspace, "today_summary", counted)
    async with app.run_test(size=(80, 24)) as pilot:
        await _unlock(pilot)
        assert isinstance(app.screen, TodayScreen) and app.screen.summary is not None
        assert seen_on == ["UnlockScreen"]
        app.close_vault()


async def test_after_the_unlock_no_frame_of_today_is_painted_without_its_tables(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary the unlock's worker worked out is shown the moment Today is first shown,
    on the UI thread: every frame of Today painted has its tables filled (none painted with
    "loading…" to be redrawn), and no worker is asked for a summary on the way."""
    painted: list[bool] = []  # per frame of Today: were its tables filled?
    display = FieldApp._display

    def looked_at(self: FieldApp, screen: Screen[object], renderable: object) -> None:
        if isinstance(screen, TodayScreen):
            painted.append(screen.summary is not None)
        display(self, screen, renderable)  # type: ignore[arg-type]

    loads: list[TodayScreen] = []
    monkeypatch.setattr(FieldApp, "_display", looked_at)
    monkeypatch.setattr(TodayScreen, "load", lambda self: loads.append(self))
    app = locked_app(small_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await _unlock(pilot)
        today = app.screen
        assert isinstance(today, TodayScreen) and today.summary is not None
        assert today.query_one("#due", DataTable).row_count == len(today.summary.due[:SHOWN])
        assert painted and all(painted)
        assert loads == []
        app.close_vault()


async def test_a_summary_that_fails_at_the_unlock_never_stops_the_unlock(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Working Today out early is only a head start: when it fails, the vault opens all the
    same and Today works its summary out itself."""

    def broken(self: Workspace) -> None:
        raise RuntimeError("the schedule broke")

    monkeypatch.setattr(Workspace, "prime_today", broken)
    app = locked_app(small_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await _unlock(pilot)
        assert isinstance(app.screen, TodayScreen) and app.screen.summary is not None
        app.close_vault()


async def test_todays_index_is_kept_once_the_first_screen_is_up_and_after_each_refresh(
    small_vault: Path,
) -> None:
    kept = small_vault / "derived-today.fv"
    async with running(small_vault) as (app, pilot, ws):
        await app.workers.wait_for_complete()
        assert kept.exists()  # a start after a crash from here on reads it
        first = kept.read_bytes()
        person = next(r for r, _ in ws.vault.iter_records("resident"))
        from fieldapp.store import Change

        ws.vault.commit([Change("resident", person, {"notes": "改过"})])
        await pilot.press("g")  # Today again: worked out again, kept again
        await settle(pilot)
        await app.workers.wait_for_complete()
        assert kept.read_bytes() != first
        assert ws.vault.load_derived("today") is not None  # bound to the revision now


def _slow_records(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Hold the vault's open where it reads the records until the test lets it go (the
    long part of an open at 50 000 records), and say when it got there."""
    reached, release = threading.Event(), threading.Event()
    load = Vault._load_snapshot

    def held(self: Vault, gen: int) -> None:
        reached.set()
        assert release.wait(30)
        load(self, gen)

    monkeypatch.setattr(Vault, "_load_snapshot", held)
    return reached, release


async def _to_preview(app: FieldApp, pilot: Pilot[None]) -> None:
    """Type the passphrase and Enter; wait until Today's preview is drawn."""
    from fieldapp.tui.screens.today import TodayPreview

    await settle(pilot)
    await pilot.press(*PASSPHRASE, "enter")  # and not settled: the preview is looked at
    for _ in range(200):
        if isinstance(app.screen, TodayPreview) and app.screen.painted.is_set():
            return
        await pilot.pause(0.02)


def _kept(path: Path, clock: FixedClock) -> None:
    """A session on ``path`` that showed Today and closed: the index and the inbox kept."""
    ws = Workspace(Vault.open(path, PASSPHRASE, clock=clock))
    ws.today_summary()
    ws.close()


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_today_is_drawn_from_what_was_kept_while_the_records_are_read(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """Enter on the unlock: once the passphrase is right, Today is drawn from what the last
    session kept, before the records are read; keys pressed on it wait, and are pressed
    on Today once the vault is open (here: r, the residents)."""
    from fieldapp.config import Config
    from fieldapp.tui.screens.residents import ResidentsScreen
    from fieldapp.tui.screens.today import TodayPreview

    _kept(small_vault, FixedClock(T0 + dt.timedelta(days=1)))
    reached, release = _slow_records(monkeypatch)
    app = locked_app(small_vault)
    app.config = Config(language=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_preview(app, pilot)
        preview = app.screen
        assert reached.is_set() and isinstance(preview, TodayPreview) and app.workspace is None
        assert preview.summary is not None and preview.summary.today == T0.date()
        assert preview.query_one("#late", DataTable).row_count == 1  # five months overdue
        await pilot.press("r")
        await pilot.pause(0.05)
        assert app.screen is preview and preview.held == [("r", "r")]
        release.set()
        await settle(pilot)
        for _ in range(100):
            if isinstance(app.screen, ResidentsScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, ResidentsScreen)
        assert not any(isinstance(s, TodayPreview) for s in app.screen_stack)
        today = app.screen_stack[-2]
        assert isinstance(today, TodayScreen) and today.summary is preview.summary
        # What was drawn is what the records give: worked out again with nothing kept.
        assert app.workspace is not None
        for kept in small_vault.glob("derived-*.fv"):
            kept.unlink()
        assert preview.summary == Workspace(app.workspace.vault).today_summary()
        app.close_vault()


async def test_what_the_preview_showed_is_taken_back_when_the_vault_then_fails_to_open(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The passphrase was right, Today was drawn, and then a frame of the journal does not
    verify: the preview goes, the unlock says why, and the keys pressed meanwhile are
    dropped — nothing of the vault is shown as if it were open."""
    from fieldapp.errors import VaultTampered
    from fieldapp.tui.screens.today import TodayPreview
    from fieldapp.tui.screens.unlock import UnlockScreen

    _kept(small_vault, FixedClock(T0))
    _reached, release = _slow_records(monkeypatch)

    def tampered(self: Vault, sb: object) -> None:
        raise VaultTampered(file="journal-1.fv", what="frame", index=0)

    monkeypatch.setattr(Vault, "_replay_journal", tampered)
    app = locked_app(small_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_preview(app, pilot)
        assert isinstance(app.screen, TodayPreview)
        await pilot.press("r")
        release.set()
        for _ in range(200):
            if isinstance(app.screen, UnlockScreen):
                break
            await pilot.pause(0.02)
        await settle(pilot)
        unlock = app.screen
        assert isinstance(unlock, UnlockScreen) and app.workspace is None
        message = str(unlock.query_one("#unlock-message").render())
        assert message == VaultTampered(file="journal-1.fv", what="frame", index=0).render()
        assert unlock.held_keys == [] and len(app.screen_stack) == 2


async def test_no_preview_without_a_kept_inbox_and_the_unlock_goes_on(
    small_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vault whose last session kept no inbox (or whose kept files are stale): no preview,
    the unlock opens the vault and shows Today as before."""
    from fieldapp.tui.screens.today import TodayPreview

    _kept(small_vault, FixedClock(T0))
    (small_vault / "derived-today_inbox.fv").write_bytes(b"not sealed by this vault")
    shown: list[str] = []
    push = FieldApp.push_screen

    def pushed(self: FieldApp, screen: object, *args: object, **kwargs: object) -> object:
        shown.append(type(screen).__name__)
        return push(self, screen, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FieldApp, "push_screen", pushed)
    app = locked_app(small_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await _unlock(pilot)
        assert isinstance(app.screen, TodayScreen) and app.screen.summary is not None
        assert not isinstance(app.screen, TodayPreview) and "TodayPreview" not in shown
        app.close_vault()
