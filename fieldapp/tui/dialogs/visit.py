"""One visit, read-only: when, what kind, how long, purpose, observations, the next visit
due and the checklist's answers under the template's labels (Enter on the visits tab)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from fieldapp.domain import Visit
from fieldapp.i18n import field_label, t
from fieldapp.services.templates import Template
from fieldapp.tui.i18n import day, keys_hint, label, lang, translate_bindings


class VisitDialog(ModalScreen[None]):
    """Show the ``visit`` as it was saved, its checklist answers labelled from ``template``
    (the visit's checklist template, None when it has none or the team no longer has it:
    then the item ids are shown). Nothing in it can be changed."""

    BINDINGS = [
        Binding("escape,enter,q", "close", "Close", id="visit.close"),
        Binding("f1", "app.help", "Help", id="visit.help"),
    ]

    def __init__(self, visit: Visit, template: Template | None) -> None:
        super().__init__()
        self.visit = visit
        self.template = template

    def compose(self) -> ComposeResult:
        """The title, the visit's fields and checklist (scrolling when long), and its keys."""
        v = self.visit
        with Vertical(classes="dialog", id="visit-dialog"):
            yield Static(
                t("ui.visit_title", when=v.started_at.strftime("%Y-%m-%d %H:%M")),
                classes="dialog-title",
                markup=False,
            )
            with VerticalScroll(id="visit-body"):
                yield Static(self.body(), id="visit-text", markup=False)
            yield Static("", id="visit-keys", classes="hint", markup=False)

    def body(self) -> Text:
        """The visit's fields and then each checklist item: its label, the answer, a note."""
        v = self.visit

        def row(name: str, value: str) -> str:
            return f"{field_label('visit', name)}: {value or '—'}\n"

        text = Text(
            row("kind", label("VisitKind", v.kind.value))
            + row("duration_minutes", str(v.duration_minutes))
            + row("purpose", v.purpose)
            + row("next_due", day(v.next_due))
        )
        text.append(f"{field_label('visit', 'observations')}:\n", style="bold")
        text.append((v.observations or "—") + "\n")
        if v.checklist:
            title = self.template.title(lang()) if self.template else v.checklist_template
            text.append(f"\n{title or field_label('visit', 'checklist')}\n", style="bold")
            labels = (
                {q.id: q.label(lang()) for q in self.template.questions} if self.template else {}
            )
            order = [q for q in labels if q in v.checklist] + [
                q for q in v.checklist if q not in labels
            ]
            for item in order:
                check = v.checklist[item]
                answer = label("CheckAnswer", check.answer.value)
                note = f" ({check.note})" if check.note else ""
                text.append(f"  {labels.get(item, item)}: ")
                text.append(answer, style="bold" if check.answer.value == "no" else "")
                text.append(note + "\n")
        return text

    def on_mount(self) -> None:
        """The keys in the current language; the body scrolls with the arrows."""
        translate_bindings(self)
        self.query_one("#visit-keys", Static).update(keys_hint(self, ("visit.close", "visit.help")))
        self.query_one("#visit-body", VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to the resident's file."""
        self.dismiss(None)
