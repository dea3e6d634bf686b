"""Interview and checklist templates, as data: one TOML file per template.

Templates ship in ``fieldapp/templates``; a team can add its own as
``$FIELDAPP_HOME/templates/*.toml`` (or the data dir's ``templates``) — no code change.
Every label is bilingual; answers are checked against the template before saving.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fieldapp.domain.enums import NeedCategory, Urgency
from fieldapp.errors import FieldProblem, RecordInvalid, TemplateInvalid

QuestionType = Literal["text", "note", "yesno", "number", "choice", "multi", "check"]


class Label(BaseModel):
    """A label in both languages."""

    model_config = ConfigDict(extra="forbid")
    zh_CN: str
    en: str

    def __call__(self, lang: str) -> str:
        """The label in ``lang`` (English for anything but ``zh_CN``)."""
        return self.zh_CN if lang == "zh_CN" else self.en


class Choice(BaseModel):
    """One answer a choice question offers: its stored id and its label in both languages."""

    model_config = ConfigDict(extra="forbid")
    id: str
    zh_CN: str
    en: str

    def label(self, lang: str) -> str:
        """The choice's label in ``lang`` (English for anything but ``zh_CN``)."""
        return self.zh_CN if lang == "zh_CN" else self.en


class Question(BaseModel):
    """One question of a template: its answer's key, its type, its label, the choices (choice,
    multi) and the bounds (number). A checklist item (``check``) with a ``need_category`` is
    offered as a need of that category (and ``need_urgency``) when it is answered "no"."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    type: QuestionType
    label: Label
    choices: list[Choice] = Field(default_factory=list)
    min: int | None = None
    max: int | None = None
    need_category: NeedCategory | None = None
    need_urgency: Urgency = Urgency.MEDIUM


class Template(BaseModel):
    """An interview or visit checklist template, as read from its TOML file."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: Literal["interview", "checklist"]
    title: Label
    questions: list[Question] = Field(min_length=1)

    def check_answers(self, answers: dict[str, Any], prefix: str = "answers") -> None:
        """Raise :class:`RecordInvalid` for answers the template does not allow."""
        problems: list[FieldProblem] = []
        by_id = {q.id: q for q in self.questions}
        for key, value in answers.items():
            q = by_id.get(key)
            field = f"{prefix}.{key}"
            if q is None:
                problems.append(FieldProblem(field, "unknown_field"))
                continue
            ids = {c.id for c in q.choices}
            picked = value if isinstance(value, list) else [value]
            if q.type in ("choice", "multi") and (
                not set(picked) <= ids or (q.type == "choice" and isinstance(value, list))
            ):
                problems.append(FieldProblem(field, "choice"))
            elif q.type == "yesno" and not isinstance(value, bool):
                problems.append(FieldProblem(field, "yes_no"))
            elif q.type == "number":
                if isinstance(value, bool) or not isinstance(value, int):
                    problems.append(FieldProblem(field, "number_format"))
                elif q.min is not None and value < q.min:
                    problems.append(FieldProblem(field, "too_small", {"limit": q.min}))
                elif q.max is not None and value > q.max:
                    problems.append(FieldProblem(field, "too_large", {"limit": q.max}))
        if problems:
            raise RecordInvalid(problems)


def _parse(text: str, source: str) -> Template:
    try:
        return Template.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise TemplateInvalid(source=source, detail=str(exc).splitlines()[0]) from None


@cache
def builtin_templates() -> dict[str, Template]:
    """The templates that ship with fieldapp, by id (read once)."""
    out = {}
    for entry in sorted(resources.files("fieldapp.templates").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            template = _parse(entry.read_text("utf-8"), entry.name)
            out[template.id] = template
    return out


MAX_TEMPLATE = 1024 * 1024  # a team's template file: far larger than any real one


def _read_text(path: Path) -> str:
    """A template file: regular, not through a link, bounded."""
    from fieldapp.store.fsio import read_regular

    data = read_regular(path, MAX_TEMPLATE)
    if len(data) > MAX_TEMPLATE:
        raise TemplateInvalid(source=str(path), detail=f"larger than {MAX_TEMPLATE} bytes")
    return data.decode("utf-8")


def load_templates(
    extra_dir: Path | None = None, errors: list[TemplateInvalid] | None = None
) -> dict[str, Template]:
    """Built-in templates plus any in ``extra_dir`` (a team's own, same id overrides).

    A broken file raises :class:`TemplateInvalid` — or, when ``errors`` is given, is
    skipped and reported there, so one bad file never keeps the app from starting.
    """
    templates = dict(builtin_templates())
    if extra_dir is not None and extra_dir.is_dir():
        for path in sorted(extra_dir.glob("*.toml")):
            try:
                template = _parse(_read_text(path), str(path))
            except (TemplateInvalid, UnicodeDecodeError, OSError) as exc:
                error = (
                    exc
                    if isinstance(exc, TemplateInvalid)
                    else TemplateInvalid(
                        source=str(path), detail=getattr(exc, "strerror", None) or str(exc)
                    )
                )
                if errors is None:
                    raise error from None
                errors.append(error)
                continue
            templates[template.id] = template
    return templates
