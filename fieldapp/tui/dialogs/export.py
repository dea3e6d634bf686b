"""Export a record kind or the team summary to CSV/XLSX where the user points."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Select, Static

from fieldapp.domain import RecordKind
from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import Finishing, translate_bindings
from fieldapp.tui.workers import background


class ExportDialog(Finishing, ModalScreen[bool]):
    """Export the team summary or a table of one record kind of the ``workspace``'s
    vault to a file; dismissed with True once written."""

    BINDINGS = [
        Binding("ctrl+s", "export", "Export", id="export.run", priority=True),
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        """What to export, whether to redact, the file's path, and a line for errors."""
        options = [(Content(t("ui.team_title")), "summary")]
        options += [(Content(t(f"enum.RecordKind.{k.value}")), k.value) for k in RecordKind]
        with Vertical(classes="dialog"):
            yield Static(t("ui.export_title"), classes="dialog-title", markup=False)
            yield Select(options, id="what", allow_blank=False, value="summary")
            yield Checkbox(t("ui.export_redact"), True, id="redact")
            yield Static(t("ui.export_path"), markup=False)
            yield Input(id="path", placeholder="/media/usb/team.xlsx")
            yield Static("", id="export-error", classes="error", markup=False)

    def on_mount(self) -> None:
        """Put the cursor in the path, with the keys in the current language."""
        translate_bindings(self)
        self.query_one("#path", Input).focus()

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(False)

    @on(Input.Submitted, "#path")
    def action_export(self) -> None:
        """Check the path (a ``.csv`` or ``.xlsx`` in a folder that exists), then export."""
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        if (
            not path.name
            or path.suffix.lower() not in (".csv", ".xlsx")
            or not path.parent.is_dir()
        ):
            self.query_one("#export-error", Static).update(t("ui.export_bad_path"))
            return
        what = str(self.query_one("#what", Select).value)
        self.run_export(what, path, self.query_one("#redact", Checkbox).value)

    @background("export")
    def run_export(self, what: str, path: Path, redact: bool) -> None:
        """Write the chosen table where the user pointed, in a worker; a disk error is shown
        here."""
        from fieldapp.services import export

        workspace = self.workspace
        try:
            if what == "summary":
                n = export.export_summary(workspace.vault, path, workspace.today())
            else:
                n = export.export_kind(workspace.vault, RecordKind(what), path, redact)
        except OSError as exc:
            self.app.call_from_thread(self.query_one("#export-error", Static).update, str(exc))
            return
        self.app.call_from_thread(self.app.notify, t("ui.exported", n=n, path=str(path)))
        self.app.call_from_thread(self.finish, True)
