"""Keyboard-only forms for residents, needs, visits, interviews and case plans.

One generic :class:`FormScreen` driven by a list of :class:`FieldSpec`; each record
kind supplies its fields and a ``build`` that turns the typed values into a validated
domain object. Problems are shown inline beside the field, in the current language;
nothing is saved while anything is invalid. Every change is kept as a draft in the
vault (debounced), so a crash or an auto-lock mid-form loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text
from textual import on
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

from fieldapp.domain import (
    Activity,
    CasePlan,
    CheckAnswer,
    ConsentStatus,
    Gender,
    Interview,
    Need,
    NeedCategory,
    PlanStatus,
    Record,
    Resident,
    Urgency,
    Visit,
    VisitKind,
    Vulnerability,
)
from fieldapp.domain.validation import validate
from fieldapp.errors import FieldappError, FieldProblem, RecordInvalid
from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import Finishing, label, lang, translate_bindings
from fieldapp.tui.workers import background

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp

Kind = Literal["text", "note", "select", "multi", "date", "datetime", "int", "bool", "lines"]
DRAFT_DELAY = 1.0  # seconds after the last keystroke


@dataclass
class FieldSpec:
    name: str
    kind: Kind
    label: str  # message id
    options: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    hint: str | None = None  # message id shown under the field
    required: bool = False
    text: Callable[[], str] | None = None  # a label from data (templates), not the catalog
    options_fn: Callable[[], list[tuple[str, str]]] | None = None  # re-read on a language switch
    # Shown only while the bool field of this name is on (a checklist's items): a field
    # hidden is a field not saved, so nothing is ever saved that the worker cannot see.
    shown_when: str | None = None

    def caption(self) -> str:
        return (self.text() if self.text else t(self.label)) + (" *" if self.required else "")


@dataclass
class FormDef:
    """What a form edits: its fields, starting values, and how to build the record."""

    title: str  # message id
    title_params: dict[str, Any]
    specs: list[FieldSpec]
    values: dict[str, Any]
    build: Callable[[dict[str, Any]], Record]
    draft_key: str
    problem_field: Callable[[str], str] = lambda path: path.split(".")[0]


def _plain(options: list[tuple[str, str]]) -> list[tuple[Text, str]]:
    """Option labels as plain text: a template's or a community's [brackets] stay text."""
    return [(Text(label), value) for label, value in options]


def _text(values: dict[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _opt(values: dict[str, Any], name: str) -> str | None:
    value = _text(values, name)
    return value or None


def _lines(values: dict[str, Any], name: str, parts: int) -> list[list[str]]:
    """Lines of ``a; b; c`` (full-width ； too) → ``parts`` trimmed fields each.

    Only semicolons separate: commas belong to the text (老人情况稳定，继续关注). The last
    field keeps the rest of the line.
    """
    out = []
    for line in str(values.get(name) or "").splitlines():
        if line.strip():
            fields = [p.strip() for p in line.replace("；", ";").split(";", parts - 1)]
            out.append(fields + [""] * (parts - len(fields)))
    return out


class FormScreen(Finishing, Screen[bool]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, workspace: Workspace, form: FormDef) -> None:
        super().__init__()
        self.workspace = workspace
        self.form = form
        self.values: dict[str, Any] = dict(form.values)
        self.initial = dict(form.values)
        self.restored = False
        draft = workspace.draft(form.draft_key)
        if draft:
            self.values.update({k: v for k, v in draft.items() if k in self._names()})
            self.restored = True
        self._draft_timer: Any = None
        self.saving = False

    def _names(self) -> set[str]:
        return {s.name for s in self.form.specs}

    @property
    def fieldapp(self) -> FieldApp:
        return self.app  # type: ignore[return-value]

    @property
    def dirty(self) -> bool:
        return self.values != self.initial

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
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
                    "", id=f"e-{spec.name}", classes=f"error field-error {group}", markup=False
                )
        yield Footer()

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
        translate_bindings(self)
        self.fieldapp.events.before_leaving(self, self.flush_draft)  # lock, quit: a draft
        self._show_dependents()
        self.title = t(self.form.title, **self.form.title_params)
        if self.restored:
            self.notify(t("ui.draft_restored"))
        self.query_one(f"#f-{self.form.specs[0].name}").focus()

    async def relabel(self) -> None:
        self.title = t(self.form.title, **self.form.title_params)
        for spec in self.form.specs:
            self.query_one(f"#l-{spec.name}", Label).update(spec.caption())
            source = getattr(spec.options, "source", None)
            if spec.options_fn is not None:
                fresh = spec.options_fn()
            elif source is not None:  # enum labels follow the language
                fresh = _enum_options(*source)
            else:
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

    def flush_draft(self) -> None:
        """Keep the draft now (before the app locks or quits)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self._keep_draft()

    def _keep_draft(self) -> None:
        if self.dirty and not self.saving:
            self.save_draft(dict(self.values))

    @background("drafts")
    def save_draft(self, values: dict[str, Any]) -> None:
        try:
            self.workspace.put_draft(self.form.draft_key, values)
        except FieldappError as exc:
            self.app.call_from_thread(self.app.notify, exc.render(), severity="error")

    # ------------------------------------------------------------ save / cancel

    def action_save(self) -> None:
        if self.saving:
            return
        try:
            record = self.form.build(dict(self.values))
        except RecordInvalid as exc:
            self.show_problems(exc.problems)
            return
        self.saving = True
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.save_record(record)

    @background("save")
    def save_record(self, record: Record) -> None:
        try:
            self.workspace.save(record, draft_key=self.form.draft_key)
        except RecordInvalid as exc:
            self.app.call_from_thread(self._failed, exc.problems, None)
            return
        except FieldappError as exc:
            self.app.call_from_thread(self._failed, [], exc.render())
            return
        self.app.call_from_thread(self._saved)

    def _saved(self) -> None:
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

    def show_problems(self, problems: list[FieldProblem]) -> None:
        for spec in self.form.specs:
            self._error(spec.name, "")
        general: list[str] = []
        shown: dict[str, list[str]] = {}
        names = self._names()
        first_bad: str | None = None
        for problem in problems:
            name = self.form.problem_field(problem.field)
            text = problem.render()
            parts = problem.field.split(".")
            if len(parts) > 1 and parts[1].isdigit():
                text = t("ui.item_n", n=int(parts[1]) + 1) + text
            if name in names:
                shown.setdefault(name, []).append(text)
                first_bad = first_bad or name
            else:
                general.append(text)
        for name, texts in shown.items():
            self._error(name, "\n".join(texts))
        summary = t("invalid.record", count=len(problems))
        errors = self.query_one("#form-errors", Static)
        errors.update("\n".join([summary, *general]))
        errors.set_class(bool(problems), "-shown")
        if first_bad:
            self.query_one(f"#f-{first_bad}").focus()

    def action_cancel(self) -> None:
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
        self.workspace.drop_draft(self.form.draft_key)


# ---------------------------------------------------------------- the five forms


class _EnumOptions(list[tuple[str, str]]):
    source: tuple[str, Any]


def _enum_options(enum_name: str, enum: Any) -> list[tuple[str, str]]:
    options = _EnumOptions((label(enum_name, m.value), m.value) for m in enum)
    options.source = (enum_name, enum)
    return options


def resident_form(ws: Workspace, resident: Resident | None) -> FormScreen:
    r = resident
    cadence = {c.activity.value: str(c.every_days) for c in (r.cadence if r else [])}
    values: dict[str, Any] = {
        "name": r.name if r else "",
        "gender": r.gender.value if r else Gender.UNKNOWN.value,
        "birth_date": r.birth_date.isoformat() if r and r.birth_date else "",
        "birth_year": str(r.birth_year) if r and r.birth_year and not r.birth_date else "",
        "id_number": r.id_number or "" if r else "",
        "phones": ", ".join(r.phones) if r else "",
        "address": r.address if r else "",
        "community": r.community if r else ws.records.profile().get("community", ""),
        "tags": [v.value for v in r.tags] if r else [],
        "consent_status": r.consent.status.value if r else ConsentStatus.PENDING.value,
        "consent_on": r.consent.on.isoformat() if r and r.consent.on else "",
        "interview_every": cadence.get(Activity.INTERVIEW.value, ""),
        "home_visit_every": cadence.get(Activity.HOME_VISIT.value, ""),
        "phone_every": cadence.get(Activity.PHONE_CALL.value, ""),
        "household": "\n".join(
            "; ".join([m.name, m.relation, m.phone or ""]).rstrip("; ")
            for m in (r.household if r else [])
        ),
        "notes": r.notes if r else "",
    }
    specs = [
        FieldSpec("name", "text", "field.resident.name", required=True),
        FieldSpec(
            "gender",
            "select",
            "field.resident.gender",
            _enum_options("Gender", Gender),
            required=True,
        ),
        FieldSpec("birth_date", "date", "field.resident.birth_date"),
        FieldSpec("birth_year", "int", "field.resident.birth_year", hint="hint.birth_year"),
        FieldSpec("id_number", "text", "field.resident.id_number"),
        FieldSpec("phones", "text", "field.resident.phones", hint="hint.phones"),
        FieldSpec("address", "text", "field.resident.address"),
        FieldSpec("community", "text", "field.resident.community", required=True),
        FieldSpec(
            "tags", "multi", "field.resident.tags", _enum_options("Vulnerability", Vulnerability)
        ),
        FieldSpec(
            "consent_status",
            "select",
            "field.resident.consent",
            _enum_options("ConsentStatus", ConsentStatus),
            required=True,
        ),
        FieldSpec("consent_on", "date", "field.resident.consent_on"),
        FieldSpec(
            "interview_every", "int", "field.resident.interview_every", hint="hint.every_days"
        ),
        FieldSpec("home_visit_every", "int", "field.resident.home_visit_every"),
        FieldSpec("phone_every", "int", "field.resident.phone_every"),
        FieldSpec("household", "lines", "field.resident.household", hint="hint.household"),
        FieldSpec("notes", "note", "field.resident.notes"),
    ]
    record_id = r.id if r else None

    def build(v: dict[str, Any]) -> Record:
        phones = [
            p
            for p in _text(v, "phones").replace("，", ",").replace("、", ",").split(",")
            if p.strip()
        ]
        cadence = [
            {"activity": activity, "every_days": _text(v, name)}
            for activity, name in (
                ("interview", "interview_every"),
                ("home_visit", "home_visit_every"),
                ("phone_call", "phone_every"),
            )
            if _text(v, name)
        ]
        household = [
            {
                "name": parts[0],
                "relation": parts[1] if len(parts) > 1 else "",
                "phone": parts[2] if len(parts) > 2 and parts[2] else None,
            }
            for parts in _lines(v, "household", 3)
        ]
        # What the form does not show is kept: each member's notes, the consent note.
        kept_notes = {m.name: m.notes for m in (r.household if r else []) if m.notes}
        for member in household:
            if member["name"] in kept_notes:
                member["notes"] = kept_notes[str(member["name"])]
        data: dict[str, Any] = {
            "name": _text(v, "name"),
            "gender": v.get("gender") or Gender.UNKNOWN.value,
            "birth_date": _opt(v, "birth_date"),
            "birth_year": _opt(v, "birth_year"),
            "id_number": _opt(v, "id_number"),
            "phones": phones,
            "address": _text(v, "address"),
            "community": _text(v, "community"),
            "tags": v.get("tags") or [],
            "consent": {
                "status": v.get("consent_status") or "pending",
                "on": _opt(v, "consent_on"),
                "note": r.consent.note if r else "",
            },
            "cadence": cadence,
            "household": household,
            "notes": str(v.get("notes") or ""),
        }
        if record_id:
            data["id"] = record_id
        return validate(Resident, data, today=ws.today())

    def where(path: str) -> str:
        mapping = {
            "consent.on": "consent_on",
            "consent": "consent_status",
            "cadence": "interview_every",
        }
        for prefix, name in mapping.items():
            if path == prefix or path.startswith(prefix + "."):
                return name
        if path.startswith("cadence."):
            return "interview_every"
        return path.split(".")[0]

    title = "ui.form_edit_resident" if r else "ui.form_new_resident"
    form = FormDef(
        title,
        {"name": r.name if r else ""},
        specs,
        values,
        build,
        f"resident:{record_id or 'new'}",
        where,
    )
    return FormScreen(ws, form)


def need_form(ws: Workspace, resident_id: str, need: Need | None) -> FormScreen:
    today = ws.today()
    values: dict[str, Any] = {
        "category": need.category.value if need else None,
        "description": need.description if need else "",
        "urgency": need.urgency.value if need else Urgency.MEDIUM.value,
        "opened_on": (need.opened_on if need else today).isoformat(),
        "due_date": need.due_date.isoformat() if need and need.due_date else "",
    }
    specs = [
        FieldSpec(
            "category",
            "select",
            "field.need.category",
            _enum_options("NeedCategory", NeedCategory),
            required=True,
        ),
        FieldSpec("description", "note", "field.need.description", required=True),
        FieldSpec(
            "urgency",
            "select",
            "field.need.urgency",
            _enum_options("Urgency", Urgency),
            required=True,
        ),
        FieldSpec("opened_on", "date", "field.need.opened_on", required=True),
        FieldSpec("due_date", "date", "field.need.due_date"),
    ]

    def build(v: dict[str, Any]) -> Record:
        base = need.to_fields() if need else {"resident_id": resident_id}
        data = {
            **base,
            "category": v.get("category"),
            "description": str(v.get("description") or ""),
            "urgency": v.get("urgency") or Urgency.MEDIUM.value,
            "opened_on": _opt(v, "opened_on"),
            "due_date": _opt(v, "due_date"),
        }
        if need:
            data["id"] = need.id
        return validate(
            Need, {k: val for k, val in data.items() if val is not None}, today=ws.today()
        )

    title = "ui.form_edit_need" if need else "ui.form_new_need"
    resident = ws.vault.get(resident_id) or {}
    form = FormDef(
        title,
        {"name": resident.get("name", "")},
        specs,
        values,
        build,
        f"need:{need.id if need else 'new'}:{resident_id}",
    )
    return FormScreen(ws, form)


def visit_form(ws: Workspace, resident: Resident) -> FormScreen:
    now = ws.now().replace(second=0, microsecond=0)
    template = ws.templates.get("home_safety_elderly")
    with_checklist = template is not None and Vulnerability.ELDERLY_ALONE in resident.tags
    values: dict[str, Any] = {
        "kind": VisitKind.HOME.value,
        "started_at": now.strftime("%Y-%m-%d %H:%M"),
        "duration_minutes": "30",
        "purpose": "",
        "observations": "",
        "next_due": "",
    }
    specs = [
        FieldSpec(
            "kind",
            "select",
            "field.visit.kind",
            _enum_options("VisitKind", VisitKind),
            required=True,
        ),
        FieldSpec("started_at", "datetime", "field.visit.started_at", required=True),
        FieldSpec("duration_minutes", "int", "field.visit.duration_minutes", required=True),
        FieldSpec("purpose", "text", "field.visit.purpose", required=True),
        FieldSpec("observations", "note", "field.visit.observations"),
    ]
    checks: list[str] = []
    if with_checklist and template is not None:
        specs.append(FieldSpec("checklist_title", "bool", "ui.checklist_applies"))
        values["checklist_title"] = True
        for q in template.questions:
            name = f"chk_{q.id}"
            checks.append(q.id)
            specs.append(
                FieldSpec(
                    name,
                    "select",
                    "",
                    _enum_options("CheckAnswer", CheckAnswer),
                    text=lambda q=q: q.label(lang()),
                    shown_when="checklist_title",
                )
            )
            values[name] = None
    specs.append(FieldSpec("next_due", "date", "field.visit.next_due"))

    def build(v: dict[str, Any]) -> Record:
        checklist = {q: {"answer": v[f"chk_{q}"]} for q in checks if v.get(f"chk_{q}")}
        use = bool(checklist) and v.get("checklist_title", True)
        data: dict[str, Any] = {
            "resident_id": resident.id,
            "kind": v.get("kind"),
            "started_at": _text(v, "started_at").replace(" ", "T") or None,
            "duration_minutes": _opt(v, "duration_minutes"),
            "purpose": _text(v, "purpose"),
            "observations": str(v.get("observations") or ""),
            "checklist_template": "home_safety_elderly" if use else None,
            "checklist": checklist if use else {},
            "next_due": _opt(v, "next_due"),
        }
        return validate(
            Visit, {k: val for k, val in data.items() if val is not None}, today=ws.today()
        )

    def where(path: str) -> str:
        if path.startswith("checklist."):
            return "chk_" + path.split(".")[1]
        return path.split(".")[0]

    form = FormDef(
        "ui.form_new_visit",
        {"name": resident.name},
        specs,
        values,
        build,
        f"visit:new:{resident.id}",
        where,
    )
    return FormScreen(ws, form)


def interview_form(ws: Workspace, resident: Resident, template_id: str) -> FormScreen:
    template = ws.templates[template_id]
    values: dict[str, Any] = {
        "held_on": ws.today().isoformat(),
        "place": "",
        "notes": "",
        "follow_ups": "",
    }
    specs = [
        FieldSpec("held_on", "date", "field.interview.held_on", required=True),
        FieldSpec("place", "text", "field.interview.place"),
    ]
    for q in template.questions:
        name = f"q_{q.id}"
        caption = lambda q=q: q.label(lang())  # noqa: E731 — labels come from the template file

        def choices(q: Any = q) -> list[tuple[str, str]]:
            if q.type in ("yesno", "check"):
                return [(t("enum.CheckAnswer.yes"), "yes"), (t("enum.CheckAnswer.no"), "no")]
            return [(c.label(lang()), c.id) for c in q.choices]

        opts = choices()
        kind: Kind = {
            "choice": "select",
            "yesno": "select",
            "check": "select",
            "multi": "multi",
            "number": "int",
            "note": "note",
        }.get(q.type, "text")  # type: ignore[assignment]
        specs.append(FieldSpec(name, kind, "", opts, text=caption, options_fn=choices))
        values[name] = [] if q.type == "multi" else None
    specs += [
        FieldSpec("notes", "note", "field.interview.notes"),
        FieldSpec("follow_ups", "lines", "field.interview.follow_ups", hint="hint.follow_ups"),
    ]

    def build(v: dict[str, Any]) -> Record:
        answers: dict[str, Any] = {}
        for q in template.questions:
            value = v.get(f"q_{q.id}")
            if value in (None, "", []):
                continue
            if q.type in ("yesno", "check"):
                value = value == "yes"
            elif q.type == "number":
                try:
                    value = int(str(value))
                except ValueError:
                    raise RecordInvalid(
                        [FieldProblem(f"answers.{q.id}", "number_format")]
                    ) from None
            answers[q.id] = value
        template.check_answers(answers)
        follow_ups = [
            {"text": parts[0], "due_date": parts[1] if len(parts) > 1 and parts[1] else None}
            for parts in _lines(v, "follow_ups", 2)
        ]
        data = {
            "resident_ids": [resident.id],
            "held_on": _opt(v, "held_on"),
            "place": _text(v, "place"),
            "template_id": template.id,
            "answers": answers,
            "notes": str(v.get("notes") or ""),
            "follow_ups": follow_ups,
        }
        return validate(
            Interview, {k: val for k, val in data.items() if val is not None}, today=ws.today()
        )

    def where(path: str) -> str:
        if path.startswith("answers."):
            return "q_" + path.split(".")[1]
        return path.split(".")[0]

    form = FormDef(
        "ui.form_new_interview",
        {"name": resident.name, "template": template.title(lang())},
        specs,
        values,
        build,
        f"interview:new:{resident.id}:{template.id}",
        where,
    )
    return FormScreen(ws, form)


def plan_form(ws: Workspace, resident_id: str, plan: CasePlan | None) -> FormScreen:
    p = plan
    values: dict[str, Any] = {
        "title": p.title if p else "",
        "status": p.status.value if p else PlanStatus.ACTIVE.value,
        "start_date": (p.start_date if p else ws.today()).isoformat(),
        "goals": "\n".join(("[x] " if g.achieved else "") + g.text for g in (p.goals if p else [])),
        "actions": "\n".join(
            "; ".join(
                [
                    a.text,
                    a.owner,
                    a.due_date.isoformat() if a.due_date else "",
                    "x" if a.done else "",
                ]
            ).rstrip("; ")
            for a in (p.actions if p else [])
        ),
        "reviews": "\n".join(
            f"{rv.held_on.isoformat()}; {rv.text}; {rv.reviewer}" for rv in (p.reviews if p else [])
        ),
        "next_review": p.next_review.isoformat() if p and p.next_review else "",
    }
    specs = [
        FieldSpec("title", "text", "field.case_plan.title", required=True),
        FieldSpec(
            "status",
            "select",
            "field.case_plan.status",
            _enum_options("PlanStatus", PlanStatus),
            required=True,
        ),
        FieldSpec("start_date", "date", "field.case_plan.start_date", required=True),
        FieldSpec("goals", "lines", "field.case_plan.goals", hint="hint.goals"),
        FieldSpec("actions", "lines", "field.case_plan.actions", hint="hint.actions"),
        FieldSpec("reviews", "lines", "field.case_plan.reviews", hint="hint.reviews"),
        FieldSpec("next_review", "date", "field.case_plan.next_review"),
    ]

    def build(v: dict[str, Any]) -> Record:
        goals = []
        for line in str(v.get("goals") or "").splitlines():
            if line.strip():
                done = line.strip().lower().startswith("[x]")
                goals.append({"text": line.strip()[3:] if done else line.strip(), "achieved": done})
        actions = [
            {
                "text": parts[0],
                "owner": parts[1] if len(parts) > 1 else "",
                "due_date": parts[2] if len(parts) > 2 and parts[2] else None,
                "done": len(parts) > 3 and parts[3].lower() in ("x", "done", "完成", "是"),
            }
            for parts in _lines(v, "actions", 4)
        ]
        reviews = [
            {
                "held_on": parts[0],
                "text": parts[1] if len(parts) > 1 else "",
                "reviewer": parts[2] if len(parts) > 2 else "",
            }
            for parts in _lines(v, "reviews", 3)
        ]
        data: dict[str, Any] = {
            "resident_id": resident_id,
            "title": _text(v, "title"),
            "status": v.get("status") or PlanStatus.ACTIVE.value,
            "start_date": _opt(v, "start_date"),
            "goals": goals,
            "actions": actions,
            "reviews": reviews,
            "next_review": _opt(v, "next_review"),
        }
        if p:
            data["id"] = p.id
        return validate(
            CasePlan, {k: val for k, val in data.items() if val is not None}, today=ws.today()
        )

    resident = ws.vault.get(resident_id) or {}
    title = "ui.form_edit_plan" if p else "ui.form_new_plan"
    form = FormDef(
        title,
        {"name": resident.get("name", "")},
        specs,
        values,
        build,
        f"case_plan:{p.id if p else 'new'}:{resident_id}",
    )
    return FormScreen(ws, form)
