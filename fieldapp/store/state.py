"""What an open vault holds in memory (its files are frames.py's, its records
fold.py's): one base for the vault's reading, writing and lifecycle parts."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldapp.domain.clock import SYSTEM, Clock
from fieldapp.domain.hlc import HybridClock
from fieldapp.domain.ops import Op
from fieldapp.store import frames
from fieldapp.store.fold import Fold
from fieldapp.store.frames import Superblock
from fieldapp.store.keyfile import Keys
from fieldapp.store.tables import RecordTable, VaultDB


@dataclass(frozen=True)
class Change:
    """Set ``fields`` of one record (the vault turns each field into an op)."""

    kind: str
    record_id: str
    fields: dict[str, Any]


@dataclass
class OpenReport:
    """What opening found and repaired; the UI shows anything non-empty."""

    torn_tail_bytes: int = 0
    frames_replayed: int = 0
    unacknowledged_frames_kept: int = 0
    state_slot_damaged: bool = False
    notes: list[str] = field(default_factory=list)

    def messages(self) -> list[tuple[str, dict[str, int]]]:
        """(message id, params) for each thing the user should be told after opening."""
        out: list[tuple[str, dict[str, int]]] = []
        if self.torn_tail_bytes:
            out.append(("vault.report.torn_tail", {"bytes": self.torn_tail_bytes}))
        if self.unacknowledged_frames_kept:
            out.append(("vault.report.kept", {"count": self.unacknowledged_frames_kept}))
        if self.state_slot_damaged:
            out.append(("vault.report.state_slot", {}))
        if "stamps_repaired" in self.notes:
            out.append(("vault.report.stamps_repaired", {}))
        return out


class VaultState:
    """The fields every part of an open vault shares.

    ``path`` is the vault folder, ``lock_fd`` the descriptor that holds its lock
    (:func:`~fieldapp.store.vault.lock_folder`), ``clock`` the party's clock (the
    machine's when not given)."""

    def __init__(self, path: Path, lock_fd: int, clock: Clock | None = None) -> None:
        self.path = path
        self._lock_fd = lock_fd
        self._write_lock = threading.RLock()
        self.report = OpenReport()
        self.db = VaultDB()
        self._tables: dict[str, RecordTable] = {}
        self._fold = Fold()
        self._state_fd = -1
        self._state_dirty = False  # a superblock written but not yet fsynced
        self._kv: dict[str, Any] = {}
        self._journal_ops: list[Op] = []
        self._archives: list[dict[str, Any]] = []
        self._history: dict[str, list[Op]] | None = None
        self._journal_fd = -1
        self._journal_len = 0
        self._frames = 0
        self._gen = 0
        self._header_gen = 0
        self._header: dict[str, Any] = {}
        self._keys = Keys(b"", b"", b"")
        self._sb = Superblock(seq=0, gen=0, length=0, header_gen=0)
        self._broken = False
        self.read_only = False  # opened to look and export only: nothing is written
        self.clock: Clock = clock or SYSTEM  # the time this vault's party reads
        self.hlc = HybridClock(wall_ms=self.clock.wall_ms)
        self.device_id = ""
        self.vault_id = b""

    @property
    def write_lock(self) -> threading.RLock:
        """The lock every write holds (re-entrant): held around a check and the write that
        depends on it, no save from another thread comes between them."""
        return self._write_lock

    def table(self, kind: str) -> RecordTable:
        """The TinyDB table of live records of ``kind`` (query layer; do not write)."""
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = self.db.records(kind)
        return table

    def _open_journal(self, length: int, frames_so_far: int) -> None:
        self._journal_len = length
        self._frames = frames_so_far
        if self.read_only:
            return
        fd = os.open(self.path / frames.journal_name(self._gen), os.O_WRONLY)
        try:
            if os.fstat(fd).st_size != length:  # cut off a torn tail before appending
                os.ftruncate(fd, length)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        os.lseek(fd, length, os.SEEK_SET)
        self._journal_fd = fd
