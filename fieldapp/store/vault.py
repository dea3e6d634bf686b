"""The encrypted, crash-safe local vault (DESIGN §3.3): its lifecycle — create, open
and replay, commit, compaction, reading, history.

Files in the vault directory (see docs/vault-format.md)::

    vault.key            key slots (passphrase, recovery), header MAC — keyfile.py
    vault.state          two alternating superblock slots: generation, acknowledged length
    snap-<gen>.fv        the materialised state at the start of generation <gen>
    journal-<gen>.fv     every commit since, one sealed frame each, appended + fdatasync
    ops-<gen>.fv         the ops of generation <gen>'s journal, archived at compaction
    (the directory)      flock: one process at a time

The bytes of each file are frames.py's; the records, the fold of their ops, are
fold.py's; what a commit may hold is limits.py's; a new data key is rekey.py's.

A commit appends one frame to the journal and fdatasyncs it — one fdatasync a save —
then records the new acknowledged length in the superblock, which reaches the disk
with the kernel's writeback or at close or compaction (it never claims more than is
durable: its frames were synced first). Only then does ``commit`` return. On open,
everything up to the acknowledged length must verify (else :class:`VaultTampered`);
complete frames past it are kept (they were durable, the acknowledgement was lost);
anything after the last good frame is a torn tail from a crash: it is reported in
:attr:`Vault.report` and cut off.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import os
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from fieldapp.domain.clock import Clock
from fieldapp.domain.ops import Op
from fieldapp.errors import (
    VaultExists,
    VaultLocked,
    VaultNotAFolder,
    VaultNotFound,
    VaultReadOnly,
    VaultTampered,
    VaultUnsupported,
    VaultWriteFailed,
)
from fieldapp.store import crypto, derived, frames, fsio, keyfile
from fieldapp.store.crypto import KdfParams
from fieldapp.store.fold import STAMPS_VERSION
from fieldapp.store.frames import JOURNAL_MAGIC, STATE_FILE, Superblock
from fieldapp.store.keyfile import KEY_FILE, Keys, check_passphrase
from fieldapp.store.purge import purge, sweep_strays
from fieldapp.store.reading import Reading
from fieldapp.store.state import Change, OpenReport
from fieldapp.store.writing import Writing

# Compact (snapshot + archive the journal) when the journal grows past this at open/close.
COMPACT_BYTES = 4 * 1024 * 1024
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)

KeptReader = Callable[[str], bytes | None]
"""Reads a derived file by name at the revision the vault is opening at (None: not kept)."""

__all__ = ["KEY_FILE", "Change", "OpenReport", "Vault", "check_passphrase"]


def lock_folder(path: Path) -> int:
    """One writer at a time: ``flock`` on the vault directory itself — what no process
    can open the vault without, and what cannot be deleted or replaced under a running
    one (a lock file could be, and a second writer got in)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except NotADirectoryError:
        raise VaultNotFound(path=str(path)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise VaultLocked(path=str(path)) from None
    return fd


def _write_failed(path: Path, exc: OSError) -> VaultReadOnly | VaultWriteFailed:
    if exc.errno in NOT_WRITABLE:
        return VaultReadOnly(path=str(path))
    return VaultWriteFailed(reason=exc.strerror or str(exc))


class Vault(Reading, Writing):
    """One open, unlocked vault. Create with :meth:`create`, open with :meth:`open`."""

    @classmethod
    def create(
        cls,
        path: Path,
        passphrase: str,
        *,
        kdf: KdfParams | None = None,
        device_id: str | None = None,
        recovery: tuple[bytes, str] | None = None,
        clock: Clock | None = None,
    ) -> tuple[Vault, str]:
        """Create a vault; returns it open and the recovery key to show once.

        ``kdf`` defaults to parameters calibrated on this machine (≥ 64 MiB, ≥ 150 ms);
        tests pass cheaper ones. ``clock`` is the time this vault reads (default: the
        machine's). A failure leaves nothing half-made behind.
        """
        check_passphrase(passphrase)
        path = Path(path)
        if (path / KEY_FILE).exists():
            raise VaultExists(path=str(path))
        new_folder = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except (FileExistsError, NotADirectoryError):
            raise VaultNotAFolder(path=str(path)) from None
        except OSError as exc:
            raise _write_failed(path, exc) from None
        lock_fd = lock_folder(path)
        try:
            return cls._create_in(path, lock_fd, passphrase, kdf, device_id, recovery, clock)
        except BaseException as exc:
            os.close(lock_fd)
            if isinstance(exc, VaultExists):
                raise  # another process made it meanwhile: its files, not ours
            made = (*path.glob("*.fv"), *path.glob(".*.tmp"), path / STATE_FILE, path / KEY_FILE)
            for leftover in made:
                with contextlib.suppress(OSError):
                    leftover.unlink()
            if new_folder:
                with contextlib.suppress(OSError):
                    path.rmdir()
            if isinstance(exc, OSError):
                raise _write_failed(path, exc) from None
            raise

    @classmethod
    def _create_in(
        cls,
        path: Path,
        lock_fd: int,
        passphrase: str,
        kdf: KdfParams | None,
        device_id: str | None,
        recovery: tuple[bytes, str] | None,
        clock: Clock | None,
    ) -> tuple[Vault, str]:
        if (path / KEY_FILE).exists():  # created by another process meanwhile
            raise VaultExists(path=str(path))
        vault = cls(path, lock_fd, clock)
        vault.vault_id = secrets.token_bytes(16)
        vault.device_id = device_id or secrets.token_hex(8)
        vault._keys = Keys.new()
        # A first-run screen shows (and has confirmed) the key before the vault exists.
        recovery_raw, recovery_text = recovery or crypto.new_recovery_key()
        vault._header_gen = 1
        vault._sb = Superblock(seq=0, gen=0, length=len(JOURNAL_MAGIC), header_gen=1)
        for stale in path.glob("*.fv"):  # leftovers of a crash during an earlier create
            stale.unlink()
        vault._write_snapshot(0, [])
        fsio.atomic_write(path / frames.journal_name(0), JOURNAL_MAGIC)
        vault._write_superblock(vault._sb)
        vault._write_superblock(vault._sb)  # both slots valid from the start
        header = keyfile.build(
            vault._keys, vault.vault_id, passphrase, kdf or crypto.calibrate(), recovery_raw, 1
        )
        # The key file is written last: its presence is what makes this a vault.
        fsio.atomic_write(path / KEY_FILE, header)
        vault._header = keyfile.adopt(header)
        vault._open_journal(len(JOURNAL_MAGIC), 0)
        return vault, recovery_text

    @classmethod
    def open(
        cls,
        path: Path,
        passphrase: str,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        peek: Callable[[KeptReader], None] | None = None,
    ) -> Vault:
        """Unlock with the passphrase. Raises a :class:`VaultError` subclass on any problem.

        ``clock`` is the time this vault reads (default: the machine's). A vault that
        cannot be written (a read-only disk, no permission) raises
        :class:`VaultReadOnly`; ``read_only=True`` opens it to look and export, without
        writing a byte (every commit is refused).

        ``peek`` is called once the passphrase is known to be right and before the
        records are read (the long part of an open), with a reader of the derived files
        kept at the revision the vault opens at — so a first screen can be drawn from
        them meanwhile. It is not called when that revision is not known before the
        journal is replayed (frames past the acknowledged length, a torn tail). What it
        read is only as true as the open that follows: if the open then fails
        (a tampered frame), whatever was drawn from it must be taken back."""
        return cls._open(
            Path(path), passphrase=passphrase, clock=clock, read_only=read_only, peek=peek
        )

    @classmethod
    def recover(
        cls,
        path: Path,
        recovery_key: str,
        new_passphrase: str,
        *,
        kdf: KdfParams | None = None,
        clock: Clock | None = None,
    ) -> Vault:
        """Unlock with the recovery key and set a new passphrase."""
        check_passphrase(new_passphrase)
        raw = crypto.parse_recovery_key(recovery_key)
        vault = cls._open(Path(path), recovery_raw=raw, clock=clock)
        try:
            vault.change_passphrase(new_passphrase, kdf=kdf)
        except BaseException:
            vault.close(compact=False)
            raise
        return vault

    @classmethod
    def _open(
        cls,
        path: Path,
        *,
        passphrase: str | None = None,
        recovery_raw: bytes | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
        peek: Callable[[KeptReader], None] | None = None,
    ) -> Vault:
        from fieldapp.store.rekey import finish_rekey

        if not read_only:
            finish_rekey(path)
        if not (path / KEY_FILE).exists():
            raise VaultNotFound(path=str(path))
        lock_fd = lock_folder(path)
        vault = cls(path, lock_fd, clock)
        vault.read_only = read_only
        try:
            header = keyfile.read(path)
            vault._keys, vault.vault_id, vault._header_gen = keyfile.unlock(
                header, passphrase, recovery_raw
            )
            vault._header = header
            try:
                vault._load(peek)
            except OSError as exc:
                raise _write_failed(path, exc) from None
            if vault._journal_len > COMPACT_BYTES and not read_only:
                try:
                    vault.compact()
                except VaultWriteFailed:
                    # A full or read-only disk must not keep the vault from opening: the
                    # journal is whole, the next open tries again.
                    vault.report.notes.append("compaction_skipped")
        except BaseException:
            vault._close_files()
            raise
        return vault

    def close(
        self,
        *,
        compact: bool = True,
        keep: Mapping[str, tuple[tuple[int, int], bytes]] | None = None,
    ) -> None:
        """Close the vault and release the lock. First, unless ``compact`` is False, a
        journal that holds any ops is compacted into a new snapshot (best effort).

        ``keep``: derived data to keep for the next session, name → (the revision it was
        worked out at, its bytes); each is kept only if nothing was saved since that
        revision, under the revision the vault closes at (compaction changes no record)."""
        with self._write_lock:
            if self._lock_fd < 0:
                return
            try:
                current = {
                    name: data
                    for name, (revision, data) in (keep or {}).items()
                    if revision == self.revision
                }
                if compact and not self._broken and not self.read_only and self._journal_ops:
                    with contextlib.suppress(VaultWriteFailed):
                        self.compact()  # best effort: the journal already holds everything
                for name, data in current.items():
                    self.save_derived(name, data)
            finally:
                self._close_files()

    def save_derived(self, name: str, data: bytes, revision: tuple[int, int] | None = None) -> bool:
        """Keep ``data``, worked out from the records as they are now (or, given, as they
        were at ``revision``: kept only if nothing was saved since), as the derived file
        ``name`` (:mod:`fieldapp.store.derived`): :meth:`load_derived` returns it until the
        next save. Best effort: returns whether it was kept (never on a read-only or
        closed vault, nor when the file could not be written)."""
        with self._write_lock:  # closing takes it too: never half closed under us
            if self.read_only or self._broken or self._lock_fd < 0:
                return False
            now = self.revision
            if revision is not None and revision != now:
                return False
            try:
                derived.write(self.path, self._keys.frame, self.vault_id, name, now, data)
            except OSError:
                return False
            return True

    def _close_files(self) -> None:
        if self._state_dirty and self._state_fd >= 0:
            with contextlib.suppress(OSError):
                os.fdatasync(self._state_fd)  # the last acknowledged length, durable
        self._state_dirty = False
        for name in ("_journal_fd", "_state_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        self._keys = Keys(b"", b"", b"")

    def __enter__(self) -> Vault:
        """The open vault itself, for ``with Vault.open(...) as vault:``."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the vault (see :meth:`close`), whatever happened in the block."""
        self.close()

    def check_passphrase(self, passphrase: str) -> bool:
        """Whether ``passphrase`` unlocks this vault (to leave the lock screen)."""
        return keyfile.passphrase_opens(self._header, self.vault_id, passphrase)

    def change_passphrase(self, new_passphrase: str, *, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under a new passphrase; the data files are untouched."""
        check_passphrase(new_passphrase)
        with self._write_lock:
            self._check_writable()
            header_gen = self._header_gen + 1
            data = keyfile.build(
                self._keys,
                self.vault_id,
                new_passphrase,
                kdf or crypto.calibrate(),
                None,
                header_gen,
                keep_recovery=self._header["slots"]["recovery"],
            )
            try:
                fsio.atomic_write(self.path / KEY_FILE, data)
            except OSError as exc:
                raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
            self._header_gen = header_gen
            self._header = keyfile.adopt(data)
            self._write_superblock(self._sb.but(header_gen=header_gen))

    def rekey(
        self,
        new_passphrase: str,
        *,
        kdf: KdfParams | None = None,
        recovery: tuple[bytes, str] | None = None,
    ) -> str:
        """A new data key, every file rewritten under it, a new recovery key (returned):
        see :func:`fieldapp.store.rekey.rekey`."""
        from fieldapp.store.rekey import rekey

        return rekey(self, new_passphrase, kdf=kdf, recovery=recovery)

    def purge(
        self,
        drop: Collection[str],
        *,
        local_fields: Mapping[str, Mapping[str, Any]] | None = None,
        changes: Iterable[Change] = (),
        kv: Mapping[str, Any] | None = None,
    ) -> list[Op]:
        """Remove records entirely — from the state, the history and every file, with no
        op that would sync as a deletion — in one atomic step with local field edits, new
        changes and key/value updates: see :func:`fieldapp.store.purge.purge`."""
        return purge(self, drop, local_fields=local_fields, changes=changes, kv=kv)

    def _load(self, peek: Callable[[KeptReader], None] | None = None) -> None:
        try:
            raw = (self.path / STATE_FILE).read_bytes()
        except FileNotFoundError:
            raise VaultTampered(file=STATE_FILE, what="missing") from None
        sb, damaged = frames.open_superblocks(self._keys.frame, self.vault_id, raw)
        self.report.state_slot_damaged = damaged
        self._sb = sb
        if sb.header_gen > self._header_gen:
            raise VaultTampered(file=KEY_FILE, what="older than the vault")
        self._gen = sb.gen
        if peek is not None:
            self._peek(peek, sb)
        self._load_snapshot(sb.gen)
        self._replay_journal(sb)
        if self.read_only:
            return  # looked at, not touched: the journal's torn tail is cut next time
        if self._header_gen > sb.header_gen:  # a passphrase change whose last step was cut
            self._write_superblock(self._sb.but(header_gen=self._header_gen))
        self._write_superblock(self._sb.but(length=self._journal_len))
        # What a crash during a compaction or a purge left beside this generation (after
        # a purge, the old files still hold what was purged): removed before any use.
        if sweep_strays(self):
            self.report.notes.append("strays_swept")

    def _peek(self, peek: Callable[[KeptReader], None], sb: Superblock) -> None:
        """Hand ``peek`` the derived files at the revision this open will end at, when the
        superblock says it already: the journal is exactly as long as acknowledged (its
        replay then keeps every frame — or the open fails — and the revision is
        ``(gen, length)``)."""
        try:
            size = os.stat(self.path / frames.journal_name(sb.gen)).st_size
        except OSError:
            return  # the replay says what is wrong
        if size != sb.length:
            return
        revision = (sb.gen, sb.length)
        frame_key, vault_id = self._keys.frame, self.vault_id
        peek(lambda name: derived.read(self.path, frame_key, vault_id, name, revision))

    def _load_snapshot(self, gen: int) -> None:
        name = frames.snap_name(gen)
        try:
            raw = (self.path / name).read_bytes()
        except FileNotFoundError:
            raise VaultTampered(file=name, what="missing") from None
        plain = frames.open_snapshot(self._keys.frame, self.vault_id, gen, raw)
        # Loading creates ~10 container objects per record; the cyclic GC would walk them
        # all again and again (3× the parse time at 50 000 records). They are long-lived:
        # load with the GC off, then freeze them out of future collections.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._adopt_snapshot(orjson.loads(plain))
        finally:
            if gc_was_enabled:
                gc.freeze()
                gc.enable()

    def _adopt_snapshot(self, state: dict[str, Any]) -> None:
        version = state.get("v")
        if version not in (1, STAMPS_VERSION):
            raise VaultUnsupported(version=str(version))
        self.device_id = state["device_id"]
        self._kv = state["kv"]
        self._archives = state["archives"]
        self.hlc.observe(state["hlc"])
        live = self._fold.load(state["records"], state["devices"], version)
        for kind, docs in live.items():
            self.table(kind).docs.update(docs)

    def _replay_journal(self, sb: Superblock) -> None:
        name = frames.journal_name(sb.gen)
        try:
            raw = (self.path / name).read_bytes()
        except FileNotFoundError:
            raise VaultTampered(file=name, what="missing") from None
        if len(raw) < sb.length:
            raise VaultTampered(file=name, what="truncated", missing=sb.length - len(raw))
        if not raw.startswith(JOURNAL_MAGIC):
            raise VaultTampered(file=name, what="header")
        pos = len(JOURNAL_MAGIC)
        index = 0
        while pos < len(raw):
            frame = frames.open_journal_frame(
                self._keys.frame, self.vault_id, raw, pos, sb.gen, index
            )
            if frame is None:
                if pos < sb.length:  # acknowledged data that no longer verifies
                    raise VaultTampered(file=name, what="frame", index=index)
                self.report.torn_tail_bytes = len(raw) - pos
                self.report.notes.append("torn_tail")
                break
            payload, end = frame
            if pos >= sb.length:
                self.report.unacknowledged_frames_kept += 1
            commit = orjson.loads(payload)
            self._apply_ops([Op.from_row(row) for row in commit.get("ops", ())])
            self._apply_kv(commit.get("kv", {}))
            pos = end
            index += 1
        if pos < sb.length:
            raise VaultTampered(file=name, what="truncated", missing=sb.length - pos)
        self.report.frames_replayed = index
        self._open_journal(pos, index)
