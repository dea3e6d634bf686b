"""The vault's files as sealed bytes (docs/vault-format.md, "Frames", "Superblock"):
names, magics, associated data, and sealing and opening each kind of frame. No state:
the vault lifecycle (``vault.py``) decides what to write when.

Associated data binds every frame to its vault, its kind, its generation and its
position, so a frame moved, swapped, reordered or copied from elsewhere does not open.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

import orjson

from fieldapp.errors import VaultTampered
from fieldapp.store import crypto
from fieldapp.store.limits import MAX_FRAME

STATE_FILE = "vault.state"
SNAP_MAGIC = b"FVSNAP01"
JOURNAL_MAGIC = b"FVJRNL01"
ARCHIVE_MAGIC = b"FVOPSA01"
STATE_SLOT = 256

LEN = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def snap_name(gen: int) -> str:
    """The file name of generation ``gen``'s snapshot."""
    return f"snap-{gen:06d}.fv"


def journal_name(gen: int) -> str:
    """The file name of generation ``gen``'s journal."""
    return f"journal-{gen:06d}.fv"


def archive_name(gen: int) -> str:
    """The file name of generation ``gen``'s op archive (its journal's ops, kept at compaction)."""
    return f"ops-{gen:06d}.fv"


def frame_aad(vault_id: bytes, tag: bytes, gen: int, index: int) -> bytes:
    """``tag`` is ``jrnl``, ``snap`` or ``arch``."""
    return b"fieldapp " + tag + b"|" + vault_id + _U64.pack(gen) + _U64.pack(index)


@dataclass(frozen=True)
class Superblock:
    """Which generation is current, how much of its journal was acknowledged, and the
    key file's generation (an old key file put back is refused)."""

    seq: int
    gen: int
    length: int
    header_gen: int

    def to_json(self) -> bytes:
        """The plaintext sealed into the superblock's slot."""
        return orjson.dumps(
            {"seq": self.seq, "gen": self.gen, "length": self.length, "header_gen": self.header_gen}
        )

    def but(self, **changes: int) -> Superblock:
        """This superblock with some values changed (the next one to write)."""
        return replace(self, **changes)


def _sb_aad(vault_id: bytes, slot: int) -> bytes:
    return b"fieldapp state|" + vault_id + bytes([slot])


def seal_superblock(key: bytes, vault_id: bytes, sb: Superblock) -> tuple[int, bytes]:
    """(offset, bytes) of ``sb`` in its slot (slots alternate with ``seq``)."""
    slot = sb.seq % 2
    blob = crypto.seal(key, sb.to_json(), _sb_aad(vault_id, slot))
    return slot * STATE_SLOT, (LEN.pack(len(blob)) + blob).ljust(STATE_SLOT, b"\0")


def open_superblocks(key: bytes, vault_id: bytes, raw: bytes) -> tuple[Superblock, bool]:
    """The newest valid superblock of ``vault.state``, and whether one slot was damaged."""
    found: list[Superblock] = []
    for slot in (0, 1):
        chunk = raw[slot * STATE_SLOT : (slot + 1) * STATE_SLOT]
        if len(chunk) < LEN.size:
            continue
        (n,) = LEN.unpack_from(chunk)
        plain = crypto.unseal(key, chunk[LEN.size : LEN.size + n], _sb_aad(vault_id, slot))
        if plain is None:
            continue
        d = orjson.loads(plain)
        found.append(Superblock(d["seq"], d["gen"], d["length"], d["header_gen"]))
    if not found:
        raise VaultTampered(file=STATE_FILE, what="no valid slot")
    return max(found, key=lambda s: s.seq), len(found) < 2


def seal_journal_frame(key: bytes, vault_id: bytes, gen: int, index: int, payload: bytes) -> bytes:
    """One commit as the bytes appended to the journal: ``len ‖ nonce ‖ ct ‖ tag``."""
    blob = crypto.seal(key, payload, frame_aad(vault_id, b"jrnl", gen, index))
    return LEN.pack(len(blob)) + blob


def open_journal_frame(
    key: bytes, vault_id: bytes, raw: bytes, pos: int, gen: int, index: int
) -> tuple[bytes, int] | None:
    """(payload, end) of the frame at ``pos``, or None: torn, too large or not ours."""
    if pos + LEN.size > len(raw):
        return None
    (n,) = LEN.unpack_from(raw, pos)
    end = pos + LEN.size + n
    if n > MAX_FRAME or end > len(raw):
        return None
    plain = crypto.unseal(key, raw[pos + LEN.size : end], frame_aad(vault_id, b"jrnl", gen, index))
    return None if plain is None else (plain, end)


def seal_snapshot(key: bytes, vault_id: bytes, gen: int, state: bytes) -> bytes:
    """A snapshot file's bytes: its magic, then generation ``gen``'s state, sealed."""
    return SNAP_MAGIC + crypto.seal(key, state, frame_aad(vault_id, b"snap", gen, 0))


def open_snapshot(key: bytes, vault_id: bytes, gen: int, raw: bytes) -> bytes:
    """A snapshot's plaintext state; :class:`VaultTampered` if its magic or seal is wrong."""
    name = snap_name(gen)
    if not raw.startswith(SNAP_MAGIC):
        raise VaultTampered(file=name, what="header")
    body = memoryview(raw)[len(SNAP_MAGIC) :]  # not a copy of tens of megabytes
    plain = crypto.unseal(key, body, frame_aad(vault_id, b"snap", gen, 0))
    if plain is None:
        raise VaultTampered(file=name, what="body")
    return plain


def seal_archive(key: bytes, vault_id: bytes, gen: int, rows: bytes) -> bytes:
    """An op archive file's bytes: its magic, then generation ``gen``'s op rows, sealed."""
    return ARCHIVE_MAGIC + crypto.seal(key, rows, frame_aad(vault_id, b"arch", gen, 0))


def open_archive(key: bytes, vault_id: bytes, gen: int, data: bytes, sha256: str) -> bytes:
    """An archive's plaintext; its SHA-256 must be the one the snapshot lists."""
    name = archive_name(gen)
    if crypto.sha256(data) != sha256 or not data.startswith(ARCHIVE_MAGIC):
        raise VaultTampered(file=name, what="body")
    plain = crypto.unseal(key, data[len(ARCHIVE_MAGIC) :], frame_aad(vault_id, b"arch", gen, 0))
    if plain is None:
        raise VaultTampered(file=name, what="body")
    return plain
