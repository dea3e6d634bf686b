"""Closed vocabularies of the domain. Values are stable ids (stored, synced);
labels come from the catalogs under ``enum.<Name>.<value>``."""

from __future__ import annotations

from enum import StrEnum


class Gender(StrEnum):
    """A resident's gender as recorded (``unknown`` when not asked or not told)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Vulnerability(StrEnum):
    """Why a resident is on the caseload: the tags on the file (高龄独居, 低保, 帮教 …)."""

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
    """Where a resident's consent to keep and share the file stands."""

    PENDING = "pending"
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class Activity(StrEnum):
    """What a cadence rule asks for: 周面谈 + 月家访 is interview/7 + home_visit/30."""

    INTERVIEW = "interview"
    HOME_VISIT = "home_visit"
    PHONE_CALL = "phone_call"


class NeedCategory(StrEnum):
    """The area of life a need is in (income, housing, health …)."""

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
    """How soon a need has to be acted on."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class NeedStatus(StrEnum):
    """Where a need stands in its workflow (see :mod:`fieldapp.domain.workflow`)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REFERRED = "referred"
    CLOSED = "closed"


class VisitKind(StrEnum):
    """How a contact with a resident happened: at home, by phone, in the office, on outreach."""

    HOME = "home"
    PHONE = "phone"
    OFFICE = "office"
    OUTREACH = "outreach"


class CheckAnswer(StrEnum):
    """The answer to one item of a visit's checklist: yes, no, or not applicable."""

    YES = "yes"
    NO = "no"
    NOT_APPLICABLE = "na"


class PlanStatus(StrEnum):
    """Where a case plan stands: a draft, in force, or closed."""

    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class NoteAction(StrEnum):
    """What a supervision note (督导意见) asks the worker to do."""

    REVIEW = "review"  # look at the record again (复核)
    CALL = "call"  # phone the resident
    VISIT = "visit"  # go and see them
    UPDATE_PLAN = "update_plan"  # change the case plan
    EXPLAIN = "explain"  # tell the supervisor what happened
    OTHER = "other"


class NoteStatus(StrEnum):
    """Where a supervision note stands (see :mod:`fieldapp.domain.workflow`): new, seen
    by the worker (acknowledged), done."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"


class RecordKind(StrEnum):
    """The stable id of each kind of record (an op's ``kind``, its vault table's name)."""

    RESIDENT = "resident"
    NEED = "need"
    INTERVIEW = "interview"
    VISIT = "visit"
    CASE_PLAN = "case_plan"
    SUPERVISION_NOTE = "supervision_note"
    ASSIGNMENT = "assignment"
    SCOPE_RECEIPT = "scope_receipt"
    OFFICE_NOTE = "office_note"


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
    ("supervision_note", "action"): "NoteAction",
    ("supervision_note", "status"): "NoteStatus",
}
