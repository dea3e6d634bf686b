"""Move a need along its workflow; resolving or referring asks for the note. A line under the
form says which keys save, cancel and open the help (F1)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from fieldapp.domain import Need, NeedStatus
from fieldapp.domain.workflow import allowed_next
from fieldapp.errors import FieldappError, RecordInvalid
from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import Finishing, keys_hint, label, translate_bindings
from fieldapp.tui.workers import background


class StatusDialog(Finishing, ModalScreen[Need | None]):
    """Move the ``need`` (of the ``workspace``'s vault) to a status its workflow allows,
    with the note that resolving or referring asks for and whom it was referred to;
    dismissed with the saved need, or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="status.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="status.cancel"),
        # A modal screen hides the app's keys: F1 is the dialog's own, to the same help.
        Binding("f1", "app.help", "Help", id="status.help"),
    ]

    def __init__(self, workspace: Workspace, need: Need) -> None:
        super().__init__()
        self.workspace = workspace
        self.need = need

    def compose(self) -> ComposeResult:
        """The need's status now, the statuses it may move to, the note, the referral, and a line
        for refusals."""
        options = [
            (label("NeedStatus", s.value), s.value)
            for s in NeedStatus
            if s in allowed_next(self.need.status)
        ]
        with Vertical(classes="dialog"):
            yield Static(
                t("ui.status_dialog_title", status=label("NeedStatus", self.need.status.value)),
                classes="dialog-title",
            )
            yield Select(options, id="new-status", allow_blank=False, value=options[0][1])
            yield Label(t("field.need.status_note"))
            yield TextArea(id="note", soft_wrap=True, tab_behavior="focus")
            yield Label(t("field.need.referred_to"), id="referred-label")
            yield Input(id="referred-to")
            yield Static("", id="status-error", classes="error", markup=False)
            yield Static("", id="status-keys", classes="hint", markup=False)

    def on_mount(self) -> None:
        """Focus the status choice, with the keys in the current language."""
        translate_bindings(self)
        self.query_one("#status-keys", Static).update(
            keys_hint(self, ("status.save", "status.cancel", "status.help"))
        )
        self.query_one("#new-status", Select).focus()

    def action_cancel(self) -> None:
        """Close and leave the need as it was."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Save the chosen status with the note and the referral."""
        status = NeedStatus(str(self.query_one("#new-status", Select).value))
        note = self.query_one("#note", TextArea).text
        referred = self.query_one("#referred-to", Input).value
        self.change(status, note, referred)

    @background("save")
    def change(self, status: NeedStatus, note: str, referred_to: str) -> None:
        """Move the need in a worker; a refusal (a missing note, a move the workflow forbids) is
        shown in the dialog."""
        try:
            need = self.workspace.change_need_status(self.need.id, status, note, referred_to)
        except RecordInvalid as exc:
            text = "\n".join(p.render() for p in exc.problems)
            self.app.call_from_thread(self._error, text)
            return
        except FieldappError as exc:
            self.app.call_from_thread(self._error, exc.render())
            return
        self.app.call_from_thread(self.finish, need)

    def _error(self, text: str) -> None:
        self.query_one("#status-error", Static).update(text)

    @on(TextArea.Changed, "#note")
    def _note(self, event: TextArea.Changed) -> None:
        if event.text_area.text.strip():  # the note it asked for is there now
            self._error("")

    @on(Select.Changed, "#new-status")
    def _status(self, event: Select.Changed) -> None:
        self._error("")  # a refusal was about the status chosen before
        needs_note = event.value in (NeedStatus.RESOLVED.value, NeedStatus.REFERRED.value)
        self.query_one("#note", TextArea).border_title = t("ui.note_required") if needs_note else ""
