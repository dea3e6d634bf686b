"""The key file, ``vault.key`` (docs/vault-format.md, "Keys"): the data key wrapped by
the passphrase (Argon2id) and by the recovery key, a MAC and a checksum over all of it.
No personal data; the only plaintext is KDF parameters, salts and the vault's id.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fieldapp.errors import (
    VaultTampered,
    VaultUnsupported,
    WeakPassphrase,
    WrongPassphrase,
    WrongRecoveryKey,
)
from fieldapp.store import crypto
from fieldapp.store.crypto import KdfParams

KEY_FILE = "vault.key"
FORMAT = "fieldapp-vault"
VERSION = 1  # of the key file
MIN_PASSPHRASE = 8


def check_passphrase(passphrase: str) -> None:
    """Raise :class:`WeakPassphrase` for passphrases too short to protect a lost laptop."""
    if len(passphrase.strip()) < MIN_PASSPHRASE:
        raise WeakPassphrase(min=MIN_PASSPHRASE)


@dataclass(frozen=True)
class Keys:
    """The data key and the two keys derived from it."""

    dek: bytes
    frame: bytes  # seals every frame, snapshot, archive and superblock
    mac: bytes  # authenticates the key file

    @classmethod
    def from_dek(cls, dek: bytes) -> Keys:
        """The keys of a vault whose data key is ``dek`` (the other two derived by HKDF)."""
        return cls(
            dek,
            crypto.hkdf(dek, b"fieldapp vault frames v1"),
            crypto.hkdf(dek, b"fieldapp vault header mac v1"),
        )

    @classmethod
    def new(cls) -> Keys:
        """Keys for a new vault: a fresh random data key and the keys derived from it."""
        return cls.from_dek(secrets.token_bytes(crypto.KEY_LEN))


def _slot_aad(vault_id: bytes, name: str, params: dict[str, Any]) -> bytes:
    return b"fieldapp slot|" + name.encode() + b"|" + vault_id + crypto.canonical(params)


def build(
    keys: Keys,
    vault_id: bytes,
    passphrase: str,
    kdf: KdfParams,
    recovery_raw: bytes | None,
    header_gen: int,
    keep_recovery: dict[str, Any] | None = None,
) -> bytes:
    """A key file wrapping ``keys.dek`` under ``passphrase`` and the recovery key (or
    keeping the recovery slot ``keep_recovery`` as it is: a passphrase change)."""
    salt = secrets.token_bytes(16)
    pw_params = {"kdf": "argon2id", "salt": salt.hex(), **kdf.as_dict()}
    kek = crypto.derive_passphrase_key(passphrase, salt, kdf)
    pw_slot = {
        **pw_params,
        "wrapped": crypto.seal(kek, keys.dek, _slot_aad(vault_id, "passphrase", pw_params)).hex(),
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
            "wrapped": crypto.seal(
                rkek, keys.dek, _slot_aad(vault_id, "recovery", rec_params)
            ).hex(),
        }
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "vault_id": vault_id.hex(),
        "header_gen": header_gen,
        "slots": {"passphrase": pw_slot, "recovery": rec_slot},
    }
    body["mac"] = hmac.new(keys.mac, crypto.canonical(body), "sha256").hexdigest()
    body["checksum"] = crypto.sha256(crypto.canonical(body))
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)


def adopt(data: bytes) -> dict[str, Any]:
    """A key file just written, as the header kept in memory (no checksum, no MAC)."""
    header: dict[str, Any] = orjson.loads(data)
    header.pop("checksum")
    header.pop("mac")
    return header


def read(path: Path) -> dict[str, Any]:
    """The key file of the vault in ``path``, its checksum, format and version checked."""
    raw = (path / KEY_FILE).read_bytes()
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


def unlock(
    header: dict[str, Any], passphrase: str | None, recovery_raw: bytes | None
) -> tuple[Keys, bytes, int]:
    """Unwrap the data key with the passphrase (or the recovery key) and check the MAC:
    the keys, the vault id and the header generation. ``header`` loses its MAC."""
    try:
        vault_id = bytes.fromhex(header["vault_id"])
        slots = header["slots"]
        header_gen = int(header["header_gen"])
        if passphrase is not None:
            slot = dict(slots["passphrase"])
            wrapped = bytes.fromhex(slot.pop("wrapped"))
            params = KdfParams(slot["memory_kib"], slot["iterations"], slot["lanes"])
            if not params.is_sane() or slot["kdf"] != "argon2id":
                raise VaultTampered(file=KEY_FILE, what="kdf")
            kek = crypto.derive_passphrase_key(passphrase, bytes.fromhex(slot["salt"]), params)
            dek = crypto.unseal(kek, wrapped, _slot_aad(vault_id, "passphrase", slot))
            if dek is None:
                raise WrongPassphrase()
        else:
            assert recovery_raw is not None
            slot = dict(slots["recovery"])
            wrapped = bytes.fromhex(slot.pop("wrapped"))
            rkek = crypto.hkdf(recovery_raw, b"fieldapp recovery v1", bytes.fromhex(slot["salt"]))
            dek = crypto.unseal(rkek, wrapped, _slot_aad(vault_id, "recovery", slot))
            if dek is None:
                raise WrongRecoveryKey()
    except (KeyError, TypeError, ValueError):
        raise VaultTampered(file=KEY_FILE, what="slots") from None
    keys = Keys.from_dek(dek)
    mac = header.pop("mac", "")
    expected = hmac.new(keys.mac, crypto.canonical(header), "sha256").hexdigest()
    if not hmac.compare_digest(str(mac), expected):
        raise VaultTampered(file=KEY_FILE, what="mac")
    return keys, vault_id, header_gen


def passphrase_opens(header: dict[str, Any], vault_id: bytes, passphrase: str) -> bool:
    """Whether ``passphrase`` unwraps the data key (to leave the lock screen)."""
    slot = dict(header["slots"]["passphrase"])
    wrapped = bytes.fromhex(slot.pop("wrapped"))
    params = KdfParams(slot["memory_kib"], slot["iterations"], slot["lanes"])
    kek = crypto.derive_passphrase_key(passphrase, bytes.fromhex(slot["salt"]), params)
    return crypto.unseal(kek, wrapped, _slot_aad(vault_id, "passphrase", slot)) is not None
