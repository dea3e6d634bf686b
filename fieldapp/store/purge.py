"""Purging records from a vault (DESIGN §3.7, leaving scope; docs/vault-format.md,
"Purge").

A purge is not a deletion: a deletion is an op (a tombstone) that syncs and keeps the
record's history. A purge makes the vault as if it had never held the records — gone
from the fold, the query tables, the history and every file — and writes no op about
them, so nothing travels anywhere. It builds the next generation without them, the way
compaction does:

1. ``ops-<gen>.fv``: every op the vault keeps (its archives and the journal, less the
   purged records') and the ops of the same step (a receipt), as one archive;
2. ``snap-<gen+1>.fv``: the state without the purged records (and with the local edits
   and key/value updates of the step), listing that one archive;
3. an empty ``journal-<gen+1>.fv``;
4. the superblock switched to ``gen+1`` — the commit point;
5. the old snapshot, journal and archives deleted, the folder fsynced.

Every file is written by temp + fsync + rename + directory fsync. A crash before step 4
leaves the old generation whole (the new files are strays); after it, the new one (the
old files are strays). Either way the next open removes the strays
(:func:`sweep_strays`), so once a purge has committed no file keeps a frame that holds a
purged record.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from fieldapp.domain.ops import DELETED, Op
from fieldapp.errors import CommitRefused, VaultWriteFailed
from fieldapp.store import crypto, derived, frames, fsio
from fieldapp.store.fold import STAMPS_VERSION, pack_stamps
from fieldapp.store.frames import JOURNAL_MAGIC
from fieldapp.store.limits import check_field, check_value
from fieldapp.store.state import Change

if TYPE_CHECKING:
    from fieldapp.store.vault import Vault

_GENERATION_FILES = ("snap-", "journal-", "ops-")


def purge(
    vault: Vault,
    drop: Collection[str],
    *,
    local_fields: Mapping[str, Mapping[str, Any]] | None = None,
    changes: Iterable[Change] = (),
    kv: Mapping[str, Any] | None = None,
) -> list[Op]:
    """Remove the records ``drop`` from ``vault`` entirely (see the module docstring), in
    one atomic step with:

    - ``local_fields``: record id → fields set on a kept record locally, without an op
      (its stamps stay, so the next op on such a field wins as it would have);
    - ``changes``: new changes saved as ops, as :meth:`Vault.commit` would (they are in
      the history and this device's outbox like any other);
    - ``kv``: key/value updates (None deletes).

    Returns the ops made of ``changes``. On a write failure nothing changes and
    :class:`VaultWriteFailed` is raised (after the switch could not be confirmed the
    vault refuses writes until reopened, as compaction does)."""
    v = vault
    gone = set(drop)
    edits = {rid: dict(fields) for rid, fields in (local_fields or {}).items()}
    updates = dict(kv or {})
    with v._write_lock:
        v._check_writable()
        for rid, fields in edits.items():
            if rid in gone or rid not in v._fold.docs:
                raise CommitRefused(what="kind", record=rid)
            for name, value in fields.items():
                check_field(name)
                check_value(value)
        for value in updates.values():
            check_value(value)
        history = v._history if v._history is not None else v._load_history()
        saved_clock = v.hlc.last
        try:
            new_ops = v._make_ops(changes)
        except CommitRefused:
            v.hlc.last = saved_clock
            raise
        kept = sorted(
            (op for rid, ops in history.items() if rid not in gone for op in ops),
            key=lambda op: op.stamp,
        )
        kept += new_ops
        gen, new = v._gen, v._gen + 1
        try:
            derived.remove_all(v.path)  # they may hold what goes (Today's index: names)
            archives: list[dict[str, Any]] = []
            if kept:
                rows = orjson.dumps([op.to_row() for op in kept])
                data = frames.seal_archive(v._keys.frame, v.vault_id, gen, rows)
                fsio.atomic_write(v.path / frames.archive_name(gen), data)
                archives = [{"gen": gen, "sha256": crypto.sha256(data), "ops": len(kept)}]
            state = _next_state(v, gone, edits, new_ops, updates, archives)
            snap = frames.seal_snapshot(v._keys.frame, v.vault_id, new, orjson.dumps(state))
            fsio.atomic_write(v.path / frames.snap_name(new), snap)
            fsio.atomic_write(v.path / frames.journal_name(new), JOURNAL_MAGIC)
        except orjson.JSONEncodeError:
            v.hlc.last = saved_clock
            raise CommitRefused(what="value") from None
        except OSError as exc:
            v.hlc.last = saved_clock
            raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
        try:
            v._write_superblock(v._sb.but(gen=new, length=len(JOURNAL_MAGIC)))
        except OSError as exc:
            v._broken = True  # which generation is current is unknown until reopened
            raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
        # Committed: adopt the new generation in memory, then remove the old files.
        old = [frames.snap_name(gen), frames.journal_name(gen)]
        old += [frames.archive_name(e["gen"]) for e in v._archives if e["gen"] != gen]
        _adopt(v, gone, edits, new_ops, updates)
        v._history = {}
        for op in kept:
            v._history.setdefault(op.record_id, []).append(op)
        v._archives = archives
        os.close(v._journal_fd)
        v._journal_fd = -1
        v._gen = new
        v._open_journal(len(JOURNAL_MAGIC), 0)
        for name in old:
            (v.path / name).unlink(missing_ok=True)
        fsio.fsync_dir(v.path)
        return new_ops


def _next_state(
    v: Vault,
    gone: set[str],
    edits: dict[str, dict[str, Any]],
    new_ops: list[Op],
    updates: dict[str, Any],
    archives: list[dict[str, Any]],
) -> dict[str, Any]:
    """The snapshot of the generation after the purge, built beside the current state
    (which stays as it is until the switch)."""
    fold = v._fold
    rows = []
    for kind, rid, doc, packed in fold.rows():
        if rid in gone:
            continue
        rows.append([kind, rid, {**doc, **edits[rid]} if rid in edits else doc, packed])
    made: dict[str, list[Any]] = {}
    for op in new_ops:  # new records (a receipt): one op a field
        row = made.get(op.record_id)
        if row is None:
            row = made[op.record_id] = [op.kind, op.record_id, {}, {}]
        row[2][op.field] = op.value
        row[3][op.field] = [op.hlc, fold.device_idx(op.device_id)]
    rows += [[kind, rid, doc, pack_stamps(stamps)] for kind, rid, doc, stamps in made.values()]
    kv = dict(v._kv)
    for key, value in updates.items():
        if value is None:
            kv.pop(key, None)
        else:
            kv[key] = value
    return {
        "v": STAMPS_VERSION,
        "device_id": v.device_id,
        "devices": fold.devices,
        "hlc": v.hlc.last,
        "kv": kv,
        "archives": archives,
        "records": rows,
    }


def _adopt(
    v: Vault,
    gone: set[str],
    edits: dict[str, dict[str, Any]],
    new_ops: list[Op],
    updates: dict[str, Any],
) -> None:
    """The in-memory state after the switch: the same as the new snapshot's."""
    fold = v._fold
    for rid in gone:
        kind = fold.kinds.pop(rid, None)
        fold.docs.pop(rid, None)
        fold.stamps.pop(rid, None)
        if kind is not None:
            v.table(kind).drop(rid)
    for rid, fields in edits.items():
        doc = fold.docs[rid] = {**fold.docs[rid], **fields}  # copy-on-write, as a commit
        if not doc.get(DELETED):
            v.table(fold.kinds[rid]).put(rid, doc)
    v._history = None  # _apply_ops must not index them twice: the caller rebuilds it
    v._apply_ops(new_ops)
    v._journal_ops = []  # they are in the new archive, not in the (empty) journal
    v._apply_kv(updates)


def sweep_strays(vault: Vault) -> list[str]:
    """Remove the generation files (snapshots, journals, archives) and temp files in the
    vault folder that the current generation does not use — what a crash during
    compaction or a purge left (after a purge the old ones hold purged records). Called
    at open with the lock held; returns the names removed."""
    v = vault
    keep = {frames.snap_name(v._gen), frames.journal_name(v._gen)}
    keep.update(frames.archive_name(e["gen"]) for e in v._archives)
    removed = []
    for entry in os.scandir(v.path):
        name = entry.name
        stray_gen = name.startswith(_GENERATION_FILES) and name.endswith(".fv")
        stray_tmp = name.startswith(".") and name.endswith(".tmp")
        stray = (stray_gen and name not in keep) or stray_tmp
        if stray and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)
            removed.append(name)
    if removed:
        fsio.fsync_dir(v.path)
    return sorted(removed)
