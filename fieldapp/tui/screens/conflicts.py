"""Conflicts to review: every field changed differently on two devices at once, one row
each, Enter to settle it (``dialogs/conflict.py``). One screen for both sides: the
supervisor's (what the workers sent, from the team view) and the worker's (its own
residents' files, where it and the supervisor changed one field at once, from Today). The
resolution is a new op either way, so it syncs up or down like any change."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from fieldapp.i18n import field_label, t
from fieldapp.services import supervision
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import label, show_value, translate_bindings
from fieldapp.tui.widgets.tables import FitTable, keeping_cursor
from fieldapp.tui.workers import background


class ConflictsScreen(Screen[None]):
    """Every field two devices changed differently, to decide one by one, in the open
    vault's ``context`` (a supervisor's or a worker's)."""

    BINDINGS = [Binding("escape", "back", "Back", id="conflicts.back")]

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context
        self.workspace = context.workspace
        self.found: dict[str, supervision.FieldConflict] = {}

    def compose(self) -> ComposeResult:
        """The count, and one row per field in conflict: record, kind, field, the values."""
        yield Header()
        yield Static("", id="conflicts-count", markup=False)
        yield FitTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def _translate(self) -> None:
        """The keys in the current language; Escape goes back to Today on a worker's app."""
        back = {} if self.context.supervisor else {"conflicts.back": t("ui.conflicts_back_today")}
        translate_bindings(self, back)

    def on_mount(self) -> None:
        """Load the conflicts."""
        self._translate()
        self.title = t("ui.conflicts_title")
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a conflict: load again (it may be settled now)."""
        self.load()

    async def relabel(self) -> None:
        """Redraw in the new language and load again."""
        self._translate()
        await self.recompose()
        self.title = t("ui.conflicts_title")
        self.load()

    def action_back(self) -> None:
        """Close the conflicts."""
        self.app.pop_screen()

    @background("conflicts", exclusive=True)
    def load(self) -> None:
        """Gather every unresolved field conflict in a worker."""
        found = supervision.all_conflicts(self.workspace.vault)
        self.app.call_from_thread(self.show, found)

    def worker_failed(self, group: str) -> None:
        """Loading failed: say so where the count goes."""
        if group == "conflicts":
            self.query_one("#conflicts-count", Static).update(t("ui.load_failed"))

    def show(self, found: list[supervision.FieldConflict]) -> None:
        """List the conflicts (cursor kept); Enter opens one to settle."""
        self.found = {f"{c.record_id}/{c.field}": c for c in found}
        self.query_one("#conflicts-count", Static).update(t("ui.conflicts_count", n=len(found)))
        table = self.query_one("#conflicts", FitTable)
        vault = self.workspace.vault
        rows = []
        for key, c in self.found.items():
            name = supervision.conflict_title(vault, c)
            values = " | ".join(show_value(c.kind, c.field, s.value)[:16] for s in c.sides)
            rows.append((key, [name, label("RecordKind", c.kind), _field(c), values]))
        with keeping_cursor(table):
            table.fill(
                [t("ui.col_name"), t("ui.col_record_kind"), t("ui.col_field"), t("ui.col_values")],
                rows,
            )

    @on(DataTable.RowSelected, "#conflicts")
    def _open(self, event: DataTable.RowSelected) -> None:
        from fieldapp.tui.dialogs.conflict import ConflictDialog

        conflict = self.found.get(str(event.row_key.value))
        if conflict is not None:
            dialog = ConflictDialog(self.workspace, conflict)
            self.app.push_screen(dialog, lambda _: self.load())


def _field(c: supervision.FieldConflict) -> str:
    return field_label(c.kind, c.field)
