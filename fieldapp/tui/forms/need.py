"""The form for one item of a resident's needs list (需求清单): category, description,
urgency, when it was opened and when it is due. Its status moves through the status
dialog, not this form."""

from __future__ import annotations

from typing import Any

from fieldapp.domain import Need, NeedCategory, Record, Resident, Urgency
from fieldapp.services.workspace import Workspace
from fieldapp.tui.forms.spec import FieldSpec, FormDef, enum_options, optional, validated


def build(ws: Workspace, resident: Resident, need: Need | None = None) -> FormDef:
    """The form for a new need of ``resident`` (``need`` None) or for editing ``need``."""
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
            enum_options("NeedCategory", NeedCategory),
            required=True,
        ),
        FieldSpec("description", "note", "field.need.description", required=True),
        FieldSpec(
            "urgency",
            "select",
            "field.need.urgency",
            enum_options("Urgency", Urgency),
            required=True,
        ),
        FieldSpec("opened_on", "date", "field.need.opened_on", required=True),
        FieldSpec("due_date", "date", "field.need.due_date"),
    ]

    def to_record(v: dict[str, Any]) -> Record:
        base = need.to_fields() if need else {"resident_id": resident.id}
        data = {
            **base,
            "category": v.get("category"),
            "description": str(v.get("description") or ""),
            "urgency": v.get("urgency") or Urgency.MEDIUM.value,
            "opened_on": optional(v, "opened_on"),
            "due_date": optional(v, "due_date"),
        }
        return validated(Need, data, ws, need.id if need else None)

    title = "ui.form_edit_need" if need else "ui.form_new_need"
    return FormDef(
        title,
        {"name": resident.name},
        specs,
        values,
        to_record,
        f"need:{need.id if need else 'new'}:{resident.id}",
    )
