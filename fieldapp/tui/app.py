"""The app, a worker's or a supervisor's: composes and routes; each screen lives in its own
module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from fieldapp import i18n
from fieldapp.config import Config, save_config
from fieldapp.domain.clock import SYSTEM, Clock
from fieldapp.i18n import t
from fieldapp.services import errorlog
from fieldapp.services.syncing import HubSync, HubView
from fieldapp.services.workspace import Workspace
from fieldapp.store import KdfParams
from fieldapp.tui.commands import ResidentCommands, system_commands
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import translate_bindings
from fieldapp.tui.messages import (
    Broadcast,
    FirstScreenShown,
    IndexReady,
    OpenResident,
    WorkerFailed,
)
from fieldapp.tui.sync_actions import SyncingApp
from fieldapp.tui.themes import HIGH_CONTRAST, THEMES
from fieldapp.tui.widgets.undo import InputHistory
from fieldapp.tui.workers import FailureReporter, background

if TYPE_CHECKING:
    from fieldapp.tui.screens.unlock import UnlockScreen


class FieldApp(SyncingApp):
    """fieldapp for a community social worker, or with ``supervisor`` for their supervisor
    (whose home is the team view).

    ``config`` holds the settings, written back when ``save_settings``; ``vault_path`` is
    the vault to unlock (or to create on a first run) and ``workspace`` one already open;
    ``auto_sync`` tries the hub in the background; ``clock`` is the party's clock (an open
    vault brings its own); ``read_only`` opens the vault to look and export only."""

    CSS_PATH = "app.tcss"
    TITLE = "fieldapp"
    COMMANDS = App.COMMANDS | {ResidentCommands}
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", id="app.help_key", show=False),
        Binding("f2", "toggle_language", "中文/English", id="app.language"),
        Binding("f3", "go_today", "Today", id="app.today", show=False),
        Binding("f4", "go_residents", "Residents", id="app.residents", show=False),
        Binding("ctrl+l", "lock", "Lock", id="app.lock", show=False),
        Binding("ctrl+p", "command_palette", "Commands", id="app.palette", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False),
        Binding("ctrl+z", "undo_typing", "Undo", id="app.undo", show=False),
        Binding("ctrl+y", "redo_typing", "Redo", id="app.redo", show=False),
    ]

    def __init__(
        self,
        *,
        config: Config | None = None,
        vault_path: Path | None = None,
        workspace: Workspace | None = None,
        save_settings: bool = True,
        supervisor: bool = False,
        auto_sync: bool = True,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self.config = config or Config()
        i18n.set_language(self.config.language)
        super().__init__()
        self.vault_path = vault_path
        self.workspace = workspace
        # The one clock (DESIGN §3.0): vaults this app opens read it, and so do the idle
        # lock and the hub's retry countdown. An already open vault brings its own.
        self.clock: Clock = clock or (workspace.clock if workspace is not None else SYSTEM)
        self.save_settings = save_settings
        self.read_only = read_only  # the vault is opened to look and export only
        self.supervisor = supervisor  # 督导: home is the team view
        self.auto_sync = auto_sync  # try the hub in the background (tests drive it by hand)
        self.hub = HubView()
        self.typing = InputHistory()  # Ctrl+Z / Ctrl+Y in text boxes
        self.events = Broadcast()  # app → screens (tui/messages.py)
        self.context: Context | None = None  # what the screens get, once a vault is open
        self.last_input = self.clock.monotonic()
        self.locked = False
        self.failures = FailureReporter()
        self._indexing = False
        self.unlock_delay_base = 1.0  # seconds; doubles with each wrong passphrase
        self.kdf_for_new_vaults: KdfParams | None = None  # None: calibrate (tests pass cheap ones)
        self.register_theme(HIGH_CONTRAST)

    # ------------------------------------------------------------------ start

    def on_mount(self) -> None:
        """Apply the keymap and the theme, start the idle lock, then go in: straight to the home
        screen with a vault already open, else unlock it, else the first run."""
        translate_bindings(self)
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        self.set_interval(5, self._check_idle, name="idle-lock")
        if self.workspace is not None:
            self.start_session(self.workspace)
        elif self.vault_path is not None and (self.vault_path / "vault.key").exists():
            from fieldapp.tui.screens.unlock import UnlockScreen

            unlock = UnlockScreen(
                self.vault_path,
                clock=self.clock,
                read_only=self.read_only,
                delay_base=self.unlock_delay_base,
                home="team" if self.supervisor else "today",
            )
            self.push_screen(unlock, callback=lambda ws: self._went_in(ws, unlock))
            # While the passphrase is typed: the home screen's code, loaded before it is needed.
            self.call_after_refresh(self._load_home_code)
        else:
            from fieldapp.tui.screens.first_run import FirstRunScreen

            first = FirstRunScreen(
                self.vault_path,
                clock=self.clock,
                kdf=self.kdf_for_new_vaults,
                set_language=self.set_language,
            )
            self.push_screen(first, callback=self._opened)

    def _load_home_code(self) -> None:
        if self.supervisor:
            import fieldapp.tui.screens.team
        else:
            import fieldapp.tui.screens.today  # noqa: F401

    def _opened(self, workspace: Workspace | None) -> None:
        if workspace is not None:
            self.start_session(workspace)

    def _went_in(self, workspace: Workspace | None, unlock: UnlockScreen) -> None:
        """The vault is open: go in, and press again on the home screen the keys that were
        pressed on Today's preview while the records were read."""
        self._opened(workspace)
        if workspace is not None and unlock.held_keys:
            self.call_after_refresh(self._press_held, unlock.held_keys)

    def _press_held(self, keys: list[tuple[str, str | None]]) -> None:
        for key, character in keys:
            self.post_message(events.Key(key, character))

    def start_session(self, workspace: Workspace) -> None:
        """The vault is open: show Today, index for search in the background."""
        self.workspace = workspace
        self.hub_sync = HubSync(workspace, supervisor=self.supervisor, view=self.hub)
        self.context = Context(workspace, self.hub_sync.view, self.events, self.supervisor)
        self.switch_to(self.home_screen())
        for message_id, params in workspace.vault.report.messages():
            self.notify(t(message_id, **params), severity="warning", timeout=15)
        if workspace.vault.read_only:
            self.notify(t("ui.read_only"), severity="warning", timeout=20)
        for error in workspace.template_errors:
            self.notify(error.render(), severity="warning", timeout=15)
        if self.auto_sync and not workspace.vault.read_only:
            self.start_auto_sync()

    def home_screen(self) -> Screen[None]:
        """Today for a worker, the team view for a supervisor."""
        assert self.context is not None
        if self.supervisor:
            from fieldapp.tui.screens.team import TeamScreen

            return TeamScreen(self.context)  # it says when it is up: then the search index
        from fieldapp.tui.screens.today import TodayScreen

        return TodayScreen(self.context)

    def on_first_screen_shown(self, _: FirstScreenShown) -> None:
        """The home screen is up: start indexing the residents for search."""
        self.today_shown()

    def today_shown(self) -> None:
        """The first screen is up: now index for search (pinyin) in the background."""
        if self.workspace is not None and not self._indexing:
            self._indexing = True
            self.build_index()

    def switch_to(self, screen: Screen[object]) -> None:
        """Replace everything on the stack with ``screen`` (going home, unlocking)."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen)

    @background("index")
    def build_index(self) -> None:
        """Index every resident for search in a worker, then tell the screens it is ready."""
        assert self.workspace is not None
        self.workspace.build_index()
        self.call_from_thread(self._index_ready)

    def worker_failed(self, group: str) -> None:
        """Indexing failed: let the next home screen shown try again."""
        if group == "index":
            self._indexing = False  # the next Today shown tries again

    def on_worker_failed(self, message: WorkerFailed) -> None:
        """The one handler for workers that end in error (see ``tui/workers.py``): logged
        without personal data, the screen that ran it made usable again, and said once
        in the user's language."""
        text = self.failures.report(message, self.clock)
        if text is not None:
            self.bell()
            self.notify(text, severity="error", timeout=20)

    def _index_ready(self) -> None:
        self.events.publish(IndexReady)

    def on_descendant_focus(self, event: object) -> None:
        """A widget took the focus (an open dropdown is one of Textual's own): its keys in
        the user's language, in the footer too."""
        widget = getattr(event, "widget", None)
        if widget is not None and self.screen_stack:  # none while the app shuts down
            translate_bindings(widget)
            self.screen.refresh_bindings()

    # ------------------------------------------------------------------ idle lock

    def on_event(self, event: object) -> object:
        """Note the time of every key press, click and paste for the idle lock, and
        what a text box held before the key changes it (for undo)."""
        from textual import events

        if isinstance(event, events.Key | events.MouseDown | events.Paste):
            self.last_input = self.clock.monotonic()
            if isinstance(self.focused, Input):
                self.typing.seen(self.focused)
        return super().on_event(event)  # type: ignore[arg-type]

    def on_input_changed(self, event: Input.Changed) -> None:
        """Every change of a text box, for Ctrl+Z (never a passphrase's)."""
        self.typing.changed(event.input, event.value)

    def action_undo_typing(self) -> None:
        """Ctrl+Z in a text box: put back what it held before the last change."""
        if not (isinstance(self.focused, Input) and self.typing.undo(self.focused)):
            self.bell()

    def action_redo_typing(self) -> None:
        """Ctrl+Y in a text box: put back what the last Ctrl+Z took away."""
        if not (isinstance(self.focused, Input) and self.typing.redo(self.focused)):
            self.bell()

    def _check_idle(self) -> None:
        idle = self.clock.monotonic() - self.last_input
        if idle >= self.config.idle_lock_minutes * 60:
            self.action_lock()
        elif self.hub.state in ("offline", "denied", "clock") and not self.locked:
            self.refresh_sync_status()  # the "next try in …" countdown

    def action_lock(self) -> None:
        """Lock now: keep half-filled forms as drafts and cover everything with the lock screen."""
        if self.workspace is None or self.locked:
            return
        from fieldapp.tui.screens.unlock import LockScreen

        self.events.leaving()  # a half-filled form survives whatever happens next
        self.locked = True
        lock = LockScreen(self.workspace, delay_base=self.unlock_delay_base)
        self.push_screen(lock, callback=self._unlocked)

    def _unlocked(self, _: object) -> None:
        self.locked = False
        self.last_input = self.clock.monotonic()

    # ------------------------------------------------------------------ navigation

    def action_help(self) -> None:
        """Show the keys of the current screen (not over the lock screen, nor over help)."""
        from fieldapp.tui.dialogs.help import HelpScreen

        if isinstance(self.screen, HelpScreen) or self.locked:
            return
        self.push_screen(HelpScreen(self.screen))

    def action_go_today(self) -> None:
        """Go home (Today, or the team view for a supervisor), closing every other screen."""
        if self.workspace is not None and not self.locked:
            self.switch_to(self.home_screen())

    def action_go_residents(self) -> None:
        """Open the residents list."""
        from fieldapp.tui.screens.residents import ResidentsScreen

        if self.context is not None and not self.locked:
            self.push_screen(ResidentsScreen(self.context))

    def action_go_needs(self) -> None:
        """The needs list (需求清单), over everything this vault holds."""
        from fieldapp.tui.screens.needs import NeedsScreen

        if self.context is not None and not self.locked:
            self.push_screen(NeedsScreen(self.context))

    def open_resident(self, resident_id: str, note_id: str | None = None) -> None:
        """Show one resident's file (at one of its supervision notes, ``note_id``)."""
        from fieldapp.tui.screens.resident_file import ResidentFileScreen

        if self.context is not None and not self.locked:
            self.push_screen(ResidentFileScreen(self.context, resident_id, note_id=note_id))

    def on_open_resident(self, message: OpenResident) -> None:
        """A list, the palette, a due contact or the inbox asked for a resident: show their
        file (at the note the inbox row is)."""
        self.open_resident(message.resident_id, message.note_id)

    def action_new_resident(self) -> None:
        """Open an empty resident form, to add someone to the caseload; once saved, their
        file opens (the next thing a worker does is record a need or a visit)."""
        from fieldapp.domain import RecordKind
        from fieldapp.tui.forms import form_for
        from fieldapp.tui.screens.form import FormScreen

        if self.context is not None and not self.locked:
            form = form_for(RecordKind.RESIDENT).build(self.context.workspace)
            screen = FormScreen(self.context, form)

            def closed(saved: bool | None) -> None:
                if saved and screen.saved is not None:
                    self.open_resident(screen.saved.id)

            self.push_screen(screen, callback=closed)

    # ------------------------------------------------------------------ settings

    async def action_toggle_language(self) -> None:
        """Switch the whole app between 中文 and English."""
        await self.set_language("en" if i18n.current_language() == "zh_CN" else "zh_CN")

    async def set_language(self, lang: str) -> None:
        """Switch every screen to ``lang`` now, keeping what is typed in forms."""
        i18n.set_language(lang)
        self.config.language = lang
        self._save_config()
        translate_bindings(self)
        for screen in self.screen_stack:
            translate_bindings(screen)
            relabel = getattr(screen, "relabel", None)
            if relabel is not None:
                await relabel()
        self.refresh_bindings()

    def action_next_theme(self) -> None:
        """Move to the next colour theme (dark, light, high contrast) and keep it in the
        settings."""
        index = THEMES.index(self.theme) if self.theme in THEMES else -1
        self.theme = THEMES[(index + 1) % len(THEMES)]
        self.config.theme = self.theme
        self._save_config()
        self.notify(t("ui.theme_now", theme=self.theme))

    def show_conflicts(self) -> None:
        """The conflicts to review: a supervisor's (what the workers sent), or a worker's (its
        own residents' fields it and the supervisor changed at once)."""
        from fieldapp.tui.screens.conflicts import ConflictsScreen

        assert self.context is not None
        self.push_screen(ConflictsScreen(self.context))

    def show_quarantine(self) -> None:
        """Supervisor: the refused bundles and why."""
        from fieldapp.tui.screens.team import QuarantineScreen

        assert self.context is not None
        self.push_screen(QuarantineScreen(self.context))

    def _save_config(self) -> None:
        if self.save_settings:
            save_config(self.config)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette's commands: those of the ``screen`` it was opened on, if it has some
        (``palette_commands()``: a resident file's note keys), then the app's
        (``tui/commands.py`` PALETTE): going places, locking, syncing and the conflicts to
        review; for a supervisor also merging and quarantine; then language, theme, help and
        quit."""
        opened = self.workspace is not None and not self.locked
        own = getattr(screen, "palette_commands", None)
        if opened and callable(own):
            yield from own()
        yield from system_commands(self, opened=opened, supervisor=self.supervisor)

    async def action_quit(self) -> None:
        """Keep half-filled forms as drafts, let saves and syncs finish, then close."""
        self.events.leaving()  # half-filled forms become drafts
        self.stop_auto_sync()
        await self.workers.wait_for_complete()
        if self.workspace is not None:
            await asyncio.to_thread(self.close_vault)  # compaction can take a second
        self.exit()

    def action_export(self) -> None:
        """Supervisor: export the team summary or a table of one record kind."""
        from fieldapp.tui.dialogs.export import ExportDialog

        if self.workspace is not None and not self.locked:
            self.push_screen(ExportDialog(self.workspace))

    def action_help_quit(self) -> None:
        """Ctrl+C copies text here: say that Ctrl+Q quits."""
        self.notify(t("ui.ctrl_c"))

    def action_command_palette(self) -> None:
        """Open the command palette, with its prompt in the current language (never over the
        lock)."""
        from fieldapp.tui.commands import Palette

        if not self.locked and not Palette.is_open(self):
            self.push_screen(
                Palette(id="--command-palette", placeholder=t("ui.palette_placeholder"))
            )

    def _fatal_error(self) -> None:
        """An unexpected error: say so in the user's language, and never print the
        program's variables (they hold decrypted records) the way Textual's default
        traceback would."""
        import sys

        from rich.text import Text

        self.bell()
        error = sys.exc_info()[1]
        if error is not None:  # the exception's name and place go to the log only
            errorlog.record(error, "crash", self.clock)
        self._exit_renderables.append(Text(t("ui.crashed")))
        self._close_messages_no_wait()

    def close_vault(self) -> None:
        """Close the open vault, compacting its journal and, for a worker, keeping Today's
        index for the next start (run off the UI thread: it can take a second)."""
        if self.workspace is not None:
            self.workspace.close(keep_today=not self.supervisor, keep_team=self.supervisor)
