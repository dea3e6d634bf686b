"""The supervisor's screens: the team at a glance and the quarantine; its conflicts to review
are the worker's screen too (``conflicts.py``)."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Sparkline, Static

from fieldapp.i18n import t
from fieldapp.services import supervision
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import label, translate_bindings
from fieldapp.tui.messages import FirstScreenShown, TeamChanged
from fieldapp.tui.screens.conflicts import ConflictsScreen
from fieldapp.tui.screens.preview import Preview
from fieldapp.tui.widgets.tables import FitTable, remember_cursors
from fieldapp.tui.workers import background

BAR = 24


def bars(counts: dict[str, int], width: int = BAR, notes: dict[str, str] | None = None) -> str:
    """Horizontal bars: a terminal chart that reads the same in any font."""
    top = max(counts.values(), default=0) or 1
    name_width = max((cell_len(k) for k in counts), default=0)
    lines = []
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        fill = round(width * n / top)
        pad = " " * (name_width - cell_len(name))  # CJK labels are two cells wide
        note = (notes or {}).get(name, "")
        lines.append(f"{name}{pad} {'█' * fill}{'·' * (width - fill)} {n}{note}")
    return "\n".join(lines)


class TeamScreen(Screen[None]):
    """A supervisor's home: each worker's numbers, conflicts and quarantine, charts.
    Given the open vault's ``context``, as are the two screens below."""

    # The workers' table takes the focus once it is filled, without scrolling the screen
    # to it (``show``): focused before, a table filled at once (the unlock's primed view)
    # would scroll the summary line out of sight on a team taller than the screen.
    AUTO_FOCUS = ""

    BINDINGS = [
        Binding("c", "conflicts", "Conflicts", id="team.conflicts"),
        Binding("q", "quarantine", "Quarantine", id="team.quarantine"),
        Binding("s", "app.sync_now", "Fetch", id="team.fetch_hub"),
        Binding("m", "app.merge_folder", "Merge", id="team.merge"),
        Binding("x", "app.export", "Export", id="team.export"),
        # Not in the footer (full at 80 columns): F4 and the palette go there too.
        Binding("r", "app.go_residents", "Residents", id="team.residents", show=False),
        Binding("l", "app.go_needs", "Needs list", id="team.needs", show=False),
    ]

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context
        self.workspace = context.workspace
        self.rows: list[supervision.WorkerRow] = []
        self.weekly: tuple[list[int], list[int]] = ([], [])
        self._shown_once = False  # the first show tells the app (FirstScreenShown)

    def compose(self) -> ComposeResult:
        """The summary line, one row per worker, the highlighted worker's supervision notes
        (open, and how long acknowledging took), and the charts: their visits per week, needs
        by category and per week."""
        yield Header()
        yield Static(t("ui.loading"), id="team-summary", markup=False)
        yield FitTable(id="workers", cursor_type="row", zebra_stripes=True)
        # No room for another column at 80: the highlighted worker's notes get a line.
        yield Static("", id="worker-notes", markup=False)
        with Horizontal(id="charts"):
            with Vertical(id="visits-chart"):
                yield Static(t("ui.chart_visits"), classes="section", id="visits-title")
                yield Sparkline([0], id="visits-spark")
            with Vertical(id="needs-chart"):
                yield Static(t("ui.chart_needs"), classes="section")
                yield Static("", id="needs-bars", markup=False)
                yield Static("", id="needs-weeks", classes="section", markup=False)
                yield Sparkline([0], id="needs-spark")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Listen for merges and enrolments. The team view loads when the screen is shown
        (a screen pushed is resumed too): loading it here as well would work it out twice,
        at once, on the first screen's path (two threads on one GIL: 2 × 2 s at 200 000
        records)."""
        translate_bindings(self)
        self.title = t("ui.team_title")
        self.context.events.subscribe(self)

    def on_team_changed(self, _: TeamChanged) -> None:
        """Bundles were merged or a device enrolled: load again."""
        self.load()

    def on_screen_resume(self) -> None:
        """Shown (first pushed, or back from conflicts, quarantine or a dialog): load. Right
        after the unlock, the view its worker worked out is shown at once, before the
        first frame."""
        if not self.rows and (primed := self.workspace.take_primed_team()) is not None:
            self.show(primed)
            return
        self.load()

    async def relabel(self) -> None:
        """Redraw in the new language and load again."""
        await self.recompose()
        self.title = t("ui.team_title")
        self.load()

    def action_conflicts(self) -> None:
        """Open the conflicts to review."""
        self.app.push_screen(ConflictsScreen(self.context))

    def action_quarantine(self) -> None:
        """Open the quarantined bundles."""
        self.app.push_screen(QuarantineScreen(self.context))

    @background("team", exclusive=True)
    def load(self) -> None:
        """Work the team view out in a worker (the newest request wins) and show it."""
        view = self.workspace.team_view()
        self.app.call_from_thread(self.show, view)

    @background("team-keep", exclusive=True)
    def keep_index(self) -> None:
        """Keep the team view's index for the next start."""
        self.workspace.keep_team_index()

    def worker_failed(self, group: str) -> None:
        """Loading failed: say so on the summary line (and let the search index start all
        the same)."""
        if group == "team":
            self.query_one("#team-summary", Static).update(t("ui.load_failed"))
            self._first_shown()

    def _first_shown(self) -> None:
        """The team view is up (painted): now the app may index the residents for search,
        a long pass that would hold the view back on the same GIL."""
        if not self._shown_once:
            self._shown_once = True
            self.post_message(FirstScreenShown())

    def _hub_text(self) -> str:
        state = self.context.hub.state
        if state in ("unknown", "no_hub"):
            return ""
        return " · " + t("ui.team_hub", state=t(f"ui.hub_state.{state}"))

    def show(self, view: supervision.TeamView) -> None:
        """Fill the summary line, the workers' table (cursor kept) and the charts."""
        rows, needs = view.rows, view.needs
        conflicts, quarantined = view.conflicts, view.quarantined
        self.weekly = view.weekly
        self.rows = rows
        self.query_one("#team-summary", Static).update(
            t(
                "ui.team_summary",
                workers=len(rows),
                bundles=sum(r.bundles for r in rows),
                conflicts=conflicts,
                quarantined=quarantined,
            )
            + self._hub_text()
        )
        table = self.query_one("#workers", FitTable)
        # Refilled: the cursor stays on its worker. Filled the first time: it starts at the
        # top without moving there (a move scrolls the screen to it, the summary line out).
        restore = remember_cursors(table) if table.row_count else (lambda: None)
        labels = [
            t(f"ui.team_head_{c}")
            for c in (
                "name",
                "bundles",
                "residents",
                "needs",
                "visits_this_month",
                "overdue",
                "conflicts",
                "last_bundle",  # last: at 80 columns the times give way, not the counts
            )
        ]
        lines = []
        for r in rows:
            name = r.name + (f" ({t('cli.revoked_on', date='')})" if r.revoked else "")
            if r.flow:  # a lower office: its whole team's counts
                name = t("ui.team_office", name=name)
            elif r.office:  # on that office's roster, right under it
                name = "└ " + name
            values = [
                name,
                r.bundles,
                r.residents,
                f"{r.needs_listed}/{r.needs_resolved}/{r.needs_open}",
                r.visits_this_month,
                r.overdue,
                r.conflicts,
                _last_bundle(r),
            ]
            lines.append((r.device_id, [str(v) for v in values]))
        table.fill(labels, lines)
        restore()
        if self.focused is None:
            table.focus(scroll_visible=False)
        totals = {label("NeedCategory", cat): sum(c.values()) for cat, c in needs.items()}
        notes = {
            label("NeedCategory", cat): " " + t("ui.chart_resolved", n=c.get("resolved", 0))
            for cat, c in needs.items()
        }
        self.query_one("#needs-bars", Static).update(bars(totals, 20, notes) or t("ui.none_yet"))
        listed, resolved = self.weekly
        self.query_one("#needs-weeks", Static).update(
            t(
                "ui.chart_needs_weeks",
                listed=" ".join(map(str, listed)),
                resolved=" ".join(map(str, resolved)),
            )
        )
        self.query_one("#needs-spark", Sparkline).data = listed or [0]
        self._spark(0)
        if not self._shown_once:
            self.call_after_refresh(self._first_shown)
        self.keep_index()

    def _spark(self, index: int) -> None:
        if not self.rows:
            return
        row = self.rows[min(index, len(self.rows) - 1)]
        self.query_one("#worker-notes", Static).update(notes_line(row))
        self.query_one("#visits-spark", Sparkline).data = row.visits_per_week or [0]
        self.query_one("#visits-title", Static).update(
            t("ui.chart_visits_of", name=row.name, counts=" ".join(map(str, row.visits_per_week)))
        )

    @on(DataTable.RowHighlighted, "#workers")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        self._spark(event.cursor_row)

    @on(DataTable.RowSelected, "#workers")
    def _drill_down(self, event: DataTable.RowSelected) -> None:
        """Enter on a worker (or a lower office): the residents behind the row's numbers,
        where this level holds their files; an office that sends counts only has none here."""
        device = str(event.row_key.value)
        row = next((r for r in self.rows if r.device_id == device), None)
        if row is not None:
            self.residents_of(row, list(self.rows))

    @background("team-residents", exclusive=True)
    def residents_of(self, row: supervision.WorkerRow, rows: list[supervision.WorkerRow]) -> None:
        """Find the residents behind ``row`` in a worker, then open the list of them."""
        behind = supervision.residents_behind(self.workspace.vault, row, rows)
        self.app.call_from_thread(self._open_residents, row, behind)

    def _open_residents(self, row: supervision.WorkerRow, behind: frozenset[str] | None) -> None:
        from fieldapp.tui.screens.residents import ResidentsScreen

        if behind is None:
            self.notify(t("ui.team_counts_only", name=row.name), timeout=8)
            return
        if self.app.screen is self:  # not over whatever was opened meanwhile
            self.app.push_screen(ResidentsScreen(self.context, only=behind, whose=row.name))


class TeamPreview(Preview, TeamScreen):
    """The team view drawn from what the last session kept (``view``:
    :func:`fieldapp.services.team_view.preview`) while the vault's records are still being
    read; the unlock replaces it with the team view once the vault is open. The keys
    pressed on it wait (:class:`Preview`)."""

    def __init__(self, view: supervision.TeamView) -> None:
        Screen.__init__(self)  # no context: there is no open vault yet
        self.start_preview()
        self.preview = view
        self.rows = []
        self.weekly = ([], [])
        self._shown_once = False

    def on_mount(self, event: events.Mount) -> None:
        """The title and the keys' labels; nothing to listen to yet (not the view's own,
        but the screen's)."""
        Screen._on_mount(self, event)
        event.prevent_default()
        translate_bindings(self)
        self.title = t("ui.team_title")

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Shown: fill it from the kept view, before its first frame (and the screen's own:
        its layout, focus and notifications)."""
        Screen._on_screen_resume(self, event)
        event.prevent_default()
        if not self._shown_once:
            self.show(self.preview)

    def _hub_text(self) -> str:
        return ""  # the hub is not tried before the vault is open

    def _first_shown(self) -> None:
        """Painted: the unlock's worker may go on reading the records."""
        self._shown_once = True
        self.painted.set()

    def load(self) -> None:
        """Nothing to load from: the records are not read yet."""

    def keep_index(self) -> None:
        """Nothing to keep: this is what was kept."""

    def residents_of(self, row: supervision.WorkerRow, rows: list[supervision.WorkerRow]) -> None:
        """A row clicked on the preview: nothing to drill into yet (the keys wait; a click
        is dropped)."""


def notes_line(row: supervision.WorkerRow) -> str:
    """A worker's supervision notes in one line: how many are open, and the median days they
    took to acknowledge one."""
    if row.notes_ack_days is None:
        return t("ui.team_notes_none_acknowledged", name=row.name, open=row.notes_open)
    return t("ui.team_notes", name=row.name, open=row.notes_open, days=f"{row.notes_ack_days:g}")


def _last_bundle(row: supervision.WorkerRow) -> str:
    """When the last bundle's newest change was made → when it was received, in 17 cells so
    the table fits 80 columns: ``11-20 10:00→11-29`` (received another day) or
    ``11-29 09:12→09:30`` (the same day). Only the received time for stats kept before the
    change time was recorded; a dash before any bundle."""
    if row.last_at is None:
        return "—"
    received = row.last_at.replace("T", " ")
    if row.last_made is None:
        return received[5:16]
    made = row.last_made.replace("T", " ")
    later = received[11:16] if made[:10] == received[:10] else received[5:10]
    return f"{made[5:16]}→{later}"


class QuarantineScreen(Screen[None]):
    """Bundles refused whole, with the reason for each."""

    BINDINGS = [Binding("escape", "back", "Back", id="quarantine.back")]

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context
        self.workspace = context.workspace

    def compose(self) -> ComposeResult:
        """The count, one row per quarantined bundle, and the highlighted one's source and
        reason."""
        yield Header()
        yield Static("", id="quarantine-count", markup=False)
        yield FitTable(id="quarantine", cursor_type="row", zebra_stripes=True)
        yield Static("", id="quarantine-reason", classes="prose", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """List the quarantined bundles, newest first, and show the first one's reason."""
        translate_bindings(self)
        self.title = t("ui.quarantine_title")
        ws = self.workspace
        self.items = supervision.quarantine(ws.vault)
        self.query_one("#quarantine-count", Static).update(
            t("ui.quarantine_count", n=len(self.items))
        )
        table = self.query_one("#quarantine", FitTable)
        table.fill(
            [t("ui.col_when"), t("ui.col_device"), t("ui.col_seq"), t("ui.col_reason")],
            [
                (
                    q.key,
                    [
                        q.at.replace("T", " ")[:16],
                        q.device or "?",
                        str(q.seq or "?"),
                        t(q.reason, **q.params)[:60],
                    ],
                )
                for q in self.items
            ],
        )
        if self.items:
            self._reason(self.items[0])

    async def relabel(self) -> None:
        """Redraw and list again in the new language."""
        await self.recompose()
        self.on_mount()

    def action_back(self) -> None:
        """Close the quarantine."""
        self.app.pop_screen()

    def _reason(self, q: supervision.Quarantined) -> None:
        self.query_one("#quarantine-reason", Static).update(
            f"{q.source}\n{t(q.reason, **q.params)}"
        )

    @on(DataTable.RowHighlighted, "#quarantine")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.items):
            self._reason(self.items[event.cursor_row])
