"""A new data key for a vault (``fieldapp passwd --rekey``, docs/vault-format.md).

Changing the passphrase re-wraps the data key only: an old ``vault.key`` with the old
passphrase would still open the data. Rekeying builds the whole vault again beside it
under a new data key — every archive re-encrypted, a new snapshot, journal, superblock
and key file, all fsynced — then swaps it in with two renames and removes the old one.
A crash at any point leaves the old vault or the new one; the next open finishes a swap
cut between the renames and removes what either side left (:func:`finish_rekey`).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from fieldapp.store import crypto, frames, fsio, keyfile
from fieldapp.store.crypto import KdfParams
from fieldapp.store.frames import JOURNAL_MAGIC
from fieldapp.store.keyfile import KEY_FILE, Keys, check_passphrase

if TYPE_CHECKING:
    from fieldapp.store.vault import Vault


def rekey(
    vault: Vault,
    new_passphrase: str,
    *,
    kdf: KdfParams | None = None,
    recovery: tuple[bytes, str] | None = None,
) -> str:
    """Rekey ``vault`` (open, writable); returns the new recovery key to show once (the
    caller may pass one it has shown and had confirmed already)."""
    from fieldapp.store.vault import lock_folder

    check_passphrase(new_passphrase)
    v = vault
    with v._write_lock:
        v._check_writable()
        v.compact()  # the journal is empty: everything is in archives and the snapshot
        recovery_raw, recovery_text = recovery or crypto.new_recovery_key()
        kdf = kdf or crypto.calibrate()
        home, parent, name = v.path, v.path.parent, v.path.name
        building = parent / f".{name}.rekey-{secrets.token_hex(4)}"
        saved = (v._keys, v._state_fd, v._sb)
        building.mkdir(mode=0o700)
        new_lock = lock_folder(building)
        try:
            plain = []
            for entry in v._archives:  # every archive read (and verified) under the old key
                data = (home / frames.archive_name(entry["gen"])).read_bytes()
                rows = frames.open_archive(
                    v._keys.frame, v.vault_id, entry["gen"], data, entry["sha256"]
                )
                plain.append((entry, rows))
            v.path, v._state_fd = building, -1
            v._keys = Keys.new()
            entries = []
            for entry, rows in plain:
                data = frames.seal_archive(v._keys.frame, v.vault_id, entry["gen"], rows)
                fsio.atomic_write(building / frames.archive_name(entry["gen"]), data)
                entries.append({**entry, "sha256": crypto.sha256(data)})
            v._write_snapshot(v._gen, entries)
            fsio.atomic_write(building / frames.journal_name(v._gen), JOURNAL_MAGIC)
            header_gen = v._header_gen + 1
            v._write_superblock(v._sb.but(header_gen=header_gen, length=len(JOURNAL_MAGIC)))
            v._write_superblock(v._sb)  # both slots under the new key
            header = keyfile.build(
                v._keys, v.vault_id, new_passphrase, kdf, recovery_raw, header_gen
            )
            fsio.atomic_write(building / KEY_FILE, header)  # last: now it is a vault
            fsio.fsync_dir(building)
        except BaseException:
            if v._state_fd >= 0 and v._state_fd != saved[1]:
                os.close(v._state_fd)
            v.path = home
            v._keys, v._state_fd, v._sb = saved
            os.close(new_lock)
            shutil.rmtree(building, ignore_errors=True)
            raise
        # Swap: the old folder aside, the new one in its place, then the old removed.
        retired = parent / f".{name}.retired-{secrets.token_hex(4)}"
        os.rename(home, retired)
        os.rename(building, home)
        fsio.fsync_dir(parent)
        os.close(v._journal_fd)
        if saved[1] >= 0:
            os.close(saved[1])  # the old state file's; the new one's stays open
        os.close(v._lock_fd)
        v._lock_fd = new_lock
        v.path = home
        v._header_gen = header_gen
        v._header = keyfile.adopt(header)
        v._archives = entries
        v._journal_fd = -1
        v._open_journal(len(JOURNAL_MAGIC), 0)
        shutil.rmtree(retired, ignore_errors=True)
        fsio.fsync_dir(parent)
        return recovery_text


def finish_rekey(path: Path) -> None:
    """After a crash in :func:`rekey`: if the swap was cut between its two renames, put
    the new vault in place; remove what either side left beside it. A folder another
    process still holds (a rekey under way) is left alone."""
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
            if (folder / KEY_FILE).exists() and _free(folder):
                os.rename(folder, path)  # the new vault, complete: finish the swap
                fsio.fsync_dir(parent)
                building.remove(folder)
                break
    if path.exists():
        for folder in building + retired:
            if _free(folder):
                shutil.rmtree(folder, ignore_errors=True)


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
