"""Writing to an open vault: commits (one sealed, fdatasynced journal frame each),
the fold of what they hold, and compaction (docs/vault-format.md, "Commit and
recovery", "Compaction")."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import orjson

from fieldapp.domain.ops import DELETED, Op, make_op_id
from fieldapp.errors import CommitRefused, VaultReadOnly, VaultWriteFailed
from fieldapp.store import crypto, derived, frames, fsio
from fieldapp.store.fold import STAMPS_VERSION
from fieldapp.store.frames import JOURNAL_MAGIC, STATE_FILE, Superblock
from fieldapp.store.limits import MAX_PAYLOAD, MAX_VALUE, check_field, check_value
from fieldapp.store.state import Change, VaultState


class Writing(VaultState):
    """How a vault changes: every change durable when the call returns, or nothing."""

    def commit(self, changes: Iterable[Change], kv: dict[str, Any] | None = None) -> list[Op]:
        """Durably save ``changes`` (and key/value updates such as drafts) as one frame.

        Returns the ops made (fields that did not change make none). When this returns,
        the save survives kill -9 and power loss. On a write failure nothing changes and
        :class:`VaultWriteFailed` is raised; a commit the vault could not read back whole
        (too large, a bad field name, a value that is not plain JSON) is refused before
        anything is written (:class:`CommitRefused`).
        """
        with self._write_lock:
            self._check_writable()
            saved_clock = self.hlc.last
            try:
                ops = self._make_ops(changes)
            except CommitRefused:
                self.hlc.last = saved_clock
                raise
            if not ops and not kv:
                return []
            self._write_frame(ops, kv, saved_clock)
            return ops

    def commit_ops(self, ops: list[Op], kv: dict[str, Any] | None = None) -> None:
        """Durably apply ops made elsewhere (a merge) with key/value updates, as one frame.

        Every op is folded by last-writer-wins on ``(hlc, device)``; applying an op that
        is already there changes nothing. All or nothing, like :meth:`commit`.
        """
        with self._write_lock:
            self._check_writable()
            kinds: dict[str, str] = {}
            known = self._fold.kinds
            for op in ops:  # the vault's own backstop: refuse before anything is written
                kind = kinds.setdefault(op.record_id, known.get(op.record_id, op.kind))
                if kind != op.kind:
                    raise CommitRefused(what="kind", record=op.record_id)  # keeps its kind
                check_field(op.field)
                check_value(op.value)
            if ops or kv:
                self._write_frame(ops, kv, self.hlc.last)

    def _make_ops(self, changes: Iterable[Change]) -> list[Op]:
        ops: list[Op] = []
        dev = self.device_id
        fold = self._fold
        for change in changes:
            rid = change.record_id
            kind = fold.kinds.get(rid)
            if kind is not None and kind != change.kind:
                raise CommitRefused(what="kind", record=rid)
            doc = fold.docs.get(rid, {})
            for name, value in change.fields.items():
                check_field(name)
                check_value(value)
                if isinstance(value, str | list | dict):
                    try:
                        size = len(orjson.dumps(value))
                    except orjson.JSONEncodeError:
                        raise CommitRefused(what="value") from None  # a surrogate, a big int…
                    if size > MAX_VALUE:
                        raise CommitRefused(what="too_large", size=size, limit=MAX_VALUE)
                if name in doc and doc[name] == value:
                    continue  # unchanged fields make no op
                base = fold.base_of(rid, name)
                hlc = self.hlc.now()
                ops.append(Op(make_op_id(hlc, dev), change.kind, rid, name, value, hlc, dev, base))
        return ops

    def _check_writable(self) -> None:
        if self.read_only:
            raise VaultReadOnly(path=str(self.path))
        if self._journal_fd < 0:
            raise VaultWriteFailed(reason="closed")
        if self._broken:
            raise VaultWriteFailed(reason="reopen")

    def _write_frame(self, ops: list[Op], kv: dict[str, Any] | None, saved_clock: int) -> None:
        """Append, fdatasync, apply, record the new length. Caller holds the lock."""
        commit: dict[str, Any] = {"ops": [op.to_row() for op in ops]}
        if kv:
            for value in kv.values():
                check_value(value)
            commit["kv"] = kv
        try:
            payload = orjson.dumps(commit)
        except orjson.JSONEncodeError:
            self.hlc.last = saved_clock
            raise CommitRefused(what="value") from None
        if len(payload) > MAX_PAYLOAD:  # open() would refuse the frame: never write it
            self.hlc.last = saved_clock
            raise CommitRefused(what="too_large", size=len(payload), limit=MAX_PAYLOAD)
        frame = frames.seal_journal_frame(
            self._keys.frame, self.vault_id, self._gen, self._frames, payload
        )
        start = self._journal_len
        step = "write"
        try:
            fsio.write_all(self._journal_fd, frame)
            step = "fsync"
            os.fdatasync(self._journal_fd)
        except OSError as exc:
            self.hlc.last = saved_clock
            self._undo_append(start, fsync_failed=step == "fsync")
            raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
        self._journal_len = start + len(frame)
        self._frames += 1
        self._apply_ops(ops)
        self._apply_kv(kv or {})
        try:
            # Not fsynced here: the frame is durable already, and the length written can
            # never claim more than what is (its frames were synced first). It reaches the
            # disk with the kernel's writeback, or at close or compaction at the latest;
            # until then a power cut only turns the newest saves into "kept unacknowledged
            # frames" at the next open. One fdatasync a save: docs/vault-format.md.
            self._write_superblock(self._sb.but(length=self._journal_len), sync=False)
        except OSError:
            # The frame is durable and will be replayed; the next commit retries this.
            pass

    def _undo_append(self, start: int, *, fsync_failed: bool) -> None:
        # After a failed fsync the kernel's view of the file cannot be trusted
        # (fsyncgate): refuse further writes until the vault is reopened. Either way the
        # bytes past the acknowledged length are cut here or discarded at the next open.
        self._broken = fsync_failed
        try:
            os.ftruncate(self._journal_fd, start)
            os.lseek(self._journal_fd, start, os.SEEK_SET)
            os.fsync(self._journal_fd)
        except OSError:
            self._broken = True

    def put_meta(self, key: str, value: Any) -> None:
        """Durably store a small value (drafts, profile, settings); None deletes it."""
        self.commit((), kv={key: value})

    def _apply_ops(self, ops: list[Op]) -> None:
        """Fold ops into the state and the query tables; keep them for the history."""
        for op in ops:
            self.hlc.observe(op.hlc)
        touched = self._fold.apply(ops)
        for rid, doc in touched.items():
            table = self.table(self._fold.kinds[rid])
            if doc.get(DELETED):
                table.drop(rid)
            else:
                table.put(rid, doc)
        if self._fold.repaired and "stamps_repaired" not in self.report.notes:
            self.report.notes.append("stamps_repaired")
        self._journal_ops.extend(ops)
        if self._history is not None:
            for op in ops:
                self._history.setdefault(op.record_id, []).append(op)

    def _apply_kv(self, kv: dict[str, Any]) -> None:
        for key, value in kv.items():
            if value is None:
                self._kv.pop(key, None)
            else:
                self._kv[key] = value

    def compact(self) -> None:
        """Archive the journal's ops, write a new snapshot, start a new journal.

        Each step is atomic and the superblock switches generation last, so a crash at
        any point leaves the old generation (or the new one) whole.
        """
        with self._write_lock:
            self._check_writable()
            gen = self._gen
            new = gen + 1
            try:
                derived.remove_all(self.path)  # worked out from files about to be rewritten
                if self._journal_ops:
                    rows = orjson.dumps([op.to_row() for op in self._journal_ops])
                    data = frames.seal_archive(self._keys.frame, self.vault_id, gen, rows)
                    fsio.atomic_write(self.path / frames.archive_name(gen), data)
                    archives = [
                        *self._archives,
                        {"gen": gen, "sha256": crypto.sha256(data), "ops": len(self._journal_ops)},
                    ]
                else:
                    archives = self._archives
                self._write_snapshot(new, archives)
                fsio.atomic_write(self.path / frames.journal_name(new), JOURNAL_MAGIC)
            except OSError as exc:
                raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
            try:
                self._write_superblock(self._sb.but(gen=new, length=len(JOURNAL_MAGIC)))
            except OSError as exc:
                # The switch may or may not have reached the disk: which generation is
                # current is unknown until reopened, so refuse further writes.
                self._broken = True
                raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
            # Committed: switch to the new generation, then clean up the old one.
            self._archives = archives
            os.close(self._journal_fd)
            self._journal_fd = -1
            self._gen = new
            self._journal_ops = []
            self._open_journal(len(JOURNAL_MAGIC), 0)
            for name in (frames.snap_name(gen), frames.journal_name(gen)):
                (self.path / name).unlink(missing_ok=True)
            fsio.fsync_dir(self.path)

    def _write_snapshot(self, gen: int, archives: list[dict[str, Any]]) -> None:
        state = {
            "v": STAMPS_VERSION,
            "device_id": self.device_id,
            "devices": self._fold.devices,
            "hlc": self.hlc.last,
            "kv": self._kv,
            "archives": archives,
            "records": self._fold.rows(),
        }
        data = frames.seal_snapshot(self._keys.frame, self.vault_id, gen, orjson.dumps(state))
        fsio.atomic_write(self.path / frames.snap_name(gen), data)

    def _write_superblock(self, sb: Superblock, *, sync: bool = True) -> None:
        sb = sb.but(seq=sb.seq + 1)
        offset, data = frames.seal_superblock(self._keys.frame, self.vault_id, sb)
        if self._state_fd < 0:
            self._state_fd = os.open(self.path / STATE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._state_fd, data, offset)
        if sync:
            os.fdatasync(self._state_fd)
        self._state_dirty = not sync
        self._sb = sb
