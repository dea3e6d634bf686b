"""Domain models, vocabularies and validation — no I/O, no UI."""

from fieldapp.domain.enums import (
    Activity,
    CheckAnswer,
    ConsentStatus,
    Gender,
    NeedCategory,
    NeedStatus,
    PlanStatus,
    RecordKind,
    Urgency,
    VisitKind,
    Vulnerability,
)
from fieldapp.domain.models import (
    MODELS,
    CadenceRule,
    CasePlan,
    CheckItem,
    Consent,
    FollowUp,
    Goal,
    HouseholdMember,
    Interview,
    Need,
    PlanAction,
    PlanReview,
    Record,
    Resident,
    Visit,
)
from fieldapp.domain.validation import validate

__all__ = [
    "MODELS", "Activity", "CadenceRule", "CasePlan", "CheckAnswer", "CheckItem", "Consent",
    "ConsentStatus", "FollowUp", "Gender", "Goal", "HouseholdMember", "Interview", "Need",
    "NeedCategory", "NeedStatus", "PlanAction", "PlanReview", "PlanStatus", "Record",
    "RecordKind", "Resident", "Urgency", "Visit", "VisitKind", "Vulnerability", "validate",
]  # fmt: skip
