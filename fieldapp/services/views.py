"""What the screens are shown, as small rows and summaries built by the workspace
(``fieldapp.services.workspace``): a resident in a list, a contact due, a need, a case
plan's overdue action, a supervision note in the inbox, Today's summary, a resident's
whole file and a damaged record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fieldapp.domain import (
    CasePlan,
    Interview,
    Need,
    Record,
    RecordKind,
    Resident,
    SupervisionNote,
    Visit,
)
from fieldapp.services import schedule


@dataclass(frozen=True)
class ResidentRow:
    """One line of the residents list: name, community, age, tags, how many open needs,
    and whether a contact is overdue."""

    id: str
    name: str
    community: str
    age: int | None
    tags: tuple[str, ...]
    open_needs: int
    overdue: bool


@dataclass(frozen=True)
class DueRow:
    """One contact due or overdue, as the today screen lists it."""

    resident_id: str
    name: str
    community: str
    activity: str
    due: dt.date
    days_overdue: int


@dataclass(frozen=True)
class NeedRow:
    """One need as the lists show it, with its resident's name and whether it is overdue."""

    id: str
    resident_id: str
    resident_name: str
    category: str
    description: str
    urgency: str
    status: str
    due_date: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class PlanActionRow:
    """One action of an active case plan that is past its due date and not done, with its
    resident's name and the plan's title."""

    plan_id: str
    resident_id: str
    resident_name: str
    plan_title: str
    text: str
    owner: str
    due_date: dt.date
    days_overdue: int


@dataclass(frozen=True)
class AssignmentRow:
    """A resident newly in this device's scope, not opened here since: whose file, and
    whether it is assigned to this worker or shared with them."""

    resident_id: str
    name: str
    community: str
    shared: bool
    assigned_at: dt.datetime


@dataclass(frozen=True)
class NoteRow:
    """One open supervision note (督导意见) in the worker's inbox: whose file, what is asked,
    by when (``days_overdue`` 0 when not past due), what it is about and who wrote it."""

    id: str
    resident_id: str
    resident_name: str
    action: str
    status: str
    text: str
    due_date: dt.date | None
    days_overdue: int
    created_at: dt.datetime
    target_kind: str
    author: str


@dataclass
class TodaySummary:
    """The today screen: contacts due, urgent needs, overdue needs, needs due this week,
    overdue case-plan actions, and the counts of needs listed, resolved and open and of
    residents."""

    today: dt.date
    due: list[DueRow]
    urgent_needs: list[NeedRow]
    overdue_needs: list[NeedRow]
    needs_due_soon: list[NeedRow]
    overdue_actions: list[PlanActionRow]
    needs_listed: int
    needs_resolved: int
    needs_open: int
    residents: int
    # The inbox: open supervision notes, the most overdue first, then the newest.
    notes: list[NoteRow] = field(default_factory=list)
    # Fields in conflict (this worker and the supervisor changed them at once), to review.
    conflicts: int = 0
    # The inbox too: residents newly assigned to (or shared with) this worker, newest first.
    assignments: list[AssignmentRow] = field(default_factory=list)


@dataclass
class ResidentFile:
    """Everything about one person (一人一档案): the records of every kind that belongs
    to a resident's file (:func:`fieldapp.domain.kinds.resident_file_kinds`), by kind."""

    resident: Resident
    today: dt.date  # the day it was read (ages, overdue needs)
    linked: dict[str, list[Record]] = field(default_factory=dict)
    due: list[schedule.DueItem] = field(default_factory=list)
    damaged: list[Damaged] = field(default_factory=list)
    authors: dict[str, str] = field(default_factory=dict)  # a note's id → who wrote it

    def of(self, kind: str) -> list[Record]:
        """The file's valid records of ``kind`` (a list the file keeps)."""
        return self.linked.setdefault(kind, [])

    @property
    def needs(self) -> list[Need]:
        """The resident's needs: open ones first, then by opening date."""
        return self.of(RecordKind.NEED.value)  # type: ignore[return-value]

    @property
    def interviews(self) -> list[Interview]:
        """The resident's interviews, newest first."""
        return self.of(RecordKind.INTERVIEW.value)  # type: ignore[return-value]

    @property
    def visits(self) -> list[Visit]:
        """The resident's visits, newest first."""
        return self.of(RecordKind.VISIT.value)  # type: ignore[return-value]

    @property
    def plans(self) -> list[CasePlan]:
        """The resident's case plans."""
        return self.of(RecordKind.CASE_PLAN.value)  # type: ignore[return-value]

    @property
    def notes(self) -> list[SupervisionNote]:
        """The supervision notes on the file: open ones first, the most overdue first, then
        the newest."""
        return self.of(RecordKind.SUPERVISION_NOTE.value)  # type: ignore[return-value]


@dataclass(frozen=True)
class Damaged:
    """A stored record that does not make a valid one (written by an older fieldapp
    before the checks, or half-arrived): shown with what can be read, never a crash."""

    kind: str
    id: str
    fields: dict[str, Any]
