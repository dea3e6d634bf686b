"""A worker's session with their vault: create it (first run, ``fieldapp init``), open
it, and leave the lock screen. The app and the command line both come through here, so
a vault made either way is the same: a profile and this device's signing and receiving
keys from the first moment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fieldapp.domain.clock import Clock
from fieldapp.errors import VaultExists, VaultNotAFolder, VaultNotFound, WrongPassphrase
from fieldapp.services.records import RecordService
from fieldapp.services.workspace import Workspace
from fieldapp.store import KdfParams, Vault
from fieldapp.store.vault import KEY_FILE, KeptReader
from sync.team import device_key, receiving_key


def check_folder(path: Path) -> Path:
    """``path`` as a vault folder: refused (``VaultNotAFolder``) when it, or a folder
    above it, is a file."""
    for part in (path, *path.parents):  # a file where a folder must be (or above it)
        if part.exists():
            if not part.is_dir():
                raise VaultNotAFolder(path=str(path))
            break
    return path


def exists(path: Path) -> bool:
    """Is there a vault at ``path`` (its key file)?"""
    return (path / KEY_FILE).exists()


def create(
    path: Path,
    passphrase: str,
    *,
    name: str,
    community: str,
    kdf: KdfParams | None = None,
    recovery: tuple[bytes, str] | None = None,
    clock: Clock | None = None,
) -> tuple[Vault, str]:
    """Create a worker's vault at ``path`` with their profile and this device's signing
    key (for the bundles it will send) and receiving key (for those sealed to it);
    returns it open and the recovery key to show once. ``recovery`` is a key generated
    (and confirmed) beforehand."""
    check_folder(path)
    if exists(path):
        raise VaultExists(path=str(path))
    vault, recovery_key = Vault.create(path, passphrase, kdf=kdf, recovery=recovery, clock=clock)
    try:
        RecordService(vault).set_profile(name or "—", community or "—")
        device_key(vault)
        receiving_key(vault)
    except BaseException:
        vault.close(compact=False)
        raise
    return vault, recovery_key


def open_vault(
    path: Path,
    passphrase: str,
    *,
    clock: Clock | None = None,
    read_only: bool = False,
    peek: Callable[[KeptReader], None] | None = None,
) -> Vault:
    """Open the vault at ``path``: ``VaultNotFound`` when there is none, else whatever
    ``Vault.open`` refuses (a wrong passphrase, a tampered file, another process).
    ``peek``: see :meth:`Vault.open`."""
    check_folder(path)
    if not exists(path):
        raise VaultNotFound(path=str(path))
    return Vault.open(path, passphrase, clock=clock, read_only=read_only, peek=peek)


def open_workspace(
    path: Path,
    passphrase: str,
    *,
    clock: Clock | None = None,
    read_only: bool = False,
    peek: Callable[[KeptReader], None] | None = None,
) -> Workspace:
    """Open the vault at ``path`` and the workspace the app's screens use."""
    return Workspace(open_vault(path, passphrase, clock=clock, read_only=read_only, peek=peek))


def unlock(workspace: Workspace, passphrase: str) -> None:
    """Leave the lock screen: ``WrongPassphrase`` unless ``passphrase`` opens the vault.
    (Locking keeps the vault open; the screen covers everything until this passes.)"""
    if not workspace.vault.check_passphrase(passphrase):
        raise WrongPassphrase()
