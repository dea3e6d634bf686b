"""The supervisor's form for a supervision note (督导意见) on a resident's file: what is
asked (the action), the note, and by when. What it is about — the resident, or the record
the supervisor had under the cursor — is chosen before the form opens and shown in its
title; the worker moves its status from their file, not through this form."""

from __future__ import annotations

from typing import Any

from fieldapp.domain import NoteAction, Record, Resident, SupervisionNote
from fieldapp.services.workspace import Workspace
from fieldapp.tui.forms.spec import FieldSpec, FormDef, enum_options, optional, validated


def build(
    ws: Workspace, resident: Resident, target_id: str | None = None, about: str = ""
) -> FormDef:
    """The form for a new note on ``resident``'s file about ``target_id`` (the resident
    when None), ``about`` naming that record for the title."""
    values: dict[str, Any] = {"action": NoteAction.REVIEW.value, "text": "", "due_date": ""}
    specs = [
        FieldSpec(
            "action",
            "select",
            "field.supervision_note.action",
            enum_options("NoteAction", NoteAction),
            required=True,
        ),
        FieldSpec("text", "note", "field.supervision_note.text", required=True),
        FieldSpec("due_date", "date", "field.supervision_note.due_date"),
    ]

    def to_record(v: dict[str, Any]) -> Record:
        data = {
            "resident_id": resident.id,
            "target_id": target_id or resident.id,
            "action": v.get("action") or NoteAction.REVIEW.value,
            "text": str(v.get("text") or ""),
            "due_date": optional(v, "due_date"),
            "created_at": ws.now().replace(microsecond=0),  # written now, by this device
        }
        return validated(SupervisionNote, data, ws)

    return FormDef(
        "ui.form_new_note",
        {"name": resident.name, "about": about or resident.name},
        specs,
        values,
        to_record,
        f"supervision_note:new:{target_id or resident.id}",
    )
