"""A resident leaving a worker's device's scope (DESIGN §3.7, "Leaving scope").

When an applied assignment says this device no longer holds a resident (it is neither
the worker nor shared with), the resident is **leaving**: recorded in the vault
(``scope/leaving``) in the commit right after the bundle that said so. The assignment
itself is durable with that bundle, so a crash between the two commits loses nothing:
the next :func:`settle` derives the same from it.

A leaving resident is **purged** only once nothing of its file (the resident and every
record that belongs to it, ``fieldapp.domain.kinds.resident_file_kinds``) waits to go
up: no op of this device on it is still uncut, and no bundle still in the outbox holds
one (a bundle names the records it carries, ``records`` in its outbox entry; one cut
before it did holds anything). Unsent work is never dropped.

The purge (:meth:`fieldapp.store.Vault.purge`) removes the file from the state, the
history and every file of the vault — no tombstone, nothing synced as a deletion — and
in the same atomic step queues a ``scope_receipt`` record per resident (its id, when,
how many records; this device is the author of its ops, the signature of the bundle
that carries it says so) as an ordinary op in this device's outbox, and moves the
resident from ``scope/leaving`` to ``scope/purged``. After a kill -9 at any point the
resident is either whole and still leaving, or gone with its receipt queued.

An interview with several residents is also in the files of the others. When one of
them stays on this device, the interview stays (it is that resident's file too) and the
purged resident's id is dropped from it locally — no op, so the supervisor's copy keeps
everyone; the interview's text is the other resident's record and is kept as written.

What arrives later for a purged resident (ops in flight when it was reassigned) is
purged again at the next settle — unless an assignment brings it back to this device.
A supervisor's vault holds its team's files whatever their assignments: nothing is
purged there.

:func:`settle` runs at the end of every downward receive (``sync.downward``) and after
every upward delivery (``sync.outbox``), under the vault's sync lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fieldapp.domain import kinds
from fieldapp.domain.enums import RecordKind
from fieldapp.domain.ids import new_id
from fieldapp.domain.models import ScopeReceipt
from fieldapp.store import Change, Vault
from sync.locking import sync_lock
from sync.team import team_secrets

LEAVING = "scope/leaving"  # resident id → {"since": time}: purged once delivered
PURGED = "scope/purged"  # resident ids purged here (ids only)
DRAFT_PREFIX = "draft/"  # half-filled forms (their keys name the records they are for)
CONFLICTS = "conflicts"  # sync.merge's index of records with conflicts (record id → fields)


def leaving(vault: Vault) -> dict[str, dict[str, Any]]:
    """The residents leaving this device's scope, not purged yet: id → {"since": time}."""
    return dict(vault.get_meta(LEAVING, {}))


def purged(vault: Vault) -> set[str]:
    """The residents this device has purged (their ids only)."""
    return set(vault.get_meta(PURGED, []))


def holds(vault: Vault) -> dict[str, bool]:
    """Per resident with an assignment on this device: whether it names this device."""
    me = vault.device_id
    out: dict[str, bool] = {}
    for _, doc in vault.iter_records(RecordKind.ASSIGNMENT.value):
        resident = doc.get("resident_id")
        if not isinstance(resident, str):
            continue
        holders = set(doc.get("shared_with") or ())
        if doc.get("worker"):
            holders.add(doc["worker"])
        out[resident] = me in holders
    return out


def files_of(vault: Vault, residents: Iterable[str]) -> dict[str, set[str]]:
    """Per resident, the ids of the records of its file this vault holds (the resident
    itself included, deleted records too): what a purge removes."""
    wanted = set(residents)
    out: dict[str, set[str]] = {r: set() for r in wanted}
    for rid in wanted:
        if vault.kind_of(rid) == RecordKind.RESIDENT.value:
            out[rid].add(rid)
    if not wanted:
        return out
    for spec in kinds.resident_file_kinds():
        field = spec.resident_field
        assert field is not None
        for rid, doc in vault.iter_records(spec.kind, include_deleted=True):
            value = doc.get(field)
            for resident in value if isinstance(value, list) else (value,):
                if resident in wanted:
                    out[resident].add(rid)
    return out


def undelivered(vault: Vault) -> set[str] | None:
    """The records this device's ops still waiting to go up touch — uncut, or in a
    bundle the transport has not confirmed — or None when that cannot be told (a bundle
    cut before bundles named their records): then everything waits."""
    from sync import outbox  # outbox calls settle: imported when used

    touched = {op.record_id for op in outbox.pending_ops(vault)}
    for seq in outbox.pending_bundles(vault):
        entry = vault.get_meta(f"{outbox.BUNDLE_PREFIX}{seq:08d}") or {}
        records = entry.get("records")
        if records is None:
            if entry.get("ops", 1):
                return None
            continue
        touched.update(records)
    return touched


def mark(vault: Vault) -> dict[str, dict[str, Any]]:
    """Bring ``scope/leaving`` up to date with the assignments (and what arrived for
    purged residents); commits when it changed. Returns the residents leaving."""
    with sync_lock(vault):
        before, gone = leaving(vault), purged(vault)
        now = dict(before)
        still = set(gone)
        since = {"since": vault.clock.now().isoformat(timespec="seconds")}
        held = holds(vault)
        for resident, mine in held.items():
            if mine:  # (back) in this device's scope
                now.pop(resident, None)
                still.discard(resident)
            else:
                now.setdefault(resident, since)
        for resident in gone:
            if not held.get(resident, False):
                now.setdefault(resident, since)  # what arrived after its purge goes too
        files = files_of(vault, now)
        now = {r: entry for r, entry in now.items() if files[r]}  # nothing here to purge
        if now != before or still != gone:
            vault.commit((), kv={LEAVING: now or None, PURGED: sorted(still) or None})
        return now


def settle(vault: Vault) -> list[str]:
    """Mark the residents leaving this device's scope and purge those whose file has
    nothing left to deliver, with their receipts, in one atomic step (see the module
    docstring). Returns the residents purged. Nothing on a supervisor's vault."""
    with sync_lock(vault):
        if team_secrets(vault) is not None:
            return []
        if not mark(vault):
            return []
        with vault.write_lock:  # no save can come between the check and the purge
            return _purge_ready(vault)


def _purge_ready(vault: Vault) -> list[str]:
    now = leaving(vault)
    files = files_of(vault, now)
    waiting = undelivered(vault)
    if waiting is None:
        return []
    ready = sorted(r for r in now if files[r] and files[r].isdisjoint(waiting))
    if not ready:
        return []
    going = set(ready)
    drop: set[str] = set()
    local: dict[str, dict[str, Any]] = {}
    counts = dict.fromkeys(ready, 0)
    for resident in ready:
        for rid in files[resident]:
            kept = _kept_without(vault, rid, going)
            if kept is None:
                drop.add(rid)
                counts[resident] += 1
            else:
                local[rid] = kept
    for rid in drop:
        local.pop(rid, None)
    stamp = vault.clock.now()
    changes = [
        Change(
            RecordKind.SCOPE_RECEIPT.value,
            new_id(vault.clock.wall_ms()),
            ScopeReceipt(resident_id=r, purged_at=stamp, records=counts[r]).to_fields(),
        )
        for r in ready
    ]
    kv: dict[str, Any] = {
        LEAVING: {r: e for r, e in now.items() if r not in going} or None,
        PURGED: sorted(purged(vault) | going),
    }
    named = drop | going
    for key in vault.meta_keys(DRAFT_PREFIX):
        if any(rid in key for rid in named):
            kv[key] = None  # a half-filled form for one of them
    conflicts = vault.get_meta(CONFLICTS, {})
    if any(rid in conflicts for rid in drop):
        kv[CONFLICTS] = {k: v for k, v in conflicts.items() if k not in drop}
    vault.purge(drop, local_fields=local, changes=changes, kv=kv)
    return ready


def _kept_without(vault: Vault, rid: str, going: set[str]) -> dict[str, Any] | None:
    """For a record of a purged file that also points at a resident who stays on this
    device (an interview with several): its resident field without the purged ones.
    None when the record goes with the file."""
    kind = vault.kind_of(rid)
    spec = kinds.get(kind) if kind is not None else None
    if spec is None or spec.resident_field is None:
        return None
    doc = vault.get(rid)  # a deleted one goes with the file
    value = doc.get(spec.resident_field) if doc is not None else None
    if not isinstance(value, list):
        return None
    others = [r for r in value if r not in going]
    if not any(vault.kind_of(r) == RecordKind.RESIDENT.value for r in others):
        return None
    return {spec.resident_field: others}
