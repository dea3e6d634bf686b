"""The case plan's form (个性化帮教方案): title, status, goals, actions with owners and
due dates, reviews, and the next review — each list one line per item."""

from __future__ import annotations

from typing import Any

from fieldapp.domain import CasePlan, PlanStatus, Record, Resident
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

DONE_WORDS = ("x", "done", "完成", "是")  # an action's fourth part that marks it done


def build(ws: Workspace, resident: Resident, plan: CasePlan | None = None) -> FormDef:
    """The form for a new case plan of ``resident`` (``plan`` None) or for editing ``plan``."""
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
            enum_options("PlanStatus", PlanStatus),
            required=True,
        ),
        FieldSpec("start_date", "date", "field.case_plan.start_date", required=True),
        FieldSpec("goals", "lines", "field.case_plan.goals", hint="hint.goals"),
        FieldSpec("actions", "lines", "field.case_plan.actions", hint="hint.actions"),
        FieldSpec("reviews", "lines", "field.case_plan.reviews", hint="hint.reviews"),
        FieldSpec("next_review", "date", "field.case_plan.next_review"),
    ]

    def to_record(v: dict[str, Any]) -> Record:
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
                "done": len(parts) > 3 and parts[3].lower() in DONE_WORDS,
            }
            for parts in lines_of(v, "actions", 4)
        ]
        reviews = [
            {
                "held_on": parts[0],
                "text": parts[1] if len(parts) > 1 else "",
                "reviewer": parts[2] if len(parts) > 2 else "",
            }
            for parts in lines_of(v, "reviews", 3)
        ]
        data: dict[str, Any] = {
            "resident_id": resident.id,
            "title": text_of(v, "title"),
            "status": v.get("status") or PlanStatus.ACTIVE.value,
            "start_date": optional(v, "start_date"),
            "goals": goals,
            "actions": actions,
            "reviews": reviews,
            "next_review": optional(v, "next_review"),
        }
        return validated(CasePlan, data, ws, p.id if p else None)

    title = "ui.form_edit_plan" if p else "ui.form_new_plan"
    return FormDef(
        title,
        {"name": resident.name},
        specs,
        values,
        to_record,
        f"case_plan:{p.id if p else 'new'}:{resident.id}",
    )
