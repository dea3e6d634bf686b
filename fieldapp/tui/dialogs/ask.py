"""Ask for one line of text (a folder for the USB stick, a team card code)."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from fieldapp.tui.i18n import translate_bindings


class PastedLinesInput(Input):
    """A box that keeps every line of a paste, joined by spaces (Textual's ``Input`` keeps
    only the first): a card copied as printed, over several lines, arrives whole."""

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own handler would add the first line again
        if event.text:
            line = " ".join(event.text.split())
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(line)
            else:
                self.replace(line, *selection)
        event.stop()


class AskDialog(ModalScreen[str | None]):
    """Ask for one line of text; dismissed with what was typed (trimmed), or None on Escape or an
    empty answer. ``question`` is its title, ``value`` the text to start from, ``hint`` a line
    below the box; ``whole_paste`` keeps every line of a paste (a card code)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask.cancel")]

    def __init__(
        self, question: str, value: str = "", hint: str = "", *, whole_paste: bool = False
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.hint = hint
        self.whole_paste = whole_paste

    def compose(self) -> ComposeResult:
        """The question, the box holding ``value``, and the hint."""
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title", markup=False)
            box = PastedLinesInput if self.whole_paste else Input
            yield box(self.value, id="answer")
            yield Static(self.hint, classes="hint", markup=False)

    def on_mount(self) -> None:
        """Put the cursor in the box, with the keys in the current language."""
        translate_bindings(self)
        self.query_one("#answer", Input).focus()

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)

    @on(Input.Submitted)
    def _answer(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class MessageDialog(ModalScreen[None]):
    """Show a longer text the worker may need to copy (a device card code): ``body``
    under the heading ``title``."""

    BINDINGS = [Binding("escape,enter", "close", "Close", id="message.close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.heading = title
        self.body = body

    def compose(self) -> ComposeResult:
        """The title and the text, shown as they are (never as markup)."""
        with Vertical(classes="dialog"):
            yield Static(self.heading, classes="dialog-title", markup=False)
            yield Static(self.body, markup=False, id="message-body")

    def on_mount(self) -> None:
        """Label the close key in the current language."""
        translate_bindings(self)

    def action_close(self) -> None:
        """Close the message."""
        self.dismiss(None)
