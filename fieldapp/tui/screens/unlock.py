"""Unlock at start, and the lock screen that hides everything after idle time."""

from __future__ import annotations

import contextlib
import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static

from fieldapp.domain.clock import Clock
from fieldapp.errors import FieldappError, WrongPassphrase
from fieldapp.i18n import t
from fieldapp.services import session
from fieldapp.services import team_view as team_kept
from fieldapp.services import today as day_summary
from fieldapp.services.supervision import TeamIndex, TeamView
from fieldapp.services.views import TodaySummary
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import Finishing, translate_bindings
from fieldapp.tui.workers import background

if TYPE_CHECKING:
    from fieldapp.store.vault import KeptReader
    from fieldapp.tui.screens.preview import Preview

MAX_DELAY = 30.0
PREVIEW_PAINT_WAIT = 1.0  # seconds the unlock's worker lets the preview's first frame have


def wrong_passphrase_delay(failures: int, base: float = 1.0) -> float:
    """Seconds to wait after the n-th wrong passphrase: 1, 2, 4 … up to 30."""
    return min(MAX_DELAY, base * 2 ** max(0, failures - 1)) if failures else 0.0


class _PassphraseScreen(Finishing, Screen[Workspace | None]):
    """Shared by unlock and lock: a passphrase box that waits longer after each miss
    (``delay_base`` seconds after the first, doubling)."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="unlock.quit")]
    failures = 0
    last_delay = 0.0
    _remaining = 0  # whole seconds left of the wait after a wrong passphrase
    _queued: str | None = None  # typed during the wait, tried when it is over
    _wrong_message = ""
    _ticker: Timer | None = None

    def __init__(self, *, delay_base: float = 1.0) -> None:
        super().__init__()
        self.delay_base = delay_base

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="unlock-box"):
            yield Static(self._title(), id="unlock-title")
            yield Label(t("ui.passphrase"), id="unlock-label")
            yield Input(password=True, id="passphrase")
            yield Static("", id="unlock-message", markup=False)
        yield Footer(compact=True)

    def _title(self) -> str:
        return t("ui.unlock_title")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#passphrase", Input).focus()

    async def relabel(self) -> None:
        self.query_one("#unlock-title", Static).update(self._title())
        self.query_one("#unlock-label", Label).update(t("ui.passphrase"))

    @on(Input.Submitted, "#passphrase")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            return
        box = self.query_one("#passphrase", Input)
        if self._remaining > 0:  # still waiting: keep what was typed, try it then
            self._queued = event.value
            box.disabled = True
            self._show_wait()
            return
        box.disabled = True
        self.query_one("#unlock-message", Static).update(t("ui.unlocking"))
        self.try_passphrase(event.value)

    @background("unlock")
    def try_passphrase(self, passphrase: str) -> None:
        raise NotImplementedError

    @property
    def waiting(self) -> bool:
        """Whether a wrong passphrase's wait is still running."""
        return self._remaining > 0

    def wrong(self, message: str) -> None:
        """A wrong passphrase: wait longer each time, counting down; what is typed
        meanwhile is kept and tried when the wait is over."""
        self.failures += 1
        delay = self.last_delay = wrong_passphrase_delay(self.failures, self.delay_base)
        self._wrong_message = message
        self._remaining = max(1, math.ceil(delay))
        self._queued = None
        box = self.query_one("#passphrase", Input)
        box.value = ""
        box.disabled = False
        box.focus()
        self._show_wait()
        if self._ticker is not None:
            self._ticker.stop()
        self._ticker = self.set_interval(1.0, self._tick) if delay >= 1 else None
        self.set_timer(delay, self._wait_over)

    def _show_wait(self) -> None:
        wait_id = "ui.wait_queued" if self._queued else "ui.wait_seconds"
        self.query_one("#unlock-message", Static).update(
            self._wrong_message + "\n" + t(wait_id, seconds=self._remaining)
        )

    def _tick(self) -> None:
        if self._remaining > 1:
            self._remaining -= 1
            self._show_wait()

    def _wait_over(self) -> None:
        self._remaining = 0
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        queued, self._queued = self._queued, None
        if queued:
            self.query_one("#unlock-message", Static).update(t("ui.unlocking"))
            self.try_passphrase(queued)
        else:  # what is being typed stays in the box
            box = self.query_one("#passphrase", Input)
            box.disabled = False
            box.focus()

    def _ready_again(self) -> None:
        box = self.query_one("#passphrase", Input)
        box.value = ""
        box.disabled = False
        box.focus()

    def worker_failed(self, group: str) -> None:
        if group == "unlock":  # the box must not stay disabled
            self.fail(t("ui.load_failed"))

    def fail(self, message: str) -> None:
        self.query_one("#unlock-message", Static).update(message)
        self._ready_again()


class UnlockScreen(_PassphraseScreen):
    """At start: opens the vault at ``vault_path`` and dismisses with its workspace.
    ``clock`` is the party's clock; ``read_only`` opens it to look and export only."""

    def __init__(
        self,
        vault_path: Path,
        *,
        clock: Clock,
        read_only: bool = False,
        delay_base: float = 1.0,
        home: str = "",
    ) -> None:
        super().__init__(delay_base=delay_base)
        self.vault_path = vault_path
        self.clock = clock
        self.read_only = read_only
        # The home screen after it: "today" (a worker's), "team" (a supervisor's), worked
        # out here and drawn before the records are read; "" for neither.
        self.home = home
        self.preview: Preview | None = None  # the home drawn before the records are read
        self.held_keys: list[tuple[str, str | None]] = []  # pressed on it, for the home
        self.previewed: TodaySummary | TeamView | None = None  # what it showed
        self.previewed_index: TeamIndex | None = None  # the team view's, it was drawn from

    @background("unlock")
    def try_passphrase(self, passphrase: str) -> None:
        """Open the vault with ``passphrase`` in a worker and dismiss with its workspace; a wrong
        passphrase makes the next try wait longer, any other refusal is shown. For a worker,
        Today is drawn from what the last session kept as soon as the passphrase is known
        to be right (the peek), while the records are read."""
        self.previewed = self.previewed_index = None
        try:
            workspace = session.open_workspace(
                self.vault_path,
                passphrase,
                clock=self.clock,
                read_only=self.read_only,
                peek=self._peek if self.home else None,
            )
            # In this worker, before the first screen waits for it. Never in the way of the
            # unlock: if it fails, the home screen works it out itself (and says so there,
            # with the failure in the log).
            previewed = self.previewed
            with contextlib.suppress(Exception):
                if self.home == "today":
                    workspace.prime_today(
                        previewed if isinstance(previewed, TodaySummary) else None
                    )
                elif self.home == "team":
                    workspace.prime_team(
                        previewed if isinstance(previewed, TeamView) else None,
                        self.previewed_index,
                    )
        except WrongPassphrase as exc:
            self.app.call_from_thread(self.wrong, exc.render())
            return
        except FieldappError as exc:
            self.app.call_from_thread(self.fail, exc.render())
            return
        self.app.call_from_thread(self.finish, workspace)

    def _peek(self, read: KeptReader) -> None:
        """In the unlock's worker, the passphrase right and the records not read yet: show
        the home screen from what the last session kept, and let its first frame be drawn
        before the reading takes the CPU. Never in the way of the unlock: nothing kept, or
        anything wrong with it, and there is simply no preview."""
        shown: TodaySummary | TeamView | None = None
        with contextlib.suppress(Exception):
            if self.home == "today":
                shown = day_summary.preview(read, self.clock.today())
            elif self.home == "team" and (index := team_kept.kept(read)) is not None:
                shown = team_kept.view_of(index, self.clock.today())
                self.previewed_index = index
        if shown is None:
            return
        self.previewed = shown
        painted = self.app.call_from_thread(self._show_preview, shown)
        if painted is not None:
            painted.wait(PREVIEW_PAINT_WAIT)

    def _show_preview(self, shown: TodaySummary | TeamView) -> threading.Event | None:
        from fieldapp.tui.screens.team import TeamPreview
        from fieldapp.tui.screens.today import TodayPreview

        if self.app.screen is not self:  # help or the like on top: not over it
            return None
        preview = TodayPreview(shown) if isinstance(shown, TodaySummary) else TeamPreview(shown)
        self.preview = preview
        self.app.push_screen(preview)
        return preview.painted

    def _drop_preview(self) -> None:
        """Take the preview away (the vault is open, or it could not be): the keys pressed
        on it are kept for Today."""
        preview, self.preview = self.preview, None
        if preview is None:
            return
        self.held_keys = list(preview.held)
        while preview in self.app.screen_stack:  # on top: every key is held while it is
            self.app.pop_screen()

    def finish(self, result: object) -> None:
        """The vault is open: the preview goes, and the unlock closes with the workspace."""
        self._drop_preview()
        super().finish(result)

    def fail(self, message: str) -> None:
        """The vault did not open after all (a tampered frame found while reading it):
        what the preview showed is taken back, and the refusal shown here."""
        self._drop_preview()
        self.held_keys = []  # they were meant for a Today that is not coming
        super().fail(message)


class LockScreen(_PassphraseScreen):
    """Covers every screen until the passphrase of the ``workspace``'s vault is typed
    again; drafts are already saved."""

    def __init__(self, workspace: Workspace, *, delay_base: float = 1.0) -> None:
        super().__init__(delay_base=delay_base)
        self.workspace = workspace

    def _title(self) -> str:
        return t("ui.locked_title")

    @background("unlock")
    def try_passphrase(self, passphrase: str) -> None:
        """Check ``passphrase`` in a worker: leave the lock screen, or make the next try wait
        longer."""
        try:
            session.unlock(self.workspace, passphrase)
        except WrongPassphrase as exc:
            self.app.call_from_thread(self.wrong, exc.render())
        else:
            self.app.call_from_thread(self.finish, None)
