"""Saving, reading and deleting records, and their history.

Screens and the CLI call these with domain objects; nothing above this layer touches
the vault's documents or ops directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from fieldapp.domain import (
    Need,
    NeedStatus,
    NoteAction,
    NoteStatus,
    OfficeNote,
    Record,
    RecordKind,
    SupervisionNote,
    kinds,
)
from fieldapp.domain.hlc import to_seconds
from fieldapp.domain.ops import DELETED, RESOLVED_PREFIX, Op
from fieldapp.domain.validation import problems_of, validate
from fieldapp.domain.workflow import check_note_transition, check_transition
from fieldapp.errors import FieldProblem, RecordDamaged, RecordInvalid
from fieldapp.store import Change, Vault

R = TypeVar("R", bound=Record)

PROFILE_KEY = "profile"
DEVICE_NAMES_KEY = "device_names"


@dataclass(frozen=True)
class HistoryEntry:
    """One change of one field: who, when, old → new."""

    when: dt.datetime
    field: str
    old: Any
    new: Any
    device_id: str
    author: str
    op_id: str
    record_id: str
    # A conflict's resolution (the op on ``_resolved_<field>``): the field it settled and
    # the value kept; ``field`` and ``new`` stay the op's own.
    resolves: str | None = None
    kept: Any = None


class RecordService:
    """Saving, reading and deleting the records of one open ``vault``, their history, and the
    worker's profile."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    # ------------------------------------------------------------ writing

    def save(self, record: Record, *, drafts_done: list[str] | None = None) -> list[Op]:
        """Durably save a (validated) record; returns the ops it made.

        Refuses, with :class:`RecordInvalid`, a need or a supervision note whose status
        moves along a transition its workflow does not allow, links to residents that do
        not exist, and a note about a record outside its resident's file. ``drafts_done``
        names drafts to delete in the same atomic commit.
        """
        kind = record.KIND
        self._check_links(record)
        if isinstance(record, Need):
            stored = self.vault.get(record.id)
            if stored is not None:
                check_transition(NeedStatus(stored["status"]), record.status)
        if isinstance(record, SupervisionNote):
            self._check_target(record)
            stored = self.vault.get(record.id)
            if stored is not None:
                old = stored.get("status", NoteStatus.NEW.value)
                check_note_transition(NoteStatus(old), record.status)
        kv = {f"draft/{key}": None for key in drafts_done or []}
        return self.vault.commit([Change(kind.value, record.id, record.to_fields())], kv=kv)

    def save_many(self, records: list[Record]) -> list[Op]:
        """Save several records in one atomic commit (imports, demo data)."""
        for record in records:
            self._check_links(record, pending={r.id for r in records})
        changes = [Change(r.KIND.value, r.id, r.to_fields()) for r in records]
        return self.vault.commit(changes)

    def delete(self, record_id: str) -> list[Op]:
        """Delete (tombstone) a record; its history stays."""
        kind = self.vault.kind_of(record_id)
        if kind is None or self.vault.get(record_id) is None:
            raise RecordInvalid([FieldProblem("id", "unknown_record")])
        return self.vault.commit([Change(kind, record_id, {DELETED: True})])

    def set_archived(self, resident_id: str, archived: bool) -> list[Op]:
        """Archive (``True``) or restore (``False``) a resident: one op on its ``archived``
        field, which syncs and shows in the history like any other change."""
        if self.vault.kind_of(resident_id) != RecordKind.RESIDENT.value or (
            self.vault.get(resident_id) is None
        ):
            raise RecordInvalid([FieldProblem("id", "unknown_record")])
        change = Change(RecordKind.RESIDENT.value, resident_id, {"archived": archived})
        return self.vault.commit([change])

    def change_need_status(
        self, need_id: str, status: NeedStatus, note: str = "", referred_to: str = ""
    ) -> Need:
        """Move a need along the workflow; resolving or referring needs a note."""
        need = self.get(Need, need_id)
        if need is None:
            raise RecordInvalid([FieldProblem("id", "unknown_record")])
        check_transition(need.status, status)
        fields = need.to_fields() | {"status": status.value, "status_note": note}
        if status is NeedStatus.REFERRED:
            fields["referred_to"] = referred_to
        updated = validate(Need, {**fields, "id": need_id}, today=self.vault.clock.today())
        self.save(updated)
        return updated

    def write_note(
        self,
        resident_id: str,
        action: NoteAction,
        text: str,
        *,
        due_date: dt.date | None = None,
        target_id: str | None = None,
        target_field: str | None = None,
    ) -> SupervisionNote:
        """Write a supervision note (督导意见) on the resident's file, about the resident itself
        or one record of their file (``target_id``), written now by this device."""
        fields: dict[str, Any] = {
            "resident_id": resident_id,
            "target_id": target_id or resident_id,
            "target_field": target_field,
            "action": action.value,
            "text": text,
            "due_date": due_date,
            "created_at": self._now(),
        }
        note = validate(SupervisionNote, fields, today=self.vault.clock.today())
        self.save(note)
        return note

    def write_office_note(
        self,
        office: str,
        action: NoteAction,
        text: str,
        *,
        period: str | None = None,
        due_date: dt.date | None = None,
    ) -> OfficeNote:
        """Write a note to a lower office (DESIGN §3.8) about its numbers — of ``period``
        (``YYYY-MM``) when given — written now by this device. ``unknown_office`` unless the
        office is enrolled at this team, with a flow, and not revoked."""
        from sync.team import devices

        if not any(
            d.device_id == office and d.flow and d.revoked is None for d in devices(self.vault)
        ):
            raise RecordInvalid([FieldProblem("office", "unknown_office")])
        fields: dict[str, Any] = {
            "office": office,
            "period": period or None,
            "action": action.value,
            "text": text,
            "due_date": due_date,
            "created_at": self._now(),
        }
        note = validate(OfficeNote, fields, today=self.vault.clock.today())
        self.save(note)
        return note

    def set_note_status(self, note_id: str, status: NoteStatus) -> SupervisionNote | OfficeNote:
        """Move a supervision note (or a note from the level above to this office) along its
        workflow (the worker, or the office, acknowledges it, then marks it done), stamping
        when. Only the fields that move make ops, so a supervisor's edit of the text made
        meanwhile merges beside it."""
        model: type[SupervisionNote] | type[OfficeNote] = (
            OfficeNote
            if self.vault.kind_of(note_id) == RecordKind.OFFICE_NOTE.value
            else SupervisionNote
        )
        note = self.get(model, note_id)
        if note is None:
            raise RecordInvalid([FieldProblem("id", "unknown_record")])
        check_note_transition(note.status, status)
        if status is note.status:
            return note
        now = self._now()
        fields: dict[str, Any] = {"status": status.value}
        if note.acknowledged_at is None:  # done straight away is acknowledged too
            fields["acknowledged_at"] = now
        if status is NoteStatus.DONE:
            fields["done_at"] = now
        updated = validate(model, {**note.to_fields(), **fields, "id": note_id}, today=now.date())
        changed = {k: v for k, v in updated.to_fields().items() if k in fields}
        self.vault.commit([Change(model.KIND.value, note_id, changed)])
        return updated

    def _now(self) -> dt.datetime:
        return self.vault.clock.now().replace(microsecond=0)

    def _check_target(self, note: SupervisionNote) -> None:
        """A note is about its resident or a record of their file, and names a field that
        record has (``unknown_target`` otherwise)."""
        kind = self.vault.kind_of(note.target_id)
        doc = self.vault.get(note.target_id)
        spec = kinds.get(kind or "")
        if note.target_id == note.resident_id:
            ok = kind == RecordKind.RESIDENT.value
        else:
            ok = (
                spec is not None
                and doc is not None
                and kind != RecordKind.SUPERVISION_NOTE.value
                and spec.belongs_to(doc, note.resident_id)
            )
        if ok and spec is not None and note.target_field is not None:
            ok = note.target_field in spec.model.model_fields
        if not ok:
            raise RecordInvalid([FieldProblem("target_id", "unknown_target")])

    def _check_links(self, record: Record, pending: set[str] | None = None) -> None:
        # The field by which the kind belongs to a resident's file must point at one.
        spec = kinds.get(record.KIND.value)
        field = spec.resident_field if spec is not None else None
        targets: list[tuple[str, str]] = []
        if field is not None:
            value = getattr(record, field)
            if isinstance(value, list):
                targets += [(f"{field}.{i}", rid) for i, rid in enumerate(value)]
            else:
                targets.append((field, value))
        problems = [
            FieldProblem(name, "unknown_resident")
            for name, rid in targets
            if self.vault.kind_of(rid) != RecordKind.RESIDENT.value
            and not (pending and rid in pending)
        ]
        if problems:
            raise RecordInvalid(problems)

    # ------------------------------------------------------------ reading

    def get(self, model: type[R], record_id: str) -> R | None:
        """The record, None if there is none; :class:`RecordDamaged` when the stored
        fields do not make a valid one."""
        doc = self.vault.get(record_id)
        if doc is None or self.vault.kind_of(record_id) != model.KIND.value:
            return None
        try:
            return model.from_fields(record_id, _public(doc))
        except ValidationError as exc:
            problems = problems_of(exc)
            where = problems[0].path if problems else "?"
            raise RecordDamaged(kind=model.KIND.value, id=record_id[-12:], field=where) from None

    def all(self, model: type[R]) -> list[R]:
        """Every valid record of the kind (a damaged one is left out, never a crash)."""
        out = []
        for rid, doc in self.vault.iter_records(model.KIND.value):
            try:
                out.append(model.from_fields(rid, _public(doc)))
            except ValidationError:
                continue
        return out

    def count(self, kind: RecordKind) -> int:
        """How many live records of ``kind`` the vault holds."""
        return self.vault.count(kind.value)

    def history(self, record_id: str) -> list[HistoryEntry]:
        """Every change of the record, oldest first, with who made it: the worker's name as
        enrolled (a supervisor's vault) or as set in their profile, else the device id."""
        names = self.author_names()
        previous: dict[str, Any] = {}
        out: list[HistoryEntry] = []
        for op in self.vault.history(record_id):
            resolves = None
            if op.field.startswith(RESOLVED_PREFIX):
                resolves = op.field.removeprefix(RESOLVED_PREFIX)
            out.append(
                HistoryEntry(
                    when=dt.datetime.fromtimestamp(to_seconds(op.hlc)),
                    field=op.field,
                    old=previous.get(op.field),
                    new=op.value,
                    device_id=op.device_id,
                    author=names.get(op.device_id, op.device_id),
                    op_id=op.op_id,
                    record_id=op.record_id,
                    resolves=resolves,
                    # The value written with the resolution comes first in its commit (or
                    # was already the field's value).
                    kept=previous.get(resolves) if resolves else None,
                )
            )
            previous[op.field] = op.value
        return out

    def author_names(self) -> dict[str, str]:
        """Device id → the name to show for its changes: the team's enrolled devices (and the
        team's name for the supervisor's own), overridden by the names of profiles."""
        from sync import team
        from sync.levels import level_names

        names = level_names(self.vault)  # the lower offices' workers, as their rosters name them
        names.update((d.device_id, d.name) for d in team.devices(self.vault))
        secrets = team.team_secrets(self.vault)
        if secrets is not None:
            names[self.vault.device_id] = secrets.name
        names.update(self.vault.get_meta(DEVICE_NAMES_KEY, {}))
        return names

    # ------------------------------------------------------------ the worker

    def set_profile(self, name: str, community: str) -> None:
        """Who uses this device; their name is what history shows for its changes."""
        names = dict(self.vault.get_meta(DEVICE_NAMES_KEY, {}))
        names[self.vault.device_id] = name
        self.vault.commit(
            (), kv={PROFILE_KEY: {"name": name, "community": community}, DEVICE_NAMES_KEY: names}
        )

    def profile(self) -> dict[str, str]:
        """Who uses this device (``name``, ``community``); empty until a profile is set."""
        value: dict[str, str] = self.vault.get_meta(PROFILE_KEY, {})
        return value


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def model_for(kind: str) -> type[Record]:
    """The model class of a registered kind (KeyError if none is registered)."""
    return kinds.spec_of(kind).model
