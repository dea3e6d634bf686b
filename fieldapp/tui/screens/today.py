"""Today (home): the fields in conflict with the supervisor's changes (c reviews them), the
inbox of supervision notes (督导意见), contacts due and overdue, urgent needs, overdue needs,
overdue case-plan actions, needs due this week, the counts."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from fieldapp.i18n import t
from fieldapp.services.syncing import status_line
from fieldapp.services.views import TodaySummary
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import day, label, translate_bindings
from fieldapp.tui.messages import (
    FirstScreenShown,
    OpenResident,
    RecordsArrived,
    SyncStatusChanged,
)
from fieldapp.tui.screens.preview import Preview
from fieldapp.tui.widgets.footer import Footer
from fieldapp.tui.widgets.tables import FitTable, remember_cursors
from fieldapp.tui.workers import background

# The most pressing rows of each list; the title says how many there are in all, and the
# residents screen (overdue filter) shows every one. Thousands of rows would only slow
# the first screen down.
SHOWN = 50


def packed(line: str, width: int, separator: str = " · ") -> str:
    """``line`` on as many rows as it needs at ``width`` cells, broken only between its
    parts (at ``separator``), never inside one: "Hub: offline · retry in 2 min" stays
    whole, the queue's counts go to the next row."""
    rows: list[str] = []
    for part in line.split(separator):
        if rows and cell_len(rows[-1] + separator + part) <= width:
            rows[-1] += separator + part
        else:
            rows.append(part)
    return "\n".join(rows)


class TodayScreen(Screen[None]):
    """A worker's home: what is due, what is urgent, the sync status line. Given the
    open vault's ``context``."""

    # No focus until the first summary is shown, where the first table with rows takes it
    # (``_focus_rows``): one restyle of the screen instead of two before the first paint.
    AUTO_FOCUS = None

    BINDINGS = [
        Binding("r", "app.go_residents", "Residents", id="today.residents"),
        Binding("n", "app.new_resident", "New resident", id="today.new_resident"),
        Binding("s", "app.sync_now", "Sync now", id="today.sync_now"),
        Binding("u", "app.sync_usb", "Sync to USB", id="today.sync_usb"),
        Binding("g", "refresh", "Refresh", id="today.refresh", show=False),
        Binding("l", "app.go_needs", "Needs list", id="today.needs", show=False),
        # Not in the footer (full at 80 columns): the line above the inbox names the key.
        Binding("c", "conflicts", "Conflicts", id="today.conflicts", show=False),
    ]

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context
        self.workspace = context.workspace
        self.summary: TodaySummary | None = None
        self._row_resident: dict[str, str] = {}
        self._row_note: dict[str, str] = {}  # an inbox row's key → its note

    def compose(self) -> ComposeResult:
        """The counts, the sync status line, the conflicts line (shown only when a field is in
        conflict), and the lists: the inbox (shown only when a note is open), contacts due,
        urgent needs, overdue needs, overdue case-plan actions, needs due this week."""
        yield Header()
        yield Static(t("ui.loading"), id="today-counts")
        yield Static(t("ui.sync_checking"), id="sync-status", markup=False)
        with VerticalScroll(id="today-body"):
            conflicts = Static("", id="today-conflicts", markup=False)
            conflicts.display = False
            yield conflicts
            inbox_title = Static(
                t("ui.inbox_title", count="…"), id="inbox-title", classes="section"
            )
            inbox = FitTable(id="inbox", cursor_type="row", zebra_stripes=True)
            inbox_title.display = inbox.display = False
            yield inbox_title
            yield inbox
            yield Static(t("ui.due_title", count="…"), id="due-title", classes="section")
            yield FitTable(id="due", cursor_type="row", zebra_stripes=True)
            yield Static(t("ui.urgent_title", count="…"), id="urgent-title", classes="section")
            yield FitTable(id="urgent", cursor_type="row", zebra_stripes=True, stretch=(5, 1))
            yield Static(t("ui.late_needs_title", count="…"), id="late-title", classes="section")
            yield FitTable(id="late", cursor_type="row", zebra_stripes=True, stretch=(5, 1))
            yield Static(t("ui.actions_title", count="…"), id="actions-title", classes="section")
            yield FitTable(id="actions", cursor_type="row", zebra_stripes=True, stretch=2)
            yield Static(t("ui.soon_title", count="…"), id="soon-title", classes="section")
            yield FitTable(id="soon", cursor_type="row", zebra_stripes=True, stretch=(5, 1))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Listen for sync changes. The summary loads when the screen is shown (a screen
        pushed is resumed too): loading it here as well would scan the vault twice, on the
        first screen's critical path."""
        translate_bindings(self)
        self.title = t("ui.today_title")
        self.context.events.subscribe(self)

    def on_sync_status_changed(self, _: SyncStatusChanged) -> None:
        """The outbox or the hub changed: redraw the sync line."""
        self.load_sync_status()

    def on_records_arrived(self, _: RecordsArrived) -> None:
        """The supervisor's bundles were applied: what is due (and the inbox) may differ."""
        if self.summary is not None:
            self.load()

    def on_screen_resume(self) -> None:
        """Shown (first pushed, or back on Today): load the summary, and the sync line when
        this is not the first time. Right after the unlock, the summary its worker worked
        out is shown at once, before the first frame: no frame without the tables, and no
        round trip through a worker on the way to the first paint."""
        if self.summary is None and (primed := self.workspace.take_primed()) is not None:
            self.show(primed)
            return
        self.load()  # a visit or need saved elsewhere changes what is due
        if self.summary is not None:  # the first time, the line follows the first paint
            self.load_sync_status()  # and it adds to the changes waiting

    async def relabel(self) -> None:
        """Redraw in the new language, with the summary already loaded."""
        await self.recompose()
        self.title = t("ui.today_title")
        if self.summary is not None:
            self.show(self.summary)

    def action_conflicts(self) -> None:
        """Review the fields this worker and the supervisor changed at once (the
        supervisor's conflicts screen, on this vault)."""
        from fieldapp.tui.screens.conflicts import ConflictsScreen

        self.app.push_screen(ConflictsScreen(self.context))

    def action_refresh(self) -> None:
        """Load the summary and the sync line again."""
        self.load()
        if self.summary is not None:
            self.load_sync_status()

    @background("today", exclusive=True)
    def load(self) -> None:
        """Read today's summary in a worker (the newest request wins) and show it."""
        summary = self.workspace.today_summary()
        self.app.call_from_thread(self.show, summary)

    def worker_failed(self, group: str) -> None:
        """Loading failed: say so, and on a first load let the rest of the app (search index,
        sync line) start all the same."""
        if not self.is_attached:
            return  # closed meanwhile (the app quitting): nothing left to put right
        if group == "today":
            self.query_one("#today-counts", Static).update(t("ui.load_failed"))
            if self.summary is None:  # the rest of the app must work all the same
                self.post_message(FirstScreenShown())
                self.load_sync_status()
        elif group == "sync-status":
            self.query_one("#sync-status", Static).update(t("ui.load_failed"))

    def show(self, s: TodaySummary) -> None:
        """Fill the counts and the lists (at most :data:`SHOWN` rows each, cursors kept); the
        first time, once that is painted, tell the app the home screen is up and load the
        sync line."""
        first = self.summary is None
        self.summary = s
        self.sub_title = s.today.isoformat()
        counts = t(
            "ui.today_counts",
            residents=s.residents,
            listed=s.needs_listed,
            resolved=s.needs_resolved,
            open=s.needs_open,
        )
        self.query_one("#today-counts", Static).update(
            counts if s.residents else t("ui.empty_hint")
        )
        restore = remember_cursors(*self.query(DataTable))
        self._row_resident.clear()
        self._row_note.clear()
        self._show_conflicts(s)
        self._show_inbox(s)
        due = self.query_one("#due", FitTable)
        due_rows = []
        for i, row in enumerate(s.due[:SHOWN]):
            key = f"due-{i}"
            self._row_resident[key] = row.resident_id
            late = t("ui.days", n=row.days_overdue) if row.days_overdue else t("ui.due_today")
            due_rows.append(
                (
                    key,
                    [row.name, row.community, label("Activity", row.activity), day(row.due), late],
                )
            )
        due.fill(
            [
                t("ui.col_name"),
                t("ui.col_community"),
                t("ui.col_activity"),
                t("ui.col_due"),
                t("ui.col_overdue_days"),
            ],
            due_rows,
        )
        self.query_one("#due-title", Static).update(t("ui.due_title", count=len(s.due)))
        for table_id, rows, title_id in (
            ("urgent", s.urgent_needs, "ui.urgent_title"),
            ("late", s.overdue_needs, "ui.late_needs_title"),
            ("soon", s.needs_due_soon, "ui.soon_title"),
        ):
            table = self.query_one(f"#{table_id}", FitTable)
            need_rows = []
            for row in rows[:SHOWN]:
                key = f"{table_id}-{row.id}"
                self._row_resident[key] = row.resident_id
                due_text = day(row.due_date) + (" !" if row.overdue else "")
                need_rows.append(
                    (
                        key,
                        [
                            row.resident_name,
                            label("NeedCategory", row.category),
                            label("Urgency", row.urgency),
                            label("NeedStatus", row.status),
                            due_text,
                            row.description,
                        ],
                    )
                )
            table.fill(
                [
                    t("ui.col_name"),
                    t("ui.col_category"),
                    t("ui.col_urgency"),
                    t("ui.col_status"),
                    t("ui.col_due"),
                    t("ui.col_description"),
                ],
                need_rows,
            )
            self.query_one(f"#{table_id}-title", Static).update(t(title_id, count=len(rows)))
        self._show_actions(s)
        restore()
        self._focus_rows()
        if first:  # the search index and the sync line wait until this is on the screen
            self.call_after_refresh(self._first_shown)
        else:
            self.keep_index()

    def _first_shown(self) -> None:
        """The first summary is painted: now the app may index for search (a second of CPU
        that would hold the first paint back) and the sync line may load."""
        self.post_message(FirstScreenShown())
        self.load_sync_status()
        self.keep_index()

    @background("today-keep", exclusive=True)
    def keep_index(self) -> None:
        """Keep Today's index for the next start (so that one after a crash need not scan
        the records again either)."""
        self.workspace.keep_today_index()

    def _focus_rows(self) -> None:
        """Enter opens a row at once: unless a table with rows has the focus already, the
        first table with rows takes it (the body would have it, and Enter do nothing). The
        body is not scrolled to it: the tables are full height from the first frame, and
        centring one would move the screen a frame after it was first drawn."""
        focused = self.focused
        if isinstance(focused, DataTable) and focused.row_count:
            return
        for table in self.query(DataTable):
            if table.row_count:
                # Not scrolled to: the titles above it stay in view (after F2 too).
                table.focus(scroll_visible=False)
                return

    def _show_conflicts(self, s: TodaySummary) -> None:
        """The fields in conflict, counted, with the key that reviews them; hidden while
        there are none."""
        line = self.query_one("#today-conflicts", Static)
        line.update(t("ui.today_conflicts", n=s.conflicts))
        line.display = bool(s.conflicts)

    def _show_inbox(self, s: TodaySummary) -> None:
        """The open supervision notes, the most overdue first (whose file, what is asked,
        where it stands, by when — "!" past due — the note), then the residents newly
        assigned or shared here (whose file, "new", yours or shared, since when, the
        community); hidden while there are none."""
        inbox = self.query_one("#inbox", FitTable)
        rows = []
        for row in s.notes[:SHOWN]:
            key = f"inbox-{row.id}"
            self._row_resident[key] = row.resident_id
            self._row_note[key] = row.id
            due = day(row.due_date) + (" !" if row.days_overdue else "")
            rows.append(
                (
                    key,
                    [
                        row.resident_name,
                        label("NoteAction", row.action),
                        label("NoteStatus", row.status),
                        due,
                        row.text,
                    ],
                )
            )
        for new in s.assignments[:SHOWN]:
            key = f"inbox-new-{new.resident_id}"
            self._row_resident[key] = new.resident_id
            rows.append(
                (
                    key,
                    [
                        new.name,
                        t("ui.inbox_new_resident"),
                        t("ui.inbox_shared" if new.shared else "ui.inbox_assigned"),
                        day(new.assigned_at.date()),
                        new.community,
                    ],
                )
            )
        inbox.fill(
            [
                t("ui.col_name"),
                t("ui.col_note_action"),
                t("ui.col_status"),
                t("ui.col_due"),
                t("ui.col_note"),
            ],
            rows,
        )
        title = self.query_one("#inbox-title", Static)
        title.update(t("ui.inbox_title", count=len(s.notes) + len(s.assignments)))
        title.display = inbox.display = bool(s.notes or s.assignments)

    def _show_actions(self, s: TodaySummary) -> None:
        actions = self.query_one("#actions", FitTable)
        action_rows = []
        for i, row in enumerate(s.overdue_actions[:SHOWN]):
            key = f"actions-{i}"
            self._row_resident[key] = row.resident_id
            action_rows.append(
                (
                    key,
                    [
                        row.resident_name,
                        row.plan_title[:20],
                        row.text,
                        row.owner,
                        day(row.due_date),
                        t("ui.days", n=row.days_overdue),
                    ],
                )
            )
        actions.fill(
            [
                t("ui.col_name"),
                t("ui.col_plan"),
                t("ui.col_plan_action"),
                t("ui.col_owner"),
                t("ui.col_due"),
                t("ui.col_overdue_days"),
            ],
            action_rows,
        )
        self.query_one("#actions-title", Static).update(
            t("ui.actions_title", count=len(s.overdue_actions))
        )

    @background("sync-status", exclusive=True)
    def load_sync_status(self) -> None:
        """Work out the sync status line in a worker and show it."""
        line = status_line(self.workspace, self.context.hub)
        self.app.call_from_thread(self._show_sync_line, line)

    def _show_sync_line(self, line: str) -> None:
        """Show ``line`` at the line's width (on the UI thread; nothing when the screen was
        closed meanwhile, as when the app quits during the worker)."""
        for box in self.query("#sync-status").results(Static):
            width = (box.content_size.width or self.app.size.width - 2) - 1
            box.update(packed(line, width))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        rid = self._row_resident.get(key)
        if rid:
            self.post_message(OpenResident(rid, note_id=self._row_note.get(key)))


class TodayPreview(Preview, TodayScreen):
    """Today drawn from what the last session kept (``summary``:
    :func:`fieldapp.services.today.preview`) while the vault's records are still being read
    — the unlock's worker shows it from ``Vault.open``'s peek, and replaces it with Today
    once the vault is open. It looks as Today will; the keys pressed on it wait
    (:class:`Preview`)."""

    def __init__(self, summary: TodaySummary) -> None:
        Screen.__init__(self)  # no context: there is no open vault yet
        self.start_preview()
        self.preview = summary
        self.summary = None
        self._row_resident = {}
        self._row_note = {}

    def on_mount(self, event: events.Mount) -> None:
        """The title and the keys' labels; nothing to listen to yet (not Today's own, but
        the screen's)."""
        Screen._on_mount(self, event)
        event.prevent_default()
        translate_bindings(self)
        self.title = t("ui.today_title")

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Shown: fill it from the kept summary, before its first frame (not Today's own,
        but the screen's: its layout, focus and notifications)."""
        Screen._on_screen_resume(self, event)
        event.prevent_default()
        if self.summary is None:
            self.show(self.preview)

    def _first_shown(self) -> None:
        """Painted: the unlock's worker may go on reading the records."""
        self.painted.set()

    def load(self) -> None:
        """Nothing to load from: the records are not read yet."""

    def keep_index(self) -> None:
        """Nothing to keep: this is what was kept."""

    def load_sync_status(self) -> None:
        """The outbox is not open yet: the line says it is being checked."""
