"""Scope (DESIGN §3.7, data minimisation): what the supervisor seals to each worker's
device — the files of the residents assigned to it or shared with it, and nothing else.

A device's scope is the residents whose assignment record holds it (``worker`` or
``shared_with``: :meth:`~fieldapp.domain.models.Assignment.holders`). ``cut`` seals, with
``sync.downward.cut_for``, exactly what each device has not had yet:

- a resident that ENTERED its scope since the last cut: the resident's whole file — every
  op ever applied to the resident and to each record of their file (the registry's
  ``resident_field``), as the original ops (ids, authors, clocks, bases), so applying
  them twice changes nothing and the device's conflicts are the supervisor's;
- afterwards, every op applied here since the last cut to a record of a file in its scope,
  whoever wrote it (a worker's op merged from an upward bundle, the supervisor's notes
  and assignments), except the device's own ops (it holds them); a record that joins a
  file in scope (its link to the resident changed) goes whole;
- a resident that LEFT its scope: the ops of the resident's assignment record, and nothing
  else of the file, so the device learns it must purge it;
- a resident in its scope whose purge receipt from the device arrived since the last cut
  (it left and came back before the device heard, and the device purged it meanwhile,
  its own ops with it): the whole file again, the device's own ops included.

Nothing outside a device's scope is ever sealed to it (the invariant is checked on every
op before sealing). An interview held with several residents belongs to each of their
files: a device holding one of them receives it, with the others' record ids in it.

Per device the vault keeps ``scope/state/<device>``: the position in the vault's op log
(:meth:`~fieldapp.store.Vault.log_length`) cut up to and the residents in its scope then.
A lower office enrolled for records (DESIGN §3.8) is cut for the same way: its scope is
the residents that it or a device on its roster holds, and what they wrote is left out
(it forwarded those ops itself). Every lower office, whatever its flow, also holds the
notes written to it (``office_note``): its own device id stands in its scope as the id of
its "file", whose records are those notes — so an office sending counts only gets them
too, and nothing else.

It is stored in the same commit as the device's bundles (``cut_for``'s ``kv``): a crash
leaves the old state and no bundles, or the new state and all of them. A device not
enrolled or without a receiving key yet is left as it stands (its turn comes when it can
receive); a revoked one is sent nothing again, and its state goes. The log position is
read before the scope: whatever is applied meanwhile is in the scope already and is cut
again next time (a no-op where it lands).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fieldapp.domain import kinds
from fieldapp.domain.enums import RecordKind
from fieldapp.domain.models import assignment_id
from fieldapp.domain.ops import Op
from fieldapp.errors import FieldappError
from fieldapp.store import Vault
from sync import downward
from sync.locking import sync_lock
from sync.team import RECORDS, DeviceEntry, devices, team_secrets

SCOPE_STATE = "scope/state/"  # + device: {"pos": log position cut to, "residents": [...]}
RESIDENT = RecordKind.RESIDENT.value
ASSIGNMENT = RecordKind.ASSIGNMENT.value
RECEIPT = RecordKind.SCOPE_RECEIPT.value
OFFICE_NOTE = RecordKind.OFFICE_NOTE.value


@dataclass
class ScopeCut:
    """What one scope cut did: bundles and ops sealed per device, the devices left as they
    stand (not enrolled, revoked or without a receiving key), and per device the residents
    that entered and left its scope."""

    bundles: dict[str, int] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    entered: dict[str, list[str]] = field(default_factory=dict)
    left: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Bundles cut, all devices."""
        return sum(self.bundles.values())


def scopes(vault: Vault) -> dict[str, set[str]]:
    """Device → the residents in its scope, from the live assignment records."""
    out: dict[str, set[str]] = {}
    for _, doc in vault.iter_records(ASSIGNMENT):
        resident = doc.get("resident_id")
        if not isinstance(resident, str):
            continue
        holders = set(doc.get("shared_with") or [])
        if doc.get("worker"):
            holders.add(doc["worker"])
        for device in holders:
            if isinstance(device, str):
                out.setdefault(device, set()).add(resident)
    return out


def office_authors(vault: Vault, entries: Iterable[DeviceEntry]) -> dict[str, frozenset[str]]:
    """A lower office enrolled for records (DESIGN §3.8) → the authors whose ops it holds:
    itself and the devices on the roster of its last bundle. Its scope is the residents
    any of them holds; what they wrote is not sent back down."""
    from sync.levels import ROSTER

    return {
        entry.device_id: frozenset(
            {entry.device_id, *(vault.get_meta(ROSTER + entry.device_id) or {})}
        )
        for entry in entries
        if entry.flow == RECORDS and entry.revoked is None
    }


def scope_of(vault: Vault, device: str) -> set[str]:
    """The residents in ``device``'s scope now."""
    return scopes(vault).get(device, set())


def residents_of(vault: Vault, record_id: str) -> frozenset[str]:
    """The residents whose file holds the record (deleted or not): the resident itself,
    or whom its kind's ``resident_field`` names; none for a record of no file."""
    kind = vault.kind_of(record_id)
    if kind == RESIDENT:
        return frozenset({record_id})
    if kind == OFFICE_NOTE:  # the office it is to holds it, as a file of its own
        office = (vault.fields_of(record_id) or {}).get("office")
        return frozenset({office} if isinstance(office, str) else ())
    spec = kinds.get(kind or "")
    doc = vault.fields_of(record_id)
    if spec is None or spec.resident_field is None or doc is None:
        return frozenset()
    value = doc.get(spec.resident_field)
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


def file_records(vault: Vault, residents: Iterable[str]) -> dict[str, list[str]]:
    """Resident → the ids of every record of their file (themselves first), deleted
    ones included (a tombstone is part of the file's history)."""
    wanted = set(residents)
    out: dict[str, list[str]] = {rid: [rid] for rid in wanted}
    if not wanted:
        return out
    for spec in kinds.resident_file_kinds():
        for rid, doc in vault.iter_records(spec.table, include_deleted=True):
            for resident in wanted & _linked(doc.get(spec.resident_field or "")):
                out[resident].append(rid)
    for rid, doc in vault.iter_records(OFFICE_NOTE, include_deleted=True):
        for office in wanted & _linked(doc.get("office")):  # an office's "file"
            out[office].append(rid)
    return out


def _linked(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def cut(vault: Vault) -> ScopeCut:
    """Cut, for every worker device, what its scope needs and it has not had yet (see the
    module docstring); one commit per device that gets something or whose state moves.
    Nothing on a vault that holds no team (a worker's)."""
    result = ScopeCut()
    with sync_lock(vault):
        if team_secrets(vault) is None:
            return result
        states = {
            key[len(SCOPE_STATE) :]: vault.get_meta(key) for key in vault.meta_keys(SCOPE_STATE)
        }
        start = min((int(s["pos"]) for s in states.values()), default=vault.log_length())
        log, end = vault.ops_since(start)  # before the scope: see the module docstring
        now = scopes(vault)
        enrolled = {d.device_id: d for d in devices(vault)}
        authors = office_authors(vault, enrolled.values())  # a lower office: what it holds
        for office, members in authors.items():
            held_there = set().union(*(now.get(m, set()) for m in members))
            if held_there:
                now[office] = held_there
        for office_entry in enrolled.values():  # a lower office: its notes, as its own file
            if office_entry.flow and office_entry.revoked is None:
                now.setdefault(office_entry.device_id, set()).add(office_entry.device_id)
        residents: dict[str, frozenset[str]] = {}  # record → residents, this cut's cache

        def of(record_id: str) -> frozenset[str]:
            found = residents.get(record_id)
            if found is None:
                found = residents[record_id] = residents_of(vault, record_id)
            return found

        plans: list[tuple[str, dict[str, Any] | None, set[str]]] = []
        quiet: dict[str, Any] = {}  # state moves with nothing to send: one commit for all
        for device in sorted(set(now) | set(states)):
            entry = enrolled.get(device)
            if entry is None or entry.revoked is not None or entry.recv_pub is None:
                result.skipped.append(device)
                if entry is not None and entry.revoked is not None and device in states:
                    quiet[SCOPE_STATE + device] = None  # sent nothing ever again
                continue
            plans.append((device, states.get(device), set(now.get(device, ()))))
        entering: set[str] = set()
        for _, state, held in plans:
            entering |= held - set(state["residents"] if state else ())
        files = file_records(vault, entering)
        # The log by resident, once for every device (a device reads its residents' runs).
        by_resident: dict[str, list[tuple[int, Op]]] = {}
        purged: dict[str, list[tuple[int, str]]] = {}  # device → (index, resident) it purged
        for index, op in enumerate(log):
            for resident in of(op.record_id):
                by_resident.setdefault(resident, []).append((index, op))
            if op.kind == RECEIPT and op.field == "resident_id" and isinstance(op.value, str):
                purged.setdefault(op.device_id, []).append((index, op.value))
        for device, state, held in plans:
            before = set(state["residents"]) if state else set()
            if not held and not before:
                if state is not None:
                    quiet[SCOPE_STATE + device] = None  # nothing held: no state to keep
                continue
            pos = int(state["pos"]) if state else end
            entered, left = held - before, before - held
            # Purged there while already back in its scope here (the assignment went and came
            # back before the device heard): the file it holds lacks its own purged ops.
            # It goes whole again (applying what it holds changes nothing).
            again = {r for i, r in purged.get(device, ()) if i >= pos - start} & held - entered
            files.update(file_records(vault, again - files.keys()))
            send: dict[str, Op] = {}
            for resident in sorted(entered | again):
                for rid in files[resident]:
                    send.update((op.op_id, op) for op in vault.history(rid))
            leaving = {assignment_id(r) for r in left}
            for aid in sorted(leaving):
                send.update((op.op_id, op) for op in vault.history(aid))
            whole: set[str] = set()
            later = (
                op
                for resident in sorted(held)
                for index, op in by_resident.get(resident, ())
                if index >= pos - start
            )
            for op in later:
                spec = kinds.get(op.kind)
                if spec is not None and op.field == spec.resident_field:
                    whole.add(op.record_id)  # joins a file in scope: the record whole
                elif op.device_id != device:  # its own ops it holds
                    send[op.op_id] = op
            for rid in sorted(whole):
                send.update((op.op_id, op) for op in vault.history(rid))
            # The invariant, whatever led here: nothing outside the scope is sealed. A lower
            # office holds what it and its roster wrote (it forwarded them): not sent back.
            theirs = authors.get(device, frozenset())
            ops = [
                op
                for op in send.values()
                if (of(op.record_id) & held or op.record_id in leaving)
                and op.device_id not in theirs
            ]
            new_state = {"pos": end, "residents": sorted(held)}
            if ops:
                result.bundles[device] = downward.cut_for(
                    vault, device, ops, {SCOPE_STATE + device: new_state}
                )
                result.ops[device] = len(ops)
            elif new_state != state:
                quiet[SCOPE_STATE + device] = new_state
            if entered:
                result.entered[device] = sorted(entered)
            if left:
                result.left[device] = sorted(left)
        if quiet:
            vault.commit((), kv=quiet)
    return result


def try_cut(vault: Vault) -> tuple[ScopeCut | None, FieldappError | None]:
    """Cut after a supervisor's merge pass or an assignment (what changed now follows to the
    devices holding it): what the cut did, or what stopped it — what was merged or saved
    stands either way, and the next pass cuts again."""
    try:
        return cut(vault), None
    except FieldappError as exc:
        return None, exc
