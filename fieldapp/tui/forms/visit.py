"""The visit log's form (家访, phone, office, outreach): when, how long, purpose,
observations, the next visit due — and, for an elderly person living alone, the
home-safety checklist from the team's template."""

from __future__ import annotations

from functools import partial
from typing import Any

from fieldapp.domain import CheckAnswer, Record, Resident, Visit, VisitKind, Vulnerability
from fieldapp.domain.cautions import cautions_of
from fieldapp.services.workspace import Workspace
from fieldapp.tui.forms.spec import (
    FieldSpec,
    FormDef,
    enum_options,
    optional,
    question_label,
    text_of,
    validated,
)

CHECKLIST = "home_safety_elderly"  # the checklist template a home visit to them uses


def build(ws: Workspace, resident: Resident) -> FormDef:
    """The form for a new visit to ``resident``, starting now."""
    now = ws.now().replace(second=0, microsecond=0)
    template = ws.templates.get(CHECKLIST)
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
            enum_options("VisitKind", VisitKind),
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
                    enum_options("CheckAnswer", CheckAnswer),
                    text=partial(question_label, q),
                    shown_when="checklist_title",
                )
            )
            values[name] = None
    specs.append(FieldSpec("next_due", "date", "field.visit.next_due"))

    def to_record(v: dict[str, Any]) -> Record:
        checklist = {q: {"answer": v[f"chk_{q}"]} for q in checks if v.get(f"chk_{q}")}
        use = bool(checklist) and v.get("checklist_title", True)
        data: dict[str, Any] = {
            "resident_id": resident.id,
            "kind": v.get("kind"),
            "started_at": text_of(v, "started_at").replace(" ", "T") or None,
            "duration_minutes": optional(v, "duration_minutes"),
            "purpose": text_of(v, "purpose"),
            "observations": str(v.get("observations") or ""),
            "checklist_template": CHECKLIST if use else None,
            "checklist": checklist if use else {},
            "next_due": optional(v, "next_due"),
        }
        return validated(Visit, data, ws)

    return FormDef(
        "ui.form_new_visit",
        {"name": resident.name},
        specs,
        values,
        to_record,
        f"visit:new:{resident.id}",
        problem_field,
        cautions=lambda record: cautions_of(record, [resident]),
    )


def problem_field(path: str) -> str:
    """The form field that shows a problem at ``path``: a checklist item's own field."""
    if path.startswith("checklist."):
        return "chk_" + path.split(".")[1]
    return path.split(".")[0]
