"""Review one conflict: each side's value, who wrote it, when, over what; keep one or
write a merged value. The resolution is a new op, so it syncs and shows in history."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from fieldapp.errors import FieldappError
from fieldapp.i18n import field_label, t
from fieldapp.services import supervision
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import Finishing, show_value, translate_bindings
from fieldapp.tui.workers import background


class ConflictDialog(Finishing, ModalScreen[bool]):
    """Settle one field's conflict in the ``workspace``'s vault: keep one side, or type a merged
    value when every side is text. Dismissed with True once settled, False on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="conflict.cancel")]

    def __init__(self, workspace: Workspace, conflict: supervision.FieldConflict) -> None:
        super().__init__()
        self.workspace = workspace
        self.conflict = conflict

    def compose(self) -> ComposeResult:
        """One line per side (the value, who wrote it, when, what it replaced), the merged
        value's box when every side is text, and a line for a refusal."""
        c = self.conflict
        with Vertical(classes="dialog"):
            yield Static(
                t("ui.conflict_title", field=field_label(c.kind, c.field)),
                classes="dialog-title",
                markup=False,
            )
            options = []
            for i, side in enumerate(c.sides):
                text = t(
                    "ui.conflict_side",
                    value=show_value(c.kind, c.field, side.value),
                    author=side.author,
                    when=side.when.strftime("%Y-%m-%d %H:%M"),
                    before=show_value(c.kind, c.field, side.before),
                )
                options.append(Option(Content(text), id=str(i)))
            yield OptionList(*options, id="sides")
            if all(isinstance(s.value, str) for s in c.sides):
                yield Static(t("ui.conflict_merged"), markup=False)
                yield Input(id="merged")
            yield Static("", id="conflict-error", classes="error", markup=False)

    def on_mount(self) -> None:
        """Focus the sides, with the keys in the current language."""
        translate_bindings(self)
        self.query_one("#sides", OptionList).focus()

    def action_cancel(self) -> None:
        """Close and leave the conflict for later."""
        self.dismiss(False)

    @on(OptionList.OptionSelected)
    def _keep(self, event: OptionList.OptionSelected) -> None:
        self.settle(self.conflict.sides[int(event.option.id or 0)].value)

    @on(Input.Submitted, "#merged")
    def _merged(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.settle(event.value.strip())

    @background("save")
    def settle(self, value: object) -> None:
        """Resolve the conflict with ``value`` in a worker (a new op, so it syncs); a value the
        field's rules refuse is shown in the dialog."""
        try:
            supervision.resolve(self.workspace.vault, self.conflict, value)
        except FieldappError as exc:
            self.app.call_from_thread(
                self.query_one("#conflict-error", Static).update, exc.render()
            )
            return
        self.app.call_from_thread(self.app.notify, t("ui.conflict_resolved"))
        self.app.call_from_thread(self.finish, True)
