"""What each tab of a resident's file shows, built from the file the workspace read:
the needs, interviews and visits tables, the case plan as text, the supervision notes,
and the history in words. Pure rendering; the screen (``resident_file.py``) decides
when."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from fieldapp.domain import (
    CasePlan,
    Interview,
    Need,
    NeedStatus,
    Record,
    Resident,
    SupervisionNote,
    Visit,
)
from fieldapp.i18n import field_label, t
from fieldapp.services.records import HistoryEntry
from fieldapp.services.templates import Template
from fieldapp.services.views import ResidentFile
from fieldapp.services.workspace import Workspace
from fieldapp.tui.i18n import checklist_text, day, label, lang, show_value
from fieldapp.tui.widgets.tables import FitTable


def short(value: Any, width: int = 24) -> str:
    """``value`` on one line, cut to ``width`` with ``…`` (a dash when it is empty)."""
    text = "—" if value in (None, "", [], {}) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def fill_needs(needs: FitTable, f: ResidentFile) -> None:
    """The needs tab: category, urgency, status, due (! when overdue), description."""
    today = f.today
    rows = []
    for need in f.needs:
        late = (
            need.due_date
            and need.due_date < today
            and need.status in (NeedStatus.OPEN, NeedStatus.IN_PROGRESS)
        )
        rows.append(
            (
                need.id,
                [
                    label("NeedCategory", need.category.value),
                    label("Urgency", need.urgency.value),
                    label("NeedStatus", need.status.value),
                    day(need.due_date) + (" !" if late else ""),
                    short(need.description, 60),
                ],
            )
        )
    needs.fill(
        [
            t("ui.col_category"),
            t("ui.col_urgency"),
            t("ui.col_status"),
            t("ui.col_due"),
            t("ui.col_description"),
        ],
        rows,
    )


def fill_interviews(interviews: FitTable, f: ResidentFile, templates: dict[str, Template]) -> None:
    """The interviews tab: date, the template's title, place, notes."""
    rows = []
    for iv in f.interviews:
        template = templates.get(iv.template_id)
        name = template.title(lang()) if template else iv.template_id
        rows.append((iv.id, [day(iv.held_on), name, short(iv.place, 12), short(iv.notes, 60)]))
    interviews.fill(
        [t("ui.col_date"), t("ui.col_template"), t("ui.col_place"), t("ui.col_notes")], rows
    )


def fill_visits(visits: FitTable, f: ResidentFile) -> None:
    """The visits tab: when, how, minutes, purpose, next due."""
    visits.fill(
        [
            t("ui.col_date"),
            t("ui.col_kind"),
            t("ui.col_minutes"),
            t("ui.col_purpose"),
            t("ui.col_next_due"),
        ],
        [
            (
                v.id,
                [
                    v.started_at.strftime("%Y-%m-%d %H:%M"),
                    label("VisitKind", v.kind.value),
                    str(v.duration_minutes),
                    short(v.purpose, 40),
                    day(v.next_due),
                ],
            )
            for v in f.visits
        ],
    )


def about(record: Record) -> str:
    """A record of the file in a few words, as a note's "about" names it: a need's
    description, a visit's date and purpose, an interview's date, a plan's title."""
    if isinstance(record, Need):
        return record.description
    if isinstance(record, Visit):
        return f"{record.started_at:%m-%d} {record.purpose}"
    if isinstance(record, Interview):
        return day(record.held_on)
    if isinstance(record, CasePlan):
        return record.title
    if isinstance(record, Resident):
        return record.name
    return record.id[-8:]


def note_about(f: ResidentFile, target_id: str, target_field: str | None = None) -> str:
    """What a note is about, in words: the resident's name, or the record's kind and a few
    words of it (``需求·低保材料``), and the field when the note names one."""
    if target_id == f.resident.id:
        text = f.resident.name
        kind = "resident"
    else:
        records = (r for rs in f.linked.values() for r in rs)
        record = next((r for r in records if r.id == target_id), None)
        if record is None:
            return "—"
        kind = record.KIND.value
        text = f"{label('RecordKind', kind)}·{short(about(record), 14)}"
    return f"{text}·{field_label(kind, target_field)}" if target_field else text


def fill_notes(notes: FitTable, f: ResidentFile) -> None:
    """The supervision notes tab: written, what is asked, what about, where it stands, by
    when (! past due while open), the note (who wrote it is under the table, with the
    whole note); open ones first, the most overdue, then the newest."""
    rows = []
    for n in f.notes:
        late = n.is_open and n.due_date is not None and n.due_date < f.today
        rows.append(
            (
                n.id,
                [
                    day(n.created_at.date()),
                    label("NoteAction", n.action.value),
                    note_about(f, n.target_id, n.target_field),
                    label("NoteStatus", n.status.value),
                    day(n.due_date) + (" !" if late else ""),
                    short(n.text, 80),
                ],
            )
        )
    notes.fill(
        [
            t("ui.col_written"),
            t("ui.col_note_action"),
            t("ui.col_about"),
            t("ui.col_status"),
            t("ui.col_due"),
            t("ui.col_note"),
        ],
        rows,
    )


def note_detail(f: ResidentFile, note: SupervisionNote) -> str:
    """One note whole, as the line under the notes table shows it: who wrote it and when,
    what about, when it was acknowledged and done, then its text."""
    stamp = "%Y-%m-%d %H:%M"
    parts = [
        t("ui.note_written_by", who=f.authors.get(note.id) or "—", at=f"{note.created_at:{stamp}}"),
        note_about(f, note.target_id, note.target_field),
    ]
    if note.acknowledged_at is not None:
        parts.append(t("ui.note_acknowledged_at", at=f"{note.acknowledged_at:{stamp}}"))
    if note.done_at is not None:
        parts.append(t("ui.note_done_at", at=f"{note.done_at:{stamp}}"))
    return " · ".join(parts) + "\n" + note.text


def plan_text(f: ResidentFile) -> Text:
    """The first case plan as plain text, its title in bold: whatever the worker typed
    ([brackets] too) is shown as typed, never read as markup."""
    shown = Text(t("ui.no_plan"))
    if f.plans:
        p = f.plans[0]
        shown = Text.assemble(
            (p.title, "bold"), f"  {label('PlanStatus', p.status.value)}  {day(p.start_date)}"
        )
        lines = [f"  {'☑' if g.achieved else '☐'} {g.text}" for g in p.goals]
        lines += [t("ui.plan_actions")]
        lines += [
            f"  {'☑' if a.done else '☐'} {a.text} ({a.owner or '—'}, {day(a.due_date)})"
            for a in p.actions
        ]
        lines += [t("ui.plan_reviews")]
        lines += [f"  {day(rv.held_on)} {rv.reviewer}: {short(rv.text, 50)}" for rv in p.reviews]
        lines += [t("ui.plan_next_review", date=day(p.next_review))]
        for line in lines:
            shown.append("\n" + line)
    return shown


def fill_history(
    table: FitTable,
    entries: list[HistoryEntry],
    workspace: Workspace,
    file: ResidentFile | None,
    resident_id: str,
) -> None:
    """The history tab: when, who, which record's field, and old → new in words."""
    rows: list[tuple[str, list[str]]] = []
    names = {resident_id: file.resident.name} if file else {}
    if file is not None:  # a note's "about" in words, not an id
        for records in file.linked.values():
            names.update({r.id: note_about(file, r.id) for r in records})
    for e in entries:
        kind = workspace.vault.kind_of(e.record_id)
        kind = kind or "resident"
        who = short(e.author, 10)
        field = field_label(kind, e.field)
        if kind != "resident":  # a need's status, a visit's purpose …
            field = f"{label('RecordKind', kind)}·{field}"
        if e.resolves is not None:  # a conflict settled: the field and the value kept
            field = field_label(kind, e.resolves)
            if kind != "resident":
                field = f"{label('RecordKind', kind)}·{field}"
            kept = show_value(kind, e.resolves, e.kept, names)
            change = t("ui.conflict_resolved_kept", value=short(kept, 24))
            rows.append((f"h{len(rows)}", [e.when.strftime("%Y-%m-%d %H:%M"), who, field, change]))
            continue
        if kind == "visit" and e.field == "checklist":
            labels = checklist_labels(workspace, file, e.record_id)
            old = short(checklist_text(e.old, labels), 14)
            new = short(checklist_text(e.new, labels), 18)
        else:
            old = short(show_value(kind, e.field, e.old, names), 14)
            new = short(show_value(kind, e.field, e.new, names), 18)
        change = f"{old} → {new}"
        rows.append((f"h{len(rows)}", [e.when.strftime("%Y-%m-%d %H:%M"), who, field, change]))
    table.fill([t("ui.col_when"), t("ui.col_who"), t("ui.col_field"), t("ui.col_change")], rows)


def checklist_labels(
    workspace: Workspace, file: ResidentFile | None, visit_id: str
) -> dict[str, str]:
    """Item id → label in the current language, from the visit's checklist template."""
    visit = next((v for v in (file.visits if file else []) if v.id == visit_id), None)
    template_id = (visit.checklist_template if visit else None) or "home_safety_elderly"
    template = workspace.templates.get(template_id)
    return {q.id: q.label(lang()) for q in template.questions} if template else {}
