"""What a form is, as data: its fields (:class:`FieldSpec`), its starting values and how
its typed values become a validated record (:class:`FormDef`).

Each record kind's module in this package builds one :class:`FormDef`; the one
:class:`~fieldapp.tui.screens.form.FormScreen` shows any of them. Nothing here draws a
widget, so a form can be built and checked without running the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from fieldapp.domain import Record, validate
from fieldapp.domain.cautions import Caution
from fieldapp.i18n import t
from fieldapp.services.templates import Question
from fieldapp.tui.i18n import label, lang

if TYPE_CHECKING:
    from fieldapp.services.workspace import Workspace

R = TypeVar("R", bound=Record)
FieldKind = Literal["text", "note", "select", "multi", "date", "datetime", "int", "bool", "lines"]


class EnumOptions(list[tuple[str, str]]):
    """A vocabulary's (label, value) options that remember their enum, so their labels
    can follow a language switch."""

    source: tuple[str, type[Enum]]


def enum_options(enum_name: str, enum: type[Enum]) -> EnumOptions:
    """(label, value) for every member of ``enum``, labelled from ``enum.<enum_name>.*``."""
    options = EnumOptions((label(enum_name, m.value), m.value) for m in enum)
    options.source = (enum_name, enum)
    return options


def question_label(q: Question) -> str:
    """A template question's label in the current language (labels come from the
    team's template file, not the catalog)."""
    return q.label(lang())


@dataclass
class FieldSpec:
    """One field of a form: its name (the value's key), kind of input, label and rules."""

    name: str
    kind: FieldKind
    label: str  # message id
    options: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    hint: str | None = None  # message id shown under the field
    required: bool = False
    text: Callable[[], str] | None = None  # a label from data (templates), not the catalog
    options_fn: Callable[[], list[tuple[str, str]]] | None = None  # re-read on a language switch
    # Shown only while the bool field of this name is on (a checklist's items): a field
    # hidden is a field not saved, so nothing is ever saved that the worker cannot see.
    shown_when: str | None = None

    def title(self) -> str:
        """The field's label in the current language, without the required mark."""
        return self.text() if self.text else t(self.label)

    def caption(self) -> str:
        """The field's label in the current language, with `` *`` when it is required."""
        return self.title() + (" *" if self.required else "")

    def fresh_options(self) -> list[tuple[str, str]] | None:
        """The options in the current language; None when they never change."""
        if self.options_fn is not None:
            return self.options_fn()
        if isinstance(self.options, EnumOptions):  # enum labels follow the language
            return enum_options(*self.options.source)
        return None


def caution_text(caution: Caution) -> str:
    """A caution in the current language (``warn.<code>``; a gender by its label)."""
    params = dict(caution.params)
    if "gender" in params:
        params["gender"] = label("Gender", params["gender"])
    return t(f"warn.{caution.code}", **params)


def _first_part(path: str) -> str:
    return path.split(".")[0]


@dataclass
class FormDef:
    """What a form edits: its fields, starting values, and how to build the record."""

    title: str  # message id
    title_params: dict[str, Any]
    specs: list[FieldSpec]
    values: dict[str, Any]
    # The typed values → a validated record (RecordInvalid with the problems otherwise).
    to_record: Callable[[dict[str, Any]], Record]
    draft_key: str
    # A problem's path in the record ("consent.on") → the form field that shows it.
    problem_field: Callable[[str], str] = _first_part
    # The record as built → what is worth a second look without refusing it.
    cautions: Callable[[Record], list[Caution]] = field(default=lambda record: [])
    # The typed values → what is worth a second look already, shown beside the field
    # as the worker leaves one (before the record can be built).
    early_cautions: Callable[[dict[str, Any]], list[Caution]] = field(default=lambda values: [])

    @property
    def names(self) -> set[str]:
        """The names of the form's fields."""
        return {s.name for s in self.specs}

    def spec(self, name: str) -> FieldSpec:
        """The field of that name (KeyError if the form has none)."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)


# ---------------------------------------------------------------- reading typed values


def text_of(values: dict[str, Any], name: str) -> str:
    """The value of a one-line field, trimmed ("" when empty)."""
    return str(values.get(name) or "").strip()


def optional(values: dict[str, Any], name: str) -> str | None:
    """The trimmed value of a field, or None when it was left empty."""
    value = text_of(values, name)
    return value or None


def lines_of(values: dict[str, Any], name: str, parts: int) -> list[list[str]]:
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


def validated(
    model: type[R], data: dict[str, Any], ws: Workspace, record_id: str | None = None
) -> R:
    """The record ``model`` that a form's ``data`` makes, checked as of the workspace's
    today; :class:`~fieldapp.errors.RecordInvalid` with the field problems otherwise.

    A field left empty (None) is left out, so the model's default holds (a need without
    an opening date was opened today); ``record_id`` is the record being edited (None
    for a new one)."""
    fields = {k: v for k, v in data.items() if v is not None}
    if record_id:
        fields["id"] = record_id
    return validate(model, fields, today=ws.today())
