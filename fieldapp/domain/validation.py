"""Turn pydantic's errors into :class:`~fieldapp.errors.FieldProblem` s with stable codes.

Codes are what forms show (through ``invalid.<code>`` in the catalogs) and what
tests assert; pydantic's own error types are mapped so that a pydantic upgrade does
not change what a worker reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fieldapp.domain import kinds
from fieldapp.errors import FieldProblem, RecordInvalid

_PYDANTIC_CODES = {
    "missing": "required",
    "string_too_short": "required",
    "too_short": "too_few",
    "string_too_long": "too_long",
    "too_long": "too_many",
    "extra_forbidden": "unknown_field",
    "enum": "choice",
    "literal_error": "choice",
    "date_from_datetime_parsing": "date_format",
    "date_from_datetime_inexact": "date_format",
    "date_parsing": "date_format",
    "date_type": "date_format",
    "datetime_parsing": "datetime_format",
    "datetime_from_date_parsing": "datetime_format",
    "datetime_type": "datetime_format",
    "int_parsing": "number_format",
    "int_type": "number_format",
    "int_from_float": "number_format",
    "float_parsing": "number_format",
    "greater_than_equal": "too_small",
    "greater_than": "too_small",
    "less_than_equal": "too_large",
    "less_than": "too_large",
    "bool_parsing": "yes_no",
    "string_type": "text_type",
    "list_type": "list_type",
    "dict_type": "object_type",
    "model_type": "object_type",
    "string_unicode": "surrogate",
}

OUR_CODES = frozenset(
    {
        "required",
        "too_long",
        "too_few",
        "too_many",
        "unknown_field",
        "choice",
        "date_format",
        "datetime_format",
        "number_format",
        "too_small",
        "too_large",
        "yes_no",
        "text_type",
        "list_type",
        "object_type",
        "surrogate",
        "control_char",
        "id_format",
        "id_birth_date",
        "id_checksum",
        "phone_format",
        "record_id",
        "slug",
        "consent_date_required",
        "date_in_future",
        "birth_year_mismatch",
        "id_birth_mismatch",
        "cadence_duplicate",
        "status_note_required",
        "due_before_opened",
        "next_due_before_visit",
        "checklist_template_required",
        "transition",
        "note_transition",
        "due_before_written",
        "status_time_required",
        "answer_type",
        "invalid",
    }
)

M = TypeVar("M", bound=BaseModel)


def problems_of(exc: ValidationError) -> list[FieldProblem]:
    """One FieldProblem per pydantic error, most specific first, deduplicated."""
    problems: list[FieldProblem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False, include_input=False):
        ctx: dict[str, Any] = dict(err.get("ctx") or {})
        kind = err["type"]
        if kind == "too_long" and "max_length" in ctx:
            code = "too_many"  # pydantic's list length error shares our text code's name
        else:
            code = kind if kind in OUR_CODES else _PYDANTIC_CODES.get(kind, "invalid")
        loc = [str(p) for p in err["loc"]]
        # A cross-field refusal names the field to fix, relative to the model that raised it.
        if "field" in ctx:
            loc.append(str(ctx.pop("field")))
        path = ".".join(loc)
        if code in ("too_small", "too_large"):
            limits = [ctx[k] for k in ("ge", "gt", "le", "lt", "limit") if k in ctx]
            ctx = {"limit": limits[0] if limits else ""}
        elif code in ("too_long", "too_many", "too_few") and "max_length" in ctx:
            ctx = {"max": ctx["max_length"], "actual": ctx.get("actual_length", "")}
        elif code == "too_few":
            ctx = {"min": ctx.get("min_length", 1)}
        ctx.pop("field", None)
        if (path, code) in seen:
            continue
        seen.add((path, code))
        problems.append(FieldProblem(path=path, code=code, params=ctx))
    return problems


def validate(model: type[M], data: dict[str, Any], *, today: dt.date | None = None) -> M:
    """``model.model_validate(data)`` that raises :class:`RecordInvalid` instead.

    ``today`` is the caller's date (from its clock) for checks such as "a birth date
    is not in the future"; without it the machine's date is used."""
    try:
        return model.model_validate(data, context={"today": today} if today else None)
    except ValidationError as exc:
        raise RecordInvalid(problems_of(exc)) from None


def missing_fields(kind: str, doc: dict[str, Any]) -> list[str]:
    """The required fields of ``kind``'s model that ``doc`` does not hold: a record
    without them is incomplete (its other ops are on their way, or it is not
    fieldapp's). An optional field that is absent reads as the model's default — a
    record saved by an older fieldapp lacks the fields added since."""
    spec = kinds.get(kind)
    if spec is None:
        return ["kind"]
    return [name for name in spec.required if name not in doc]


def check_record(kind: str, record_id: str, doc: dict[str, Any], today: dt.date) -> str | None:
    """Whether the stored fields ``doc`` of a record of ``kind`` make a valid record by
    its model's whole rules: None, or the first problem as ``"field: code"``.

    Reserved fields (``_deleted``, ``_resolved_…``) are not the model's and are left out.
    """
    spec = kinds.get(kind)
    if spec is None:
        return f"kind: {kind[:40]}"
    model = spec.model
    fields = {k: v for k, v in doc.items() if not k.startswith("_")}
    try:
        model.model_validate({**fields, "id": record_id}, context={"today": today})
    except ValidationError as exc:
        problems = problems_of(exc)
        return f"{problems[0].path}: {problems[0].code}" if problems else "invalid"
    return None
