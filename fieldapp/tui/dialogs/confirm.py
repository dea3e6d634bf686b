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
    """Ask a yes/no ``question`` — by default whether to discard what was typed: True for yes
    (``y``), False (``n``, Escape) for no. ``yes`` and ``no`` label the buttons and are the
    tips of ``y`` and ``n`` (discard / keep editing unless given: "Delete the file" when the
    question is a deletion); "no" has the focus, so Enter never says yes by accident."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str | None = None, no: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        """The question and the two buttons: yes (discard), or no (keep editing)."""
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes or t("ui.yes_discard"), id="yes", variant="error")
                yield Button(self.no or t("ui.no_keep_editing"), id="no", variant="primary")

    def on_mount(self) -> None:
        """Focus "no" (keep editing), so that Enter never says yes by accident."""
        self._translate_keys()
        self.query_one("#no", Button).focus()

    async def relabel(self) -> None:
        """After a language switch: the keys' tips still say what this question is about."""
        self._translate_keys()

    def _translate_keys(self) -> None:
        # y and n say what the buttons say (delete the file, keep it …), not "discard".
        tips = {"confirm.yes": self.yes or "", "confirm.no": self.no or ""}
        translate_bindings(self, tips)

    def action_answer(self, value: bool) -> None:
        """Close with the answer: True is yes (discard)."""
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
