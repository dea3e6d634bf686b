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
    """Refuse (``CommitRefused``) what the journal could not give back identically and
    its JSON encoder would let through: NaN or infinity (they would come back as null),
    an integer beyond 64 signed bits, nesting deeper than MAX_DEPTH, a type JSON does
    not have. The encoder refuses the rest (a lone surrogate, a non-string key) and the
    vault turns that into ``CommitRefused`` too."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise CommitRefused(what="value")
    elif kind is int:
        if not -MAX_INT <= value < MAX_INT:
            raise CommitRefused(what="value")  # orjson would take up to 2**64 - 1
    elif kind is list or kind is dict:
        if depth >= MAX_DEPTH:
            raise CommitRefused(what="value")
        for item in value if kind is list else value.values():
            if type(item) in _WALKED:
                check_value(item, depth + 1)
    elif kind not in _PLAIN:
        raise CommitRefused(what="value")  # a subclass or a type JSON does not have


_WALKED = (float, int, list, dict)
_PLAIN = (str, int, bool, type(None))


def check_field(name: str) -> None:
    """Refuse a field name the vault does not allow (an ASCII identifier, ≤ 64)."""
    if not FIELD_NAME.fullmatch(name):
        raise CommitRefused(what="field_name")
