"""Turn pydantic's errors into :class:`~fieldapp.errors.FieldProblem` s with stable codes.

Codes are what forms show (through ``invalid.<code>`` in the catalogs) and what
tests assert; pydantic's own error types are mapped so that a pydantic upgrade does
not change what a worker reads.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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
        "required", "too_long", "too_few", "too_many", "unknown_field", "choice", "date_format",
        "datetime_format", "number_format", "too_small", "too_large", "yes_no", "text_type",
        "list_type", "object_type", "surrogate", "control_char", "id_format", "id_birth_date",
        "id_checksum", "phone_format", "record_id", "slug", "consent_date_required",
        "date_in_future", "birth_year_mismatch", "id_birth_mismatch", "cadence_duplicate",
        "status_note_required", "due_before_opened", "next_due_before_visit",
        "checklist_template_required", "transition", "invalid",
    }
)  # fmt: skip

M = TypeVar("M", bound=BaseModel)


def problems_of(exc: ValidationError) -> list[FieldProblem]:
    """One FieldProblem per pydantic error, most specific first, deduplicated."""
    problems: list[FieldProblem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False, include_input=False):
        ctx: dict[str, Any] = dict(err.get("ctx") or {})
        kind = err["type"]
        code = kind if kind in OUR_CODES else _PYDANTIC_CODES.get(kind, "invalid")
        # A union (str | list …) reports every branch; keep the one that explains the value.
        loc = [str(p) for p in err["loc"] if not _is_union_branch(p)]
        field = ".".join(loc) or str(ctx.pop("field", ""))
        if code in ("too_small", "too_large"):
            ctx = {"limit": ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt", ""))))}
        elif code in ("too_long", "too_many", "too_few") and "max_length" in ctx:
            ctx = {"max": ctx["max_length"], "actual": ctx.get("actual_length", "")}
        elif code == "too_few":
            ctx = {"min": ctx.get("min_length", 1)}
        ctx.pop("field", None)
        if (field, code) in seen:
            continue
        seen.add((field, code))
        problems.append(FieldProblem(field=field, code=code, params=ctx))
    # A value refused by every branch of a union: the specific reason beats "wrong type".
    specific = {p.field for p in problems if p.code not in _TYPE_CODES}
    return [p for p in problems if p.code not in _TYPE_CODES or p.field not in specific]


_TYPE_CODES = frozenset(
    {"text_type", "list_type", "number_format", "yes_no", "object_type", "invalid"}
)


def _is_union_branch(part: object) -> bool:
    text = str(part)
    return text in {"bool", "int", "float", "str", "list[str]"} or text.startswith(
        ("function-after", "list[", "constrained-str")
    )


def validate(model: type[M], data: dict[str, Any]) -> M:
    """``model.model_validate(data)`` that raises :class:`RecordInvalid` instead."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecordInvalid(problems_of(exc)) from None
