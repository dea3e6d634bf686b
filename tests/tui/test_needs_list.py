"""The needs list (需求清单): every need, filtered, with the counts a team reports, and
the resident's file one Enter away — for a worker and a supervisor alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Select, Static

from fieldapp.domain import RecordKind
from fieldapp.domain.clock import FixedClock
from fieldapp.services.needs import NeedFilters, needs_list
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.screens.needs import NeedsScreen
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from tests.conftest import PASSPHRASE
from tests.tui.conftest import T0, running, settle


def _all_needs(path: Path) -> list[dict[str, object]]:
    with Vault.open(path, PASSPHRASE, clock=FixedClock(T0)) as vault:
        return [doc for _, doc in vault.iter_records(RecordKind.NEED.value)]


def test_the_counts_are_those_of_every_need_that_passes_the_filters(demo_vault: Path) -> None:
    docs = _all_needs(demo_vault)
    with Vault.open(demo_vault, PASSPHRASE, clock=FixedClock(T0)) as vault:
        ws = Workspace(vault)
        everything = needs_list(ws, NeedFilters())
        assert everything.listed == len(docs)
        assert everything.resolved == sum(d.get("status") == "resolved" for d in docs)
        assert everything.open == sum(d.get("status") in ("open", "in_progress") for d in docs)
        assert sum(x.listed for x in everything.by_community.values()) == len(docs)
        assert sum(x.listed for x in everything.by_category.values()) == len(docs)
        # Overdue and urgent first: no overdue row after a row that is not overdue.
        flags = [row.need.overdue for row in everything.rows]
        assert flags == sorted(flags, reverse=True) and any(flags)
        community = next(iter(everything.by_community))
        narrowed = needs_list(ws, NeedFilters(community=community, status="open"))
        assert narrowed.listed == everything.by_community[community].listed - sum(
            1 for r in everything.rows if r.community == community and r.need.status != "open"
        )
        assert {r.community for r in narrowed.rows} == {community}
        assert {r.need.status for r in narrowed.rows} == {"open"}
        late = needs_list(ws, NeedFilters(overdue=True))
        assert late.listed == sum(flags) and all(r.need.overdue for r in late.rows)
        for category, tally in everything.by_category.items():
            only = needs_list(ws, NeedFilters(category=category))
            assert (only.listed, only.resolved) == (tally.listed, tally.resolved)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_a_worker_filters_the_needs_list_and_opens_a_resident(
    demo_vault: Path, lang: str
) -> None:
    total = len(_all_needs(demo_vault))
    async with running(demo_vault, lang) as (app, pilot, _ws):
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NeedsScreen)
        counts = str(screen.query_one("#needs-counts", Static).render())
        assert (f"{total} needs listed" if lang == "en" else f"需求 {total} 条") in counts
        table = screen.query_one("#needs-list", DataTable)
        assert table.row_count == min(total, 500)
        screen.query_one("#nf-status", Select).value = "resolved"
        await settle(pilot)
        resolved = screen.result
        assert resolved is not None and resolved.listed == resolved.resolved > 0
        assert table.row_count == resolved.listed
        shown = {str(table.get_row_at(i)[4]) for i in range(table.row_count)}
        assert shown == {"Resolved" if lang == "en" else "已解决"}
        await pilot.press("o")  # overdue only, a key so the four filters fit 80 columns
        await settle(pilot)
        late = screen.result
        assert late is not None and late.listed == 0  # a resolved need is never overdue
        assert screen.filters.overdue and screen.filters.status == "resolved"
        await pilot.press("o")
        await settle(pilot)
        assert screen.result is not None and screen.result.listed == resolved.listed
        first = resolved.rows[0].need
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentFileScreen)
        assert app.screen.resident_id == first.resident_id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen) and app.screen.filters.status == "resolved"


async def test_the_palette_finds_the_needs_list_in_chinese(demo_vault: Path) -> None:
    async with running(demo_vault, "zh_CN") as (app, pilot, _ws):
        await pilot.press("ctrl+p")
        await pilot.press(*"需求清单")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen)
        assert app.screen.title == "需求清单"
