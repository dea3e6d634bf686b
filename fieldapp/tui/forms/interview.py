"""The interview's form (面谈, 社会调查, screening): when and where, the questions of the
chosen template, free notes and follow-ups."""

from __future__ import annotations

from functools import partial
from typing import Any

from fieldapp.domain import Interview, Record, Resident
from fieldapp.domain.cautions import cautions_of
from fieldapp.errors import FieldProblem, RecordInvalid
from fieldapp.i18n import t
from fieldapp.services.templates import Question
from fieldapp.services.workspace import Workspace
from fieldapp.tui.forms.spec import (
    FieldKind,
    FieldSpec,
    FormDef,
    lines_of,
    optional,
    question_label,
    text_of,
    validated,
)
from fieldapp.tui.i18n import lang

# The input that asks a template question of each type (free text otherwise).
_INPUT_OF_TYPE: dict[str, FieldKind] = {
    "choice": "select",
    "yesno": "select",
    "check": "select",
    "multi": "multi",
    "number": "int",
    "note": "note",
}


def choices(q: Question) -> list[tuple[str, str]]:
    """A question's (label, value) options in the current language: yes/no for yes/no
    and check questions, the template's choices otherwise."""
    if q.type in ("yesno", "check"):
        return [(t("enum.CheckAnswer.yes"), "yes"), (t("enum.CheckAnswer.no"), "no")]
    return [(c.label(lang()), c.id) for c in q.choices]


def build(ws: Workspace, resident: Resident, template_id: str) -> FormDef:
    """The form for a new interview with ``resident`` by the template ``template_id``
    (KeyError if the workspace has no such template)."""
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
        specs.append(
            FieldSpec(
                f"q_{q.id}",
                _INPUT_OF_TYPE.get(q.type, "text"),
                "",
                choices(q),
                text=partial(question_label, q),  # labels come from the template file
                options_fn=partial(choices, q),
            )
        )
        values[f"q_{q.id}"] = [] if q.type == "multi" else None
    specs += [
        FieldSpec("notes", "note", "field.interview.notes"),
        FieldSpec("follow_ups", "lines", "field.interview.follow_ups", hint="hint.follow_ups"),
    ]

    def to_record(v: dict[str, Any]) -> Record:
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
            for parts in lines_of(v, "follow_ups", 2)
        ]
        data = {
            "resident_ids": [resident.id],
            "held_on": optional(v, "held_on"),
            "place": text_of(v, "place"),
            "template_id": template.id,
            "answers": answers,
            "notes": str(v.get("notes") or ""),
            "follow_ups": follow_ups,
        }
        return validated(Interview, data, ws)

    return FormDef(
        "ui.form_new_interview",
        {"name": resident.name, "template": template.title(lang())},
        specs,
        values,
        to_record,
        f"interview:new:{resident.id}:{template.id}",
        problem_field,
        cautions=lambda record: cautions_of(record, [resident]),
    )


def problem_field(path: str) -> str:
    """The form field that shows a problem at ``path``: an answer's own question."""
    if path.startswith("answers."):
        return "q_" + path.split(".")[1]
    return path.split(".")[0]
