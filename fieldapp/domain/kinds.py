"""The record kinds, each registered once: its model, its table, its place in a
resident's file, its label and its form.

Everything that goes over "every kind" — the resident's complete file and its export,
the resident file screen, merge validation, the forms — reads this registry instead of
a list of its own, so a kind added here is seen by all of them. The domain cannot
import the UI: a kind names its form, and the TUI maps that name to a form module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from fieldapp.domain.enums import RecordKind
from fieldapp.domain.models import (
    Assignment,
    CasePlan,
    Interview,
    Need,
    OfficeNote,
    Record,
    Resident,
    ScopeReceipt,
    SupervisionNote,
    Visit,
)


@dataclass(frozen=True)
class KindSpec:
    """One kind of record and what every part of fieldapp needs to know about it."""

    model: type[Record]
    # The field that points at the resident whose file (一人一档案) holds the record: a
    # record id, or a list of them (an interview with several residents). None: the
    # record is not part of a resident's file (the resident itself is the file).
    resident_field: str | None = None
    form: str | None = None  # the name of its form (the TUI maps names to modules)
    label: str = ""  # message id; ``enum.RecordKind.<kind>`` when not given

    def __post_init__(self) -> None:
        """Give the kind its default label, ``enum.RecordKind.<kind>``, when none was named."""
        if not self.label:
            object.__setattr__(self, "label", f"enum.RecordKind.{self.kind}")

    @property
    def kind(self) -> str:
        """The kind's stable id: ``op.kind``, the model's ``KIND``."""
        return str(self.model.KIND.value)

    @property
    def table(self) -> str:
        """The vault table holding the live records of this kind (the vault names each
        table after the kind its ops carry)."""
        return self.kind

    @property
    def in_resident_file(self) -> bool:
        """Whether the kind's records belong to a resident's complete file."""
        return self.resident_field is not None

    def belongs_to(self, fields: Mapping[str, Any], resident_id: str) -> bool:
        """Whether the stored ``fields`` of a record of this kind point at the resident."""
        if self.resident_field is None:
            return False
        value = fields.get(self.resident_field)
        return value == resident_id or (isinstance(value, list) and resident_id in value)

    @cached_property
    def required(self) -> tuple[str, ...]:
        """The model's required fields (without ``id``): a stored record lacking one is
        incomplete."""
        return tuple(
            name
            for name, info in self.model.model_fields.items()
            if name != "id" and info.is_required()
        )

    @cached_property
    def stored_defaults(self) -> dict[str, Any]:
        """What an optional field absent from a stored record reads as (a record saved
        by an older fieldapp lacks the fields added since)."""
        out: dict[str, Any] = {}
        for name, info in self.model.model_fields.items():
            if name == "id" or info.is_required():
                continue
            factory = info.default_factory
            if factory in (list, dict):
                out[name] = factory()
            elif isinstance(factory, type) and issubclass(factory, BaseModel):
                out[name] = factory().model_dump(mode="json")
            elif factory is None:
                value = info.default
                out[name] = value.value if hasattr(value, "value") else value
            # any other factory (an opening date: today) gives no default to read with
        return out


_KINDS: dict[str, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    """Add a kind to the registry; a kind is registered once (ValueError otherwise)."""
    if spec.kind in _KINDS:
        raise ValueError(f"record kind {spec.kind!r} is already registered")
    if spec.resident_field is not None and spec.resident_field not in spec.model.model_fields:
        raise ValueError(f"{spec.model.__name__} has no field {spec.resident_field!r}")
    _KINDS[spec.kind] = spec
    return spec


def unregister(kind: str) -> None:
    """Remove a kind from the registry (tests that register a throwaway kind)."""
    del _KINDS[kind]


def get(kind: str) -> KindSpec | None:
    """The registered kind of that id, or None."""
    return _KINDS.get(kind)


def spec_of(kind: str) -> KindSpec:
    """The registered kind of that id; KeyError if there is none."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise KeyError(f"no record kind {kind!r} is registered") from None


def all_kinds() -> tuple[KindSpec, ...]:
    """Every registered kind, in the order registered."""
    return tuple(_KINDS.values())


def resident_file_kinds() -> tuple[KindSpec, ...]:
    """The kinds whose records belong to a resident's complete file."""
    return tuple(spec for spec in _KINDS.values() if spec.in_resident_file)


def with_defaults(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every absent optional field at its default (cheap: a dict merge)."""
    spec = _KINDS.get(kind)
    defaults = spec.stored_defaults if spec is not None else None
    return {**defaults, **doc} if defaults else doc


class _Models(Mapping[RecordKind, type[Record]]):
    """The registry seen as kind → model (the shape older callers use); always current."""

    def __getitem__(self, kind: str) -> type[Record]:
        return spec_of(kind).model

    def __iter__(self) -> Iterator[RecordKind]:
        return iter([spec.model.KIND for spec in _KINDS.values()])

    def __len__(self) -> int:
        return len(_KINDS)


MODELS: Mapping[RecordKind, type[Record]] = _Models()
"""Kind → model class, read from the registry each time."""


for _spec in (
    KindSpec(Resident, form="resident"),
    KindSpec(Need, resident_field="resident_id", form="need"),
    KindSpec(Interview, resident_field="resident_ids", form="interview"),
    KindSpec(Visit, resident_field="resident_id", form="visit"),
    KindSpec(CasePlan, resident_field="resident_id", form="case_plan"),
    # 督导意见: in the resident's file, so it travels with it (scope, export, deletion).
    KindSpec(SupervisionNote, resident_field="resident_id", form="supervision_note"),
    # Scope: who holds the file. In it, so a worker's device knows why it holds it.
    KindSpec(Assignment, resident_field="resident_id"),
    # A device's word that it purged a resident's file: outside the file, which it outlives.
    KindSpec(ScopeReceipt),
    # 督导意见 from the level above about an office's numbers: no resident's file (the
    # city holds none); scope sends it to the office it names (``OfficeNote.office``).
    KindSpec(OfficeNote),
):
    register(_spec)
del _spec
