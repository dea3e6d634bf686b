"""What is due and what is overdue, from each resident's cadence (周面谈 + 月家访).

For each cadence rule of a resident, the next contact is due ``every_days`` after the
last one of that activity — or on the ``next_due`` date the last visit set, which a
worker uses to bring a visit forward or push it back. A resident never contacted is
due ``every_days`` after the rule was set (when the cadence field was saved).
One scan of visits and interviews: O(N).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from fieldapp.domain import Activity, RecordKind, VisitKind
from fieldapp.domain.hlc import to_seconds
from fieldapp.store import Vault

_ACTIVITIES = {activity.value: activity for activity in Activity}  # a dict: Activity() is slow
_VISIT_ACTIVITY = {
    VisitKind.HOME.value: Activity.HOME_VISIT,
    VisitKind.PHONE.value: Activity.PHONE_CALL,
}


@dataclass(frozen=True, order=True)
class DueItem:
    """One contact a resident's cadence asks for: due when, which activity, and the day of the
    last one (None: never). Sorts by due date."""

    due: dt.date
    resident_id: str
    activity: Activity
    last: dt.date | None

    def days_overdue(self, today: dt.date) -> int:
        """How many days past due the contact is on ``today`` (0 when not yet due)."""
        return max(0, (today - self.due).days)


def last_contacts(vault: Vault) -> dict[tuple[str, Activity], tuple[dt.date, dt.date | None]]:
    """(resident, activity) → (date of the last contact, the next_due it set)."""
    last: dict[tuple[str, Activity], tuple[dt.date, dt.date | None]] = {}
    visit_activity = _VISIT_ACTIVITY.get
    seen = last.get
    for _, doc in vault.iter_records(RecordKind.VISIT.value):
        activity = visit_activity(doc.get("kind"))  # type: ignore[arg-type]
        day = iso_date(doc.get("started_at"))
        if activity is None or day is None:
            continue  # not a contact, or a damaged record: it counts for nothing
        key = (str(doc.get("resident_id")), activity)
        known = seen(key)
        if known is None or day >= known[0]:
            last[key] = (day, iso_date(doc.get("next_due")))
    for _, doc in vault.iter_records(RecordKind.INTERVIEW.value):
        day = iso_date(doc.get("held_on"))
        residents = doc.get("resident_ids")
        if day is None or not isinstance(residents, list):
            continue
        for rid in residents:
            key = (str(rid), Activity.INTERVIEW)
            known = seen(key)
            if known is None or day >= known[0]:
                last[key] = (day, None)
    return last


def iso_date(value: object) -> dt.date | None:
    """A stored date (or the date part of a datetime), or None when it is not one — a
    damaged record never stops a list that holds it."""
    if not value:
        return None
    return _day(value[:10] if isinstance(value, str) else str(value)[:10])


@functools.lru_cache(maxsize=8192)
def _day(text: str) -> dt.date | None:
    """``text`` read as a date (a few thousand distinct days come up again and again)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _set_on(vault: Vault, rid: str) -> dt.date | None:
    stamp = vault.field_stamp(rid, "cadence")
    return dt.date.fromtimestamp(to_seconds(stamp)) if stamp else None


@dataclass(frozen=True)
class Standing:
    """Where one cadence rule of a resident stands, on any day: the last contact of its
    activity (None: never) and the day the next one is due — None when never contacted
    and the day the rule was set is unknown, in which case it is due ``every`` days from
    whichever day it is."""

    resident_id: str
    activity: Activity
    every: int
    last: dt.date | None
    due: dt.date | None

    def due_on(self, today: dt.date) -> dt.date:
        """The day the next contact is due, seen on ``today``."""
        return self.due if self.due is not None else today + dt.timedelta(days=self.every)


def standings(vault: Vault, skip: AbstractSet[str] = frozenset()) -> list[Standing]:
    """Every cadence rule of every resident not archived (nor in ``skip``), where it stands:
    what :func:`due_items` filters for a given day."""
    last = last_contacts(vault)
    out: list[Standing] = []
    for rid, doc in vault.iter_records(RecordKind.RESIDENT.value):
        if doc.get("archived") or rid in skip:
            continue
        cadence = doc.get("cadence")
        for rule in cadence if isinstance(cadence, list) else ():
            try:
                activity = _ACTIVITIES[rule["activity"]]
                every = int(rule["every_days"])
            except (KeyError, TypeError, ValueError):
                continue  # a damaged rule schedules nothing
            seen = last.get((rid, activity))
            if seen is None:
                # Never contacted: the clock starts when the rule was set, so a resident
                # nobody has visited becomes overdue like everyone else.
                since = _set_on(vault, rid)
                due = since + dt.timedelta(days=every) if since is not None else None
                out.append(Standing(rid, activity, every, None, due))
            else:
                last_day, next_due = seen
                out.append(
                    Standing(
                        rid,
                        activity,
                        every,
                        last_day,
                        next_due or last_day + dt.timedelta(days=every),
                    )
                )
    return out


def due_from(rules: list[Standing], today: dt.date, horizon_days: int = 0) -> list[DueItem]:
    """The contacts of ``rules`` due on or before ``today + horizon_days``, most overdue
    first."""
    limit = today + dt.timedelta(days=horizon_days)
    items = []
    for rule in rules:
        due = rule.due_on(today)
        if due <= limit:
            items.append(DueItem(due, rule.resident_id, rule.activity, rule.last))
    items.sort()
    return items


def due_items(vault: Vault, today: dt.date, horizon_days: int = 0) -> list[DueItem]:
    """Every contact due on or before ``today + horizon_days``, most overdue first; an
    archived resident is due nothing."""
    return due_from(standings(vault), today, horizon_days)


def overdue(vault: Vault, today: dt.date) -> list[DueItem]:
    """Contacts whose due date has passed."""
    return [item for item in due_items(vault, today) if item.due < today]
