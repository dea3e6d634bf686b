"""Keys and sealed frames for the vault.

- The data key (DEK) is 32 random bytes. It is wrapped (AES-256-GCM) by a key from the
  passphrase (Argon2id, parameters stored with the slot) and by a key from the
  recovery key (HKDF: the recovery key already has 256 bits of entropy).
- Sub-keys for frames and the header MAC come from the DEK through HKDF.
- Every frame is AES-256-GCM with a random 96-bit nonce and associated data naming
  the vault, the file and the frame's position, so a moved, reordered or swapped frame
  does not decrypt.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.errors import RecoveryKeyMistyped

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16

# DESIGN §3.3: at least 64 MiB and at least 150 ms on this machine class.
MIN_MEMORY_KIB = 64 * 1024
TARGET_SECONDS = 0.150
# Refuse absurd parameters read from a (possibly tampered) key file before running them.
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 64


@dataclass(frozen=True)
class KdfParams:
    """Argon2id's cost for the passphrase slot: memory in KiB, passes, lanes."""

    memory_kib: int
    iterations: int
    lanes: int

    def as_dict(self) -> dict[str, int]:
        """The parameters as the key file's passphrase slot stores them."""
        return {"memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes}

    def is_sane(self) -> bool:
        """Whether the parameters are within the bounds fieldapp will run: they are read from a
        key file that may have been tampered with."""
        return (
            8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB
            and 1 <= self.iterations <= MAX_ITERATIONS
            and 1 <= self.lanes <= MAX_LANES
        )


def calibrate(target: float = TARGET_SECONDS, memory_kib: int = MIN_MEMORY_KIB) -> KdfParams:
    """Argon2id parameters taking at least ``target`` seconds here (median of 3 runs)."""
    lanes = 4
    iterations = 2
    derive_passphrase_key("calibration", b"\0" * 16, KdfParams(memory_kib, 1, lanes))  # warm-up
    while True:
        params = KdfParams(memory_kib, iterations, lanes)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            derive_passphrase_key("calibration", b"\0" * 16, params)
            times.append(time.perf_counter() - start)
        median = sorted(times)[1]
        if median >= target or iterations >= MAX_ITERATIONS:
            return params
        iterations = max(iterations + 1, int(iterations * target / median + 0.999))


def derive_passphrase_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The key that wraps the data key in the passphrase slot (Argon2id)."""
    # NFC so that the same passphrase typed through different input methods matches.
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = Argon2id(
        salt=salt,
        length=KEY_LEN,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(secret)


def hkdf(key: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    """A 32-byte sub-key of ``key`` for the purpose ``info`` names (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=salt, info=info).derive(key)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce ‖ ciphertext ‖ tag."""
    nonce = os.urandom(NONCE_LEN)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes | memoryview, aad: bytes) -> bytes | None:
    """The plaintext, or None when the blob was changed, moved or sealed with another key.
    The blob is read in place (a snapshot is tens of megabytes: no copy of it is made)."""
    if len(blob) < NONCE_LEN + TAG_LEN:
        return None
    view = memoryview(blob)
    try:
        return AESGCM(key).decrypt(view[:NONCE_LEN], view[NONCE_LEN:], aad)
    except InvalidTag:
        return None


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data``, in lower-case hex."""
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ recovery keys
# 32 random bytes + 3 check bytes, Crockford base32, groups of four: 14 groups.
# The check bytes tell a typo ("mistyped") from a wrong key before any unwrapping.

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)} | {"O": 0, "I": 1, "L": 1}
RECOVERY_RAW_LEN = 32
_CHECK_LEN = 3


def _b32(data: bytes) -> str:
    bits = int.from_bytes(data, "big")
    n = (len(data) * 8 + 4) // 5
    bits <<= n * 5 - len(data) * 8
    return "".join(_ALPHABET[(bits >> (5 * (n - 1 - i))) & 31] for i in range(n))


def new_recovery_key() -> tuple[bytes, str]:
    """(raw key, the text shown to the user once)."""
    raw = secrets.token_bytes(RECOVERY_RAW_LEN)
    text = _b32(raw + hashlib.sha256(raw).digest()[:_CHECK_LEN])
    return raw, "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def recovery_groups(text: str) -> list[str]:
    """The groups of four of a recovery key's text, as the user copies them down."""
    return text.split("-")


def parse_recovery_key(text: str) -> bytes:
    """The raw key from what the user typed (case, spaces and dashes do not matter)."""
    chars = [c for c in text.upper() if c not in " -\t\n"]
    total = RECOVERY_RAW_LEN + _CHECK_LEN
    n = (total * 8 + 4) // 5
    if len(chars) != n or any(c not in _DECODE for c in chars):
        raise RecoveryKeyMistyped()
    bits = 0
    for c in chars:
        bits = (bits << 5) | _DECODE[c]
    bits >>= n * 5 - total * 8
    data = bits.to_bytes(total, "big")
    raw, check = data[:RECOVERY_RAW_LEN], data[RECOVERY_RAW_LEN:]
    if hashlib.sha256(raw).digest()[:_CHECK_LEN] != check:
        raise RecoveryKeyMistyped()
    return raw


def canonical(obj: Any) -> bytes:
    """Deterministic JSON bytes for MACs and checksums."""
    import orjson

    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
