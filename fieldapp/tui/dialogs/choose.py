"""Pick one of a few options (which interview template)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from fieldapp.tui.i18n import translate_bindings


class ChooseDialog(ModalScreen[str | None]):
    """Pick one of a few options; dismissed with the chosen value, or None on Escape. ``options``
    are (text shown, value) pairs under the ``title``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choose.cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.heading = title
        self.options = options

    def compose(self) -> ComposeResult:
        """The title and one line per option."""
        with Vertical(classes="dialog"):
            yield Static(self.heading, classes="dialog-title")
            yield OptionList(
                *[Option(Content(text), id=value) for text, value in self.options], id="choices"
            )

    def on_mount(self) -> None:
        """Focus the options, with the keys in the current language."""
        translate_bindings(self)
        self.query_one("#choices", OptionList).focus()

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
