"""A home screen drawn before the vault is open: what the unlock shows from what the last
session kept (``Vault.open``'s peek) while the records are read, then replaces with the
home screen itself (``UnlockScreen``)."""

from __future__ import annotations

import threading

from textual import events


class Preview:
    """For a home screen's preview: nothing can be done on it yet, so every key pressed is
    :attr:`held` (Ctrl+Q excepted: it quits at once) for the unlock to press again on the
    home screen; :attr:`painted` is set once its first frame is drawn."""

    PASS = frozenset({"ctrl+q"})
    held: list[tuple[str, str | None]]
    painted: threading.Event

    def start_preview(self) -> None:
        """Call from ``__init__``."""
        self.held = []
        self.painted = threading.Event()

    def on_key(self, event: events.Key) -> None:
        """Hold every key for the home screen (Ctrl+Q excepted). A key pressed before the
        preview was first drawn was typed blind (at the unlock screen, as it seemed): it
        is dropped, never pressed on a screen the user had not seen."""
        if event.key in self.PASS:
            return
        if self.painted.is_set():
            self.held.append((event.key, event.character))
        event.stop()
        event.prevent_default()
