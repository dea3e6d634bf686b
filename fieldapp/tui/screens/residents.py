"""Residents: search-as-you-type (name, pinyin, address, community, tags, ID digits)
with filters; Enter opens the resident's file."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Header, Input, Select, Static

from fieldapp.domain import Vulnerability
from fieldapp.i18n import t
from fieldapp.services.views import ResidentRow
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import label, listed, translate_bindings
from fieldapp.tui.messages import IndexReady, OpenResident
from fieldapp.tui.widgets.tables import FitTable, remember_cursors
from fieldapp.tui.workers import background


@dataclass
class Filters:
    """What the worker searches for: typed text and the filters beside it."""

    query: str = ""
    community: str | None = None
    tag: str | None = None
    open_needs: bool = False
    overdue: bool = False
    archived: bool = False  # only the archived residents (to open and restore one)
    only: frozenset[str] | None = None  # only these (a supervisor's worker: drill-down)


class ResidentsScreen(Screen[None]):
    """Every resident, found as you type; Enter opens their file. Given the open
    vault's ``context``."""

    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="residents.search"),
        Binding("n", "app.new_resident", "New resident", id="residents.new"),
        Binding("escape", "back", "Back", id="residents.back"),
        # Out of the footer and the filter row (both full at 80 columns): F1 lists it.
        Binding("ctrl+o", "toggle_archived", "Archived", id="residents.archived", show=False),
    ]

    class Results(Message):
        """A search's rows (the first of ``total`` matches), for the ``filters`` it ran
        with (stale ones are dropped)."""

        def __init__(self, filters: Filters, rows: list[ResidentRow], total: int) -> None:
            super().__init__()
            self.filters = filters
            self.rows = rows
            self.total = total

    def __init__(
        self, context: Context, *, only: frozenset[str] | None = None, whose: str = ""
    ) -> None:
        """``only``: list only these residents — a supervisor drilling down from a row of
        the team view to the residents behind it — and ``whose`` (the worker's or the
        office's name) says so in the title."""
        super().__init__()
        self.workspace = context.workspace
        self.events = context.events
        self.filters = Filters(only=only)
        self.whose = whose
        self._shown: Filters | None = None  # the search the table shows
        self._open_counts: dict[str, int] | None = None
        self._overdue: set[str] | None = None

    def compose(self) -> ComposeResult:
        """The search box, the filters (community, tag, open needs, overdue), the table, the
        count."""
        workspace = self.workspace
        yield Header()
        yield Input(placeholder=t("ui.search_placeholder"), id="search", value=self.filters.query)
        with Horizontal(id="filters"):
            yield Select(
                [(Text(c), c) for c in workspace.communities()],
                prompt=t("ui.all_communities"),
                id="community",
                value=self.filters.community or Select.NULL,
            )
            yield Select(
                [(label("Vulnerability", v.value), v.value) for v in Vulnerability],
                prompt=t("ui.all_tags"),
                id="tag",
                value=self.filters.tag or Select.NULL,
            )
            yield Checkbox(t("ui.has_open_needs"), self.filters.open_needs, id="open-needs")
            yield Checkbox(t("ui.overdue_only"), self.filters.overdue, id="overdue")
        yield FitTable(id="residents", cursor_type="row", zebra_stripes=True, stretch=3)
        yield Static("", id="result-count")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Focus the search box, listen for the search index, and run the first search."""
        translate_bindings(self)
        self.title = self._title()
        self.query_one("#search", Input).focus()
        self.events.subscribe(self)
        self.run_search()

    def on_index_ready(self, _: IndexReady) -> None:
        """The pinyin index is built: search again."""
        self.run_search()  # pinyin matches now

    def on_screen_resume(self) -> None:
        """Back from a file: search again, with fresh open-need and overdue counts."""
        self._open_counts = self._overdue = None  # a save elsewhere may change them
        self.run_search()

    async def relabel(self) -> None:
        """Redraw in the new language and search again."""
        await self.recompose()
        self.title = self._title()
        self.run_search()

    def _title(self) -> str:
        if self.filters.only is None:
            return t("ui.residents_title")
        return t("ui.residents_of_title", name=self.whose)

    def action_focus_search(self) -> None:
        """Put the cursor back in the search box."""
        self.query_one("#search", Input).focus()

    def action_toggle_archived(self) -> None:
        """List only the archived residents (to open one and restore it), or the others again."""
        self.filters.archived = not self.filters.archived
        self.run_search()

    def action_back(self) -> None:
        """Close the list."""
        self.app.pop_screen()

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self.filters.query = event.value
        self.run_search()

    @on(Input.Submitted, "#search")
    def _to_table(self) -> None:
        self.query_one("#residents", DataTable).focus()

    @on(Select.Changed)
    def _selected(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        if event.select.id == "community":
            self.filters.community = value
        elif event.select.id == "tag":
            self.filters.tag = value
        self.run_search()

    @on(Checkbox.Changed)
    def _checked(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "open-needs":
            self.filters.open_needs = event.value
        elif event.checkbox.id == "overdue":
            self.filters.overdue = event.value
        self.run_search()

    def run_search(self) -> None:
        """Search with a copy of the filters as they are now (stale results are told apart by
        it)."""
        self.search(Filters(**vars(self.filters)))

    @background("search", exclusive=True)
    def search(self, filters: Filters) -> None:
        """Find the matching residents in a worker (the newest search wins) and post the rows;
        open-need counts are read once (the column shows them from the first search), overdue
        contacts when the filter first needs them."""
        workspace = self.workspace
        if self._open_counts is None:
            self._open_counts = workspace.open_needs_by_resident()
        if filters.overdue and self._overdue is None:
            self._overdue = workspace.overdue_residents()
        rows, total = workspace.find_residents(
            filters.query,
            community=filters.community,
            tag=filters.tag,
            open_needs=filters.open_needs,
            overdue=filters.overdue,
            archived=filters.archived,
            only=filters.only,
            open_counts=self._open_counts,
            overdue_ids=self._overdue,
            limit=200,
        )
        self.post_message(self.Results(filters, rows, total))

    def worker_failed(self, group: str) -> None:
        """The search failed: say so where the count goes."""
        if group == "search":
            self.query_one("#result-count", Static).update(t("ui.load_failed"))

    @on(Results)
    def _show(self, message: Results) -> None:
        if message.filters != self.filters:
            return  # the user has typed on since: a newer search is coming
        table = self.query_one("#residents", FitTable)
        # The same search again (back from a file, after the index is ready): the cursor
        # stays on its resident; a new search starts at the top.
        again = message.filters == self._shown
        restore = remember_cursors(table) if again else (lambda: None)
        self._shown = message.filters
        table.fill(
            [
                t("ui.col_name"),
                t("ui.col_community"),
                t("ui.col_age"),
                t("ui.col_tags"),
                t("ui.col_open_needs"),
            ],
            [
                (
                    row.id,
                    [
                        row.name,
                        row.community,
                        "" if row.age is None else str(row.age),
                        listed(label("Vulnerability", tag) for tag in row.tags),
                        str(row.open_needs or ""),
                    ],
                )
                for row in message.rows
            ],
        )
        restore()
        shown = len(message.rows)
        count = t("ui.result_count", shown=shown, total=message.total)
        if message.filters.archived:
            count = t("ui.archived_count", count=count)
        self.query_one("#result-count", Static).update(count)

    @on(DataTable.RowSelected, "#residents")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.post_message(OpenResident(str(event.row_key.value)))
