"""UUIDv7 record ids (RFC 9562): time-ordered, so new records sort last."""

from __future__ import annotations

import os
import re

from fieldapp.domain.clock import SYSTEM

# Matched whole (fullmatch): ``$`` would also accept a trailing newline.
_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def new_id(now_ms: int | None = None) -> str:
    """A fresh UUIDv7 as a lower-case string. Its time part only orders ids roughly
    (a record's dates are its fields, its changes' times their HLC stamps)."""
    ms = SYSTEM.wall_ms() if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_record_id(value: str) -> bool:
    """Whether ``value`` is a record id as fieldapp makes them (a lower-case UUIDv7)."""
    return isinstance(value, str) and _UUID7.fullmatch(value) is not None
