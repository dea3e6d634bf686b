"""What a vault commit may hold (docs/vault-format.md, "What a commit may hold").

Every other limit in fieldapp follows from these: a bundle's (``sync/bundle.py``), the
outbox's cut, a local save's. A commit over them is refused before anything is
written, so the vault never holds a frame its own open could not read back.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fieldapp.errors import CommitRefused

# The largest frame open() reads back: no commit may write a larger one.
MAX_FRAME = 64 * 1024 * 1024
SEAL_OVERHEAD = 12 + 16  # nonce + GCM tag
MAX_PAYLOAD = MAX_FRAME - SEAL_OVERHEAD
# One op's value, encoded. Every save must fit a bundle (sync/bundle.py MAX_RAW, 32×
# this) and be accepted by the supervisor, who applies the same limit.
MAX_VALUE = 1024 * 1024
# What a field name may be: it is a key of records, of stamps and of every index.
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_DEPTH = 32  # of a value's nesting
MAX_INT = 2**63  # orjson and every other reader


def check_value(value: Any, depth: int = 0) -> None:
    """Refuse (``CommitRefused``) a value the journal could not give back identically:
    JSON only — no NaN or infinity (they would come back as null), no integer beyond
    64 bits, no lone surrogate, string keys, bounded nesting."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and not _encodable(value):
            raise CommitRefused(what="value")
        return
    if isinstance(value, int):
        if not -MAX_INT <= value < MAX_INT:
            raise CommitRefused(what="value")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CommitRefused(what="value")
        return
    if depth >= MAX_DEPTH:
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


def check_field(name: str) -> None:
    """Refuse a field name the vault does not allow (an ASCII identifier, ≤ 64)."""
    if not FIELD_NAME.fullmatch(name):
        raise CommitRefused(what="field_name")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
