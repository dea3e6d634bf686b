"""What a supervisor (督导) sees after merging: the team at a glance, conflicts to
review, quarantined bundles, and exports. The conflicts part is a worker's too: its merge of
the supervisor's downward bundles records them the same way, and it settles them the same way.

Records are attributed to the worker (device) who last wrote their defining field
(a resident's name, a need's description, a visit's start time). A supervision note is the
worker's whose resident it is on: the supervisor writes it, the worker answers it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from fieldapp.domain import NeedStatus, NoteStatus, RecordKind
from fieldapp.domain.hlc import to_seconds
from fieldapp.domain.kinds import with_defaults
from fieldapp.domain.ops import RESOLVED_PREFIX, Op
from fieldapp.store import Change, Vault
from sync import merge, preview, team

OPEN = {NeedStatus.OPEN.value, NeedStatus.IN_PROGRESS.value}
DEFINING = {
    RecordKind.RESIDENT.value: "name",
    RecordKind.NEED.value: "description",
    RecordKind.VISIT.value: "started_at",
    RecordKind.INTERVIEW.value: "held_on",
    RecordKind.CASE_PLAN.value: "title",
}


@dataclass
class WorkerRow:
    """One worker in the supervisor's team view: their device, what they sent, and the residents,
    needs, visits, overdue contacts and conflicts attributed to them.

    ``last_at`` is when the last bundle was received (merged), ``last_made`` when its newest
    change was made (local time, ISO; None for stats kept before it was recorded).
    ``notes_open`` counts the supervision notes on their residents still new or acknowledged;
    ``notes_ack_days`` is how long they took to acknowledge one, the median in days from
    written to acknowledged (None before any was). At a district or a city, a lower office
    is a row too (``flow`` set: its counts are its whole team's) and the workers on its
    roster rows under it (``office``)."""

    device_id: str
    name: str
    revoked: bool
    last_bundle: int = 0
    last_at: str | None = None
    last_made: str | None = None
    bundles: int = 0
    ops: int = 0
    residents: int = 0
    needs_listed: int = 0
    needs_resolved: int = 0
    needs_open: int = 0
    visits_this_month: int = 0
    overdue: int = 0
    conflicts: int = 0
    visits_per_week: list[int] = field(default_factory=list)
    notes_open: int = 0
    notes_ack_days: float | None = None
    flow: str = ""  # a lower office's device (records, aggregates); "" for a worker's
    office: str = ""  # on a lower office's roster: that office's device


OPEN_NOTES = {NoteStatus.NEW.value, NoteStatus.ACKNOWLEDGED.value}


def _days_between(start: object, end: object) -> float | None:
    """Days from one stored time to another (ISO text), never below 0 (two devices' clocks
    may differ a little); None when either is missing or damaged."""
    if not (isinstance(start, str) and isinstance(end, str)):
        return None
    try:
        seconds = (
            dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)
        ).total_seconds()
    except (ValueError, TypeError):  # damaged, or one with a time zone and one without
        return None
    return max(seconds / 86_400, 0.0)


def author(vault: Vault, kind: str, rid: str) -> str | None:
    """The device that last wrote the record's defining field (its worker), or None."""
    return vault.field_author(rid, DEFINING[kind])


def _made(stamp: object) -> str | None:
    """A bundle's newest HLC stamp as local ISO time; None when unknown (older stats)."""
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp <= 0:
        return None
    return dt.datetime.fromtimestamp(to_seconds(stamp)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TeamIndex:
    """What the team view is worked out from on *any* day (:func:`team_index`, one pass over
    the records; :func:`team_view` for a day, no pass): the rows with every count that does
    not depend on the day; per row's device, the visits by day and the due days of its
    residents' contacts (one per cadence rule with a known due day: one never contacted
    whose rule's start is unknown is due ``every`` days from any day, so never overdue);
    the needs listed by day (None: no date, counted as listed on the day shown) and
    resolved by day; the needs by category and status; conflicts and quarantined bundles."""

    rows: list[WorkerRow]
    visits: dict[str, dict[str, int]]
    dues: dict[str, list[str]]
    listed: dict[str | None, int]
    resolved: dict[str, int]
    needs: dict[str, dict[str, int]]
    conflicts: int
    quarantined: int


@dataclass(frozen=True)
class TeamView:
    """The team view for one day: the rows, needs by category and status, needs listed and
    resolved per week (oldest first), conflicts to review and quarantined bundles."""

    today: dt.date
    rows: list[WorkerRow]
    needs: dict[str, dict[str, int]]
    weekly: tuple[list[int], list[int]]
    conflicts: int
    quarantined: int


def team_report(vault: Vault, today: dt.date, weeks: int = 8) -> list[WorkerRow]:
    """One row per enrolled device (and one for records of unknown origin, if any). A
    lower office (DESIGN §3.8: enrolled with a flow) counts what it and every device on
    its roster wrote; each device of its roster then has a row of its own under it
    (``office`` names that office's device), where this level may see them."""
    return team_view(team_index(vault), today, weeks).rows


def team_index(vault: Vault) -> TeamIndex:
    """The team view's index (:class:`TeamIndex`): one pass over the records."""
    from fieldapp.domain.hlc import to_seconds as seconds
    from fieldapp.services.schedule import iso_date, standings
    from sync.levels import ROSTER

    rows: dict[str, WorkerRow] = {}
    offices: dict[str, str] = {}  # a lower office's device → the office
    for entry in team.devices(vault):
        stats = vault.get_meta(merge.STATS + entry.device_id, {})
        rows[entry.device_id] = WorkerRow(
            entry.device_id,
            entry.name,
            entry.revoked is not None,
            last_bundle=int(stats.get("last_seq", 0)),
            last_at=stats.get("last_at"),
            last_made=_made(stats.get("last_hlc")),
            bundles=int(stats.get("bundles", 0)),
            ops=int(stats.get("ops", 0)),
            flow=entry.flow,
        )
        if entry.flow:
            for device, member in (vault.get_meta(ROSTER + entry.device_id) or {}).items():
                if device not in rows:
                    offices[device] = entry.device_id
                    rows[device] = WorkerRow(
                        device,
                        str(member.get("name") or device),
                        False,
                        office=entry.device_id,
                    )

    _counts_rows(vault, rows)

    def rows_of(device: str | None) -> list[WorkerRow]:
        found = rows.get(device or "")
        if found is None:
            return []
        office = offices.get(found.device_id)
        return [found, rows[office]] if office else [found]

    owner: dict[str, str | None] = {}
    archived: set[str] = set()
    for rid, doc in vault.iter_records(RecordKind.RESIDENT.value):
        owner[rid] = author(vault, "resident", rid)
        # An archived resident is out of the caseload, as in every list and count: the
        # needs list and the worker's Today leave their needs out too.
        if doc.get("archived"):
            archived.add(rid)
        else:
            for r in rows_of(owner[rid]):
                r.residents += 1
    listed: Counter[str | None] = Counter()
    resolved: Counter[str] = Counter()
    needs: dict[str, Counter[str]] = defaultdict(Counter)
    for nid, doc in vault.iter_records(RecordKind.NEED.value):
        # The charts count every need (as the needs list over time does); the rows leave
        # an archived resident's out.
        status = doc.get("status")
        needs[str(doc.get("category", "other"))][str(doc.get("status", "open"))] += 1
        opened = iso_date(doc.get("opened_on"))
        listed[opened.isoformat() if opened else None] += 1
        if status == NeedStatus.RESOLVED.value:
            stamp = vault.field_stamp(nid, "status")
            if stamp is not None:
                resolved[dt.date.fromtimestamp(seconds(stamp)).isoformat()] += 1
        if doc.get("resident_id") in archived:
            continue
        for r in rows_of(author(vault, "need", nid)):
            r.needs_listed += 1
            r.needs_resolved += status == NeedStatus.RESOLVED.value
            r.needs_open += status in OPEN
    visits: dict[str, Counter[str]] = defaultdict(Counter)
    for vid, doc in vault.iter_records(RecordKind.VISIT.value):
        day = iso_date(doc.get("started_at"))
        if day is None:
            continue  # a damaged record
        for r in rows_of(author(vault, "visit", vid)):
            visits[r.device_id][day.isoformat()] += 1
    dues: dict[str, list[str]] = defaultdict(list)
    for rule in standings(vault):
        if rule.due is not None:
            due = rule.due.isoformat()
        elif rule.every < 0:
            due = ""  # a damaged rule: due before any day, always overdue (as it reads)
        else:
            continue  # due ``every`` days from whichever day it is: never overdue
        for r in rows_of(owner.get(rule.resident_id)):
            dues[r.device_id].append(due)
    waits: dict[str, list[float]] = defaultdict(list)
    for _, doc in vault.iter_records(RecordKind.SUPERVISION_NOTE.value):
        resident = doc.get("resident_id")
        if resident in archived:
            continue
        doc = with_defaults(RecordKind.SUPERVISION_NOTE.value, doc)
        wait = _days_between(doc.get("created_at"), doc.get("acknowledged_at"))
        for r in rows_of(owner.get(str(resident))):
            r.notes_open += doc.get("status") in OPEN_NOTES
            if wait is not None:
                waits[r.device_id].append(wait)
    for device, days in waits.items():
        rows[device].notes_ack_days = round(statistics.median(days), 1)
    conflicts = merge.conflicts(vault)
    for rid, fields in conflicts.items():
        kind = vault.kind_of(rid) or "resident"
        for r in rows_of(author(vault, kind, rid) if kind in DEFINING else None):
            r.conflicts += len(fields)
    # Offices and workers by name, each office's roster right under it.
    top = sorted((r for r in rows.values() if not r.office), key=lambda r: (r.revoked, r.name))
    out = []
    for r in top:
        out.append(r)
        out += sorted((m for m in rows.values() if m.office == r.device_id), key=lambda m: m.name)
    return TeamIndex(
        rows=out,
        visits={device: dict(days) for device, days in visits.items()},
        dues={device: sorted(days) for device, days in dues.items()},
        listed=dict(listed),
        resolved=dict(resolved),
        needs={category: dict(statuses) for category, statuses in needs.items()},
        conflicts=sum(len(fields) for fields in conflicts.values()),
        quarantined=len(list(vault.meta_keys(merge.QUARANTINE))),
    )


def team_view(index: TeamIndex, today: dt.date, weeks: int = 8) -> TeamView:
    """The team view on ``today`` from ``index``: each row's visits this month and per week
    (the last ``weeks``, oldest first) and its contacts overdue; the needs listed and
    resolved per week. The index is left as it is (the rows are copies)."""
    import bisect
    from dataclasses import replace

    month = today.replace(day=1).isoformat()
    day_text = today.isoformat()
    week0 = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))

    def week(day: str) -> int:
        return (dt.date.fromisoformat(day) - week0).days // 7

    rows = []
    for row in index.rows:
        per_week = [0] * weeks
        this_month = 0
        for day, n in index.visits.get(row.device_id, {}).items():
            this_month += n if day >= month else 0
            if 0 <= (i := week(day)) < weeks:
                per_week[i] += n
        due = index.dues.get(row.device_id, [])
        overdue = bisect.bisect_left(due, day_text)  # due before today
        rows.append(
            replace(row, visits_this_month=this_month, visits_per_week=per_week, overdue=overdue)
        )
    listed, resolved = [0] * weeks, [0] * weeks
    for opened, n in index.listed.items():
        if 0 <= (i := week(opened or day_text)) < weeks:
            listed[i] += n
    for done, n in index.resolved.items():
        if 0 <= (i := week(done)) < weeks:
            resolved[i] += n
    return TeamView(
        today=today,
        rows=rows,
        needs=index.needs,
        weekly=(listed, resolved),
        conflicts=index.conflicts,
        quarantined=index.quarantined,
    )


def residents_behind(vault: Vault, row: WorkerRow, rows: list[WorkerRow]) -> frozenset[str] | None:
    """The residents behind a row of the team view (``rows``: the whole view), as it counts
    them: those whose file the row's worker wrote (the author of the defining field); for a
    lower office's row, those of the office itself and of every device on its roster. None
    for an office that sends counts only: no record is behind its numbers here."""
    if row.flow == team.AGGREGATES:
        return None
    devices = {row.device_id} | {r.device_id for r in rows if r.office == row.device_id}
    return frozenset(
        rid
        for rid, _ in vault.iter_records(RecordKind.RESIDENT.value, include_deleted=False)
        if author(vault, "resident", rid) in devices
    )


def _counts_rows(vault: Vault, rows: dict[str, WorkerRow]) -> None:
    """An office sending counts only (DESIGN §3.8): its row shows the aggregate bundles
    received and when the last came, and the needs of the latest period it sent (the grand
    totals per status; a suppressed one counts as 0), never a record behind them."""
    from sync import counts

    for device, periods in counts.received(vault).items():
        row = rows.get(device)
        if row is None or row.flow != team.AGGREGATES or not periods:
            continue
        latest = periods[max(periods)]
        row.bundles = len(periods)
        row.last_at = latest.get("received")
        needs = latest["tables"]["needs"]
        total = {status: grid[-1][-1] or 0 for status, grid in needs.items()}
        row.needs_listed = sum(total.values())
        row.needs_resolved = total.get(NeedStatus.RESOLVED.value, 0)
        row.needs_open = sum(total.get(status, 0) for status in OPEN)


def needs_per_week(vault: Vault, today: dt.date, weeks: int = 8) -> tuple[list[int], list[int]]:
    """Needs listed and needs resolved per week, oldest first (the 需求清单 over time).

    A need counts as resolved in the week its status last became ``resolved``.
    """
    from fieldapp.domain.hlc import to_seconds as seconds
    from fieldapp.services.schedule import iso_date

    week0 = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    listed, resolved = [0] * weeks, [0] * weeks
    for nid, doc in vault.iter_records(RecordKind.NEED.value):
        opened = iso_date(doc.get("opened_on")) or today
        if 0 <= (i := (opened - week0).days // 7) < weeks:
            listed[i] += 1
        if doc.get("status") == NeedStatus.RESOLVED.value:
            stamp = vault.field_stamp(nid, "status")
            if stamp is not None:
                when = dt.date.fromtimestamp(seconds(stamp))
                if 0 <= (i := (when - week0).days // 7) < weeks:
                    resolved[i] += 1
    return listed, resolved


def needs_by_category(vault: Vault) -> dict[str, Counter[str]]:
    """category → status → count (the 需求清单 summary)."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for _, doc in vault.iter_records(RecordKind.NEED.value):
        out[str(doc.get("category", "other"))][str(doc.get("status", "open"))] += 1
    return dict(out)


# ------------------------------------------------------------------ conflicts


@dataclass(frozen=True)
class Side:
    """One value in a conflict: what was written, by whom, when, over what."""

    op_id: str
    value: Any
    device_id: str
    author: str
    when: dt.datetime
    before: Any


@dataclass(frozen=True)
class FieldConflict:
    """One field of one record where devices wrote different values over the same base."""

    record_id: str
    kind: str
    field: str
    sides: list[Side]  # first = the current (last-writer-wins) value


def conflict_authors(vault: Vault) -> dict[str, str]:
    """Device id → who a conflict's side says wrote it: a worker by the name they were
    enrolled with (on the supervisor's vault), this device by its profile's name, and every
    supervisor device of the team — its own team's on the supervisor's vault, those its team
    card names on a worker's — as the supervisor. Any other device by its id."""
    from fieldapp.i18n import t

    names = {d.device_id: d.name for d in team.devices(vault)}
    names.update(vault.get_meta("device_names", {}))
    supervisors: set[str] = set()
    secrets = team.team_secrets(vault)
    if secrets is not None:
        supervisors |= {vault.device_id, *secrets.supervisors}
    card = team.team_card(vault)
    if card is not None:
        supervisors |= set(card.supervisors)
    names.update(dict.fromkeys(supervisors, t("ui.author_supervisor")))
    return names


def field_conflicts(
    vault: Vault, record_id: str, names: dict[str, str] | None = None
) -> list[FieldConflict]:
    """The unresolved conflicts of one record, one per field, each with its sides: the value, who
    wrote it (``names``, else :func:`conflict_authors`), when, and what it replaced."""
    names = conflict_authors(vault) if names is None else names
    history = vault.history(record_id)
    by_id: dict[str, Op] = {op.op_id: op for op in history}
    out = []
    for name in merge.conflicts(vault).get(record_id, []):
        sides = []
        for op in preview.heads(history, name):
            base = by_id.get(op.base) if op.base else None
            sides.append(
                Side(
                    op.op_id,
                    op.value,
                    op.device_id,
                    names.get(op.device_id, op.device_id),
                    dt.datetime.fromtimestamp(to_seconds(op.hlc)),
                    base.value if base else None,
                )
            )
        if len(sides) > 1:
            out.append(FieldConflict(record_id, vault.kind_of(record_id) or "", name, sides))
    return out


def all_conflicts(vault: Vault) -> list[FieldConflict]:
    """Every unresolved field conflict this vault holds, record by record — the supervisor's
    (what the workers sent) and a worker's alike (its own residents' files, where the
    supervisor and the worker changed one field at once): the same merge records both."""
    names = conflict_authors(vault)
    found: list[FieldConflict] = []
    for rid in merge.conflicts(vault):
        found += field_conflicts(vault, rid, names)
    return found


def open_conflicts(vault: Vault) -> int:
    """How many fields are in conflict now (what the team view and Today count)."""
    return sum(len(fields) for fields in merge.conflicts(vault).values())


def conflict_title(vault: Vault, conflict: FieldConflict) -> str:
    """What the conflicts list calls the record: a resident's name, a visit's purpose,
    else the start of its id."""
    doc = vault.get(conflict.record_id) or {}
    title = doc.get("name") or doc.get("purpose")
    return str(title) if title else conflict.record_id[:8]


def resolve(vault: Vault, conflict: FieldConflict, value: Any) -> None:
    """Settle a conflict with ``value`` (one side's, or a merged one): a new op on the
    field plus the list of values it settles — both sync like any change."""
    value = _valid_value(vault, conflict, value)
    index = {k: list(v) for k, v in merge.conflicts(vault).items()}
    fields = [f for f in index.get(conflict.record_id, []) if f != conflict.field]
    if fields:
        index[conflict.record_id] = fields
    else:
        index.pop(conflict.record_id, None)
    change = Change(
        conflict.kind,
        conflict.record_id,
        {
            conflict.field: value,
            RESOLVED_PREFIX + conflict.field: sorted(s.op_id for s in conflict.sides),
        },
    )
    vault.commit([change], kv={merge.CONFLICTS: index})


def _valid_value(vault: Vault, conflict: FieldConflict, value: Any) -> Any:
    """A merged value typed by the supervisor passes the field's rules like any other
    (stored as validated), or is refused with the field's own message."""
    from fieldapp.domain.ops import Op
    from fieldapp.errors import FieldProblem, OpInvalid, RecordInvalid
    from sync.bundle import domain_validator

    check = domain_validator(today=vault.clock.today, resolutions=False)
    probe = Op(
        "0" * 16 + "-x", conflict.kind, conflict.record_id, conflict.field, value, 1, "x", None
    )
    try:
        return check(probe).value
    except OpInvalid as exc:
        code = str(exc.params.get("reason", "")).rpartition(": ")[2] or "invalid"
        raise RecordInvalid([FieldProblem(conflict.field, code)]) from None


# ------------------------------------------------------------------ quarantine


@dataclass(frozen=True)
class Quarantined:
    """A bundle the merge refused and kept aside: from which device, where it was found, why."""

    key: str
    device: str
    seq: int
    source: str
    at: str
    reason: str
    params: dict[str, Any]


def quarantine(vault: Vault) -> list[Quarantined]:
    """Every quarantined bundle, newest first."""
    out = []
    for key in vault.meta_keys(merge.QUARANTINE):
        q = vault.get_meta(key)
        out.append(
            Quarantined(
                key, q["device"], q["seq"], q["source"], q["at"], q["reason"], q.get("params", {})
            )
        )
    return sorted(out, key=lambda q: q.at, reverse=True)


def merge_text(summary: Any, vault: Vault) -> str:
    """What a merge did, in one sentence (``fieldapp merge`` and the app say the same),
    and a second when the workers' replies could not be cut after it (the merge stands)."""
    from fieldapp.i18n import t

    text = t(
        "cli.merge_summary",
        applied=summary.count("applied"),
        ops=summary.ops,
        duplicates=summary.count("duplicate"),
        held=summary.count("held"),
        quarantined=summary.count("quarantined"),
        conflicts=sum(len(v) for v in merge.conflicts(vault).values()),
    )
    failure = getattr(summary, "scope_error", None)
    if failure is not None:
        text += "\n" + t("cli.scope_failed", error=failure.render())
    return text
