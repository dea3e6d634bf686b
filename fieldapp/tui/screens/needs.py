"""The needs list (需求清单): every need, filtered by community, category, status, urgency
and overdue, with the counts a team reports; Enter opens the resident's file."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Select, Static

from fieldapp.domain import NeedCategory, NeedStatus, Urgency
from fieldapp.i18n import t
from fieldapp.services.needs import NeedFilters, NeedsList, Tally, needs_list
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import day, label, translate_bindings
from fieldapp.tui.messages import OpenResident
from fieldapp.tui.widgets.tables import FitTable, remember_cursors
from fieldapp.tui.workers import background

SHOWN = 500  # rows in the table; the counts always cover every need that passes


class NeedsScreen(Screen[None]):
    """The needs list for a worker (their residents) or a supervisor (the team's),
    given the context through its constructor."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="needs.back"),
        Binding("g", "refresh", "Refresh", id="needs.refresh", show=False),
        Binding("o", "overdue", "Overdue only", id="needs.overdue"),
    ]

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.workspace = context.workspace
        self.filters = NeedFilters()
        self.result: NeedsList | None = None
        self._row_resident: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        """The filters, the counts, the table."""
        yield Header()
        with Horizontal(id="need-filters"):
            yield Select(
                [(Text(c), c) for c in self.workspace.communities()],
                prompt=t("needs.all_communities"),
                id="nf-community",
                value=self.filters.community or Select.NULL,
            )
            for name, enum, prompt, value in (
                ("category", NeedCategory, "needs.all_categories", self.filters.category),
                ("status", NeedStatus, "needs.all_statuses", self.filters.status),
                ("urgency", Urgency, "needs.all_urgencies", self.filters.urgency),
            ):
                yield Select(
                    [(label(enum.__name__, m.value), m.value) for m in enum],
                    prompt=t(prompt),
                    id=f"nf-{name}",
                    value=value or Select.NULL,
                )
        yield Static(t("ui.loading"), id="needs-counts", markup=False)
        yield Static("", id="needs-by", markup=False)
        yield FitTable(id="needs-list", cursor_type="row", zebra_stripes=True, stretch=(6, 1, 2))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Translate the keys and load the list."""
        translate_bindings(self)
        self.title = t("needs.title")
        self.query_one("#needs-list", DataTable).focus()
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a resident's file, where a status may have changed: load again."""
        self.load()

    async def relabel(self) -> None:
        """After a language switch: everything in the new language, filters kept."""
        await self.recompose()
        self.title = t("needs.title")
        if self.result is not None:
            self.show(self.filters, self.result)

    def action_back(self) -> None:
        """Back to where the list was opened from."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read the list again."""
        self.load()

    @on(Select.Changed)
    def _filter(self, event: Select.Changed) -> None:
        name = (event.select.id or "").removeprefix("nf-")
        if name in ("community", "category", "status", "urgency"):
            value = None if event.value is Select.NULL else str(event.value)
            self.filters = replace(self.filters, **{name: value})
            self.load()

    def action_overdue(self) -> None:
        """Only the overdue needs, or every need again (a key, so the four filters fit
        80 columns)."""
        self.filters = replace(self.filters, overdue=not self.filters.overdue)
        self.load()

    @background("needs", exclusive=True)
    def load(self) -> None:
        """Read the needs that pass the filters (in a worker: thousands of needs)."""
        filters = self.filters
        result = needs_list(self.workspace, filters)
        self.app.call_from_thread(self.show, filters, result)

    def worker_failed(self, group: str) -> None:
        """A load that failed says so where the counts go."""
        if group == "needs":
            self.query_one("#needs-counts", Static).update(t("ui.load_failed"))

    def show(self, filters: NeedFilters, result: NeedsList) -> None:
        """Fill the counts and the table, unless the filters changed since the load."""
        if filters != self.filters:
            return  # a newer load is coming
        self.result = result
        counts = t("needs.counts", listed=result.listed, resolved=result.resolved, open=result.open)
        if filters.overdue:
            counts += " · " + t("needs.overdue_only")
        self.query_one("#needs-counts", Static).update(counts)
        self.query_one("#needs-by", Static).update(_by_category(result.by_category))
        table = self.query_one("#needs-list", FitTable)
        restore = remember_cursors(table)
        self._row_resident.clear()
        rows = []
        for listed in result.rows[:SHOWN]:
            need = listed.need
            self._row_resident[need.id] = need.resident_id
            due = day(need.due_date) if need.due_date else ""
            rows.append(
                (
                    need.id,
                    [
                        need.resident_name,
                        listed.community,
                        label("NeedCategory", need.category),
                        label("Urgency", need.urgency),
                        label("NeedStatus", need.status),
                        due + (" !" if need.overdue else ""),
                        need.description[:60],
                    ],
                )
            )
        table.fill(
            [
                t("ui.col_name"),
                t("ui.col_community"),
                t("ui.col_category"),
                t("ui.col_urgency"),
                t("ui.col_status"),
                t("ui.col_due"),
                t("ui.col_need"),
            ],
            rows,
        )
        restore()

    @on(DataTable.RowSelected, "#needs-list")
    def _open(self, event: DataTable.RowSelected) -> None:
        resident = self._row_resident.get(str(event.row_key.value))
        if resident:
            self.post_message(OpenResident(resident))


def _by_category(tallies: dict[str, Tally]) -> str:
    """The largest categories and how many needs each holds (one line at 80 columns)."""
    top = sorted(tallies.items(), key=lambda kv: -kv[1].listed)[:4]
    return " · ".join(
        t("needs.by", name=label("NeedCategory", name), listed=x.listed) for name, x in top
    )
