"""Chinese phone numbers: mobiles (1[3-9]x, 11 digits) and landlines (area code + 7–8 digits)."""

from __future__ import annotations

import re

from pydantic_core import PydanticCustomError

_MOBILE = re.compile(r"1[3-9]\d{9}")
_DIGITS = re.compile(r"\d+")


def _error() -> PydanticCustomError:
    return PydanticCustomError("phone_format", "not a phone number")


def normalise_phone(value: str) -> str:
    """``138 0013 8000`` → ``13800138000``; ``(010) 6512 3456`` → ``010-65123456``.

    A +86/0086 prefix is dropped; an extension may follow ``-``, ``#`` or ``转``
    and is kept as ``-ext``. Area codes are three digits for 010 and 02x, four otherwise.
    """
    v = value.strip(" \t\n\r\u3000")
    for sep in (" ", "\u3000", "(", ")", "（", "）"):
        v = v.replace(sep, "")
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("0086"):
        v = v[4:]
    v = v.replace("转", "#")
    if not v.isascii() or not v.isprintable():
        raise _error()
    if _MOBILE.fullmatch(v.replace("-", "")):
        return v.replace("-", "")
    ext = None
    if "#" in v:
        v, ext = v.split("#", 1)
    parts = v.split("-")
    if ext is None and (len(parts) == 3 or (len(parts) == 2 and len(parts[0]) > 4)):
        # 010-65123456-8001, or (010) 6512 3456-8001 once the brackets are gone
        parts, ext = parts[:-1], parts[-1]
    digits = "".join(parts)
    if not _DIGITS.fullmatch(digits) or (ext is not None and not re.fullmatch(r"\d{1,6}", ext)):
        raise _error()
    if not digits.startswith("0") or digits.startswith("00"):
        raise _error()
    area_len = 3 if digits.startswith(("010", "02")) else 4
    area, number = digits[:area_len], digits[area_len:]
    if len(parts) == 2 and parts[0] != area:
        raise _error()
    if not re.fullmatch(r"[2-9]\d{6,7}", number):
        raise _error()
    return f"{area}-{number}" + (f"-{ext}" if ext else "")


def is_mobile(value: str) -> bool:
    """Whether a normalised number is a mobile (11 digits starting 13–19)."""
    return bool(_MOBILE.fullmatch(value))
