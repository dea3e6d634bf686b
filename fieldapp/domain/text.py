"""Text checks shared by every model: no lone surrogates, no control characters,
lengths capped with a clear message."""

from __future__ import annotations

import re
import unicodedata

from pydantic_core import PydanticCustomError

NOTE_MAX = 100_000
LINE_MAX = 300
_PASTE = " \t\n\r"  # what a paste leaves around a value: trimmed, not refused


# Category Cc (C0, DEL, C1), the line and paragraph separators, and lone surrogates
# (Cs): one scan finds whether there is anything to refuse (most text has nothing).
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_REFUSED_IN_NOTES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _check_chars(value: str, allow_newlines: bool) -> None:
    scan = _REFUSED_IN_NOTES if allow_newlines else _REFUSED
    if scan.search(value) is None:
        return
    for ch in value:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise PydanticCustomError("surrogate", "text contains a broken character")
        if allow_newlines and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u2028\u2029":
            raise PydanticCustomError(
                "control_char", "text contains a control character", {"code": f"U+{code:04X}"}
            )


def clean_line(value: str, max_len: int = LINE_MAX) -> str:
    """One line of text: trimmed, no control characters, at most ``max_len``."""
    # Control characters are refused even at the ends; other whitespace (full-width and
    # no-break spaces included) is trimmed.
    _check_chars(value.strip(_PASTE), allow_newlines=False)
    value = value.strip()
    if len(value) > max_len:
        raise PydanticCustomError(
            "too_long", "text is too long", {"max": max_len, "actual": len(value)}
        )
    return value


def clean_note(value: str, max_len: int = NOTE_MAX) -> str:
    """Free text (notes, observations): newlines and tabs allowed, capped."""
    value = value.replace("\r\n", "\n").rstrip(_PASTE)
    _check_chars(value, allow_newlines=True)
    if len(value) > max_len:
        raise PydanticCustomError(
            "too_long", "text is too long", {"max": max_len, "actual": len(value)}
        )
    return value
