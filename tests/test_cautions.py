"""Warnings that let a record be saved (fieldapp.domain.cautions): pure functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fieldapp.domain import ConsentStatus, Gender, Interview, Need, Resident, Visit, validate
from fieldapp.domain.cautions import Caution, cautions_of, gender_of_id_number
from fieldapp.domain.idcard import make_id_number
from fieldapp.i18n import t

TODAY = dt.date(2024, 3, 10)
BORN = dt.date(1949, 12, 31)
MALE_ID = make_id_number("110105", BORN, 1)  # 17th digit 1: odd
FEMALE_ID = make_id_number("110105", BORN, 2)  # 17th digit 2: even


def resident(**fields: Any) -> Resident:
    return validate(Resident, {"name": "王秀英", "community": "和平里社区", **fields}, today=TODAY)


def test_the_17th_digit_of_an_id_number_says_the_gender() -> None:
    assert gender_of_id_number(MALE_ID) == Gender.MALE
    assert gender_of_id_number(FEMALE_ID) == Gender.FEMALE
    assert gender_of_id_number(None) is None and gender_of_id_number("123") is None


@pytest.mark.parametrize(
    ("id_number", "gender", "warned"),
    [
        (FEMALE_ID, "male", True),
        (MALE_ID, "female", True),
        (MALE_ID, "male", False),
        (FEMALE_ID, "female", False),
        (MALE_ID, "unknown", False),  # not asked: nothing to disagree with
        (FEMALE_ID, "other", False),
        (None, "male", False),
    ],
)
def test_an_id_number_that_disagrees_with_the_gender_is_a_caution(
    id_number: str | None, gender: str, warned: bool
) -> None:
    person = resident(id_number=id_number, gender=gender)
    written = "female" if id_number == FEMALE_ID else "male"
    expected = [Caution("id_number", "id_gender_mismatch", {"gender": written})]
    assert cautions_of(person) == (expected if warned else [])


@pytest.mark.parametrize(
    ("status", "code"),
    [("pending", "consent_pending"), ("withdrawn", "consent_withdrawn"), ("given", None)],
)
def test_an_interview_or_visit_without_consent_is_a_caution(status: str, code: str | None) -> None:
    consent: dict[str, Any] = {"status": status}
    if status != "pending":  # given or withdrawn: on a date
        consent["on"] = "2024-01-02"
    person = resident(consent=consent)
    assert person.consent.status == ConsentStatus(status)
    interview = validate(
        Interview,
        {"resident_ids": [person.id], "held_on": "2024-03-10", "template_id": "intake"},
        today=TODAY,
    )
    visit = validate(
        Visit,
        {
            "resident_id": person.id,
            "kind": "home",
            "started_at": "2024-03-10T09:30:00",
            "duration_minutes": 45,
            "purpose": "月度家访",
        },
        today=TODAY,
    )
    for record in (interview, visit):
        expected = [Caution("resident", code, {"name": "王秀英"})] if code else []
        assert cautions_of(record, [person]) == expected
    need = validate(
        Need,
        {"resident_id": person.id, "category": "health", "description": "需要轮椅"},
        today=TODAY,
    )
    assert cautions_of(need, [person]) == []  # a need is not a meeting


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_caution_is_said_in_both_languages(lang: str) -> None:
    for code in ("id_gender_mismatch", "consent_pending", "consent_withdrawn"):
        text = t(f"warn.{code}", lang, name="王秀英", gender=t("enum.Gender.female", lang))
        assert text and f"warn.{code}" not in text and "{" not in text
