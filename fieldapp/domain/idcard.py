"""Chinese resident identity numbers (GB 11643-1999): 17 digits + a check character."""

from __future__ import annotations

import datetime as dt

from pydantic_core import PydanticCustomError

from fieldapp.domain.clock import SYSTEM

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def birth_date_of(id_number: str) -> dt.date:
    """The birth date written in an ID number (digits 7–14); ValueError if no such day."""
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def normalise_id_number(value: str, today: dt.date | None = None) -> str:
    """Validate and normalise (upper-case X, no spaces) or raise a coded error."""
    v = value.replace(" ", "").upper()
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        raise PydanticCustomError("id_format", "ID number must be 17 digits and a check digit")
    if not v.isascii():
        raise PydanticCustomError("id_format", "ID number must be 17 digits and a check digit")
    try:
        born = birth_date_of(v)
    except ValueError:
        raise PydanticCustomError(
            "id_birth_date", "ID number has an impossible birth date"
        ) from None
    if born > (today or SYSTEM.today()) or born.year < 1880:
        raise PydanticCustomError("id_birth_date", "ID number has an impossible birth date")
    if check_char(v[:17]) != v[17]:
        raise PydanticCustomError("id_checksum", "ID number check digit does not match")
    return v


def mask_id_number(value: str | None) -> str:
    """How an ID number is shown: region and last four kept, the rest hidden."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def make_id_number(region: str, born: dt.date, serial: int) -> str:
    """A valid ID number (for demo data and tests)."""
    first17 = f"{region}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + check_char(first17)
