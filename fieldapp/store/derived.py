"""What the services work out from the records and keep beside them between sessions
(docs/vault-format.md, "Derived files"): Today's index, for one.

A derived file is sealed like every frame, with the vault's frame key, and its associated
data binds it to the vault, its name and the **revision** it was worked out at
(``Reading.revision``: the generation and the journal's length). So it opens only while
nothing has been saved since; a file from another vault, another revision, or changed
by one byte reads as missing, and whoever asked works it out again from the records. It
is never a source of truth: losing it loses nothing, and every rewrite of the vault's
files (compaction, a purge, a rekey) removes it, so it never holds what the records no
longer do.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from fieldapp.store import crypto, fsio

PREFIX = "derived-"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_U64 = struct.Struct(">Q")
MAX_DERIVED = 64 * 1024 * 1024  # larger is not ours: read as missing


def file_name(name: str) -> str:
    """The file of the derived data ``name`` (ValueError for a name that is not a slug)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a derived file name: {name!r}")
    return f"{PREFIX}{name}.fv"


def _aad(vault_id: bytes, name: str, revision: tuple[int, int]) -> bytes:
    gen, length = revision
    return (
        b"fieldapp derived|" + vault_id + name.encode() + b"|" + _U64.pack(gen) + _U64.pack(length)
    )


def write(
    folder: Path, key: bytes, vault_id: bytes, name: str, revision: tuple[int, int], data: bytes
) -> None:
    """Seal ``data`` as the derived file ``name`` at ``revision`` (atomically replaced)."""
    sealed = crypto.seal(key, data, _aad(vault_id, name, revision))
    fsio.atomic_write(folder / file_name(name), sealed)


def read(
    folder: Path, key: bytes, vault_id: bytes, name: str, revision: tuple[int, int]
) -> bytes | None:
    """The derived file ``name`` if it was sealed in this vault at ``revision``; else None
    (missing, stale, from elsewhere, damaged, not a regular file, too large)."""
    try:
        sealed = fsio.read_regular(folder / file_name(name), MAX_DERIVED)
    except OSError:  # missing, a link, a folder or a device: not ours
        return None
    if len(sealed) > MAX_DERIVED:
        return None
    return crypto.unseal(key, sealed, _aad(vault_id, name, revision))


def remove_all(folder: Path) -> None:
    """Remove every derived file (before the files they were worked out from are rewritten)."""
    for path in folder.glob(f"{PREFIX}*.fv"):
        path.unlink(missing_ok=True)
