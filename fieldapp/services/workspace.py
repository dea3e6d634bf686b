"""The worker's workspace: what the screens ask for, as domain objects and small rows.

One object per open vault. It owns the record service and the search index, and reads
"today" from the vault's clock, so screens never touch the vault's documents.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Set as AbstractSet
from typing import Any

from pydantic import ValidationError

from fieldapp import paths
from fieldapp.domain import (
    CheckAnswer,
    Need,
    NeedStatus,
    NoteAction,
    NoteStatus,
    OfficeNote,
    Record,
    RecordKind,
    Resident,
    SupervisionNote,
    Visit,
    kinds,
    validate,
)
from fieldapp.domain.models import assignment_id
from fieldapp.domain.ops import DELETED, Op
from fieldapp.errors import FieldProblem, RecordInvalid, TemplateInvalid
from fieldapp.i18n import t
from fieldapp.services import schedule, supervision
from fieldapp.services import team_view as team_kept
from fieldapp.services import today as day_summary
from fieldapp.services.records import HistoryEntry, RecordService
from fieldapp.services.search import ResidentIndex
from fieldapp.services.supervision import TeamIndex, TeamView, open_conflicts
from fieldapp.services.templates import Template, load_templates
from fieldapp.services.today import OPEN_STATUSES, TodayIndex
from fieldapp.services.views import (
    AssignmentRow,
    Damaged,
    NeedRow,
    NoteRow,
    PlanActionRow,
    ResidentFile,
    ResidentRow,
    TodaySummary,
)
from fieldapp.store import Change, Vault

DRAFT_PREFIX = "draft/"
SEEN_ASSIGNMENTS = "inbox/assignments_seen"  # assignment id → its holders' stamp, seen here


class Workspace:
    """What the screens and the command line ask of one open ``vault``: the record service, the
    resident search index and the templates, with "today" from the vault's clock."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.clock = vault.clock  # the one clock of this party (DESIGN §3.0)
        self.records = RecordService(vault)
        from fieldapp.services import export

        export.remove_stale(vault)  # plaintext an export killed mid-write left behind
        self.index = ResidentIndex()
        self._primed: tuple[tuple[int, int], TodaySummary] | None = None  # see prime_today
        self._today: tuple[tuple[int, int], TodayIndex] | None = None  # see today_index
        self._inbox: tuple[tuple[int, int], bytes] | None = None  # Today's inbox, encoded
        self._team: tuple[tuple[int, int], TeamIndex] | None = None  # see team_index
        self._team_kept_at: tuple[int, int] | None = None
        self._primed_team: tuple[tuple[int, int], TeamView] | None = None  # see prime_team
        self.today_from_kept = False
        self._kept_at: tuple[int, int] | None = None  # the revision Today's index is kept at
        # A team's own templates: $FIELDAPP_HOME/templates/*.toml (or the data dir's).
        self.template_errors: list[TemplateInvalid] = []
        self.templates: dict[str, Template] = load_templates(
            paths.data_dir() / "templates", self.template_errors
        )

    def today(self) -> dt.date:
        """Today's date on this party's clock."""
        return self.clock.today()

    def now(self) -> dt.datetime:
        """The local time on this party's clock."""
        return self.clock.now()

    # ------------------------------------------------------------ start-up

    def build_index(self) -> None:
        """Index every resident for search (run off the UI thread)."""
        self.index.build(self.vault.iter_records(RecordKind.RESIDENT.value))

    # ------------------------------------------------------------ today

    def _name(self, rid: str) -> tuple[str, str]:
        doc = self.vault.get(rid) or {}
        return doc.get("name", "?"), doc.get("community", "")

    def need_row(self, nid: str, doc: dict[str, Any], today: dt.date) -> NeedRow:
        """A stored need as a list row, overdue as of ``today``."""
        return day_summary.need_row(nid, doc, today, self._name)

    def prime_today(self, previewed: TodaySummary | None = None) -> None:
        """Work out Today's summary now, where the vault was just opened (the unlock's
        worker), so the first Today shows it as soon as it is up instead of starting on it
        then. The next :meth:`today_summary` returns it once, if nothing was saved since
        and it is still the same day; else it is worked out again. ``previewed``: the
        summary the unlock drew before the records were read, from what was kept at the
        revision the vault opened at (:func:`fieldapp.services.today.preview`) — the same
        one, so it is taken as it is."""
        if previewed is not None and previewed.today == self.today():
            self._primed = (self.vault.revision, previewed)
            return
        self._primed = (self.vault.revision, self.today_summary())

    def take_primed(self) -> TodaySummary | None:
        """The summary :meth:`prime_today` worked out, handed over once, if nothing was
        saved since and it is still the same day; else None. Never scans: the first Today
        shows it at once, on the UI thread, instead of asking a worker for it."""
        primed, self._primed = self._primed, None
        if primed is None or primed[0] != self.vault.revision or primed[1].today != self.today():
            return None
        return primed[1]

    def today_index(self) -> TodayIndex:
        """What Today's summary is worked out from (:mod:`fieldapp.services.today`): held
        while nothing is saved; the first time in a session, what the last one kept if
        nothing was saved since (``today_from_kept`` says whether it was); else one scan."""
        revision = self.vault.revision
        held = self._today
        if held is not None and held[0] == revision:
            return held[1]
        index = None
        if held is None:
            data = self.vault.load_derived(day_summary.INDEX_NAME)
            index = day_summary.decode(data) if data is not None else None
            self.today_from_kept = index is not None
            if index is not None:
                self._kept_at = revision  # on disk already
        if index is None:
            index = day_summary.build(self.vault)
        self._today = (revision, index)
        return index

    def today_summary(self, soon_days: int = 7) -> TodaySummary:
        """What the today screen shows: the inbox of open supervision notes; contacts due;
        open needs that are urgent, else past their due date (overdue), else due from today to
        ``soon_days`` ahead; the active case plans' actions past due; and the needs list's
        counts."""
        if soon_days == 7 and (primed := self.take_primed()) is not None:
            return primed
        self._primed = None
        today = self.today()
        # Read first: what is worked out below is tagged with the revision it started at,
        # so an inbox read across a save (another worker's merge) is never kept as newer.
        revision = self.vault.revision
        index = self.today_index()
        notes = self.note_inbox(today, index.archived)
        conflicts = open_conflicts(self.vault)
        new = self.new_assignments(index.archived)
        self._inbox = (revision, day_summary.encode_inbox(notes, conflicts, new))
        try:
            return day_summary.summarize(index, today, notes, soon_days, conflicts, new)
        except (ValueError, TypeError):  # a kept index with a bad row: work it out again
            if not self.today_from_kept:
                raise
            self.today_from_kept = False
            self._kept_at = None  # the file holds the bad row: keep the new index over it
            self._today = (self.vault.revision, day_summary.build(self.vault))
            return day_summary.summarize(self._today[1], today, notes, soon_days, conflicts, new)

    def keep_today_index(self) -> bool:
        """Keep Today's index as it stands for the next start, when it was worked out at the
        vault's current revision and is not kept already (run off the UI thread): the next
        start — after a crash too — reads it if nothing is saved in between. Returns
        whether it was written. Today's inbox is kept beside it (when it differs from the
        one kept): with both, the next unlock draws Today before the records are read
        (:func:`fieldapp.services.today.preview`)."""
        revision = self.vault.revision
        inbox = self._inbox
        if (
            inbox is not None
            and inbox[0] == revision
            and self.vault.load_derived(day_summary.INBOX_NAME) != inbox[1]
        ):
            self.vault.save_derived(day_summary.INBOX_NAME, inbox[1], revision=revision)
        held = self._today
        if held is None or held[0] == self._kept_at or held[0] != revision:
            return False
        kept = self.vault.save_derived(
            day_summary.INDEX_NAME, day_summary.encode(held[1]), revision=held[0]
        )
        if kept:
            self._kept_at = held[0]
        return kept

    # ------------------------------------------------------------ the team view

    def team_index(self) -> TeamIndex:
        """What the team view is worked out from (:class:`TeamIndex`): held while nothing is
        saved; the first time in a session, what the last one kept if nothing was saved
        since; else one pass over the records."""
        revision = self.vault.revision
        held = self._team
        if held is not None and held[0] == revision:
            return held[1]
        index = None
        if held is None:
            data = self.vault.load_derived(team_kept.INDEX_NAME)
            index = team_kept.decode(data) if data is not None else None
            if index is not None:
                self._team_kept_at = revision  # on disk already
        if index is None:
            index = supervision.team_index(self.vault)
        self._team = (revision, index)
        return index

    def team_view(self) -> TeamView:
        """The team view today (a supervisor's home): see :func:`supervision.team_view`."""
        try:
            return supervision.team_view(self.team_index(), self.today())
        except (ValueError, TypeError):  # a kept index with a bad row: work it out again
            self._team = (self.vault.revision, supervision.team_index(self.vault))
            self._team_kept_at = None
            return supervision.team_view(self._team[1], self.today())

    def prime_team(self, previewed: TeamView | None = None, index: TeamIndex | None = None) -> None:
        """Work the team view out now, where the vault was just opened (the unlock's
        worker), so the first team view shows it as soon as it is up; ``previewed``: the
        view the unlock drew from what was kept at this revision (``index``), taken as it
        is — and the index held, to be kept again at the close (a compaction during the
        open removed the file). The next :meth:`take_primed_team` returns it once, if
        nothing was saved since, on the same day."""
        if previewed is not None and previewed.today == self.today():
            if index is not None and self._team is None:
                self._team = (self.vault.revision, index)
            self._primed_team = (self.vault.revision, previewed)
            return
        self._primed_team = (self.vault.revision, self.team_view())

    def take_primed_team(self) -> TeamView | None:
        """The view :meth:`prime_team` worked out, handed over once while still true."""
        primed, self._primed_team = self._primed_team, None
        if primed is None or primed[0] != self.vault.revision or primed[1].today != self.today():
            return None
        return primed[1]

    def keep_team_index(self) -> bool:
        """Keep the team view's index for the next start (run off the UI thread), when it
        was worked out at the vault's current revision and is not kept already; returns
        whether it was written."""
        held = self._team
        if held is None or held[0] == self._team_kept_at or held[0] != self.vault.revision:
            return False
        kept = self.vault.save_derived(team_kept.INDEX_NAME, team_kept.encode(held[1]), held[0])
        if kept:
            self._team_kept_at = held[0]
        return kept

    def close(self, *, keep_today: bool = True, keep_team: bool = False) -> None:
        """Close the vault (compacting its journal). With ``keep_today``, Today's index and
        inbox are kept for the next session's first screen (worked out first if something
        was saved since they last were: run this off the UI thread); with ``keep_team``,
        the team view's index as last worked out (a supervisor's), if still true."""
        keep = {}
        held = self._team
        if keep_team and held is not None and not self.vault.read_only and self.vault.is_open:
            # As the view last worked it out (it does after every merge): kept only if
            # nothing was saved since; never worked out here, on the way out.
            keep[team_kept.INDEX_NAME] = (held[0], team_kept.encode(held[1]))
        if keep_today and not self.vault.read_only and self.vault.is_open:
            revision = self.vault.revision
            index = self.today_index()
            if self._today is not None and self._today[0] == revision:
                keep[day_summary.INDEX_NAME] = (revision, day_summary.encode(index))
                notes = self.note_inbox(self.today(), index.archived)
                inbox = day_summary.encode_inbox(
                    notes, open_conflicts(self.vault), self.new_assignments(index.archived)
                )
                keep[day_summary.INBOX_NAME] = (revision, inbox)
        self.vault.close(keep=keep)

    def note_inbox(self, today: dt.date, archived: AbstractSet[str] | None = None) -> list[NoteRow]:
        """The open supervision notes (new or acknowledged) on the files this device holds —
        the worker's residents — the most overdue first, then the newest. An archived
        resident's notes are out, as their needs are; a damaged note is skipped."""
        archived = self._archived() if archived is None else archived
        names = self.records.author_names()
        rows = []
        for nid, doc in self.vault.iter_records(RecordKind.SUPERVISION_NOTE.value):
            try:
                note = SupervisionNote.from_fields(nid, _public(doc))
            except ValidationError:
                continue
            if not note.is_open or note.resident_id in archived:
                continue
            rows.append(
                NoteRow(
                    id=nid,
                    resident_id=note.resident_id,
                    resident_name=self._name(note.resident_id)[0],
                    action=note.action.value,
                    status=note.status.value,
                    text=note.text,
                    due_date=note.due_date,
                    days_overdue=_late(note, today),
                    created_at=note.created_at,
                    target_kind=self.vault.kind_of(note.target_id) or "",
                    author=self._note_author(nid, names),
                )
            )
        # Overdue first (the longest overdue first), then the newest.
        rows.sort(key=lambda r: (r.days_overdue, r.created_at, r.id), reverse=True)
        return rows

    def new_assignments(self, archived: AbstractSet[str] = frozenset()) -> list[AssignmentRow]:
        """The residents assigned to this device, or shared with it, that were not opened here
        since (:meth:`assignment_seen`), the newest first; a damaged assignment is skipped."""
        me = self.vault.device_id
        seen = self.vault.get_meta(SEEN_ASSIGNMENTS, {})
        rows = []
        for aid, doc in self.vault.iter_records(RecordKind.ASSIGNMENT.value):
            shared = doc.get("shared_with")
            holder = doc.get("worker") == me
            if not holder and not (isinstance(shared, list) and me in shared):
                continue
            rid = str(doc.get("resident_id", ""))
            if rid in archived or self.vault.get(rid) is None:
                continue
            if seen.get(aid) == self._holders_stamp(aid):
                continue
            try:
                when = dt.datetime.fromisoformat(str(doc.get("assigned_at")))
            except ValueError:
                continue
            name, community = self._name(rid)
            rows.append(AssignmentRow(rid, name, community, not holder, when))
        rows.sort(key=lambda r: (r.assigned_at, r.resident_id), reverse=True)
        return rows

    def assignment_seen(self, resident_id: str) -> None:
        """The worker opened the resident's file: it is no longer new in the inbox (until it
        is assigned or shared here again). Kept on this device only."""
        aid = assignment_id(resident_id)
        if self.vault.kind_of(aid) is None or self.vault.read_only:
            return
        seen = self.vault.get_meta(SEEN_ASSIGNMENTS, {})
        stamp = self._holders_stamp(aid)
        if seen.get(aid) != stamp:
            self.vault.put_meta(SEEN_ASSIGNMENTS, {**seen, aid: stamp})

    def _holders_stamp(self, aid: str) -> int:
        """When the assignment's holders last changed (its ``worker`` or ``shared_with``)."""
        return max(
            self.vault.field_stamp(aid, "worker") or 0,
            self.vault.field_stamp(aid, "shared_with") or 0,
        )

    def _note_author(self, note_id: str, names: dict[str, str]) -> str:
        """Who wrote a note: the device that wrote its ``created_at``, by its name."""
        device = self.vault.field_author(note_id, "created_at") or ""
        return names.get(device, device)

    def _archived(self) -> frozenset[str]:
        """The ids of the archived residents (one scan of the residents)."""
        return day_summary.archived_of(self.vault)

    def overdue_plan_actions(
        self, today: dt.date, archived: AbstractSet[str] | None = None
    ) -> list[PlanActionRow]:
        """Every action of an active case plan that is not done and whose due date is before
        ``today``, the longest overdue first (an archived resident's plans are left out;
        ``archived``: their ids, when the caller has them already). A damaged action is
        skipped, never a crash."""
        if archived is None:
            archived = self._archived()
        pending = day_summary.pending_actions(self.vault, archived, self._name)
        return day_summary.overdue_actions(pending, today)

    # ------------------------------------------------------------ residents

    def communities(self) -> list[str]:
        """Every community a resident lives in, sorted (for the residents filter)."""
        return sorted(
            {doc.get("community", "") for _, doc in self.vault.iter_records("resident")} - {""}
        )

    def open_needs_by_resident(self) -> dict[str, int]:
        """Resident id → how many open or in-progress needs they have."""
        counts: dict[str, int] = {}
        for _, doc in self.vault.iter_records(RecordKind.NEED.value):
            if doc.get("status", NeedStatus.OPEN.value) in OPEN_STATUSES:
                rid = str(doc.get("resident_id"))
                counts[rid] = counts.get(rid, 0) + 1
        return counts

    def overdue_residents(self) -> set[str]:
        """The residents with at least one overdue contact."""
        return {item.resident_id for item in schedule.overdue(self.vault, self.today())}

    def find_residents(
        self,
        query: str = "",
        *,
        community: str | None = None,
        tag: str | None = None,
        open_needs: bool = False,
        overdue: bool = False,
        archived: bool = False,
        only: AbstractSet[str] | None = None,
        limit: int = 500,
        open_counts: dict[str, int] | None = None,
        overdue_ids: set[str] | None = None,
    ) -> tuple[list[ResidentRow], int]:
        """Matching residents (first ``limit``, by name) and how many matched in all.

        The open-needs and overdue filters and columns read ``open_counts`` and
        ``overdue_ids`` (from :meth:`open_needs_by_resident` and :meth:`overdue_residents`):
        without them nobody has an open need or an overdue contact. Archived residents are
        left out; ``archived`` lists only them instead (to restore one). ``only``: none but
        these (the residents behind a row of the team view)."""
        ids = self.index.search(query)
        counts = open_counts if open_counts is not None else {}
        late = overdue_ids if overdue_ids is not None else set()
        info = self.index.info
        shelved = self.index.archived
        matches: list[tuple[str, str]] = []
        for rid in ids:
            entry = info.get(rid)
            if entry is None or (rid in shelved) != archived:
                continue
            if only is not None and rid not in only:
                continue
            if self.vault.get(rid) is None:
                continue  # purged by a sync (left this device's scope) since the index was built
            name, home, tags = entry
            if community and home != community:
                continue
            if tag and tag not in tags:
                continue
            if open_needs and not counts.get(rid):
                continue
            if overdue and rid not in late:
                continue
            matches.append((name, rid))
        # Only the first ``limit`` by name are shown: no need to sort them all.
        first = heapq.nsmallest(limit, matches) if len(matches) > limit else sorted(matches)
        today = self.today()
        rows = []
        for name, rid in first:
            doc = self.vault.get(rid) or {}
            rows.append(
                ResidentRow(
                    rid,
                    name,
                    doc.get("community", ""),
                    _age(doc, today),
                    tuple(doc.get("tags") or ()),
                    counts.get(rid, 0),
                    rid in late,
                )
            )
        return rows, len(matches)

    def resident_file(self, rid: str) -> ResidentFile | None:
        """One resident's complete file (一人一档案), or None when there is no such resident;
        :class:`RecordDamaged` when the resident's own record is damaged."""
        resident = self.records.get(Resident, rid)
        if resident is None:
            return None
        today = self.today()
        file = ResidentFile(resident, today)
        for spec in kinds.resident_file_kinds():
            into = file.of(spec.kind)
            for other, doc in self.vault.iter_records(spec.table):
                if not spec.belongs_to(doc, rid):
                    continue
                try:
                    into.append(spec.model.from_fields(other, _public(doc)))
                except ValidationError:  # shown as what it is, with what can be read
                    file.damaged.append(Damaged(spec.kind, other, _public(doc)))
        file.needs.sort(
            key=lambda n: (n.status.value not in OPEN_STATUSES, n.opened_on), reverse=False
        )
        file.interviews.sort(key=lambda i: i.held_on, reverse=True)
        file.visits.sort(key=lambda v: v.started_at, reverse=True)
        # As the inbox has them: open ones first, the most overdue, then the newest.
        file.notes.sort(
            key=lambda n: (n.is_open, _late(n, today), n.created_at, n.id), reverse=True
        )
        names = self.records.author_names() if file.notes else {}
        file.authors = {n.id: self._note_author(n.id, names) for n in file.notes}
        file.due = [d for d in schedule.due_items(self.vault, today, 60) if d.resident_id == rid]
        return file

    def history(self, rid: str) -> list[HistoryEntry]:
        """Every change of one record, oldest first, with who made it."""
        return self.records.history(rid)

    # ------------------------------------------------------------ saving

    def save(self, record: Record, draft_key: str | None = None) -> list[Op]:
        """Save a record durably (and drop its draft in the same commit)."""
        ops = self.records.save(record, drafts_done=[draft_key] if draft_key else None)
        if record.KIND is RecordKind.RESIDENT:
            self.index.update(record.id, self.vault.get(record.id))
        return ops

    def delete(self, record_id: str) -> list[Op]:
        """Delete a record (a tombstone op); a resident also leaves the search index."""
        ops = self.records.delete(record_id)
        self.index.update(record_id, None)
        return ops

    def delete_resident(self, resident_id: str) -> list[Op]:
        """Delete a resident's whole file in one atomic commit (consent withdrawn): a tombstone
        on the resident and on every record that belongs to them alone; an interview held with
        others keeps them and no longer names this resident. The history stays."""
        if self.records.get(Resident, resident_id) is None:
            raise RecordInvalid([FieldProblem("id", "unknown_record")])
        changes = [Change(RecordKind.RESIDENT.value, resident_id, {DELETED: True})]
        for spec in kinds.resident_file_kinds():
            for other, doc in self.vault.iter_records(spec.table):
                if not spec.belongs_to(doc, resident_id):
                    continue
                linked = doc.get(spec.resident_field or "")
                if isinstance(linked, list) and len(set(linked)) > 1:
                    rest = [rid for rid in linked if rid != resident_id]
                    changes.append(Change(spec.kind, other, {spec.resident_field or "": rest}))
                else:
                    changes.append(Change(spec.kind, other, {DELETED: True}))
        ops = self.vault.commit(changes)
        self.index.update(resident_id, None)
        return ops

    def set_archived(self, resident_id: str, archived: bool) -> list[Op]:
        """Archive (``True``) or restore (``False``) a resident, and keep the search index in
        step: an archived resident leaves the lists until restored."""
        ops = self.records.set_archived(resident_id, archived)
        self.index.update(resident_id, self.vault.get(resident_id))
        return ops

    def change_need_status(
        self, need_id: str, status: NeedStatus, note: str = "", referred_to: str = ""
    ) -> Need:
        """Move a need along its workflow (see :meth:`RecordService.change_need_status`)."""
        return self.records.change_need_status(need_id, status, note, referred_to)

    def write_note(
        self,
        resident_id: str,
        action: NoteAction,
        text: str,
        *,
        due_date: dt.date | None = None,
        target_id: str | None = None,
    ) -> SupervisionNote:
        """Write a supervision note on a resident's file (see
        :meth:`RecordService.write_note`)."""
        return self.records.write_note(
            resident_id, action, text, due_date=due_date, target_id=target_id
        )

    def set_note_status(self, note_id: str, status: NoteStatus) -> SupervisionNote | OfficeNote:
        """Acknowledge a supervision note (or a note from the level above) or mark it done (see
        :meth:`RecordService.set_note_status`)."""
        return self.records.set_note_status(note_id, status)

    def safety_needs(self, visit: Visit, lang: str) -> list[Need]:
        """The needs a visit's checklist calls for, built but not saved: one for each item
        answered "no" whose template question names a ``need_category``, described by the
        item's label in ``lang`` (and its note), unless the resident already has an open need
        for that item. Saving them is the worker's choice (:meth:`add_needs`)."""
        template = self.templates.get(visit.checklist_template or "")
        if template is None:
            return []
        already = [
            str(doc.get("description", ""))
            for _, doc in self.vault.iter_records(RecordKind.NEED.value)
            if doc.get("resident_id") == visit.resident_id
            and doc.get("status", NeedStatus.OPEN.value) in OPEN_STATUSES
        ]
        today = self.today()
        needs = []
        for q in template.questions:
            answer = visit.checklist.get(q.id)
            if answer is None or answer.answer is not CheckAnswer.NO or q.need_category is None:
                continue
            what = t("template.need_from_check", lang, item=q.label(lang))
            if any(d.startswith(what) for d in already):
                continue  # still the same problem as an open need says: not twice
            fields = {
                "resident_id": visit.resident_id,
                "category": q.need_category.value,
                "urgency": q.need_urgency.value,
                "description": f"{what} — {answer.note}" if answer.note else what,
            }
            needs.append(validate(Need, fields, today=today))
        return needs

    def add_needs(self, needs: list[Need]) -> list[Op]:
        """Save new needs in one atomic commit (those :meth:`safety_needs` offered)."""
        return self.records.save_many(list(needs))

    # ------------------------------------------------------------ drafts

    def draft(self, key: str) -> dict[str, Any] | None:
        """The half-filled form kept under ``key``, or None."""
        value: dict[str, Any] | None = self.vault.get_meta(DRAFT_PREFIX + key)
        return value

    def put_draft(self, key: str, values: dict[str, Any]) -> None:
        """Keep a half-filled form in the vault (encrypted, durable)."""
        self.vault.put_meta(DRAFT_PREFIX + key, values)

    def drop_draft(self, key: str) -> None:
        """Forget the half-filled form kept under ``key`` (if there is one)."""
        if self.vault.get_meta(DRAFT_PREFIX + key) is not None:
            self.vault.put_meta(DRAFT_PREFIX + key, None)


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _late(note: SupervisionNote, today: dt.date) -> int:
    """How many days a note is past its due date (0 when it is not, or has none)."""
    return max((today - note.due_date).days, 0) if note.due_date else 0


def _age(doc: dict[str, Any], today: dt.date) -> int | None:
    born = doc.get("birth_date")
    if born:
        b = dt.date.fromisoformat(born)
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))
    year = doc.get("birth_year")
    return today.year - year if year else None
