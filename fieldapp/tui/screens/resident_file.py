"""The resident's file (一人一档案): profile, needs, interviews, visits, case plan, the
supervision notes (督导意见) and the history of every change."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.widgets.data_table import RowDoesNotExist

from fieldapp.domain import (
    ConsentStatus,
    Need,
    NoteStatus,
    Record,
    RecordKind,
    Resident,
    SupervisionNote,
    Visit,
)
from fieldapp.domain.idcard import mask_id_number
from fieldapp.domain.workflow import allowed_next
from fieldapp.i18n import t
from fieldapp.services.records import HistoryEntry
from fieldapp.services.views import ResidentFile
from fieldapp.tui.context import Context
from fieldapp.tui.i18n import (
    day,
    label,
    lang,
    show_value,
    translate_bindings,
)
from fieldapp.tui.screens.resident_tabs import (
    about,
    fill_history,
    fill_interviews,
    fill_needs,
    fill_notes,
    fill_visits,
    note_detail,
    plan_text,
    short,
)
from fieldapp.tui.widgets.tables import FitTable, keeping_cursor
from fieldapp.tui.workers import background

# The keys that leave the footer to the notes' two on the worker's notes tab (still keys).
GIVE_WAY = frozenset({"file.edit", "file.need_status"})


class ResidentFileScreen(Screen[None]):
    """一人一档案: one resident's profile, needs, interviews, visits, plan, history.
    Given the open vault's ``context`` and whose file it is (``resident_id``)."""

    BINDINGS = [
        Binding("e", "edit", "Edit", id="file.edit"),
        Binding("n", "new_need", "Need", id="file.new_need"),
        Binding("v", "new_visit", "Visit", id="file.new_visit"),
        Binding("i", "new_interview", "Interview", id="file.new_interview"),
        Binding("p", "plan", "Plan", id="file.plan"),
        Binding("s", "need_status", "Status", id="file.need_status"),
        # On the notes tab only: the worker's two moves, and the supervisor's pen.
        Binding("k", "acknowledge_note", "Acknowledge", id="file.note_acknowledge"),
        Binding("x", "note_done", "Done", id="file.note_done"),
        Binding("w", "write_note", "Note", id="file.write_note"),
        # The supervisor's: who holds the file (scope). Listed in F1 and the palette.
        Binding("g", "assign", "Assign", id="file.assign", show=False),
        Binding("escape", "back", "Back", id="file.back"),
        # Not in the footer (it is full at 80 columns): F1 lists them, the profile says so.
        Binding("a", "archive", "Archive/restore", id="file.archive", show=False),
        Binding("d", "delete", "Delete", id="file.delete", show=False),
        # F2 still switches the language here; the footer gives its room to the file's keys.
        Binding("f2", "app.toggle_language", "Language", id="file.language", show=False),
        # From the tables too, not only from the tab bar (a table has no use for ←/→).
        Binding(
            "left", "switch_tab(-1)", "Previous tab", id="file.prev_tab", show=False, priority=True
        ),
        Binding(
            "right", "switch_tab(1)", "Next tab", id="file.next_tab", show=False, priority=True
        ),
    ]

    def __init__(self, context: Context, resident_id: str, note_id: str | None = None) -> None:
        """``note_id``: open at that supervision note (from Today's inbox)."""
        super().__init__()
        self.context = context
        self.workspace = context.workspace
        self.resident_id = resident_id
        self._show_note = note_id  # shown once the file is read
        self.file: ResidentFile | None = None
        self._deleting = False  # the file is being deleted here: its closing is ours

    def compose(self) -> ComposeResult:
        """One tab each: profile, needs, interviews, visits, case plan, supervision notes,
        history."""
        yield Header()
        with TabbedContent(id="file-tabs"):
            with TabPane(t("ui.tab_profile"), id="tab-profile"):
                yield Static(t("ui.loading"), id="profile", markup=False)
            with TabPane(t("ui.tab_needs"), id="tab-needs"):
                yield FitTable(id="needs", cursor_type="row", zebra_stripes=True)
            with TabPane(t("ui.tab_interviews"), id="tab-interviews"):
                yield FitTable(id="interviews", cursor_type="row", zebra_stripes=True)
            with TabPane(t("ui.tab_visits"), id="tab-visits"):
                yield FitTable(id="visits", cursor_type="row", zebra_stripes=True)
            with TabPane(t("ui.tab_plan"), id="tab-plan"):
                yield Static("", id="plan", markup=False)
            with TabPane(t("ui.tab_notes"), id="tab-notes"):
                yield FitTable(id="notes", cursor_type="row", zebra_stripes=True, stretch=(-1, 2))
                yield Static("", id="note-detail", classes="prose", markup=False)
            with TabPane(t("ui.tab_history"), id="tab-history"):
                yield FitTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Load the resident's file."""
        translate_bindings(self)
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a form or a dialog: load the file again."""
        self.load()

    async def relabel(self) -> None:
        """Redraw in the new language on the same tab, and load again."""
        active = self.query_one("#file-tabs", TabbedContent).active
        await self.recompose()
        self.query_one("#file-tabs", TabbedContent).active = active
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The notes' keys where they apply: acknowledge and done for the worker on the notes
        tab, writing one for the supervisor."""
        if action in ("acknowledge_note", "note_done"):
            return self._active_tab() == "tab-notes" and not self.context.supervisor
        if action in ("write_note", "assign"):
            return self.context.supervisor
        return True

    def palette_commands(self) -> Iterator[SystemCommand]:
        """The note keys that apply here now, for the command palette, in the user's
        language (the app lists them before its own)."""
        for name, action in (
            ("note_acknowledge", "acknowledge_note"),
            ("note_done", "note_done"),
            ("write_note", "write_note"),
            ("assign", "assign"),
        ):
            if self.check_action(action, ()):
                yield SystemCommand(
                    t(f"cmd.{name}"), t(f"cmd.{name}_help"), getattr(self, f"action_{action}")
                )

    def _active_tab(self) -> str:
        tabs = self.query("#file-tabs")
        return str(tabs.first(TabbedContent).active) if tabs else ""

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, _: TabbedContent.TabActivated) -> None:
        """The notes' keys come and go with their tab; there, Edit and Status (the profile's
        and a need's keys) leave the footer their room, and still work (F1 lists them)."""
        notes_tab = self._active_tab() == "tab-notes" and not self.context.supervisor
        bindings = self._bindings.key_to_bindings
        for key, items in bindings.items():  # by id: a user's keymap may have moved them
            bindings[key] = [
                dataclasses.replace(b, show=not notes_tab) if b.id in GIVE_WAY else b for b in items
            ]
        self.refresh_bindings()

    def action_switch_tab(self, step: int) -> None:
        """Show the next (``step`` 1) or previous (-1) tab, round the ends, with the focus on its
        table (↑↓ and Enter work at once) or on the tab bar."""
        tabs = self.query_one("#file-tabs", TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane) if pane.id]
        if not panes:
            return
        at = panes.index(tabs.active) if tabs.active in panes else 0
        tabs.active = panes[(at + step) % len(panes)]
        tables = tabs.get_pane(tabs.active).query(DataTable)
        if tables:
            tables.first().focus()
        else:
            tabs.query_one(Tabs).focus()

    def action_back(self) -> None:
        """Close the file."""
        self.app.pop_screen()

    def _gone(self) -> None:
        if self._deleting:
            return  # deleted on purpose: :meth:`_deleted` closes the screen and says so
        self.app.notify(t("ui.resident_not_found"), severity="warning")
        if self.app.screen is self:
            self.app.pop_screen()

    @background("file", exclusive=True)
    def load(self) -> None:
        """Read the file in a worker and show it, then the history of every record in it, newest
        first; a resident deleted elsewhere closes the screen."""
        workspace = self.workspace
        file = workspace.resident_file(self.resident_id)
        if file is None:  # deleted elsewhere, or never existed
            self.app.call_from_thread(self._gone)
            return
        self.app.call_from_thread(self.show, file)
        workspace.assignment_seen(self.resident_id)  # no longer new in Today's inbox
        history = workspace.history(self.resident_id)
        for records in file.linked.values():  # every kind in a resident's file
            for record in records:
                history += workspace.history(record.id)
        history.sort(key=lambda e: e.when, reverse=True)
        self.app.call_from_thread(self.show_history, history)

    def show(self, f: ResidentFile) -> None:
        """Fill the profile (with what can be read of damaged records), the needs, interviews and
        visits (cursors kept) and the case plan."""
        self.file = f
        r = f.resident
        age = r.age(f.today)
        tags = [v.value for v in r.tags]
        self.title = r.name
        self.sub_title = r.community
        lines = [t("ui.file_archived")] if r.archived else []
        if r.consent.status is ConsentStatus.WITHDRAWN:
            lines.append(t("ui.consent_withdrawn_offer"))
        lines += [
            f"{r.name}  {label('Gender', r.gender.value)}"
            + (f"  {t('ui.age', n=age)}" if age is not None else ""),
            f"{t('ui.resident_id')}: {r.id}",  # whole: `fieldapp export resident <id>` takes it
            f"{t('field.resident.id_number')}: {mask_id_number(r.id_number) or '—'}",
            f"{t('field.resident.phones')}: {', '.join(r.phones) or '—'}",
            f"{t('field.resident.address')}: {r.address or '—'}  ·  {r.community}",
            f"{t('field.resident.tags')}: {show_value('resident', 'tags', tags)}",
            f"{t('field.resident.consent')}: "
            + show_value("resident", "consent", r.consent.model_dump(mode="json")),
            f"{t('field.resident.cadence')}: "
            + (
                "; ".join(
                    t("ui.every_days", activity=label("Activity", c.activity.value), n=c.every_days)
                    for c in r.cadence
                )
                or "—"
            ),
        ]
        for member in r.household:
            phone = member.phone or ""
            lines.append(
                f"{t('field.resident.household')}: {member.name} ({member.relation}) {phone}"
            )
        for item in f.due:
            lines.append(
                t(
                    "ui.next_due",
                    activity=label("Activity", item.activity.value),
                    date=day(item.due),
                )
            )
        if r.notes:
            lines.append("")
            lines.append(r.notes)
        for damaged in f.damaged:  # what can be read of a record that is not valid
            readable = ", ".join(f"{k}={short(v, 16)}" for k, v in damaged.fields.items())
            lines.append(
                t("ui.damaged_record", kind=label("RecordKind", damaged.kind), fields=readable)
            )
        self.query_one("#profile", Static).update("\n".join(lines))

        needs = self.query_one("#needs", FitTable)
        with keeping_cursor(needs):
            fill_needs(needs, f)

        interviews = self.query_one("#interviews", FitTable)
        with keeping_cursor(interviews):
            fill_interviews(interviews, f, self.workspace.templates)

        visits = self.query_one("#visits", FitTable)
        with keeping_cursor(visits):
            fill_visits(visits, f)
        self.query_one("#plan", Static).update(plan_text(f))
        notes = self.query_one("#notes", FitTable)
        with keeping_cursor(notes):
            fill_notes(notes, f)
        self._note_detail()
        if self._show_note is not None:
            self._open_at_note(self._show_note)
            self._show_note = None

    def _open_at_note(self, note_id: str) -> None:
        """Show the notes tab with the cursor on ``note_id`` (from Today's inbox)."""
        tabs = self.query_one("#file-tabs", TabbedContent)
        tabs.active = "tab-notes"
        table = self.query_one("#notes", FitTable)
        try:
            table.move_cursor(row=table.get_row_index(note_id))
        except RowDoesNotExist:  # gone since the inbox was read: the tab is enough
            pass
        table.focus()

    @on(DataTable.RowHighlighted, "#notes")
    def _note_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._note_detail()

    def _note_detail(self) -> None:
        """Under the notes: the highlighted one whole, who wrote it and when it moved."""
        note = self._selected_note()
        shown = note_detail(self.file, note) if self.file and note else ""
        self.query_one("#note-detail", Static).update(shown)

    def _selected_note(self) -> SupervisionNote | None:
        if not self.file or not self.file.notes:
            return None
        table = self.query_one("#notes", FitTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((n for n in self.file.notes if n.id == key), None)

    def action_acknowledge_note(self) -> None:
        """The worker has read the note under the cursor (new → acknowledged)."""
        self._move_note(NoteStatus.ACKNOWLEDGED)

    def action_note_done(self) -> None:
        """The worker has done what the note under the cursor asks (→ done)."""
        self._move_note(NoteStatus.DONE)

    def _move_note(self, status: NoteStatus) -> None:
        note = self._selected_note()
        if note is None:
            self.notify(t("ui.no_note_selected"))
            return
        if note.status is status or note.status is NoteStatus.DONE:
            self.notify(t("ui.note_already", status=label("NoteStatus", note.status.value)))
            return
        self.set_note_status(note, status)

    @background("save")
    def set_note_status(self, note: SupervisionNote, status: NoteStatus) -> None:
        """Move the note along its workflow (a worker), then say so and load the file again."""
        moved = self.workspace.set_note_status(note.id, status)
        said = t("ui.note_status_changed", status=label("NoteStatus", moved.status.value))
        self.app.call_from_thread(self._archived, said)

    def action_write_note(self) -> None:
        """Supervisor: write a note on the file, about the record under the cursor in the
        needs, interviews or visits tab (the first plan on the plan tab), else the resident."""
        if not self.file:
            return
        target_id, about = self._note_target()
        self._open_form(RecordKind.SUPERVISION_NOTE, target_id, about)

    def action_assign(self) -> None:
        """Supervisor: assign the resident to one of the team's workers (by name), share the
        file with another or stop sharing, or take it back."""
        from fieldapp.services import assignments
        from fieldapp.tui.dialogs.choose import ChooseDialog

        if not self.file:
            return
        resident = self.file.resident
        vault = self.workspace.vault
        workers = assignments.workers(vault)
        if not workers:
            self.notify(t("ui.assign_no_workers"), severity="warning")
            return
        held = assignments.current(vault, resident.id)
        worker = held.worker if held else None
        shared = held.shared_with if held else []
        options = [
            (t("ui.assign_to", name=w.name), f"assign:{w.device_id}")
            for w in workers
            if w.device_id != worker
        ]
        for w in workers:
            if w.device_id in shared:
                options.append((t("ui.assign_unshare", name=w.name), f"unshare:{w.device_id}"))
            elif worker is not None and w.device_id != worker:
                options.append((t("ui.assign_share", name=w.name), f"share:{w.device_id}"))
        if held and held.holders():
            options.append((t("ui.assign_take_back"), "back:"))
        title = t("ui.assign_title", name=resident.name, holders=self._holders(held))

        def chosen(choice: str | None) -> None:
            if choice:
                self.change_assignment(resident, *choice.split(":", 1))

        self.app.push_screen(ChooseDialog(title, options), chosen)

    def _holders(self, held: Any) -> str:
        """Who holds the file, by worker name, in the user's language."""
        from sync import team

        names = {d.device_id: d.name for d in team.devices(self.workspace.vault)}
        who = [names.get(d, d) for d in ([held.worker] if held and held.worker else [])]
        who += [names.get(d, d) for d in (held.shared_with if held else [])]
        return t("assign.sep").join(who) if who else t("assign.nobody")

    @background("save")
    def change_assignment(self, resident: Resident, move: str, device: str) -> None:
        """Save the assignment (the service cuts for the devices after it), then say who
        holds the file."""
        from fieldapp.services import assignments

        vault = self.workspace.vault
        if move == "assign":
            done = assignments.assign(vault, resident.id, device)
        elif move == "share":
            done = assignments.share(vault, resident.id, device)
        elif move == "unshare":
            done = assignments.unshare(vault, resident.id, device)
        else:
            done = assignments.take_back(vault, resident.id)
        holders = self._holders(done.assignment)
        if done.cut_error is not None:
            said = t(
                "ui.assigned_cut_failed",
                name=resident.name,
                holders=holders,
                reason=done.cut_error.render(),
            )
            self.app.call_from_thread(self.notify, said, severity="warning")
        else:
            said = t("ui.assigned", name=resident.name, holders=holders)
            self.app.call_from_thread(self.notify, said)

    def _note_target(self) -> tuple[str | None, str]:
        """The record a new note is about, and how the form's title names it."""
        f = self.file
        if f is None:
            return None, ""
        tab = self._active_tab()
        record: Record | None = f.plans[0] if tab == "tab-plan" and f.plans else None
        tables = {"tab-needs": "#needs", "tab-interviews": "#interviews", "tab-visits": "#visits"}
        if tab in tables:
            table = self.query_one(tables[tab], FitTable)
            if table.row_count:
                key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                records = (r for rs in f.linked.values() for r in rs)
                record = next((r for r in records if r.id == key), None)
        if record is None:
            return None, ""
        return record.id, f"{label('RecordKind', record.KIND.value)}·{short(about(record), 20)}"

    def show_history(self, entries: list[HistoryEntry]) -> None:
        """Fill the history tab (see ``resident_tabs.fill_history``)."""
        table = self.query_one("#history", FitTable)
        fill_history(table, entries, self.workspace, self.file, self.resident_id)

    # ------------------------------------------------------------ actions

    def _open_form(self, kind: RecordKind, *args: Any) -> None:
        """Show the form of ``kind`` for this resident (``args`` after the workspace and
        the resident: the record to edit, the template)."""
        from fieldapp.tui.forms import form_for
        from fieldapp.tui.screens.form import FormScreen

        if self.file:
            before = self.file.resident.consent.status
            form = form_for(kind).build(self.workspace, self.file.resident, *args)
            screen = FormScreen(self.context, form)

            def closed(saved: bool | None) -> None:
                if saved and isinstance(screen.saved, Visit):
                    self.offer_safety_needs(screen.saved)
                if (
                    saved
                    and isinstance(screen.saved, Resident)
                    and screen.saved.consent.status is ConsentStatus.WITHDRAWN
                    and before is not ConsentStatus.WITHDRAWN
                ):
                    self.action_delete()  # consent just withdrawn: offer to delete the file

            self.app.push_screen(screen, closed)

    @background("file-needs")
    def offer_safety_needs(self, visit: Visit) -> None:
        """After a visit is saved: the needs its checklist's "no" answers call for, offered to
        the worker (a worker; nothing is saved until they say yes)."""
        needs = self.workspace.safety_needs(visit, lang())
        if needs:
            self.app.call_from_thread(self._ask_safety_needs, visit, needs)

    def _ask_safety_needs(self, visit: Visit, needs: list[Need]) -> None:
        from fieldapp.tui.dialogs.confirm import ConfirmDialog

        listed = "\n".join(
            f"· {label('NeedCategory', n.category.value)}: {n.description}" for n in needs
        )
        question = t("ui.offer_safety_needs", n=len(needs)) + "\n" + listed

        def answer(yes: bool | None) -> None:
            if yes:
                self.add_safety_needs(needs)

        self.app.push_screen(
            ConfirmDialog(question, yes=t("ui.yes_add_needs"), no=t("ui.no_add_needs")), answer
        )

    @background("save")
    def add_safety_needs(self, needs: list[Need]) -> None:
        """Save the needs the worker agreed to (a worker), then show them."""
        self.workspace.add_needs(needs)
        self.app.call_from_thread(self._safety_needs_added, len(needs))

    def _safety_needs_added(self, n: int) -> None:
        self.notify(t("ui.safety_needs_added", n=n))
        self.load()

    def action_archive(self) -> None:
        """Archive the resident (out of every list, the file kept), or restore an archived one."""
        if self.file:
            self.set_archived(self.file.resident, not self.file.resident.archived)

    @background("save")
    def set_archived(self, resident: Resident, archived: bool) -> None:
        """Archive or restore ``resident`` (a worker), then say so and load the file again."""
        self.workspace.set_archived(resident.id, archived)
        done = "ui.resident_archived" if archived else "ui.resident_restored"
        self.app.call_from_thread(self._archived, t(done, name=resident.name))

    def _archived(self, said: str) -> None:
        self.notify(said)
        self.load()

    def action_delete(self) -> None:
        """Ask, then delete the resident's whole file (a tombstone that syncs; the history
        stays) and close it."""
        from fieldapp.tui.dialogs.confirm import ConfirmDialog

        if not self.file:
            return
        resident = self.file.resident

        def answer(yes: bool | None) -> None:
            if yes:
                self._deleting = True
                self.delete_file(resident)

        question = t("ui.confirm_delete_resident", name=resident.name)
        self.app.push_screen(
            ConfirmDialog(question, yes=t("ui.yes_delete"), no=t("ui.no_keep_file")), answer
        )

    @background("save")
    def delete_file(self, resident: Resident) -> None:
        """Delete the resident's file (a worker), then close the screen."""
        self.workspace.delete_resident(resident.id)
        self.app.call_from_thread(self._deleted, resident.name)

    def _deleted(self, name: str) -> None:
        self.notify(t("ui.resident_deleted", name=name))
        if self.app.screen is self:
            self.app.pop_screen()

    def action_edit(self) -> None:
        """Edit the resident's profile."""
        self._open_form(RecordKind.RESIDENT)

    def action_new_need(self) -> None:
        """Add a need to the resident's needs list."""
        self._open_form(RecordKind.NEED, None)

    def action_new_visit(self) -> None:
        """Record a visit to the resident."""
        self._open_form(RecordKind.VISIT)

    def action_new_interview(self) -> None:
        """Choose an interview template, then record an interview with the resident."""
        from fieldapp.tui.dialogs.choose import ChooseDialog

        workspace = self.workspace
        if not (self.file and workspace):
            return
        options = [
            (tpl.title(lang()), tpl.id)
            for tpl in workspace.templates.values()
            if tpl.kind == "interview"
        ]

        def chosen(template_id: str | None) -> None:
            if template_id and workspace and self.file:
                self._open_form(RecordKind.INTERVIEW, template_id)

        self.app.push_screen(ChooseDialog(t("ui.choose_template"), options), chosen)

    def action_plan(self) -> None:
        """Edit the resident's case plan (the first one the file lists), or start one."""
        if self.file:
            self._open_form(RecordKind.CASE_PLAN, self.file.plans[0] if self.file.plans else None)

    def _selected_need(self) -> Need | None:
        if not self.file or not self.file.needs:
            return None
        table = self.query_one("#needs", FitTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((n for n in self.file.needs if n.id == key), None)

    def action_need_status(self) -> None:
        """Move the need under the cursor along its workflow; from another tab, show the needs
        first, so the worker sees which need changes."""
        from fieldapp.tui.dialogs.status import StatusDialog

        tabs = self.query_one("#file-tabs", TabbedContent)
        if tabs.active != "tab-needs":
            # Never change a need the worker cannot see: show the list, let them choose.
            tabs.active = "tab-needs"
            self.query_one("#needs", FitTable).focus()
            self.notify(t("ui.choose_need_then_status"))
            return
        need = self._selected_need()
        if need is None:
            self.notify(t("ui.no_need_selected"))
            return
        if not allowed_next(need.status):
            return

        def done(result: Need | None) -> None:
            if result is not None:
                self.notify(t("ui.status_changed", status=label("NeedStatus", result.status.value)))
                self.load()

        self.app.push_screen(StatusDialog(self.workspace, need), done)

    @on(DataTable.RowSelected, "#needs")
    def _edit_need(self, event: DataTable.RowSelected) -> None:
        need = next(
            (n for n in (self.file.needs if self.file else []) if n.id == event.row_key.value), None
        )
        if need:
            self._open_form(RecordKind.NEED, need)

    @on(DataTable.RowSelected, "#visits")
    def _open_visit(self, event: DataTable.RowSelected) -> None:
        """Enter on a visit: show it read-only, with its checklist's labels and answers."""
        from fieldapp.tui.dialogs.visit import VisitDialog

        visit = next(
            (v for v in (self.file.visits if self.file else []) if v.id == event.row_key.value),
            None,
        )
        if visit is None:
            return
        template_id = visit.checklist_template
        template = self.workspace.templates.get(template_id) if template_id else None
        self.app.push_screen(VisitDialog(visit, template))
