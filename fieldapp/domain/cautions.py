"""Warnings that do not refuse a record: the save goes through and the worker is told.

A refusal (:mod:`fieldapp.domain.validation`) means the record cannot be right; a
caution means it may well be right but is worth a second look — an ID number whose
gender digit disagrees with the gender chosen (a typo, or a person the ID does not
describe), an interview or a visit with someone who has not agreed to a file. Pure
functions of the records; the forms show what they find (``warn.<code>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fieldapp.domain.enums import ConsentStatus, Gender
from fieldapp.domain.models import Interview, Record, Resident, Visit


@dataclass(frozen=True)
class Caution:
    """One warning about a record: the field it is about, a stable code, parameters."""

    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


def gender_of_id_number(id_number: str | None) -> Gender | None:
    """The gender an 18-character ID number's 17th digit gives (odd: male, even:
    female), or None when there is no such digit."""
    if not id_number or len(id_number) != 18 or not id_number[16].isdigit():
        return None
    return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


def id_gender_cautions(id_number: str | None, gender: str | None) -> list[Caution]:
    """A caution on the ID number when its gender digit disagrees with the gender
    chosen (nothing when either is not known: other, unknown, no ID number)."""
    written = gender_of_id_number((id_number or "").replace(" ", ""))
    if written is None or gender not in (Gender.MALE, Gender.FEMALE):
        return []
    if written == gender:
        return []
    return [Caution("id_number", "id_gender_mismatch", {"gender": written.value})]


_CONSENT_CODES = {
    ConsentStatus.PENDING: "consent_pending",
    ConsentStatus.WITHDRAWN: "consent_withdrawn",
}


def consent_cautions(record: Record, residents: list[Resident]) -> list[Caution]:
    """A caution for each resident an interview or a visit is with whose consent is
    not yet asked or withdrawn (nothing for other kinds of record)."""
    if isinstance(record, Interview):
        about = set(record.resident_ids)
    elif isinstance(record, Visit):
        about = {record.resident_id}
    else:
        return []
    return [
        Caution("resident", _CONSENT_CODES[r.consent.status], {"name": r.name})
        for r in residents
        if r.id in about and r.consent.status in _CONSENT_CODES
    ]


def cautions_of(record: Record, residents: list[Resident] | None = None) -> list[Caution]:
    """Every caution about ``record`` (``residents``: the people it is about, for
    their consent)."""
    found: list[Caution] = []
    if isinstance(record, Resident):
        found += id_gender_cautions(record.id_number, record.gender)
    found += consent_cautions(record, residents or [])
    return found
