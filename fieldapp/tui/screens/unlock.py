"""Unlock at start, and the lock screen that hides everything after idle time."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from fieldapp.domain.clock import Clock
from fieldapp.errors import FieldappError, WrongPassphrase
from fieldapp.i18n import t
from fieldapp.services import session
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import Finishing, translate_bindings
from fieldapp.tui.workers import background

MAX_DELAY = 30.0


def wrong_passphrase_delay(failures: int, base: float = 1.0) -> float:
    """Seconds to wait after the n-th wrong passphrase: 1, 2, 4 … up to 30."""
    return min(MAX_DELAY, base * 2 ** max(0, failures - 1)) if failures else 0.0


class _PassphraseScreen(Finishing, Screen[Workspace | None]):
    """Shared by unlock and lock: a passphrase box that waits longer after each miss
    (``delay_base`` seconds after the first, doubling)."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="unlock.quit")]
    failures = 0
    last_delay = 0.0

    def __init__(self, *, delay_base: float = 1.0) -> None:
        super().__init__()
        self.delay_base = delay_base

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="unlock-box"):
            yield Static(self._title(), id="unlock-title")
            yield Label(t("ui.passphrase"), id="unlock-label")
            yield Input(password=True, id="passphrase")
            yield Static("", id="unlock-message", markup=False)
        yield Footer()

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
        box.disabled = True
        self.query_one("#unlock-message", Static).update(t("ui.unlocking"))
        self.try_passphrase(event.value)

    @background("unlock")
    def try_passphrase(self, passphrase: str) -> None:
        raise NotImplementedError

    def wrong(self, message: str) -> None:
        self.failures += 1
        delay = self.last_delay = wrong_passphrase_delay(self.failures, self.delay_base)
        self.query_one("#unlock-message", Static).update(
            message + "\n" + t("ui.wait_seconds", seconds=round(delay))
        )
        self.set_timer(delay, self._ready_again)

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
        self, vault_path: Path, *, clock: Clock, read_only: bool = False, delay_base: float = 1.0
    ) -> None:
        super().__init__(delay_base=delay_base)
        self.vault_path = vault_path
        self.clock = clock
        self.read_only = read_only

    @background("unlock")
    def try_passphrase(self, passphrase: str) -> None:
        """Open the vault with ``passphrase`` in a worker and dismiss with its workspace; a wrong
        passphrase makes the next try wait longer, any other refusal is shown."""
        try:
            workspace = session.open_workspace(
                self.vault_path, passphrase, clock=self.clock, read_only=self.read_only
            )
        except WrongPassphrase as exc:
            self.app.call_from_thread(self.wrong, exc.render())
            return
        except FieldappError as exc:
            self.app.call_from_thread(self.fail, exc.render())
            return
        self.app.call_from_thread(self.finish, workspace)


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
