"""Closed vocabularies of the domain. Values are stable ids (stored, synced);
labels come from the catalogs under ``enum.<Name>.<value>``."""

from __future__ import annotations

from enum import StrEnum


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Vulnerability(StrEnum):
    ELDERLY_ALONE = "elderly_alone"  # 高龄独居
    DISABILITY = "disability"
    MINOR = "minor"
    LOW_INCOME = "low_income"  # 低保/低收入
    JUVENILE_ASSISTANCE = "juvenile_assistance"  # 帮教
    LEFT_BEHIND_CHILD = "left_behind_child"
    CHRONIC_ILLNESS = "chronic_illness"
    MENTAL_HEALTH = "mental_health"
    UNEMPLOYED = "unemployed"
    DOMESTIC_VIOLENCE = "domestic_violence"


class ConsentStatus(StrEnum):
    PENDING = "pending"
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class Activity(StrEnum):
    """What a cadence rule asks for: 周面谈 + 月家访 is interview/7 + home_visit/30."""

    INTERVIEW = "interview"
    HOME_VISIT = "home_visit"
    PHONE_CALL = "phone_call"


class NeedCategory(StrEnum):
    INCOME = "income"
    HOUSING = "housing"
    HEALTH = "health"
    DAILY_CARE = "daily_care"
    EDUCATION = "education"
    EMPLOYMENT = "employment"
    LEGAL = "legal"
    PSYCHOLOGICAL = "psychological"
    FAMILY = "family"
    DISABILITY_SUPPORT = "disability_support"
    OTHER = "other"


class Urgency(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class NeedStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REFERRED = "referred"
    CLOSED = "closed"


class VisitKind(StrEnum):
    HOME = "home"
    PHONE = "phone"
    OFFICE = "office"
    OUTREACH = "outreach"


class CheckAnswer(StrEnum):
    YES = "yes"
    NO = "no"
    NOT_APPLICABLE = "na"


class PlanStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class RecordKind(StrEnum):
    RESIDENT = "resident"
    NEED = "need"
    INTERVIEW = "interview"
    VISIT = "visit"
    CASE_PLAN = "case_plan"


# Which stored fields hold a vocabulary value: (record kind, field) → enum name (its
# labels are ``enum.<Name>.<value>`` in the catalogs).
ENUM_OF_FIELD: dict[tuple[str, str], str] = {
    ("resident", "gender"): "Gender",
    ("resident", "tags"): "Vulnerability",
    ("need", "category"): "NeedCategory",
    ("need", "urgency"): "Urgency",
    ("need", "status"): "NeedStatus",
    ("visit", "kind"): "VisitKind",
    ("case_plan", "status"): "PlanStatus",
}
