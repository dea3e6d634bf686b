"""Yes/no question (discard changes?)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldapp.i18n import t
from fieldapp.tui.i18n import translate_bindings


class ConfirmDialog(ModalScreen[bool]):
    """Ask whether to discard what was typed: True to discard, False (``n``, Escape) to keep
    editing. ``question`` is what is asked; the buttons always read discard / keep editing."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        """The question and the two buttons: discard, or keep editing."""
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("ui.yes_discard"), id="yes", variant="error")
                yield Button(t("ui.no_keep_editing"), id="no", variant="primary")

    def on_mount(self) -> None:
        """Focus "keep editing", so that Enter never discards by accident."""
        translate_bindings(self)
        self.query_one("#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        """Close with the answer: True discards."""
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
