"""The needs list (需求清单) as the worker and the supervisor read it: every need with
its resident and community, filtered by community, category, status, urgency and
overdue, and the counts teams report ("需求 1,200 条，已解决 900 条") per community and
category."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from fieldapp.domain import NeedStatus, RecordKind
from fieldapp.services.views import NeedRow
from fieldapp.services.workspace import Workspace

RESOLVED = NeedStatus.RESOLVED.value  # as Today counts them


@dataclass(frozen=True)
class NeedFilters:
    """What the list is narrowed to; None (or False) means every need."""

    community: str | None = None
    category: str | None = None
    status: str | None = None
    urgency: str | None = None
    overdue: bool = False


@dataclass(frozen=True)
class ListedNeed:
    """One row of the needs list: the need and the community of its resident."""

    need: NeedRow
    community: str


@dataclass
class Tally:
    """Needs listed and resolved in one community or category."""

    listed: int = 0
    resolved: int = 0


@dataclass
class NeedsList:
    """The needs that pass the filters (most pressing first) and the counts of all of
    them, as the monthly report gives them."""

    rows: list[ListedNeed]
    listed: int = 0
    resolved: int = 0
    open: int = 0
    by_community: dict[str, Tally] = field(default_factory=dict)
    by_category: dict[str, Tally] = field(default_factory=dict)


_URGENCY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _pressing(row: ListedNeed) -> tuple[int, int, dt.date, str]:
    need = row.need
    still_open = need.status in ("open", "in_progress")
    return (
        0 if need.overdue else 1 if still_open else 2,
        _URGENCY_RANK.get(need.urgency, 4),
        need.due_date or dt.date.max,
        need.resident_name,
    )


def needs_list(workspace: Workspace, filters: NeedFilters) -> NeedsList:
    """Every need that passes ``filters``, overdue and urgent first, with the counts of
    the needs that pass them (overdue as of the vault's clock). The needs of an archived
    resident are left out."""
    today = workspace.today()
    vault = workspace.vault
    communities: dict[str, str | None] = {}  # None: the resident is archived
    rows: list[ListedNeed] = []
    result = NeedsList(rows=rows)
    counts: Counter[str] = Counter()
    for nid, doc in vault.iter_records(RecordKind.NEED.value):
        need = workspace.need_row(nid, doc, today)
        rid = need.resident_id
        if rid not in communities:
            resident = vault.get(rid) or {}
            communities[rid] = (
                None if resident.get("archived") else str(resident.get("community", ""))
            )
        community = communities[rid]
        if community is None or not _passes(need, community, filters):
            continue
        rows.append(ListedNeed(need, community))
        resolved = need.status == RESOLVED
        counts["resolved"] += resolved
        counts["open"] += need.status in ("open", "in_progress")
        for key, table in ((community, result.by_community), (need.category, result.by_category)):
            tally = table.setdefault(key, Tally())
            tally.listed += 1
            tally.resolved += resolved
    rows.sort(key=_pressing)
    result.listed, result.resolved, result.open = len(rows), counts["resolved"], counts["open"]
    return result


def _passes(need: NeedRow, community: str, f: NeedFilters) -> bool:
    return (
        (f.community is None or community == f.community)
        and (f.category is None or need.category == f.category)
        and (f.status is None or need.status == f.status)
        and (f.urgency is None or need.urgency == f.urgency)
        and (not f.overdue or need.overdue)
    )
