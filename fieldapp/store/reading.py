"""Reading an open vault: records, their kinds and stamps, stored values, history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from fieldapp.domain.ops import DELETED, Op
from fieldapp.errors import VaultTampered
from fieldapp.store import derived, frames
from fieldapp.store.state import VaultState


class Reading(VaultState):
    """What a vault answers (any thread: it reads copy-on-write snapshots)."""

    def get(self, record_id: str) -> dict[str, Any] | None:
        """The live record's fields, or None (unknown or deleted)."""
        doc = self._fold.docs.get(record_id)
        if doc is None or doc.get(DELETED):
            return None
        return doc

    def fields_of(self, record_id: str) -> dict[str, Any] | None:
        """The record's fields as the fold holds them, deleted or not (a tombstoned need
        still names its resident), or None for a record this vault never held."""
        return self._fold.docs.get(record_id)

    def kind_of(self, record_id: str) -> str | None:
        """The kind of a record this vault has held (deleted or not), or None."""
        return self._fold.kinds.get(record_id)

    @property
    def revision(self) -> tuple[int, int]:
        """Changes whenever anything is saved: the journal's generation and length (what
        was worked out from the records before is still true while it is the same)."""
        return (self._sb.gen, self._journal_len)

    @property
    def is_open(self) -> bool:
        """Whether the vault is still open (not closed yet)."""
        return self._lock_fd >= 0

    def load_derived(self, name: str) -> bytes | None:
        """What :meth:`~fieldapp.store.writing.Writing.save_derived` kept as ``name`` at the
        current revision, or None (nothing kept, something saved since, or damaged)."""
        return derived.read(self.path, self._keys.frame, self.vault_id, name, self.revision)

    def count(self, kind: str | None = None) -> int:
        """How many live records (of ``kind``)."""
        if kind is None:
            return sum(len(t.docs) for t in self._tables.values())
        return len(self.table(kind).docs)

    def iter_records(
        self, kind: str, *, include_deleted: bool = False
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, fields) of every live record of ``kind`` (and deleted ones if asked)."""
        with self._write_lock:  # a snapshot: saves from other threads may run meanwhile
            if include_deleted:
                kinds = self._fold.kinds
                return iter([(r, d) for r, d in self._fold.docs.items() if kinds[r] == kind])
            return iter(list(self.table(kind).docs.items()))

    def history(self, record_id: str) -> list[Op]:
        """Every op ever applied to the record, oldest first."""
        with self._write_lock:  # so no commit slips between loading and indexing
            if self._history is None:
                self._history = self._load_history()
            ops = list(self._history.get(record_id, []))
        return sorted(ops, key=lambda op: op.stamp)

    def all_ops(self) -> list[Op]:
        """Every op in the vault (archives + current journal), oldest first."""
        with self._write_lock:
            if self._history is None:
                self._history = self._load_history()
            ops = [op for ops in self._history.values() for op in ops]
        return sorted(ops, key=lambda o: o.stamp)

    def log_length(self) -> int:
        """How many ops the vault has applied, in all (archives + journal): a position in
        its log, which only grows (compaction archives the journal's ops, in order)."""
        with self._write_lock:
            return sum(int(a["ops"]) for a in self._archives) + len(self._journal_ops)

    def ops_since(self, position: int) -> tuple[list[Op], int]:
        """The ops applied after ``position`` of the log (:meth:`log_length`), in the order
        applied, and the position they end at. Archives before it are not read."""
        with self._write_lock:
            out: list[Op] = []
            start = 0
            for entry in self._archives:
                end = start + int(entry["ops"])
                if end > position:
                    out += self._archived_ops(entry)[max(position - start, 0) :]
                start = end
            out += self._journal_ops[max(position - start, 0) :]
            return out, start + len(self._journal_ops)

    def _archived_ops(self, entry: dict[str, Any]) -> list[Op]:
        name = frames.archive_name(entry["gen"])
        try:
            data = (self.path / name).read_bytes()
        except FileNotFoundError:
            raise VaultTampered(file=name, what="missing") from None
        plain = frames.open_archive(
            self._keys.frame, self.vault_id, entry["gen"], data, entry["sha256"]
        )
        return [Op.from_row(row) for row in orjson.loads(plain)]

    def field_author(self, record_id: str, field: str) -> str | None:
        """The device that wrote the value a field holds now."""
        with self._write_lock:
            return self._fold.author(record_id, field)

    def field_stamp(self, record_id: str, field: str) -> int | None:
        """The HLC of the value a field holds now (when it was last set)."""
        with self._write_lock:
            return self._fold.stamp(record_id, field)

    def _load_history(self) -> dict[str, list[Op]]:
        index: dict[str, list[Op]] = {}
        for entry in self._archives:
            for op in self._archived_ops(entry):
                index.setdefault(op.record_id, []).append(op)
        for op in self._journal_ops:
            index.setdefault(op.record_id, []).append(op)
        return index

    def preview(self, ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
        """The fields of every record ``ops`` touch as they would stand once applied —
        the same last-writer-wins fold as a commit — without changing anything."""
        with self._write_lock:
            return self._fold.preview(ops)

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A value stored with :meth:`put_meta`, or ``default``."""
        return self._kv.get(key, default)

    def meta_keys(self, prefix: str = "") -> list[str]:
        """The keys of stored values starting with ``prefix``, sorted."""
        with self._write_lock:
            return sorted(k for k in self._kv if k.startswith(prefix))
