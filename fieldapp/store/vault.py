"""The encrypted, crash-safe local vault (DESIGN §3.3).

Files in the vault directory (see docs/vault-format.md)::

    vault.key            key slots (passphrase, recovery), header MAC — no personal data
    vault.state          two alternating superblock slots: generation, acknowledged length
    snap-<gen>.fv        the materialised state at the start of generation <gen>
    journal-<gen>.fv     every commit since, one sealed frame each, appended + fdatasync
    ops-<gen>.fv         the ops of generation <gen>'s journal, archived at compaction
    (the directory)      flock: one process at a time

A commit appends one frame to the journal, fdatasyncs it, then records the new
acknowledged length in the superblock and fdatasyncs that. Only then does ``commit``
return. On open, everything up to the acknowledged length must verify (else
:class:`VaultTampered`); complete frames past it are kept (they were durable, the
acknowledgement was lost); anything after the last good frame is a torn tail from a
crash: it is reported in :attr:`Vault.report` and cut off.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import math
import os
import re
import secrets
import shutil
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fieldapp.domain.clock import SYSTEM, Clock
from fieldapp.domain.hlc import HybridClock
from fieldapp.domain.ops import DELETED, Op, make_op_id
from fieldapp.errors import (
    CommitRefused,
    VaultExists,
    VaultLocked,
    VaultNotAFolder,
    VaultNotFound,
    VaultReadOnly,
    VaultTampered,
    VaultUnsupported,
    VaultWriteFailed,
    WeakPassphrase,
    WrongPassphrase,
    WrongRecoveryKey,
)
from fieldapp.store import crypto, fsio
from fieldapp.store.crypto import KdfParams
from fieldapp.store.tables import RecordTable, VaultDB

FORMAT = "fieldapp-vault"
VERSION = 1  # of the key file
# Of the snapshot: 2 packs each record's stamps length-prefixed (1 used separators,
# which a field name could break); version 1 snapshots are still read.
SNAPSHOT_VERSION = 2
KEY_FILE = "vault.key"
STATE_FILE = "vault.state"
SNAP_MAGIC = b"FVSNAP01"
JOURNAL_MAGIC = b"FVJRNL01"
ARCHIVE_MAGIC = b"FVOPSA01"
STATE_SLOT = 256
MIN_PASSPHRASE = 8
# The largest frame open() reads back: no commit may write a larger one (a bundle's
# limits in sync/bundle.py are derived from it).
MAX_FRAME = 64 * 1024 * 1024
_SEAL_OVERHEAD = 12 + 16  # nonce + GCM tag
MAX_PAYLOAD = MAX_FRAME - _SEAL_OVERHEAD
# One op's value, encoded. Every save must fit a bundle (sync/bundle.py MAX_RAW, 32×
# this) and be accepted by the supervisor, who applies the same limit.
MAX_VALUE = 1024 * 1024
# What a field name may be: it is a key of records, of stamps and of every index.
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_DEPTH = 32  # of a value's nesting
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
_MAX_INT = 2**63  # orjson and every other reader
# Compact (snapshot + archive the journal) when the journal grows past this at open/close.
COMPACT_BYTES = 4 * 1024 * 1024

_LEN = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def snap_name(gen: int) -> str:
    return f"snap-{gen:06d}.fv"


def journal_name(gen: int) -> str:
    return f"journal-{gen:06d}.fv"


def archive_name(gen: int) -> str:
    return f"ops-{gen:06d}.fv"


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


@dataclass
class _Superblock:
    seq: int
    gen: int
    length: int
    header_gen: int

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"seq": self.seq, "gen": self.gen, "length": self.length, "header_gen": self.header_gen}
        )


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _pack_stamps(stamps: dict[str, list[Any]]) -> str:
    """``{"name": [hlc, dev]}`` → ``"<len>:<name><hlc hex>.<dev>;…"`` (one string per
    record, cheap to load). The name is length-prefixed, so no name can break it."""
    return "".join(f"{len(name)}:{name}{hlc:x}.{dev};" for name, (hlc, dev) in stamps.items())


def _unpack_stamps(packed: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    pos, end = 0, len(packed)
    while pos < end:
        colon = packed.index(":", pos)
        start = colon + 1
        stop = start + int(packed[pos:colon])
        dot = packed.index(".", stop)
        semi = packed.index(";", dot)
        out[packed[start:stop]] = [int(packed[stop:dot], 16), int(packed[dot + 1 : semi])]
        pos = semi + 1
    return out


def _unpack_stamps_v1(packed: str) -> tuple[dict[str, list[Any]], int]:
    """Version 1's ``"name=<hlc hex>.<dev>;…"``, and how many items could not be read:
    a name with ``;`` or ``=`` in it (let in by an old merge) broke them. Those stamps
    are dropped — the fields keep their values, the next op on them simply wins."""
    out: dict[str, list[Any]] = {}
    bad = 0
    for item in packed.split(";") if packed else ():
        name, _, rest = item.rpartition("=")
        hlc, _, dev = rest.partition(".")
        try:
            if not name:
                raise ValueError(item)
            out[name] = [int(hlc, 16), int(dev)]
        except ValueError:
            bad += 1
    return out, bad


def check_value(value: Any, depth: int = 0) -> None:
    """Refuse (``CommitRefused``) a value the journal could not give back identically:
    JSON only — no NaN or infinity (they would come back as null), no integer beyond
    64 bits, no lone surrogate, string keys, bounded nesting."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and not _encodable(value):
            raise CommitRefused(what="value")
        return
    if isinstance(value, int):
        if not -_MAX_INT <= value < _MAX_INT:
            raise CommitRefused(what="value")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CommitRefused(what="value")
        return
    if depth >= _MAX_DEPTH:
        raise CommitRefused(what="value")
    if isinstance(value, list):
        for item in value:
            check_value(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _encodable(key):
                raise CommitRefused(what="value")
            check_value(item, depth + 1)
        return
    raise CommitRefused(what="value")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_passphrase(passphrase: str) -> None:
    """Raise :class:`WeakPassphrase` for passphrases too short to protect a lost laptop."""
    if len(passphrase.strip()) < MIN_PASSPHRASE:
        raise WeakPassphrase(min=MIN_PASSPHRASE)


class Vault:
    """One open, unlocked vault. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, path: Path, lock_fd: int, clock: Clock | None = None) -> None:
        self.path = path
        self._lock_fd = lock_fd
        self._write_lock = threading.RLock()
        self.report = OpenReport()
        self.db = VaultDB()
        self._tables: dict[str, RecordTable] = {}
        self._state_fd = -1
        self._docs: dict[str, dict[str, Any]] = {}  # record id → doc (incl. tombstoned)
        self._kinds: dict[str, str] = {}  # record id → kind
        # id → field → [hlc, device index]; records not touched since open keep the packed
        # string form of the snapshot (see _pack_stamps), which is much cheaper to load.
        self._stamps: dict[str, dict[str, list[Any]] | str] = {}
        self._devices: list[str] = []
        self._stamp_version = SNAPSHOT_VERSION  # of the packed stamps loaded
        self._device_index: dict[str, int] = {}
        self._kv: dict[str, Any] = {}
        self._journal_ops: list[Op] = []
        self._archives: list[dict[str, Any]] = []
        self._history: dict[str, list[Op]] | None = None
        self._journal_fd = -1
        self._gen = 0
        self._header_gen = 0
        self._sb = _Superblock(seq=0, gen=0, length=0, header_gen=0)
        self._broken = False
        self.read_only = False  # opened to look and export only: nothing is written
        self.clock: Clock = clock or SYSTEM  # the time this vault's party reads
        self.hlc = HybridClock(wall_ms=self.clock.wall_ms)
        self.device_id = ""
        self.vault_id = b""

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def _lock(path: Path) -> int:
        """One writer at a time: ``flock`` on the vault directory itself — what no
        process can open the vault without, and what cannot be deleted or replaced
        under a running one (a lock file could be, and a second writer got in)."""
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
        machine's).
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
            if exc.errno in _NOT_WRITABLE:
                raise VaultReadOnly(path=str(path)) from None
            raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
        lock_fd = cls._lock(path)
        try:
            return cls._create_in(path, lock_fd, passphrase, kdf, device_id, recovery, clock)
        except BaseException as exc:
            os.close(lock_fd)
            if isinstance(exc, VaultExists):
                raise  # another process made it meanwhile: its files, not ours
            # Nothing half-made stays behind (a full disk at init): the files this call
            # wrote go, and the folder too if this call made it.
            made = (*path.glob("*.fv"), *path.glob(".*.tmp"), path / STATE_FILE, path / KEY_FILE)
            for leftover in made:
                with contextlib.suppress(OSError):
                    leftover.unlink()
            if new_folder:
                with contextlib.suppress(OSError):
                    path.rmdir()
            if isinstance(exc, OSError):
                if exc.errno in _NOT_WRITABLE:
                    raise VaultReadOnly(path=str(path)) from None
                raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
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
        dek = secrets.token_bytes(crypto.KEY_LEN)
        # A first-run screen shows (and has confirmed) the key before the vault exists.
        recovery_raw, recovery_text = recovery or crypto.new_recovery_key()
        vault._set_keys(dek)
        vault._gen = 0
        vault._header_gen = 1
        vault._sb = _Superblock(seq=0, gen=0, length=len(JOURNAL_MAGIC), header_gen=1)
        for stale in path.glob("*.fv"):  # leftovers of a crash during an earlier create
            stale.unlink()
        vault._write_snapshot(0, [])
        fsio.atomic_write(path / journal_name(0), JOURNAL_MAGIC)
        vault._write_superblock(vault._sb)
        vault._write_superblock(vault._sb)  # both slots valid from the start
        header = vault._build_header(
            dek, passphrase, kdf or crypto.calibrate(), recovery_raw, header_gen=1
        )
        # The key file is written last: its presence is what makes this a vault.
        fsio.atomic_write(path / KEY_FILE, header)
        vault._adopt_header(header)
        vault._open_journal(len(JOURNAL_MAGIC), 0)
        return vault, recovery_text

    @classmethod
    def open(
        cls, path: Path, passphrase: str, *, clock: Clock | None = None, read_only: bool = False
    ) -> Vault:
        """Unlock with the passphrase. Raises a :class:`VaultError` subclass on any problem.

        ``clock`` is the time this vault reads (default: the machine's). A vault that
        cannot be written (a read-only disk, no permission) raises
        :class:`VaultReadOnly`; ``read_only=True`` opens it to look and export, without
        writing a byte (every commit is refused)."""
        return cls._open(Path(path), passphrase=passphrase, clock=clock, read_only=read_only)

    @classmethod
    def _finish_rekey(cls, path: Path) -> None:
        """After a crash in :meth:`rekey`: if the swap was cut between its two renames,
        put the new vault in place; remove what either side left beside it. A folder
        another process still holds (a rekey under way) is left alone."""
        parent, name = path.parent, path.name
        try:
            building = sorted(parent.glob(f".{name}.rekey-*"))
            retired = sorted(parent.glob(f".{name}.retired-*"))
        except OSError:
            return
        if not building and not retired:
            return
        if not path.exists():
            for folder in building:
                if (folder / KEY_FILE).exists() and cls._free(folder):
                    os.rename(folder, path)  # the new vault, complete: finish the swap
                    fsio.fsync_dir(parent)
                    building.remove(folder)
                    break
        if path.exists():
            for folder in building + retired:
                if cls._free(folder):
                    shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _free(folder: Path) -> bool:
        """Whether no process holds ``folder``'s lock (checked, not kept)."""
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

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
    ) -> Vault:
        if not read_only:
            cls._finish_rekey(path)
        if not (path / KEY_FILE).exists():
            raise VaultNotFound(path=str(path))
        lock_fd = cls._lock(path)
        vault = cls(path, lock_fd, clock)
        vault.read_only = read_only
        try:
            vault._unlock(passphrase, recovery_raw)
            try:
                vault._load()
            except OSError as exc:
                if exc.errno in _NOT_WRITABLE:
                    raise VaultReadOnly(path=str(path)) from None
                raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
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

    def close(self, *, compact: bool = True) -> None:
        """Close the vault (compacting a long journal first) and release the lock."""
        with self._write_lock:
            if self._lock_fd < 0:
                return
            try:
                if compact and not self._broken and not self.read_only and self._journal_ops:
                    with contextlib.suppress(VaultWriteFailed):
                        self.compact()  # best effort: the journal already holds everything
            finally:
                self._close_files()

    def _close_files(self) -> None:
        for name in ("_journal_fd", "_state_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        self._key = b""
        self._mac_key = b""

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ keys and header

    def _set_keys(self, dek: bytes) -> None:
        self._dek = dek
        self._key = crypto.hkdf(dek, b"fieldapp vault frames v1")
        self._mac_key = crypto.hkdf(dek, b"fieldapp vault header mac v1")

    def _slot_aad(self, name: str, params: dict[str, Any]) -> bytes:
        return b"fieldapp slot|" + name.encode() + b"|" + self.vault_id + crypto.canonical(params)

    def _build_header(
        self,
        dek: bytes,
        passphrase: str,
        kdf: KdfParams,
        recovery_raw: bytes | None,
        header_gen: int,
        keep_recovery: dict[str, Any] | None = None,
    ) -> bytes:
        import hmac

        salt = secrets.token_bytes(16)
        pw_params = {"kdf": "argon2id", "salt": salt.hex(), **kdf.as_dict()}
        kek = crypto.derive_passphrase_key(passphrase, salt, kdf)
        pw_slot = {
            **pw_params,
            "wrapped": crypto.seal(kek, dek, self._slot_aad("passphrase", pw_params)).hex(),
        }
        if keep_recovery is not None:
            rec_slot = keep_recovery
        else:
            assert recovery_raw is not None
            rsalt = secrets.token_bytes(16)
            rec_params = {"kdf": "hkdf-sha256", "salt": rsalt.hex()}
            rkek = crypto.hkdf(recovery_raw, b"fieldapp recovery v1", rsalt)
            rec_slot = {
                **rec_params,
                "wrapped": crypto.seal(rkek, dek, self._slot_aad("recovery", rec_params)).hex(),
            }
        body = {
            "format": FORMAT,
            "version": VERSION,
            "vault_id": self.vault_id.hex(),
            "header_gen": header_gen,
            "slots": {"passphrase": pw_slot, "recovery": rec_slot},
        }
        body["mac"] = hmac.new(self._mac_key, crypto.canonical(body), "sha256").hexdigest()
        body["checksum"] = crypto.sha256(crypto.canonical(body))
        return orjson.dumps(body, option=orjson.OPT_INDENT_2)

    def _adopt_header(self, data: bytes) -> None:
        header = orjson.loads(data)
        header.pop("checksum")
        header.pop("mac")
        self._header = header

    def _read_header(self) -> dict[str, Any]:
        raw = (self.path / KEY_FILE).read_bytes()
        try:
            header = orjson.loads(raw)
            if not isinstance(header, dict):
                raise ValueError
            checksum = header.pop("checksum")
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            raise VaultTampered(file=KEY_FILE, what="unreadable") from None
        version = header.get("version")
        if checksum != crypto.sha256(crypto.canonical(header)):
            if type(version) is int and version > VERSION:
                raise VaultUnsupported(version=str(version))  # a newer layout, not damage
            raise VaultTampered(file=KEY_FILE, what="checksum")
        if header.get("format") != FORMAT or type(version) is not int:
            raise VaultTampered(file=KEY_FILE, what="format")
        if version > VERSION:
            raise VaultUnsupported(version=str(version))
        return header

    def _unlock(self, passphrase: str | None, recovery_raw: bytes | None) -> None:
        import hmac

        header = self._read_header()
        try:
            self.vault_id = bytes.fromhex(header["vault_id"])
            slots = header["slots"]
            self._header_gen = int(header["header_gen"])
            if passphrase is not None:
                slot = dict(slots["passphrase"])
                wrapped = bytes.fromhex(slot.pop("wrapped"))
                params = KdfParams(slot["memory_kib"], slot["iterations"], slot["lanes"])
                if not params.is_sane() or slot["kdf"] != "argon2id":
                    raise VaultTampered(file=KEY_FILE, what="kdf")
                kek = crypto.derive_passphrase_key(passphrase, bytes.fromhex(slot["salt"]), params)
                dek = crypto.unseal(kek, wrapped, self._slot_aad("passphrase", slot))
                if dek is None:
                    raise WrongPassphrase()
            else:
                assert recovery_raw is not None
                slot = dict(slots["recovery"])
                wrapped = bytes.fromhex(slot.pop("wrapped"))
                rkek = crypto.hkdf(
                    recovery_raw, b"fieldapp recovery v1", bytes.fromhex(slot["salt"])
                )
                dek = crypto.unseal(rkek, wrapped, self._slot_aad("recovery", slot))
                if dek is None:
                    raise WrongRecoveryKey()
        except (KeyError, TypeError, ValueError):
            raise VaultTampered(file=KEY_FILE, what="slots") from None
        self._set_keys(dek)
        mac = header.pop("mac", "")
        expected = hmac.new(self._mac_key, crypto.canonical(header), "sha256").hexdigest()
        if not hmac.compare_digest(str(mac), expected):
            raise VaultTampered(file=KEY_FILE, what="mac")
        self._header = header

    def check_passphrase(self, passphrase: str) -> bool:
        """Whether ``passphrase`` unlocks this vault (to leave the lock screen)."""
        slot = dict(self._header["slots"]["passphrase"])
        wrapped = bytes.fromhex(slot.pop("wrapped"))
        params = KdfParams(slot["memory_kib"], slot["iterations"], slot["lanes"])
        kek = crypto.derive_passphrase_key(passphrase, bytes.fromhex(slot["salt"]), params)
        return crypto.unseal(kek, wrapped, self._slot_aad("passphrase", slot)) is not None

    def change_passphrase(self, new_passphrase: str, *, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under a new passphrase; the data files are untouched."""
        check_passphrase(new_passphrase)
        with self._write_lock:
            self._check_writable()
            header_gen = self._header_gen + 1
            data = self._build_header(
                self._dek,
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
            self._adopt_header(data)
            self._write_superblock(self._next_sb(header_gen=header_gen))

    def rekey(
        self,
        new_passphrase: str,
        *,
        kdf: KdfParams | None = None,
        recovery: tuple[bytes, str] | None = None,
    ) -> str:
        """A new data key: every file rewritten under it, the old files removed, and a
        new recovery key (returned, to show once; the caller may pass one it has shown
        and had confirmed already). For a passphrase that leaked: an old ``vault.key``
        plus the old passphrase then opens nothing written before or after.

        The new vault is built whole in a folder beside this one, then swapped in by
        two renames; a crash at any point leaves the old vault or the new one, and the
        next open finishes or undoes the swap (:func:`_finish_rekey`).
        """
        check_passphrase(new_passphrase)
        with self._write_lock:
            self._check_writable()
            self.compact()  # the journal is empty: everything is in archives and the snapshot
            recovery_raw, recovery_text = recovery or crypto.new_recovery_key()
            kdf = kdf or crypto.calibrate()
            parent, name = self.path.parent, self.path.name
            building = parent / f".{name}.rekey-{secrets.token_hex(4)}"
            saved = (self.path, self._dek, self._key, self._mac_key, self._state_fd, self._sb)
            old_key = self._key
            building.mkdir(mode=0o700)
            new_lock = self._lock(building)
            try:
                archives = []
                for entry in self._archives:
                    raw = (self.path / archive_name(entry["gen"])).read_bytes()
                    aad = self._frame_aad(b"arch", entry["gen"], 0)
                    plain = crypto.unseal(old_key, raw[len(ARCHIVE_MAGIC) :], aad)
                    if plain is None or crypto.sha256(raw) != entry["sha256"]:
                        raise VaultTampered(file=archive_name(entry["gen"]), what="body")
                    archives.append((entry, plain))
                self.path, self._state_fd = building, -1
                self._set_keys(secrets.token_bytes(crypto.KEY_LEN))
                entries = []
                for entry, plain in archives:
                    aad = self._frame_aad(b"arch", entry["gen"], 0)
                    data = ARCHIVE_MAGIC + crypto.seal(self._key, plain, aad)
                    fsio.atomic_write(building / archive_name(entry["gen"]), data)
                    entries.append({**entry, "sha256": crypto.sha256(data)})
                self._write_snapshot(self._gen, entries)
                fsio.atomic_write(building / journal_name(self._gen), JOURNAL_MAGIC)
                header_gen = self._header_gen + 1
                sb = self._next_sb(header_gen=header_gen, length=len(JOURNAL_MAGIC))
                self._write_superblock(sb)
                self._write_superblock(self._next_sb())  # both slots under the new key
                header = self._build_header(
                    self._dek, new_passphrase, kdf, recovery_raw, header_gen
                )
                fsio.atomic_write(building / KEY_FILE, header)  # last: now it is a vault
                fsio.fsync_dir(building)
            except BaseException:
                if self._state_fd >= 0 and self._state_fd != saved[4]:
                    os.close(self._state_fd)
                self.path, self._dek, self._key, self._mac_key, self._state_fd, self._sb = saved
                os.close(new_lock)
                shutil.rmtree(building, ignore_errors=True)
                raise
            # Swap: the old folder aside, the new one in its place, then the old removed.
            retired = parent / f".{name}.retired-{secrets.token_hex(4)}"
            os.rename(saved[0], retired)
            os.rename(building, saved[0])
            fsio.fsync_dir(parent)
            os.close(self._journal_fd)
            if saved[4] >= 0:
                os.close(saved[4])  # the old state file's; the new one's stays open
            os.close(self._lock_fd)
            self._lock_fd = new_lock
            self.path = saved[0]
            self._header_gen = header_gen
            self._adopt_header(header)
            self._archives = entries
            self._journal_fd = -1
            self._open_journal(len(JOURNAL_MAGIC), 0)
            shutil.rmtree(retired, ignore_errors=True)
            fsio.fsync_dir(parent)
            return recovery_text

    # ------------------------------------------------------------------ superblock

    def _sb_aad(self, slot: int) -> bytes:
        return b"fieldapp state|" + self.vault_id + bytes([slot])

    def _write_superblock(self, sb: _Superblock) -> None:
        sb.seq += 1
        slot = sb.seq % 2
        blob = crypto.seal(self._key, sb.to_json(), self._sb_aad(slot))
        data = (_LEN.pack(len(blob)) + blob).ljust(STATE_SLOT, b"\0")
        if self._state_fd < 0:
            self._state_fd = os.open(self.path / STATE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._state_fd, data, slot * STATE_SLOT)
        os.fdatasync(self._state_fd)
        self._sb = sb

    def _next_sb(self, **changes: int) -> _Superblock:
        sb = self._sb
        values = {"seq": sb.seq, "gen": sb.gen, "length": sb.length, "header_gen": sb.header_gen}
        values.update(changes)
        return _Superblock(**values)

    def _read_superblock(self) -> _Superblock:
        try:
            raw = (self.path / STATE_FILE).read_bytes()
        except FileNotFoundError:
            raise VaultTampered(file=STATE_FILE, what="missing") from None
        found: list[_Superblock] = []
        for slot in (0, 1):
            chunk = raw[slot * STATE_SLOT : (slot + 1) * STATE_SLOT]
            if len(chunk) < _LEN.size:
                continue
            (n,) = _LEN.unpack_from(chunk)
            plain = crypto.unseal(self._key, chunk[_LEN.size : _LEN.size + n], self._sb_aad(slot))
            if plain is None:
                continue
            d = orjson.loads(plain)
            found.append(_Superblock(d["seq"], d["gen"], d["length"], d["header_gen"]))
        if not found:
            raise VaultTampered(file=STATE_FILE, what="no valid slot")
        if len(found) < 2:
            self.report.state_slot_damaged = True
        return max(found, key=lambda s: s.seq)

    # ------------------------------------------------------------------ loading

    def _frame_aad(self, tag: bytes, gen: int, index: int) -> bytes:
        return b"fieldapp " + tag + b"|" + self.vault_id + _U64.pack(gen) + _U64.pack(index)

    def _load(self) -> None:
        sb = self._read_superblock()
        self._sb = sb
        if sb.header_gen > self._header_gen:
            raise VaultTampered(file=KEY_FILE, what="older than the vault")
        self._gen = sb.gen
        self._load_snapshot(sb.gen)
        self._replay_journal(sb)
        if self.read_only:
            return  # looked at, not touched: the journal's torn tail is cut next time
        if self._header_gen > sb.header_gen:  # a passphrase change whose last step was cut
            self._write_superblock(self._next_sb(header_gen=self._header_gen))
        self._write_superblock(self._next_sb(length=self._journal_len))

    def _load_snapshot(self, gen: int) -> None:
        name = snap_name(gen)
        try:
            raw = (self.path / name).read_bytes()
        except FileNotFoundError:
            raise VaultTampered(file=name, what="missing") from None
        if not raw.startswith(SNAP_MAGIC):
            raise VaultTampered(file=name, what="header")
        plain = crypto.unseal(self._key, raw[len(SNAP_MAGIC) :], self._frame_aad(b"snap", gen, 0))
        if plain is None:
            raise VaultTampered(file=name, what="body")
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
        if version not in (1, SNAPSHOT_VERSION):
            raise VaultUnsupported(version=str(version))
        self._stamp_version = version
        self.device_id = state["device_id"]
        self._devices = state["devices"]
        self._device_index = {d: i for i, d in enumerate(self._devices)}
        self._kv = state["kv"]
        self._archives = state["archives"]
        self.hlc.observe(state["hlc"])
        docs, kinds, stamps = self._docs, self._kinds, self._stamps
        tables = self._tables
        for kind, rid, doc, st in state["records"]:
            docs[rid] = doc
            kinds[rid] = kind
            stamps[rid] = st
            if not doc.get(DELETED):
                table = tables.get(kind) or self.table(kind)
                table.docs[rid] = doc

    def _replay_journal(self, sb: _Superblock) -> None:
        name = journal_name(sb.gen)
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
            frame = self._parse_frame(raw, pos, sb.gen, index)
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

    def _parse_frame(self, raw: bytes, pos: int, gen: int, index: int) -> tuple[bytes, int] | None:
        if pos + _LEN.size > len(raw):
            return None
        (n,) = _LEN.unpack_from(raw, pos)
        end = pos + _LEN.size + n
        if n > MAX_FRAME or end > len(raw):
            return None
        plain = crypto.unseal(
            self._key, raw[pos + _LEN.size : end], self._frame_aad(b"jrnl", gen, index)
        )
        return None if plain is None else (plain, end)

    def _open_journal(self, length: int, frames: int) -> None:
        self._journal_len = length
        self._frames = frames
        if self.read_only:
            return
        fd = os.open(self.path / journal_name(self._gen), os.O_WRONLY)
        try:
            if os.fstat(fd).st_size != length:  # cut off a torn tail before appending
                os.ftruncate(fd, length)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        os.lseek(fd, length, os.SEEK_SET)
        self._journal_fd = fd
        self._journal_len = length
        self._frames = frames

    # ------------------------------------------------------------------ state

    def _device_idx(self, device_id: str) -> int:
        idx = self._device_index.get(device_id)
        if idx is None:
            idx = self._device_index[device_id] = len(self._devices)
            self._devices.append(device_id)
        return idx

    def _stamps_of(self, rid: str) -> dict[str, list[Any]]:
        stamps = self._stamps[rid]
        if isinstance(stamps, str):
            if self._stamp_version == 1:
                stamps, bad = _unpack_stamps_v1(stamps)
                if bad and "stamps_repaired" not in self.report.notes:
                    self.report.notes.append("stamps_repaired")
            else:
                stamps = _unpack_stamps(stamps)
            self._stamps[rid] = stamps
        return stamps

    def _packed(self, rid: str) -> str:
        stamps = self._stamps[rid]
        if isinstance(stamps, str) and self._stamp_version == SNAPSHOT_VERSION:
            return stamps  # untouched since it was loaded: already in this form
        return _pack_stamps(self._stamps_of(rid))

    def _apply_ops(self, ops: list[Op]) -> None:
        """Fold ops into the state. Documents are copy-on-write: a reader holding a
        document (or iterating a snapshot) never sees it change under it."""
        touched: dict[str, dict[str, Any]] = {}
        for op in ops:
            self.hlc.observe(op.hlc)
            rid = op.record_id
            doc = touched.get(rid)
            if doc is None:
                old = self._docs.get(rid)
                if old is None:
                    self._kinds[rid] = op.kind
                    self._stamps[rid] = {}
                doc = touched[rid] = dict(old) if old is not None else {}
            stamps = self._stamps_of(rid)
            current = stamps.get(op.field)
            if current is not None:
                held = (current[0], self._devices[current[1]])
                if held > op.stamp:
                    continue
                if held == op.stamp and _canon(doc.get(op.field)) >= _canon(op.value):
                    # The same op again — or a device that reused a stamp: the larger value
                    # wins everywhere, whatever the order of delivery.
                    continue
            stamps[op.field] = [op.hlc, self._device_idx(op.device_id)]
            doc[op.field] = op.value
        for rid, doc in touched.items():
            self._docs[rid] = doc
            table = self.table(self._kinds[rid])
            if doc.get(DELETED):
                table.drop(rid)
            else:
                table.put(rid, doc)
        self._journal_ops.extend(ops)
        if self._history is not None:
            for op in ops:
                self._history.setdefault(op.record_id, []).append(op)

    def preview(self, ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
        """The fields of every record ``ops`` touch as they would stand once applied —
        the same last-writer-wins fold as a commit — without changing anything."""
        with self._write_lock:
            touched: dict[str, dict[str, Any]] = {}
            held: dict[str, dict[str, tuple[int, str]]] = {}
            for op in ops:
                rid = op.record_id
                doc = touched.get(rid)
                if doc is None:
                    old = self._docs.get(rid)
                    doc = touched[rid] = dict(old) if old is not None else {}
                    stamps = self._stamps_of(rid) if rid in self._stamps else {}
                    held[rid] = {f: (h, self._devices[d]) for f, (h, d) in stamps.items()}
                current = held[rid].get(op.field)
                if current is not None:
                    if current > op.stamp:
                        continue
                    if current == op.stamp and _canon(doc.get(op.field)) >= _canon(op.value):
                        continue
                held[rid][op.field] = op.stamp
                doc[op.field] = op.value
            return touched

    def _apply_kv(self, kv: dict[str, Any]) -> None:
        for key, value in kv.items():
            if value is None:
                self._kv.pop(key, None)
            else:
                self._kv[key] = value

    def _make_ops(self, changes: Iterable[Change]) -> list[Op]:
        ops: list[Op] = []
        dev = self.device_id
        for change in changes:
            rid = change.record_id
            kind = self._kinds.get(rid)
            if kind is not None and kind != change.kind:
                raise CommitRefused(what="kind", record=rid)
            doc = self._docs.get(rid, {})
            stamps = self._stamps_of(rid) if rid in self._stamps else {}
            for name, value in change.fields.items():
                if not FIELD_NAME.fullmatch(name):
                    raise CommitRefused(what="field_name")
                check_value(value)
                if isinstance(value, str | list | dict) and len(orjson.dumps(value)) > MAX_VALUE:
                    raise CommitRefused(
                        what="too_large", size=len(orjson.dumps(value)), limit=MAX_VALUE
                    )
                if name in doc and doc[name] == value:
                    continue  # unchanged fields make no op
                current = stamps.get(name)
                base = (
                    None if current is None else make_op_id(current[0], self._devices[current[1]])
                )
                hlc = self.hlc.now()
                ops.append(Op(make_op_id(hlc, dev), change.kind, rid, name, value, hlc, dev, base))
        return ops

    # ------------------------------------------------------------------ writing

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
            for op in ops:  # the vault's own backstop: refuse before anything is written
                kind = kinds.setdefault(op.record_id, self._kinds.get(op.record_id, op.kind))
                if kind != op.kind:
                    raise CommitRefused(what="kind", record=op.record_id)  # keeps its kind
                if not FIELD_NAME.fullmatch(op.field):
                    raise CommitRefused(what="field_name")
                check_value(op.value)
            if ops or kv:
                self._write_frame(ops, kv, self.hlc.last)

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
        blob = crypto.seal(self._key, payload, self._frame_aad(b"jrnl", self._gen, self._frames))
        frame = _LEN.pack(len(blob)) + blob
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
            self._write_superblock(self._next_sb(length=self._journal_len))
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

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._kv.get(key, default)

    def meta_keys(self, prefix: str = "") -> list[str]:
        with self._write_lock:
            return sorted(k for k in self._kv if k.startswith(prefix))

    # ------------------------------------------------------------------ compaction

    def _write_snapshot(self, gen: int, archives: list[dict[str, Any]]) -> None:
        records = [
            [self._kinds[rid], rid, doc, self._packed(rid)] for rid, doc in self._docs.items()
        ]
        state = {
            "v": SNAPSHOT_VERSION,
            "device_id": self.device_id,
            "devices": self._devices,
            "hlc": self.hlc.last,
            "kv": self._kv,
            "archives": archives,
            "records": records,
        }
        blob = crypto.seal(self._key, orjson.dumps(state), self._frame_aad(b"snap", gen, 0))
        fsio.atomic_write(self.path / snap_name(gen), SNAP_MAGIC + blob)

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
                if self._journal_ops:
                    rows = [op.to_row() for op in self._journal_ops]
                    blob = crypto.seal(
                        self._key, orjson.dumps(rows), self._frame_aad(b"arch", gen, 0)
                    )
                    data = ARCHIVE_MAGIC + blob
                    fsio.atomic_write(self.path / archive_name(gen), data)
                    archives = [
                        *self._archives,
                        {"gen": gen, "sha256": crypto.sha256(data), "ops": len(rows)},
                    ]
                else:
                    archives = self._archives
                self._write_snapshot(new, archives)
                fsio.atomic_write(self.path / journal_name(new), JOURNAL_MAGIC)
            except OSError as exc:
                raise VaultWriteFailed(reason=exc.strerror or str(exc)) from None
            try:
                self._write_superblock(self._next_sb(gen=new, length=len(JOURNAL_MAGIC)))
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
            for name in (snap_name(gen), journal_name(gen)):
                (self.path / name).unlink(missing_ok=True)
            fsio.fsync_dir(self.path)

    # ------------------------------------------------------------------ reading

    def table(self, kind: str) -> RecordTable:
        """The TinyDB table of live records of ``kind`` (query layer; do not write)."""
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = self.db.records(kind)
        return table

    def get(self, record_id: str) -> dict[str, Any] | None:
        """The live record's fields, or None (unknown or deleted)."""
        doc = self._docs.get(record_id)
        if doc is None or doc.get(DELETED):
            return None
        return doc

    def kind_of(self, record_id: str) -> str | None:
        return self._kinds.get(record_id)

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return sum(len(t.docs) for t in self._tables.values())
        return len(self.table(kind).docs)

    def iter_records(
        self, kind: str, *, include_deleted: bool = False
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, fields) of every live record of ``kind`` (and deleted ones if asked)."""
        with self._write_lock:  # a snapshot: saves from other threads may run meanwhile
            if include_deleted:
                return iter([(r, d) for r, d in self._docs.items() if self._kinds[r] == kind])
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

    def field_author(self, record_id: str, field: str) -> str | None:
        """The device that wrote the value a field holds now."""
        with self._write_lock:
            if record_id not in self._stamps:
                return None
            stamp = self._stamps_of(record_id).get(field)
            return None if stamp is None else self._devices[stamp[1]]

    def field_stamp(self, record_id: str, field: str) -> int | None:
        """The HLC of the value a field holds now (when it was last set)."""
        with self._write_lock:
            if record_id not in self._stamps:
                return None
            stamp = self._stamps_of(record_id).get(field)
        return None if stamp is None else int(stamp[0])

    def _load_history(self) -> dict[str, list[Op]]:
        index: dict[str, list[Op]] = {}
        for entry in self._archives:
            name = archive_name(entry["gen"])
            try:
                data = (self.path / name).read_bytes()
            except FileNotFoundError:
                raise VaultTampered(file=name, what="missing") from None
            if crypto.sha256(data) != entry["sha256"] or not data.startswith(ARCHIVE_MAGIC):
                raise VaultTampered(file=name, what="body")
            plain = crypto.unseal(
                self._key, data[len(ARCHIVE_MAGIC) :], self._frame_aad(b"arch", entry["gen"], 0)
            )
            if plain is None:
                raise VaultTampered(file=name, what="body")
            for row in orjson.loads(plain):
                op = Op.from_row(row)
                index.setdefault(op.record_id, []).append(op)
        for op in self._journal_ops:
            index.setdefault(op.record_id, []).append(op)
        return index
