"""The records a social worker keeps. Pure data + validation: no I/O, no UI.

Every model refuses unknown fields (``extra="forbid"``); every refusal has a stable
code (see :func:`fieldapp.domain.validation.problems_of`) with messages in both
catalogs. A record is stored as its fields (``to_fields``); each field is the unit of
an op and of a merge.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fieldapp.domain.clock import SYSTEM
from fieldapp.domain.enums import (
    Activity,
    CheckAnswer,
    ConsentStatus,
    Gender,
    NeedCategory,
    NeedStatus,
    NoteAction,
    NoteStatus,
    PlanStatus,
    RecordKind,
    Urgency,
    VisitKind,
    Vulnerability,
)
from fieldapp.domain.idcard import birth_date_of, normalise_id_number
from fieldapp.domain.ids import is_record_id, new_id
from fieldapp.domain.phone import normalise_phone
from fieldapp.domain.text import clean_line, clean_note


def today_of(info: ValidationInfo | None) -> dt.date:
    """ "Today" for a validation: the caller's clock, passed as ``context={"today": …}``
    (see :func:`fieldapp.domain.validation.validate`); the machine's date otherwise."""
    context = info.context if info is not None else None
    if isinstance(context, dict) and isinstance(context.get("today"), dt.date):
        today: dt.date = context["today"]
        return today
    return SYSTEM.today()


def _id_number(value: str, info: ValidationInfo) -> str:
    return normalise_id_number(value, today_of(info))


def _fail(code: str, field: str) -> PydanticCustomError:
    """A cross-field refusal, attributed to the field the user should fix."""
    return PydanticCustomError(code, code, {"field": field})


def _required(max_len: int) -> AfterValidator:
    def check(value: str) -> str:
        value = clean_line(value, max_len)
        if not value:
            raise PydanticCustomError("required", "this field is required")
        return value

    return AfterValidator(check)


def _required_note(max_len: int) -> AfterValidator:
    def check(value: str) -> str:
        value = clean_note(value, max_len)
        if not value.strip():
            raise PydanticCustomError("required", "this field is required")
        return value

    return AfterValidator(check)


def _record_id(value: str) -> str:
    if not is_record_id(value):
        raise PydanticCustomError("record_id", "not a record id")
    return value


def _slug(value: str) -> str:
    if not (0 < len(value) <= 64) or not all(
        c.isascii() and (c.isalnum() or c in "_-.") for c in value
    ):
        raise PydanticCustomError("slug", "use letters, digits, '-', '_' or '.'")
    return value


def _local_time(value: dt.datetime) -> dt.datetime:
    """A time as every party's clock gives it: local and naive. One that came with a time
    zone (another tool's bundle) is turned into local time, so times always compare."""
    return value.astimezone().replace(tzinfo=None) if value.tzinfo is not None else value


Line = Annotated[str, AfterValidator(clean_line)]
RequiredLine = Annotated[str, _required(300)]
Name = Annotated[str, _required(50)]
Note = Annotated[str, AfterValidator(clean_note)]
ShortNote = Annotated[str, AfterValidator(lambda v: clean_note(v, 2000))]
RecordId = Annotated[str, AfterValidator(_record_id)]
Slug = Annotated[str, AfterValidator(_slug)]
PhoneNumber = Annotated[str, AfterValidator(normalise_phone)]
IdNumber = Annotated[str, AfterValidator(_id_number)]
LocalTime = Annotated[dt.datetime, AfterValidator(_local_time)]


class Model(BaseModel):
    """Base of every record and of the parts inside one: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class Record(Model):
    """Base of every record kind (registered in :mod:`fieldapp.domain.kinds`): an id and
    the fields that ops write."""

    KIND: ClassVar[RecordKind]
    id: RecordId = Field(default_factory=new_id)

    def to_fields(self) -> dict[str, Any]:
        """The record's fields as JSON-ready values (no id): what ops carry."""
        return self.model_dump(mode="json", exclude={"id"})

    @classmethod
    def from_fields(cls, record_id: str, fields: dict[str, Any]) -> Self:
        """The record of that id rebuilt from its stored fields, validated again."""
        return cls.model_validate({**fields, "id": record_id})


# ---------------------------------------------------------------- residents


class HouseholdMember(Model):
    """Someone who lives with the resident: name, relation, phone and a short note."""

    name: Name
    relation: Annotated[str, AfterValidator(lambda v: clean_line(v, 30))] = ""
    phone: PhoneNumber | None = None
    notes: ShortNote = ""


class Consent(Model):
    """Consent to keep and share the file (保密规范). Given/withdrawn need a date."""

    status: ConsentStatus = ConsentStatus.PENDING
    on: dt.date | None = None
    note: Line = ""

    @model_validator(mode="after")
    def _dated(self) -> Self:
        if self.status is not ConsentStatus.PENDING and self.on is None:
            raise _fail("consent_date_required", "on")
        return self


class CadenceRule(Model):
    """``interview`` every 7 days + ``home_visit`` every 30 = 周面谈 + 月家访."""

    activity: Activity
    every_days: int = Field(ge=1, le=366)


class Resident(Record):
    """一人一档案: one file per person."""

    KIND: ClassVar[RecordKind] = RecordKind.RESIDENT
    name: Name
    gender: Gender = Gender.UNKNOWN
    birth_date: dt.date | None = None
    birth_year: int | None = Field(default=None, ge=1880, le=2100)
    id_number: IdNumber | None = None
    phones: list[PhoneNumber] = Field(default_factory=list, max_length=5)
    address: Line = ""
    community: Annotated[str, _required(100)]
    household: list[HouseholdMember] = Field(default_factory=list, max_length=30)
    tags: list[Vulnerability] = Field(default_factory=list, max_length=len(Vulnerability))
    consent: Consent = Field(default_factory=Consent)
    cadence: list[CadenceRule] = Field(default_factory=list, max_length=5)
    notes: Note = ""
    # Archived: out of every list (residents, Today, needs, schedules) until restored; the
    # file and its history stay. Older records lack the field and read as not archived.
    archived: bool = False

    def to_fields(self) -> dict[str, Any]:
        """The resident's fields as ops carry them; ``archived`` only when it is set, so a
        new resident makes no op for it and saving an edit never restores an archived one
        (archiving and restoring write the field themselves)."""
        fields = super().to_fields()
        if not fields.get("archived"):
            fields.pop("archived", None)
        return fields

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        self.tags = sorted(set(self.tags))
        today = today_of(info)
        if self.birth_date is not None:
            if self.birth_date > today:
                raise _fail("date_in_future", "birth_date")
            if self.birth_year is None:
                self.birth_year = self.birth_date.year
            elif self.birth_year != self.birth_date.year:
                raise _fail("birth_year_mismatch", "birth_year")
        if self.birth_year is not None and self.birth_year > today.year:
            raise _fail("date_in_future", "birth_year")
        if self.id_number is not None:
            born = birth_date_of(self.id_number)
            if (self.birth_date and self.birth_date != born) or (
                self.birth_year and self.birth_year != born.year
            ):
                raise _fail("id_birth_mismatch", "id_number")
        seen = set()
        for rule in self.cadence:
            if rule.activity in seen:
                raise _fail("cadence_duplicate", "cadence")
            seen.add(rule.activity)
        return self

    def age(self, today: dt.date) -> int | None:
        """Age in whole years on ``today``: from the birth date, else from the birth year (then it
        may be a year high); None when neither is known."""
        if self.birth_date:
            b = self.birth_date
            return today.year - b.year - ((today.month, today.day) < (b.month, b.day))
        return today.year - self.birth_year if self.birth_year else None


# ---------------------------------------------------------------- needs

NOTE_REQUIRED = frozenset({NeedStatus.RESOLVED, NeedStatus.REFERRED})


class Need(Record):
    """One item of the needs list (需求清单)."""

    KIND: ClassVar[RecordKind] = RecordKind.NEED
    resident_id: RecordId
    category: NeedCategory
    description: Annotated[str, _required_note(2000)]
    urgency: Urgency = Urgency.MEDIUM
    status: NeedStatus = NeedStatus.OPEN
    status_note: ShortNote = ""
    referred_to: Line = ""
    opened_on: dt.date = Field(default_factory=SYSTEM.today)  # see _opened_today
    due_date: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _opened_today(cls, data: Any, info: ValidationInfo) -> Any:
        """A new need without an opening date was opened today — the caller's today."""
        if isinstance(data, dict) and "opened_on" not in data:
            data = {**data, "opened_on": today_of(info)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.status in NOTE_REQUIRED and not self.status_note.strip():
            raise _fail("status_note_required", "status_note")
        if self.due_date is not None and self.due_date < self.opened_on:
            raise _fail("due_before_opened", "due_date")
        return self


# ---------------------------------------------------------------- interviews

JSON_SAFE_INT = 2**53  # larger integers do not survive every JSON reader (bundles, exports)


def _answer(value: Any) -> Any:
    """One template answer: yes/no, a number, text, or a list of choices."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -JSON_SAFE_INT <= value <= JSON_SAFE_INT:
            raise PydanticCustomError("too_large", "number too large", {"limit": JSON_SAFE_INT})
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PydanticCustomError("number_format", "not a number")
        return value
    if isinstance(value, str):
        return clean_note(value, 10_000)
    if isinstance(value, list) and len(value) <= 100 and all(isinstance(i, str) for i in value):
        return [clean_line(item) for item in value]
    raise PydanticCustomError("answer_type", "not an answer")


# A plain validator rather than a union: one clear error per answer, no branch names.
Answer = Annotated[Any, AfterValidator(_answer)]


class FollowUp(Model):
    """Something an interview leaves to do, with an optional due date."""

    text: RequiredLine
    due_date: dt.date | None = None
    done: bool = False


class Interview(Record):
    """面谈 / 社会调查 / screening: a template's answers plus free notes."""

    KIND: ClassVar[RecordKind] = RecordKind.INTERVIEW
    resident_ids: list[RecordId] = Field(min_length=1, max_length=20)
    held_on: dt.date
    place: Line = ""
    template_id: Slug
    answers: dict[Slug, Answer] = Field(default_factory=dict, max_length=500)
    notes: Note = ""
    follow_ups: list[FollowUp] = Field(default_factory=list, max_length=50)


# ---------------------------------------------------------------- visits


class CheckItem(Model):
    """The answer to one item of a visit's checklist, with a note."""

    answer: CheckAnswer
    note: Line = ""


class Visit(Record):
    """A home visit, phone call, office meeting or outreach contact."""

    KIND: ClassVar[RecordKind] = RecordKind.VISIT
    resident_id: RecordId
    kind: VisitKind
    started_at: dt.datetime
    duration_minutes: int = Field(ge=1, le=24 * 60)
    purpose: RequiredLine
    observations: Note = ""
    checklist_template: Slug | None = None
    checklist: dict[Slug, CheckItem] = Field(default_factory=dict, max_length=200)
    next_due: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.next_due is not None and self.next_due < self.started_at.date():
            raise _fail("next_due_before_visit", "next_due")
        if self.checklist and not self.checklist_template:
            raise _fail("checklist_template_required", "checklist_template")
        return self


# ---------------------------------------------------------------- case plans


class Goal(Model):
    """One goal of a case plan, and whether it has been achieved."""

    text: RequiredLine
    achieved: bool = False


class PlanAction(Model):
    """One action of a case plan: what, who does it, by when, and whether it is done."""

    text: RequiredLine
    owner: Line = ""
    due_date: dt.date | None = None
    done: bool = False


class PlanReview(Model):
    """A review of a case plan: when it was held, what was found, and by whom."""

    held_on: dt.date
    text: Annotated[str, _required_note(10_000)]
    reviewer: Line = ""


class CasePlan(Record):
    """个性化帮教方案: goals, actions with owners and due dates, reviews."""

    KIND: ClassVar[RecordKind] = RecordKind.CASE_PLAN
    resident_id: RecordId
    title: RequiredLine
    status: PlanStatus = PlanStatus.ACTIVE
    start_date: dt.date
    goals: list[Goal] = Field(default_factory=list, max_length=50)
    actions: list[PlanAction] = Field(default_factory=list, max_length=200)
    reviews: list[PlanReview] = Field(default_factory=list, max_length=200)
    next_review: dt.date | None = None


# ---------------------------------------------------------------- supervision notes


def _check_note_times(note: SupervisionNote | OfficeNote) -> None:
    """A note is due on or after the day it was written; each status past new carries
    the time it was reached."""
    if note.due_date is not None and note.due_date < note.created_at.date():
        raise _fail("due_before_written", "due_date")
    if note.status is not NoteStatus.NEW and note.acknowledged_at is None:
        raise _fail("status_time_required", "acknowledged_at")
    if note.status is NoteStatus.DONE and note.done_at is None:
        raise _fail("status_time_required", "done_at")


class SupervisionNote(Record):
    """督导意见: what a supervisor asks of the worker about one record of a resident's file.

    ``target_id`` is the record it is about (the resident, or one of their needs, visits,
    interviews or plans) and ``target_field`` optionally the field; ``resident_id`` is the
    resident whose file holds the note, so it goes wherever the file goes. Who wrote it is
    what every record's author is: the device of its ops (``created_at``'s author). The
    worker moves ``status`` new → acknowledged → done (:mod:`fieldapp.domain.workflow`);
    each move stamps its time, so the supervisor sees how long acknowledging took."""

    KIND: ClassVar[RecordKind] = RecordKind.SUPERVISION_NOTE
    resident_id: RecordId
    target_id: RecordId
    target_field: Slug | None = None
    action: NoteAction
    text: Annotated[str, _required_note(2000)]
    due_date: dt.date | None = None
    created_at: LocalTime
    status: NoteStatus = NoteStatus.NEW
    acknowledged_at: LocalTime | None = None
    done_at: LocalTime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_note_times(self)
        return self

    @property
    def is_open(self) -> bool:
        """Whether the worker still has something to do (new or acknowledged)."""
        return self.status is not NoteStatus.DONE


# ---------------------------------------------------------------- assignments (scope)

_DEVICE_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def _device_id(value: str) -> str:
    if not _DEVICE_ID.fullmatch(value):
        raise PydanticCustomError("device_id", "not a device id")
    return value


DeviceId = Annotated[str, AfterValidator(_device_id)]


def assignment_id(resident_id: str) -> str:
    """The one assignment record of a resident: a UUIDv7 derived from the resident's id,
    so two supervisor devices assigning the same resident offline write the same record
    (its fields then merge, and a disagreement is a conflict to review) instead of two."""
    digest = hashlib.sha256(b"fieldapp assignment\0" + resident_id.encode()).hexdigest()
    h = resident_id.replace("-", "")[:12] + "7" + digest[:3] + "8" + digest[3:18]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class Assignment(Record):
    """Who holds a resident's file (DESIGN §3.7, scope): the worker's device it is assigned
    to, and the devices it is shared with. Written by a supervisor device only; its id is
    :func:`assignment_id` of the resident. A resident with no assignment is in no worker's
    scope; ``worker`` None means unassigned (taken back by the supervisor)."""

    KIND: ClassVar[RecordKind] = RecordKind.ASSIGNMENT
    resident_id: RecordId
    worker: DeviceId | None = None
    shared_with: list[DeviceId] = Field(default_factory=list, max_length=20)
    assigned_at: LocalTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.id != assignment_id(self.resident_id):
            raise _fail("assignment_id", "id")
        if self.worker is not None and self.worker in self.shared_with:
            raise _fail("shared_with_worker", "shared_with")
        if len(set(self.shared_with)) != len(self.shared_with):
            raise _fail("shared_twice", "shared_with")
        return self

    def holders(self) -> frozenset[str]:
        """The devices whose scope holds the resident."""
        out = set(self.shared_with)
        if self.worker is not None:
            out.add(self.worker)
        return frozenset(out)


_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _period(value: str) -> str:
    if not _PERIOD.fullmatch(value):
        raise PydanticCustomError("period", "not a month (YYYY-MM)")
    return value


Period = Annotated[str, AfterValidator(_period)]


class OfficeNote(Record):
    """督导意见 between levels (DESIGN §3.8): what the level above asks of a lower office
    (a street, a district) about its numbers — the city holds no resident's file to write
    on, so the note is about the office itself and, optionally, one month of its reports.

    ``office`` is the lower office's device: the note goes to it (``sync.scope``) and to
    no one else. The office answers it as a worker answers a supervision note (``status``
    new → acknowledged → done, each move stamped); everything else only the level above
    writes (``sync.preview.check_writers``). An office that sends counts only answers
    inside its aggregate bundle, as (note id, status, times): never free text."""

    KIND: ClassVar[RecordKind] = RecordKind.OFFICE_NOTE
    office: DeviceId
    period: Period | None = None
    action: NoteAction
    text: Annotated[str, _required_note(2000)]
    due_date: dt.date | None = None
    created_at: LocalTime
    status: NoteStatus = NoteStatus.NEW
    acknowledged_at: LocalTime | None = None
    done_at: LocalTime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_note_times(self)
        return self

    @property
    def is_open(self) -> bool:
        """Whether the office still has something to do (new or acknowledged)."""
        return self.status is not NoteStatus.DONE


class ScopeReceipt(Record):
    """A worker's device saying it purged a resident's file (DESIGN §3.7, leaving scope).

    Made on the device that purged it, in the same atomic step as the purge, and sent up
    in its normal outbox: the device is the author of its ops (the bundle's signature
    says who), ``purged_at`` the time by that device's clock, ``records`` how many records
    of the file went. It holds nothing about the resident but the id, and is not part of
    the resident's file (it must outlive the file it reports on)."""

    KIND: ClassVar[RecordKind] = RecordKind.SCOPE_RECEIPT
    resident_id: RecordId
    purged_at: LocalTime
    records: int = Field(default=0, ge=0, le=1_000_000)
