"""The resident's form (一人一档案): who the person is, household, address, community,
vulnerabilities, consent and the cadence of interviews, visits and calls."""

from __future__ import annotations

from typing import Any

from fieldapp.domain import (
    Activity,
    ConsentStatus,
    Gender,
    Record,
    Resident,
    Vulnerability,
)
from fieldapp.domain.cautions import cautions_of, id_gender_cautions
from fieldapp.services.workspace import Workspace
from fieldapp.tui.forms.spec import (
    FieldSpec,
    FormDef,
    enum_options,
    lines_of,
    optional,
    text_of,
    validated,
)

# Where a problem with a nested value is shown: the form field that holds it.
_PROBLEM_FIELDS = {
    "consent.on": "consent_on",
    "consent": "consent_status",
    "cadence": "interview_every",
}


def build(ws: Workspace, resident: Resident | None = None) -> FormDef:
    """The form for a new resident (``resident`` None) or for editing ``resident``."""
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
            enum_options("Gender", Gender),
            required=True,
        ),
        FieldSpec("birth_date", "date", "field.resident.birth_date"),
        FieldSpec("birth_year", "int", "field.resident.birth_year", hint="hint.birth_year"),
        FieldSpec("id_number", "text", "field.resident.id_number"),
        FieldSpec("phones", "text", "field.resident.phones", hint="hint.phones"),
        FieldSpec("address", "text", "field.resident.address"),
        FieldSpec("community", "text", "field.resident.community", required=True),
        FieldSpec(
            "tags", "multi", "field.resident.tags", enum_options("Vulnerability", Vulnerability)
        ),
        FieldSpec(
            "consent_status",
            "select",
            "field.resident.consent",
            enum_options("ConsentStatus", ConsentStatus),
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

    def to_record(v: dict[str, Any]) -> Record:
        phones = [
            p
            for p in text_of(v, "phones").replace("，", ",").replace("、", ",").split(",")
            if p.strip()
        ]
        cadence = [
            {"activity": activity, "every_days": text_of(v, name)}
            for activity, name in (
                ("interview", "interview_every"),
                ("home_visit", "home_visit_every"),
                ("phone_call", "phone_every"),
            )
            if text_of(v, name)
        ]
        household = [
            {
                "name": parts[0],
                "relation": parts[1] if len(parts) > 1 else "",
                "phone": parts[2] if len(parts) > 2 and parts[2] else None,
            }
            for parts in lines_of(v, "household", 3)
        ]
        # What the form does not show is kept: each member's notes, the consent note.
        kept_notes = {m.name: m.notes for m in (r.household if r else []) if m.notes}
        for member in household:
            if member["name"] in kept_notes:
                member["notes"] = kept_notes[str(member["name"])]
        data: dict[str, Any] = {
            "name": text_of(v, "name"),
            "gender": v.get("gender") or Gender.UNKNOWN.value,
            "birth_date": optional(v, "birth_date"),
            "birth_year": optional(v, "birth_year"),
            "id_number": optional(v, "id_number"),
            "phones": phones,
            "address": text_of(v, "address"),
            "community": text_of(v, "community"),
            "tags": v.get("tags") or [],
            "consent": {
                "status": v.get("consent_status") or "pending",
                "on": optional(v, "consent_on"),
                "note": r.consent.note if r else "",
            },
            "cadence": cadence,
            "household": household,
            "notes": str(v.get("notes") or ""),
            "archived": r.archived if r else False,  # not the form's: archiving has a key
        }
        return validated(Resident, data, ws, record_id)

    title = "ui.form_edit_resident" if r else "ui.form_new_resident"
    return FormDef(
        title,
        {"name": r.name if r else ""},
        specs,
        values,
        to_record,
        f"resident:{record_id or 'new'}",
        problem_field,
        cautions=cautions_of,
        early_cautions=lambda v: id_gender_cautions(optional(v, "id_number"), v.get("gender")),
    )


def problem_field(path: str) -> str:
    """The form field that shows a problem at ``path`` in the resident record."""
    for prefix, name in _PROBLEM_FIELDS.items():
        if path == prefix or path.startswith(prefix + "."):
            return name
    return path.split(".")[0]
