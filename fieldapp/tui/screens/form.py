"""The one form screen: keyboard-only, for any record kind's form.

A form is data (:class:`~fieldapp.tui.forms.spec.FormDef`, built by the kind's module in
:mod:`fieldapp.tui.forms`); this screen shows its fields, keeps what is typed and saves
the record it builds. Problems are shown inline beside the field, in the current
language: a field's own as the worker leaves it, every one at Ctrl+S (listed by label
above the form, the first one scrolled to); nothing is saved while anything is invalid.
Every change is kept as a draft in the vault (debounced), so a crash or an auto-lock
mid-form loses nothing.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from fieldapp.domain import Record
from fieldapp.errors import FieldappError, FieldProblem, RecordInvalid
from fieldapp.i18n import t
from fieldapp.tui.context import Context
from fieldapp.tui.forms.spec import FieldSpec, FormDef, caution_text
from fieldapp.tui.i18n import Finishing, keys_hint, translate_bindings
from fieldapp.tui.workers import background

DRAFT_DELAY = 1.0  # seconds after the last keystroke
KEPT_AT = "_kept_at"  # in a draft: when it was kept (the workspace's clock), not a field


def _plain(options: list[tuple[str, str]]) -> list[tuple[Text, str]]:
    """Option labels as plain text: a template's or a community's [brackets] stay text."""
    return [(Text(label), value) for label, value in options]


class FormScreen(Finishing, Screen[bool]):
    """Shows one form, keeps its draft, and saves the record it builds; dismisses with
    True once saved, False when cancelled. Everything it needs comes in: the context
    (the workspace for drafts and saving; the app's events, to keep a draft before a
    lock or quit) and the form itself."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, context: Context, form: FormDef) -> None:
        super().__init__()
        self.events = context.events
        self.workspace = workspace = context.workspace
        self.form = form
        self.values: dict[str, Any] = dict(form.values)
        self.initial = dict(form.values)
        self.restored = False
        self.restored_at: str | None = None  # when the restored draft was kept, if known
        draft = workspace.draft(form.draft_key)
        if draft:
            self.values.update({k: v for k, v in draft.items() if k in form.names})
            self.restored = True
            kept = draft.get(KEPT_AT)
            self.restored_at = kept if isinstance(kept, str) else None
        self._draft_timer: Any = None
        self.saving = False
        self.saved: Record | None = None  # the record as saved, once it is

    @property
    def dirty(self) -> bool:
        """Whether the values differ from the form's starting ones (a restored draft does)."""
        return self.values != self.initial

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        """Each field: its label, its input, its hint and the box for its problems."""
        yield Header()
        yield Static("", id="form-draft", markup=False)
        with VerticalScroll(id="form"):
            yield Static("", id="form-errors", classes="error", markup=False)
            for spec in self.form.specs:
                group = f"in-{spec.name}"
                yield Label(
                    spec.caption(),
                    classes=f"field-label {group}",
                    id=f"l-{spec.name}",
                    markup=False,
                )
                widget = self._widget(spec)
                widget.add_class(group)
                yield widget
                if spec.hint:
                    yield Static(t(spec.hint), classes=f"hint {group}", markup=False)
                yield Static(
                    "",
                    id=f"e-{spec.name}",
                    classes=f"error field-error prose {group}",
                    markup=False,
                )
        yield Footer(compact=True)

    def _widget(self, spec: FieldSpec) -> Any:
        value = self.values.get(spec.name)
        wid = f"f-{spec.name}"
        if spec.kind == "note" or spec.kind == "lines":
            area = TextArea(str(value or ""), id=wid, soft_wrap=True, tab_behavior="focus")
            area.show_line_numbers = False
            return area
        if spec.kind == "select":
            return Select(
                _plain(spec.options),
                id=wid,
                allow_blank=not spec.required,
                value=value if value in {v for _, v in spec.options} else Select.NULL,
                prompt="—",
            )
        if spec.kind == "multi":
            chosen = set(value or [])
            return SelectionList[str](
                *[(Text(lbl), v, v in chosen) for lbl, v in spec.options], id=wid
            )
        if spec.kind == "bool":
            return Checkbox(spec.caption(), bool(value), id=wid)
        placeholder = {"date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM"}.get(spec.kind, "")
        return Input(
            str(value or ""),
            id=wid,
            placeholder=placeholder,
            type="integer" if spec.kind == "int" else "text",
        )

    def _show_dependents(self) -> None:
        for spec in self.form.specs:
            if spec.shown_when is not None:
                shown = bool(self.values.get(spec.shown_when))
                for widget in self.query(f".in-{spec.name}"):
                    widget.set_class(not shown, "-hidden")

    def on_mount(self) -> None:
        """Title and bindings in the current language; focus on the first field."""
        translate_bindings(self)
        self.events.before_leaving(self, self.flush_draft)  # lock, quit: a draft
        self._show_dependents()
        self.title = t(self.form.title, **self.form.title_params)
        if self.restored:
            self.notify(t("ui.draft_restored"))
            self.call_after_refresh(self._say_restored)
        self.query_one(f"#f-{self.form.specs[0].name}").focus()

    def _say_restored(self) -> None:
        """The line at the top of a form reopened from its draft: from when, and how to
        discard it (the cancel key as the worker's keymap has it)."""
        keys = keys_hint(self, ("form.cancel",))
        text = (
            t("ui.draft_restored_at", time=self.restored_at.replace("T", " "), keys=keys)
            if self.restored_at
            else t("ui.draft_restored_line", keys=keys)
        )
        note = self.query_one("#form-draft", Static)
        note.update(text)
        note.add_class("-shown")

    async def relabel(self) -> None:
        """After a language switch: labels and options in the new language, values kept."""
        self.title = t(self.form.title, **self.form.title_params)
        for spec in self.form.specs:
            self.query_one(f"#l-{spec.name}", Label).update(spec.caption())
            fresh = spec.fresh_options()
            if fresh is None:
                continue
            widget = self.query_one(f"#f-{spec.name}")
            if isinstance(widget, Select):
                value = widget.value
                widget.set_options(_plain(fresh))
                widget.value = value
            elif isinstance(widget, SelectionList):
                chosen = set(widget.selected)
                widget.clear_options()
                widget.add_options([(Text(lbl), v, v in chosen) for lbl, v in fresh])

    # ------------------------------------------------------------ values

    def _set(self, name: str, value: Any) -> None:
        if self.values.get(name) == value:
            return
        self.values[name] = value
        self._error(name, "")
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._keep_draft)

    @on(Input.Changed)
    def _input(self, event: Input.Changed) -> None:
        self._set((event.input.id or "")[2:], event.value)

    @on(TextArea.Changed)
    def _area(self, event: TextArea.Changed) -> None:
        self._set((event.text_area.id or "")[2:], event.text_area.text)

    @on(Select.Changed)
    def _select(self, event: Select.Changed) -> None:
        self._set((event.select.id or "")[2:], None if event.value is Select.NULL else event.value)

    @on(SelectionList.SelectedChanged)
    def _multi(self, event: SelectionList.SelectedChanged[str]) -> None:
        self._set((event.selection_list.id or "")[2:], sorted(event.selection_list.selected))

    @on(Checkbox.Changed)
    def _check(self, event: Checkbox.Changed) -> None:
        self._set((event.checkbox.id or "")[2:], event.value)
        self._show_dependents()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """Leaving a field: show its own problems beside it (or clear them once fixed).

        A field left empty is not told it is required until Ctrl+S, unless it already
        shows a problem: passing by a field is not a mistake."""
        name = (event.widget.id or "")[2:]
        if self.saving or not (event.widget.id or "").startswith("f-"):
            return
        if name not in self.form.names or not self.query(f"#e-{name}"):
            return
        box = self.query_one(f"#e-{name}", Static)
        if self.values.get(name) not in (None, "", []) or box.has_class("-shown"):
            self._error(name, "\n".join(self._texts_of(name, self._problems())))
        self._show_cautions()

    def _show_cautions(self) -> None:
        """What is worth a second look in the values so far, beside its field (never
        over a problem, which says more)."""
        cautions: dict[str, list[str]] = {}
        for caution in self.form.early_cautions(dict(self.values)):
            if caution.path in self.form.names:
                cautions.setdefault(caution.path, []).append(caution_text(caution))
        for spec in self.form.specs:
            box = self.query_one(f"#e-{spec.name}", Static)
            if box.has_class("-shown") and not box.has_class("-warning"):
                continue  # a problem is shown here
            text = "\n".join(cautions.get(spec.name, []))
            box.update(text)
            box.set_class(bool(text), "-shown")
            box.set_class(bool(text), "-warning")

    def _problems(self) -> list[FieldProblem]:
        try:
            self.form.to_record(dict(self.values))
        except RecordInvalid as exc:
            return exc.problems
        return []

    def _text(self, problem: FieldProblem) -> str:
        text = problem.render()
        parts = problem.path.split(".")
        if len(parts) > 1 and parts[1].isdigit():
            text = t("ui.item_n", n=int(parts[1]) + 1) + text
        return text

    def _texts_of(self, name: str, problems: list[FieldProblem]) -> list[str]:
        return [self._text(p) for p in problems if self.form.problem_field(p.path) == name]

    def flush_draft(self) -> None:
        """Keep the draft now (before the app locks or quits)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self._keep_draft()

    def _keep_draft(self) -> None:
        if self.dirty and not self.saving:
            kept_at = self.workspace.now().isoformat(timespec="minutes")
            self.save_draft({**self.values, KEPT_AT: kept_at})

    @background("drafts")
    def save_draft(self, values: dict[str, Any]) -> None:
        """Keep ``values`` as the form's draft in the vault (a worker)."""
        try:
            self.workspace.put_draft(self.form.draft_key, values)
        except FieldappError as exc:
            self.app.call_from_thread(self.app.notify, exc.render(), severity="error")

    # ------------------------------------------------------------ save / cancel

    def action_save(self) -> None:
        """Ctrl+S: build the record; show its problems, or save it in a worker."""
        if self.saving:
            return
        try:
            record = self.form.to_record(dict(self.values))
        except RecordInvalid as exc:
            self.show_problems(exc.problems)
            return
        self.saving = True
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.save_record(record)

    @background("save")
    def save_record(self, record: Record) -> None:
        """Save the record and drop its draft in one commit (a worker)."""
        try:
            self.workspace.save(record, draft_key=self.form.draft_key)
        except RecordInvalid as exc:
            self.app.call_from_thread(self._failed, exc.problems, None)
            return
        except FieldappError as exc:
            self.app.call_from_thread(self._failed, [], exc.render())
            return
        self.app.call_from_thread(self._saved, record)

    def _saved(self, record: Record) -> None:
        self.saved = record
        cautions = [caution_text(c) for c in self.form.cautions(record)]
        if cautions:  # saved all the same: the worker is told what to look at again
            text = "\n".join(cautions)
            self.app.notify(t("warn.saved_with", text=text), severity="warning", timeout=15)
        else:
            self.app.notify(t("ui.saved"))
        self.finish(True)

    def worker_failed(self, group: str) -> None:
        """A save that failed unexpectedly: nothing was saved; the form stays as typed
        (its draft too) and Ctrl+S works again."""
        if group == "save":
            self.saving = False
            self._keep_draft()

    def _failed(self, problems: list[FieldProblem], message: str | None) -> None:
        self.saving = False
        if message:
            self.app.notify(message, severity="error", timeout=10)
        self.show_problems(problems)

    def _error(self, name: str, text: str) -> None:
        box = self.query_one(f"#e-{name}", Static)
        box.update(text)
        box.set_class(bool(text), "-shown")
        box.remove_class("-warning")

    def show_problems(self, problems: list[FieldProblem]) -> None:
        """Each problem beside its field (the rest above the form, under a summary that
        names the fields by label); focus the first field and scroll it into view."""
        for spec in self.form.specs:
            self._error(spec.name, "")
        general: list[str] = []
        shown: dict[str, list[str]] = {}
        names = self.form.names
        for problem in problems:
            name = self.form.problem_field(problem.path)
            if name in names:
                shown.setdefault(name, []).append(self._text(problem))
            else:
                general.append(self._text(problem))
        for name, texts in shown.items():
            self._error(name, "\n".join(texts))
        bad = [spec for spec in self.form.specs if spec.name in shown]  # in form order
        count = len(bad) + len(general)
        labels = t("ui.list_sep").join(spec.title() for spec in bad)
        summary = (
            t("invalid.record_fields", count=count, fields=labels)
            if bad
            else t("invalid.record", count=count)
        )
        errors = self.query_one("#form-errors", Static)
        errors.update("\n".join([summary, *general]))
        errors.set_class(bool(problems), "-shown")
        if bad:
            first = self.query_one(f"#f-{bad[0].name}")
            first.focus(scroll_visible=False)
            self.call_after_refresh(self._reveal, bad[0].name)

    def _reveal(self, name: str) -> None:
        """Scroll the form so the field, its label and its problem are all in view."""
        scroll = self.query_one("#form", VerticalScroll)
        scroll.scroll_to_center(self.query_one(f"#f-{name}"), animate=False)

    def action_cancel(self) -> None:
        """Escape: close; when something was typed, ask first, then drop the draft."""
        from fieldapp.tui.dialogs.confirm import ConfirmDialog

        if not self.dirty:
            self.dismiss(False)
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.drop_draft()
                self.dismiss(False)

        self.app.push_screen(ConfirmDialog(t("ui.discard_question")), answer)

    @background("drafts")
    def drop_draft(self) -> None:
        """Forget the form's draft (a worker)."""
        self.workspace.drop_draft(self.form.draft_key)
