"""The team view (a supervisor's home), kept between sessions: the index it is worked out
from on any day (:func:`fieldapp.services.supervision.team_index`) as a derived file of
the vault (:mod:`fieldapp.store.derived`), so that the next unlock draws the view before
the records are read (:func:`preview`) and the first view after it needs no pass over
them. Like Today's index: sealed with the vault's key, valid only while nothing was saved
since, never a source of truth — whatever goes wrong reading it reads as missing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import orjson

from fieldapp.services.supervision import TeamIndex, TeamView, WorkerRow, team_view

INDEX_NAME = "team"  # the derived file's name
INDEX_VERSION = 1
_FIELDS = [f.name for f in dataclasses.fields(WorkerRow)]
_TEXT = {"device_id", "name", "flow", "office"}
_MAYBE_TEXT = {"last_at", "last_made"}
_FLAGS = {"revoked"}
_MAYBE_NUMBER = {"notes_ack_days"}
_LISTS = {"visits_per_week"}


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _row(values: object) -> WorkerRow | None:
    """A row as :func:`encode` wrote it, each field of its type, or None."""
    if not isinstance(values, list) or len(values) != len(_FIELDS):
        return None
    fields = dict(zip(_FIELDS, values, strict=True))
    for name, value in fields.items():
        if name in _TEXT:
            ok = isinstance(value, str)
        elif name in _MAYBE_TEXT:
            ok = value is None or isinstance(value, str)
        elif name in _FLAGS:
            ok = isinstance(value, bool)
        elif name in _MAYBE_NUMBER:
            ok = value is None or (
                isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            )
        elif name in _LISTS:
            ok = isinstance(value, list) and all(_is_count(v) for v in value)
        else:
            ok = _is_count(value)
        if not ok:
            return None
    return WorkerRow(**fields)


def encode(index: TeamIndex) -> bytes:
    """The index as bytes to keep (:func:`decode` reads them back)."""
    return orjson.dumps(
        {
            "v": INDEX_VERSION,
            "fields": _FIELDS,  # a row of another shape (a field renamed, moved) is not read
            "rows": [[getattr(row, name) for name in _FIELDS] for row in index.rows],
            "visits": index.visits,
            "dues": index.dues,
            # JSON keys are text: the needs without a date go apart.
            "listed": {day: n for day, n in index.listed.items() if day is not None},
            "undated": index.listed.get(None, 0),
            "resolved": index.resolved,
            "needs": index.needs,
            "conflicts": index.conflicts,
            "quarantined": index.quarantined,
        }
    )


def _counts(value: object) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool)
        for k, n in value.items()
    ):
        raise ValueError("not counts")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("not a count")
    return value


def decode(data: bytes) -> TeamIndex | None:
    """The index :func:`encode` made, or None when ``data`` is not one this version reads
    (another version's, or damaged)."""
    try:
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("v") != INDEX_VERSION:
            return None
        if raw.get("fields") != _FIELDS or not isinstance(raw["rows"], list):
            return None
        rows = []
        for values in raw["rows"]:
            row = _row(values)
            if row is None:
                return None
            rows.append(row)
        if len({row.device_id for row in rows}) != len(rows):
            return None
        dues = raw["dues"]
        if not isinstance(dues, dict) or not all(
            isinstance(days, list) and all(isinstance(d, str) for d in days)
            for days in dues.values()
        ):
            return None
        visits = raw["visits"]
        if not isinstance(visits, dict):
            return None
        listed: dict[str | None, int] = {day: n for day, n in _counts(raw["listed"]).items()}
        if undated := _count(raw["undated"]):
            listed[None] = undated
        needs = raw["needs"]
        if not isinstance(needs, dict):
            return None
        return TeamIndex(
            rows=rows,
            visits={device: _counts(days) for device, days in visits.items()},
            dues=dues,
            listed=listed,
            resolved=_counts(raw["resolved"]),
            needs={category: _counts(statuses) for category, statuses in needs.items()},
            conflicts=_count(raw["conflicts"]),
            quarantined=_count(raw["quarantined"]),
        )
    except (ValueError, TypeError, KeyError):
        return None


def kept(read: Callable[[str], bytes | None]) -> TeamIndex | None:
    """The index the last session kept (``read``: the vault's derived files at the
    revision it is opening at), or None when nothing of this version was kept."""
    data = read(INDEX_NAME)
    return decode(data) if data is not None else None


def preview(read: Callable[[str], bytes | None], today: dt.date) -> TeamView | None:
    """The team view on ``today`` from what the last session kept, drawn while the records
    are read; or None when nothing of this version was kept. It is the view the open
    vault gives."""
    index = kept(read)
    return view_of(index, today) if index is not None else None


def view_of(index: TeamIndex, today: dt.date) -> TeamView | None:
    """``index``'s view on ``today``, or None when a row will not have it."""
    try:
        return team_view(index, today)
    except (ValueError, TypeError):  # a row of another shape: the open works it out
        return None
