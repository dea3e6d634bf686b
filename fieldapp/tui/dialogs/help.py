"""`?` / F1: the keys of the screen below, in the current language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from fieldapp.i18n import t
from fieldapp.tui.i18n import translate_bindings


class HelpScreen(ModalScreen[None]):
    """The keys of the screen ``below``, each with what it does and a tip, in the current
    language (F1 or ``?``)."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, below: Screen[object]) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []
        seen = set()
        for active in below.active_bindings.values():
            binding = active.binding
            if not binding.id or binding.id in seen or binding.system:
                continue
            seen.add(binding.id)
            display = self_app_key(below, binding)
            self.rows.append((display, t(f"key.{binding.id}"), t(f"tip.{binding.id}")))

    def compose(self) -> ComposeResult:
        """The title, the table of keys and the footer line."""
        with Vertical(classes="dialog", id="help"):
            yield Static(t("ui.help_title"), classes="dialog-title")
            yield DataTable(id="keys", cursor_type="row", show_cursor=False)
            yield Static(t("ui.help_footer"), classes="hint prose", markup=False)

    def on_mount(self) -> None:
        """Fill the table with the keys of the screen below and focus it."""
        translate_bindings(self)
        table = self.query_one("#keys", DataTable)
        table.add_columns(t("ui.col_key"), t("ui.col_action"), t("ui.col_what"))
        for row in self.rows:
            table.add_row(*row)
        table.focus()

    def action_close(self) -> None:
        """Close the help, back to the screen below."""
        self.dismiss(None)


def self_app_key(screen: Screen[object], binding: Binding) -> str:
    """The key of ``binding`` as the app displays it (``F1``, ``Ctrl+L``)."""
    return screen.app.get_key_display(binding)
