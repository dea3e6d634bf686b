"""Checks on an opened bundle against the vault before anything is applied: who may
write what (upward), a record keeps its kind, the clock bound, every record as the fold
will leave it, the conflicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fieldapp.domain.enums import RecordKind
from fieldapp.domain.hlc import physical_ms
from fieldapp.domain.ops import DELETED, RESOLVED_PREFIX, Op
from fieldapp.errors import ClockAhead, NotTheWriter, OpInvalid
from fieldapp.store import Vault
from sync.bundle import Opened

# An HLC this far ahead of the supervisor's clock is refused: a device whose clock is
# days off must not win every later conflict.
MAX_AHEAD_MS = 24 * 3600 * 1000
# What a worker writes of a supervision note: its answer (DESIGN §3.7). The rest of the
# note — and every assignment — only a supervisor device writes.
WORKER_NOTE_FIELDS = frozenset({"status", "acknowledged_at", "done_at"})


def check_bundle(
    vault: Vault, opened: Opened, today: dt.date, index: dict[str, list[str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """Every check below, in order: returns the conflict index once the bundle is
    applied over ``index`` and the records new here that it leaves incomplete."""
    check_clock(vault, opened)
    check_kinds(vault, opened)
    conflicted = conflicts_after(vault, opened.ops, index)
    return conflicted, check_records(vault, opened, conflicted, today)


def check_writers(opened: Opened, vault: Vault | None = None) -> None:
    """An upward bundle (from a worker's device) writes no assignment and, of a supervision
    note, only the worker's answer (status, acknowledged, done — and the resolution of a
    conflict on them): :class:`NotTheWriter` otherwise, for the whole bundle. A lower
    office's bundle (its roster set) forwards supervisors' ops too: those of the sending
    device and of the supervisors on its roster are theirs to write; its workers' ops are
    held to the same rule.

    A note from this level to a lower office (``office_note``) is answered the same way,
    by whoever sends it up, and only by the office it is to (as ``vault`` has it; a note
    not known here yet waits, incomplete, until it arrives)."""
    device = opened.header.device
    roster = opened.roster or {}
    supervisors = {device} if opened.roster is not None else set()
    supervisors |= {d for d, entry in roster.items() if entry.get("role") == "supervisor"}
    for index, op in enumerate(opened.ops):
        if op.kind == RecordKind.OFFICE_NOTE.value:
            doc = vault.fields_of(op.record_id) if vault is not None else None
            if op.field.removeprefix(RESOLVED_PREFIX) not in WORKER_NOTE_FIELDS or (
                doc is not None and doc.get("office") != device
            ):
                refusal = NotTheWriter(
                    "bundle.office_note_by_office", device=device, index=index, field=op.field[:80]
                )
                refusal.authentic = True
                raise refusal
            continue
        if op.device_id in supervisors:
            continue
        if op.kind == RecordKind.ASSIGNMENT.value:
            refusal = NotTheWriter("bundle.assignment_by_worker", device=device, index=index)
        elif (
            op.kind == RecordKind.SUPERVISION_NOTE.value
            and op.field.removeprefix(RESOLVED_PREFIX) not in WORKER_NOTE_FIELDS
        ):
            refusal = NotTheWriter(
                "bundle.note_by_worker", device=device, index=index, field=op.field[:80]
            )
        else:
            continue
        refusal.authentic = True  # raised on an opened (signed) bundle
        raise refusal


def check_clock(vault: Vault, opened: Opened) -> None:
    """:class:`ClockAhead` when the bundle is dated more than MAX_AHEAD_MS ahead."""
    ahead = physical_ms(opened.header.hlc) - vault.clock.wall_ms()
    if ahead > MAX_AHEAD_MS:
        raise ClockAhead(device=opened.header.device, hours=ahead // 3_600_000)


def check_kinds(vault: Vault, opened: Opened) -> None:
    """A record keeps its kind: an op claiming a resident's id for a need is refused."""
    seen: dict[str, str] = {}
    for index, op in enumerate(opened.ops):
        kind = seen.setdefault(op.record_id, vault.kind_of(op.record_id) or op.kind)
        if kind != op.kind:
            raise OpInvalid(index=index, reason="kind")


def check_records(
    vault: Vault, opened: Opened, conflicted: dict[str, list[str]], today: dt.date
) -> list[str]:
    """Every record as it will stand once the bundle is applied (the fold) must pass
    its model's whole rules — required fields, cross-field checks — or the bundle is
    refused (:class:`OpInvalid`). Returns the records new here that the fold leaves
    incomplete: the bundle waits until their other ops arrive (from another device,
    in any order), so the merge stays order-independent.

    Left alone (the fold is not this bundle's alone to answer for): a record with
    concurrent edits (conflict review settles it), one the bundle builds on ops this
    vault has not seen yet, one already unreadable before."""
    from fieldapp.domain.validation import check_record, missing_fields

    after = vault.preview(opened.ops)
    mine = {op.op_id for op in opened.ops}
    by_record: dict[str, list[Op]] = {}
    for op in opened.ops:
        by_record.setdefault(op.record_id, []).append(op)
    incomplete = []
    for rid, doc in after.items():
        if doc.get(DELETED) or rid in conflicted:
            continue
        ops = by_record[rid]
        kind = ops[0].kind
        known = vault.kind_of(rid) is not None
        if not known and missing_fields(kind, doc):
            incomplete.append(rid)
            continue
        bases = {op.base for op in ops if op.base} - mine
        if bases and (not known or bases - {o.op_id for o in vault.history(rid)}):
            continue
        problem = check_record(kind, rid, doc, today)
        if problem is None:
            continue
        before = vault.get(rid)
        if before is not None and (
            missing_fields(kind, before) or check_record(kind, rid, before, today)
        ):
            continue  # unreadable already: shown as damaged, not made worse
        raise OpInvalid(index=opened.ops.index(ops[0]), reason=f"{kind} {problem}")
    return incomplete


def complete_records(vault: Vault, ops: list[Op]) -> frozenset[str]:
    """The records that ``ops`` taken together (and the vault) leave complete."""
    from fieldapp.domain.validation import missing_fields

    union = vault.preview(ops)
    kinds = {op.record_id: op.kind for op in ops}
    return frozenset(rid for rid, doc in union.items() if not missing_fields(kinds[rid], doc))


def conflicts_after(
    vault: Vault, incoming: list[Op], index: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The conflict index (record → fields) once ``incoming`` is applied over ``index``."""
    index = {k: list(v) for k, v in index.items()}
    touched: dict[str, set[str]] = {}
    for op in incoming:
        name = op.field.removeprefix(RESOLVED_PREFIX)
        touched.setdefault(op.record_id, set()).add(name)
    by_record: dict[str, list[Op]] = {}
    for op in incoming:
        by_record.setdefault(op.record_id, []).append(op)
    for rid, fields in touched.items():
        # A record new to this vault has no history to load (the common case).
        known = vault.kind_of(rid) is not None
        ops = (vault.history(rid) if known else []) + by_record[rid]
        current = set(index.get(rid, []))
        for name in fields:
            if len(heads(ops, name)) > 1:
                current.add(name)
            else:
                current.discard(name)
        if current:
            index[rid] = sorted(current)
        else:
            index.pop(rid, None)
    return index


def heads(ops: Iterable[Op], field_name: str) -> list[Op]:
    """The ops on a field that nothing builds on, one per distinct value, in LWW order.

    More than one means concurrent edits with different values: a conflict.
    """
    on_field: dict[str, Op] = {}
    settled: set[str] = set()
    for op in ops:
        if op.field == field_name:
            on_field[op.op_id] = op
        elif op.field == RESOLVED_PREFIX + field_name and isinstance(op.value, list):
            settled.update(str(v) for v in op.value)
    built_on = {op.base for op in on_field.values() if op.base} | settled
    tips = [op for op in on_field.values() if op.op_id not in built_on]
    tips.sort(key=lambda op: op.stamp, reverse=True)
    distinct: list[Op] = []
    values: list[Any] = []
    for op in tips:
        if op.value not in values:
            values.append(op.value)
            distinct.append(op)
    return distinct
