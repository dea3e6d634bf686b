"""The forms, one module per record kind, each with a ``build()`` that returns the
kind's :class:`~fieldapp.tui.forms.spec.FormDef` from a record and the workspace.

Which form a kind uses is the registry's to say (:mod:`fieldapp.domain.kinds` names it,
since the domain cannot import the TUI); :data:`FORMS` maps those names to the modules
here and :func:`form_for` looks a kind's form up, failing loudly when there is none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fieldapp.domain import kinds
from fieldapp.tui.forms import case_plan, interview, need, resident, supervision_note, visit
from fieldapp.tui.forms.spec import FormDef


class FormModule(Protocol):
    """A record kind's form module: ``build(workspace, resident, …)`` makes the form
    (the resident being edited, or the one the new record is about, then the kind's own
    arguments: the record to edit, the interview's template)."""

    build: Callable[..., FormDef]


FORMS: dict[str, FormModule] = {
    "resident": resident,
    "need": need,
    "interview": interview,
    "visit": visit,
    "case_plan": case_plan,
    "supervision_note": supervision_note,
}
"""A form's name (as a kind's registry entry gives it) → its module."""


class NoForm(LookupError):
    """A record kind without a form here: unregistered, registered without one, or
    naming a form this TUI does not have."""


def form_for(kind: str) -> FormModule:
    """The form module of the registered ``kind``; :class:`NoForm` if it has none."""
    spec = kinds.get(kind)
    if spec is None:
        raise NoForm(f"no record kind {kind!r} is registered")
    if spec.form is None:
        raise NoForm(f"the record kind {kind!r} has no form")
    module: FormModule | None = FORMS.get(spec.form)
    if module is None:
        raise NoForm(f"the record kind {kind!r} names the form {spec.form!r}, which is not here")
    return module


def unclaimed_forms() -> set[str]:
    """Forms here that no registered kind names (should be none)."""
    named = {spec.form for spec in kinds.all_kinds()}
    return set(FORMS) - named
