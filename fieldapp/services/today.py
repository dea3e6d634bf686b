"""Today's summary (the worker's home screen), worked out in two steps so the first screen
after unlocking need not scan every record:

1. :func:`build` — the **index**: what the summary is worked out from on *any* day (each
   cadence rule's standing, the open needs, the pending plan actions, the counts), one
   scan of the records;
2. :func:`summarize` — the summary for one day from the index: filters and sorts, no
   scan.

The index is kept beside the records between sessions (:func:`encode`, a derived file of
the vault, :mod:`fieldapp.store.derived`): sealed like the records and valid only while
nothing was saved since, so the morning's first Today reads it instead of scanning.
Whatever goes wrong reading it (another version, damage) reads as missing, and the
index is built again. The supervision notes are not in it: they are few, and the inbox
reads them live.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import orjson

from fieldapp.domain import NeedStatus, PlanStatus, RecordKind, Urgency
from fieldapp.domain.kinds import with_defaults
from fieldapp.services import schedule
from fieldapp.services.views import (
    AssignmentRow,
    DueRow,
    NeedRow,
    NoteRow,
    PlanActionRow,
    TodaySummary,
)
from fieldapp.store import Vault

INDEX_NAME = "today"  # the derived file's name
INDEX_VERSION = 1
OPEN_STATUSES = frozenset({NeedStatus.OPEN.value, NeedStatus.IN_PROGRESS.value})
URGENT = frozenset({Urgency.HIGH.value, Urgency.CRITICAL.value})

Names = Callable[[str], tuple[str, str]]  # resident id → (name, community)


# The index's rows are plain tuples, dates as ISO text (which sorts as the dates do): kept
# between sessions as they are, and turned into the summary's rows only for what a day
# shows — the contacts due by then, the needs urgent or due within the week, the actions
# past due — not for the tens of thousands that are not.
Contact = tuple[str, str, str, str | None, str, str, int]
"""(due, resident id, activity, last contact or None, name, community, every days)"""
NeedEntry = tuple[str, str, str, str, str, str, str, str | None]
"""(need id, resident id, resident's name, category, description, urgency, status, due)"""
ActionEntry = tuple[str, str, str, str, str, str, str]
"""(plan id, resident id, resident's name, plan title, text, owner, due)"""


@dataclass(frozen=True)
class TodayIndex:
    """What Today's summary is worked out from, on any day, for the residents not archived:
    the cadence rules by due date (``floating``: never contacted and the rule's date unknown,
    due ``every`` days from whichever day it is); the open needs, the urgent ones in the
    order shown, the others with a due date by due date; the actions of active plans not
    done, by due date; the counts; and which residents are archived."""

    contacts: list[Contact]
    floating: list[Contact]
    urgent: list[NeedEntry]
    dated: list[NeedEntry]
    needs_open: int
    actions: list[ActionEntry]
    listed: int
    resolved: int
    residents: int
    archived: frozenset[str]


def names_of(vault: Vault) -> Names:
    """The lookup of a resident's name and community in ``vault`` ("?" when unknown)."""

    def name(rid: str) -> tuple[str, str]:
        doc = vault.get(rid) or {}
        return doc.get("name", "?"), doc.get("community", "")

    return name


def archived_of(vault: Vault) -> frozenset[str]:
    """The ids of the archived residents (one scan of the residents)."""
    return frozenset(
        rid for rid, doc in vault.iter_records(RecordKind.RESIDENT.value) if doc.get("archived")
    )


def need_row(nid: str, doc: dict[str, Any], today: dt.date | None, name: Names) -> NeedRow:
    """A stored need as a list row, overdue as of ``today`` (never, with None)."""
    doc = with_defaults(RecordKind.NEED.value, doc)
    due = schedule.iso_date(doc.get("due_date"))
    status = str(doc["status"])
    resident = str(doc.get("resident_id", ""))
    return NeedRow(
        id=nid,
        resident_id=resident,
        resident_name=name(resident)[0],
        category=str(doc.get("category", "")),
        description=str(doc.get("description", "")),
        urgency=str(doc["urgency"]),
        status=status,
        due_date=due,
        overdue=bool(today and due and due < today and status in OPEN_STATUSES),
    )


def pending_actions(vault: Vault, archived: AbstractSet[str], name: Names) -> list[ActionEntry]:
    """Every action of an active case plan that is not done and has a due date (an archived
    resident's plans left out), by due date and then name. A damaged action is skipped,
    never a crash."""
    rows: list[ActionEntry] = []
    for pid, doc in vault.iter_records(RecordKind.CASE_PLAN.value):
        doc = with_defaults(RecordKind.CASE_PLAN.value, doc)
        if doc.get("status") != PlanStatus.ACTIVE.value or doc.get("resident_id") in archived:
            continue
        actions = doc.get("actions")
        resident = str(doc.get("resident_id", ""))
        for action in actions if isinstance(actions, list) else ():
            if not isinstance(action, dict) or action.get("done"):
                continue
            due = schedule.iso_date(action.get("due_date"))
            if due is None:
                continue
            rows.append(
                (
                    pid,
                    resident,
                    name(resident)[0],
                    str(doc.get("title", "")),
                    str(action.get("text", "")),
                    str(action.get("owner", "")),
                    due.isoformat(),
                )
            )
    rows.sort(key=lambda r: (r[6], r[2]))
    return rows


def overdue_actions(actions: list[ActionEntry], today: dt.date) -> list[PlanActionRow]:
    """The ``actions`` (by due date) whose due date is before ``today``, the longest
    overdue first."""
    before = today.isoformat()
    rows = []
    for pid, rid, name, title, text, owner, due_text in actions:
        if due_text >= before:
            break
        due = _as_date(due_text)
        rows.append(PlanActionRow(pid, rid, name, title, text, owner, due, (today - due).days))
    return rows


def build(vault: Vault) -> TodayIndex:
    """The index, from one scan of ``vault``'s records."""
    name = names_of(vault)
    archived = archived_of(vault)
    contacts: list[Contact] = []
    floating: list[Contact] = []
    for rule in schedule.standings(vault, archived):
        who, where = name(rule.resident_id)
        last = rule.last.isoformat() if rule.last is not None else None
        due = rule.due.isoformat() if rule.due is not None else ""
        row = (due, rule.resident_id, rule.activity.value, last, who, where, rule.every)
        (contacts if rule.due is not None else floating).append(row)
    contacts.sort(key=lambda c: (c[0], c[1], c[2]))
    urgent: list[NeedEntry] = []
    dated: list[NeedEntry] = []
    listed = resolved = needs_open = 0
    for nid, doc in vault.iter_records(RecordKind.NEED.value):
        if doc.get("resident_id") in archived:
            continue  # an archived resident's needs are out of the lists and counts
        listed += 1
        status = doc.get("status", NeedStatus.OPEN.value)
        if status == NeedStatus.RESOLVED.value:
            resolved += 1
        if status not in OPEN_STATUSES:
            continue
        needs_open += 1
        need = need_row(nid, doc, None, name)
        entry = (
            need.id,
            need.resident_id,
            need.resident_name,
            need.category,
            need.description,
            need.urgency,
            need.status,
            need.due_date.isoformat() if need.due_date is not None else None,
        )
        if need.urgency in URGENT:
            urgent.append(entry)
        elif entry[7] is not None:
            dated.append(entry)
    urgent.sort(key=lambda n: (n[5] != Urgency.CRITICAL.value, n[7] or "9999-12-31"))
    dated.sort(key=lambda n: n[7] or "")
    return TodayIndex(
        contacts=contacts,
        floating=floating,
        urgent=urgent,
        dated=dated,
        needs_open=needs_open,
        actions=pending_actions(vault, archived, name),
        listed=listed,
        resolved=resolved,
        residents=vault.count(RecordKind.RESIDENT.value) - len(archived),
        archived=archived,
    )


def _as_date(text: str) -> dt.date:
    day = schedule.iso_date(text)
    if day is None:
        raise ValueError(f"not a date: {text[:20]!r}")
    return day


def _need(entry: NeedEntry, today: dt.date) -> NeedRow:
    nid, rid, name, category, description, urgency, status, due_text = entry
    due = _as_date(due_text) if due_text is not None else None
    overdue = due is not None and due < today
    return NeedRow(nid, rid, name, category, description, urgency, status, due, overdue)


def summarize(
    index: TodayIndex,
    today: dt.date,
    notes: list[NoteRow],
    soon_days: int = 7,
    conflicts: int = 0,
    assignments: list[AssignmentRow] | None = None,
) -> TodaySummary:
    """Today's summary from ``index``: contacts due; open needs that are urgent, else past
    their due date (overdue), else due from today to ``soon_days`` ahead; the plan actions
    past due; the counts; the inbox: ``notes`` and new ``assignments``; and how many fields
    are in ``conflicts``."""
    day_text = today.isoformat()
    items = []
    for due_text, rid, activity, last, name, community, _every in index.contacts:
        if due_text > day_text:
            break
        items.append((_as_date(due_text), rid, activity, last, name, community))
    floated = False
    for _, rid, activity, last, name, community, every in index.floating:
        due = today + dt.timedelta(days=every)
        if due <= today:  # a rule of 0 days
            items.append((due, rid, activity, last, name, community))
            floated = True
    if floated:
        items.sort(key=lambda i: (i[0], i[1], i[2]))
    due_rows = [
        DueRow(rid, name, community, activity, due, max(0, (today - due).days))
        for due, rid, activity, _last, name, community in items
    ]
    horizon = (today + dt.timedelta(days=soon_days)).isoformat()
    late: list[NeedRow] = []
    soon: list[NeedRow] = []
    for entry in index.dated:
        due_text = entry[7] or ""
        if due_text > horizon:
            break
        (late if due_text < day_text else soon).append(_need(entry, today))
    return TodaySummary(
        today=today,
        due=due_rows,
        urgent_needs=[_need(entry, today) for entry in index.urgent],
        overdue_needs=late,
        needs_due_soon=soon,
        overdue_actions=overdue_actions(index.actions, today),
        needs_listed=index.listed,
        needs_resolved=index.resolved,
        needs_open=index.needs_open,
        residents=index.residents,
        notes=notes,
        conflicts=conflicts,
        assignments=assignments or [],
    )


# ---------------------------------------------------------------- kept between sessions


def encode(index: TodayIndex) -> bytes:
    """The index as bytes to keep (:func:`decode` reads them back)."""
    return orjson.dumps(
        {
            "v": INDEX_VERSION,
            "contacts": index.contacts,
            "floating": index.floating,
            "urgent": index.urgent,
            "dated": index.dated,
            "needs_open": index.needs_open,
            "actions": index.actions,
            "listed": index.listed,
            "resolved": index.resolved,
            "residents": index.residents,
            "archived": sorted(index.archived),
        }
    )


def _rows(value: object) -> list[Any]:
    """``value`` as a list of rows. The rows are read as they are, not field by field: the
    file is sealed with the vault's key, so only fieldapp wrote it, and its version is
    checked; a row of another shape fails where a summary reads it, which then works the
    index out again (``Workspace.today_summary``)."""
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError("not a list of rows")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("not a count")
    return value


def decode(data: bytes) -> TodayIndex | None:
    """The index :func:`encode` made, or None when ``data`` is not one this version reads
    (another version's, or damaged). Its rows are checked where a day's summary reads them
    (a bad one: :func:`summarize` raises ValueError or TypeError)."""
    try:
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("v") != INDEX_VERSION:
            return None
        archived = raw["archived"]
        if not isinstance(archived, list) or not all(isinstance(r, str) for r in archived):
            return None
        return TodayIndex(
            contacts=_rows(raw["contacts"]),
            floating=_rows(raw["floating"]),
            urgent=_rows(raw["urgent"]),
            dated=_rows(raw["dated"]),
            needs_open=_count(raw["needs_open"]),
            actions=_rows(raw["actions"]),
            listed=_count(raw["listed"]),
            resolved=_count(raw["resolved"]),
            residents=_count(raw["residents"]),
            archived=frozenset(archived),
        )
    except (ValueError, TypeError, KeyError):
        return None


# ------------------------------------------------- the first screen, before the records

INBOX_NAME = "today_inbox"  # the derived file of Today's inbox, kept beside the index
INBOX_VERSION = 1


def encode_inbox(notes: list[NoteRow], conflicts: int, assignments: list[AssignmentRow]) -> bytes:
    """Today's inbox as bytes to keep beside the index (:func:`preview` reads them): the
    open notes without how late they are (that is worked out on the day shown), the
    fields in conflict, the new assignments."""
    return orjson.dumps(
        {
            "v": INBOX_VERSION,
            "notes": [
                [
                    n.id,
                    n.resident_id,
                    n.resident_name,
                    n.action,
                    n.status,
                    n.text,
                    n.due_date.isoformat() if n.due_date else None,
                    n.created_at.isoformat(),
                    n.target_kind,
                    n.author,
                ]
                for n in notes
            ],
            "conflicts": conflicts,
            "assignments": [
                [a.resident_id, a.name, a.community, a.shared, a.assigned_at.isoformat()]
                for a in assignments
            ],
        }
    )


def decode_inbox(
    data: bytes, today: dt.date
) -> tuple[list[NoteRow], int, list[AssignmentRow]] | None:
    """The inbox :func:`encode_inbox` kept, as of ``today`` (the notes past due first, the
    longest first, then the newest — as ``Workspace.note_inbox`` orders them), or None when
    ``data`` is not one this version reads."""
    try:
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("v") != INBOX_VERSION:
            return None
        notes = []
        for nid, rid, name, action, status, text, due, created, kind, author in _rows(raw["notes"]):
            due_date = dt.date.fromisoformat(due) if due is not None else None
            late = max((today - due_date).days, 0) if due_date else 0
            notes.append(
                NoteRow(
                    str(nid),
                    str(rid),
                    str(name),
                    str(action),
                    str(status),
                    str(text),
                    due_date,
                    late,
                    dt.datetime.fromisoformat(created),
                    str(kind),
                    str(author),
                )
            )
        notes.sort(key=lambda r: (r.days_overdue, r.created_at, r.id), reverse=True)
        assignments = [
            AssignmentRow(
                str(rid), str(name), str(community), bool(shared), dt.datetime.fromisoformat(at)
            )
            for rid, name, community, shared, at in _rows(raw["assignments"])
        ]
        return notes, _count(raw["conflicts"]), assignments
    except (ValueError, TypeError, KeyError):
        return None


def preview(read: Callable[[str], bytes | None], today: dt.date) -> TodaySummary | None:
    """Today's summary for ``today`` from what the last session kept (``read``: the vault's
    derived files at the revision it is opening at) — the first screen drawn while the
    records are still being read — or None when the index or the inbox was not kept (or
    is damaged, or of another version). It is what :meth:`Workspace.today_summary` will
    show once the vault is open: the same index and the same inbox, as of the same day."""
    index_data, inbox_data = read(INDEX_NAME), read(INBOX_NAME)
    if index_data is None or inbox_data is None:
        return None
    index = decode(index_data)
    inbox = decode_inbox(inbox_data, today)
    if index is None or inbox is None:
        return None
    notes, conflicts, assignments = inbox
    try:
        return summarize(index, today, notes, 7, conflicts, assignments)
    except (ValueError, TypeError):  # a row of another shape: the open works it out
        return None
