"""Today's index (fieldapp.services.today): the summary worked out from it, on any day and
after a round trip through the derived file kept between sessions, is the summary a plain
scan of the records gives; the kept file is used only while it is true."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain import NeedStatus, PlanStatus, RecordKind, Urgency
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.kinds import with_defaults
from fieldapp.services import schedule
from fieldapp.services import today as day_summary
from fieldapp.services.demo import build_demo
from fieldapp.services.records import RecordService
from fieldapp.services.views import DueRow, NeedRow, PlanActionRow, TodaySummary
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault
from tests.conftest import FAST_KDF, PASSPHRASE, T0

TODAY = T0.date()
OPEN = {NeedStatus.OPEN.value, NeedStatus.IN_PROGRESS.value}
URGENT = {Urgency.HIGH.value, Urgency.CRITICAL.value}


def reference(ws: Workspace, today: dt.date, soon_days: int = 7) -> TodaySummary:
    """Today's summary by the plain scan the screen used before the index (the oracle):
    every record read for the day asked."""
    vault = ws.vault

    def name(rid: str) -> tuple[str, str]:
        doc = vault.get(rid) or {}
        return doc.get("name", "?"), doc.get("community", "")

    archived = {r for r, d in vault.iter_records(RecordKind.RESIDENT.value) if d.get("archived")}
    last = schedule.last_contacts(vault)
    items = []
    for rid, doc in vault.iter_records(RecordKind.RESIDENT.value):
        if doc.get("archived"):
            continue
        for rule in doc.get("cadence") or ():
            activity = schedule.Activity(rule["activity"])
            every = int(rule["every_days"])
            seen = last.get((rid, activity))
            if seen is None:
                since = schedule._set_on(vault, rid) or today
                due, last_day = since + dt.timedelta(days=every), None
            else:
                last_day, next_due = seen
                due = next_due or last_day + dt.timedelta(days=every)
            if due <= today:
                items.append(schedule.DueItem(due, rid, activity, last_day))
    items.sort()
    due_rows = [
        DueRow(i.resident_id, *name(i.resident_id), i.activity.value, i.due, i.days_overdue(today))
        for i in items
    ]
    urgent, late, soon = [], [], []
    listed = resolved = open_ = 0
    for nid, doc in vault.iter_records(RecordKind.NEED.value):
        if doc.get("resident_id") in archived:
            continue
        listed += 1
        doc = with_defaults(RecordKind.NEED.value, doc)
        status = doc["status"]
        resolved += status == NeedStatus.RESOLVED.value
        if status not in OPEN:
            continue
        open_ += 1
        due = schedule.iso_date(doc.get("due_date"))
        row = NeedRow(
            nid,
            doc["resident_id"],
            name(doc["resident_id"])[0],
            doc["category"],
            doc.get("description", ""),
            doc["urgency"],
            status,
            due,
            bool(due and due < today),
        )
        if row.urgency in URGENT:
            urgent.append(row)
        elif row.overdue:
            late.append(row)
        elif due is not None and due <= today + dt.timedelta(days=soon_days):
            soon.append(row)
    urgent.sort(key=lambda r: (r.urgency != Urgency.CRITICAL.value, r.due_date or dt.date.max))
    late.sort(key=lambda r: r.due_date or dt.date.max)
    soon.sort(key=lambda r: r.due_date or dt.date.max)
    actions = []
    for pid, doc in vault.iter_records(RecordKind.CASE_PLAN.value):
        doc = with_defaults(RecordKind.CASE_PLAN.value, doc)
        if doc["status"] != PlanStatus.ACTIVE.value or doc["resident_id"] in archived:
            continue
        for action in doc["actions"]:
            due = schedule.iso_date(action.get("due_date"))
            if action.get("done") or due is None or due >= today:
                continue
            actions.append(
                PlanActionRow(
                    pid,
                    doc["resident_id"],
                    name(doc["resident_id"])[0],
                    doc["title"],
                    action.get("text", ""),
                    action.get("owner", ""),
                    due,
                    (today - due).days,
                )
            )
    actions.sort(key=lambda r: (r.due_date, r.resident_name))
    return TodaySummary(
        today=today,
        due=due_rows,
        urgent_needs=urgent,
        overdue_needs=late,
        needs_due_soon=soon,
        overdue_actions=actions,
        needs_listed=listed,
        needs_resolved=resolved,
        needs_open=open_,
        residents=vault.count(RecordKind.RESIDENT.value) - len(archived),
        notes=ws.note_inbox(today),
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A demo vault (80 residents with needs, visits, interviews and plans), a few of them
    archived, some needs and plans moved on."""
    path = tmp_path_factory.mktemp("today") / "vault"
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(T0))
    build_demo(RecordService(vault), TODAY, residents=80)
    residents = [rid for rid, _ in vault.iter_records(RecordKind.RESIDENT.value)]
    changes = [Change("resident", rid, {"archived": True}) for rid in residents[::9]]
    needs = [nid for nid, _ in vault.iter_records(RecordKind.NEED.value)]
    changes += [Change("need", nid, {"status": "resolved"}) for nid in needs[::5]]
    vault.commit(changes)
    ws = Workspace(vault)
    yield ws
    vault.close(compact=False)


days = st.dates(min_value=TODAY - dt.timedelta(days=800), max_value=TODAY + dt.timedelta(days=800))


def _edges(ws: Workspace) -> list[dt.date]:
    """The days where a list changes: every due date, contact and action, and days on
    either side."""
    index = day_summary.build(ws.vault)
    found = {schedule.iso_date(c[0]) for c in index.contacts}
    found |= {schedule.iso_date(c[3]) for c in index.contacts if c[3]}
    found |= {schedule.iso_date(n[7]) for n in index.urgent + index.dated if n[7]}
    found |= {schedule.iso_date(a[6]) for a in index.actions}
    one = dt.timedelta(days=1)
    return sorted({d + k * one for d in found for k in (-8, -7, -1, 0, 1)})


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), soon=st.integers(min_value=0, max_value=30))
def test_the_summary_from_the_index_and_from_the_kept_file_is_the_plain_scans(
    demo: Workspace, data: st.DataObject, soon: int
) -> None:
    day = data.draw(days | st.sampled_from(_edges(demo)))
    index = day_summary.build(demo.vault)
    kept = day_summary.decode(day_summary.encode(index))
    assert kept is not None and day_summary.encode(kept) == day_summary.encode(index)
    expected = reference(demo, day, soon)
    notes = demo.note_inbox(day)
    assert day_summary.summarize(index, day, notes, soon) == expected
    assert day_summary.summarize(kept, day, notes, soon) == expected


def test_the_demo_is_a_real_case_for_the_summary(demo: Workspace) -> None:
    """The property above is about something: on the demo's day the lists have rows, and
    needs come due in the weeks before it."""
    s = reference(demo, TODAY)
    assert s.due and s.urgent_needs and s.overdue_needs
    weeks_before = [TODAY - dt.timedelta(days=7 * n) for n in range(1, 12)]
    assert any(reference(demo, day).needs_due_soon for day in weeks_before)
    assert s.overdue_actions and s.needs_resolved and len(day_summary.build(demo.vault).archived)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300) | st.sampled_from([b"{}", b'{"v":1}', b"[]", b"null"]))
def test_a_kept_file_that_is_not_one_reads_as_missing(data: bytes) -> None:
    assert day_summary.decode(data) is None


def test_a_damaged_index_of_this_version_reads_as_missing(demo: Workspace) -> None:
    good = day_summary.encode(day_summary.build(demo.vault))
    for old, new in (
        (b'"v":1', b'"v":2'),
        (b'"listed":', b'"listed":-'),
        (b'"contacts":[[', b'"contacts":[1,['),
    ):
        assert old in good
        assert day_summary.decode(good.replace(old, new, 1)) is None


def test_a_kept_index_with_a_date_that_is_not_one_is_worked_out_again(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    vault = demo_vault(path, clock, 12)
    ws = Workspace(vault)
    index = day_summary.build(vault)
    bad = day_summary.encode(index).replace(index.contacts[0][0].encode(), b"0000-00-00", 1)
    broken = day_summary.decode(bad)
    assert broken is not None  # its shape is right
    with pytest.raises(ValueError):
        day_summary.summarize(broken, TODAY, [])
    short = day_summary.decode(bad.replace(b'"urgent":[[', b'"urgent":[[1],[', 1))
    assert short is not None
    with pytest.raises((ValueError, TypeError)):
        day_summary.summarize(short, TODAY, [])
    vault.save_derived(day_summary.INDEX_NAME, bad)
    ws = Workspace(vault)
    assert ws.today_summary() == reference(ws, TODAY) and not ws.today_from_kept
    assert ws.keep_today_index()  # the good index is kept over the bad one
    again = Workspace(vault)
    assert again.today_summary() == reference(ws, TODAY) and again.today_from_kept
    vault.close(compact=False)


def demo_vault(path: Path, clock: FixedClock, residents: int, seed: int = 7) -> Vault:
    """A new vault at ``path`` holding the demo's ``residents`` with their records."""
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    build_demo(RecordService(vault), TODAY, residents=residents, seed=seed)
    return vault


def _open(path: Path, clock: FixedClock) -> Workspace:
    return Workspace(Vault.open(path, PASSPHRASE, clock=clock))


def test_the_next_session_reads_the_kept_index_only_while_nothing_was_saved(
    tmp_path: Path,
) -> None:
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    vault = demo_vault(path, clock, 30)
    ws = Workspace(vault)
    first = ws.today_summary()
    assert not ws.today_from_kept  # nothing was kept yet
    ws.close()
    files = sorted(p.name for p in path.iterdir())
    assert "derived-today.fv" in files

    clock.advance(days=3)  # the next morning, and two more
    ws = _open(path, clock)
    later = ws.today_summary()
    assert ws.today_from_kept
    assert later == reference(ws, TODAY + dt.timedelta(days=3)) and later != first
    ws.close()

    # A save after the index was kept (the app killed before it closed): not used.
    ws = _open(path, clock)
    ws.vault.commit([Change("resident", later.due[0].resident_id, {"archived": True})])
    ws.vault.close(compact=False)  # as kill -9: no new index kept
    ws = _open(path, clock)
    summary = ws.today_summary()
    assert not ws.today_from_kept and summary == reference(ws, clock.today())
    assert later.due[0].resident_id not in {r.resident_id for r in summary.due}
    ws.close()


def test_a_kept_index_that_was_changed_or_comes_from_another_vault_is_not_used(
    tmp_path: Path,
) -> None:
    clock = FixedClock(T0)
    paths = []
    for name, people in (("a", 12), ("b", 20)):
        Workspace(demo_vault(tmp_path / name, clock, people, len(name) + people)).close()
        paths.append(tmp_path / name)
    a, b = paths
    kept = a / "derived-today.fv"
    data = bytearray(kept.read_bytes())
    data[len(data) // 2] ^= 1  # one bit
    kept.write_bytes(bytes(data))
    ws = _open(a, clock)
    assert ws.today_summary() == reference(ws, TODAY) and not ws.today_from_kept
    ws.vault.close(compact=False)
    kept.write_bytes((b / "derived-today.fv").read_bytes())  # b's, in a
    ws = _open(a, clock)
    assert ws.today_summary() == reference(ws, TODAY) and not ws.today_from_kept
    ws.vault.close(compact=False)
    kept.unlink()
    os.symlink(b / "derived-today.fv", kept)  # a link is never followed
    ws = _open(a, clock)
    assert ws.today_summary() == reference(ws, TODAY) and not ws.today_from_kept
    ws.vault.close(compact=False)


def test_the_kept_index_holds_no_plaintext_and_goes_with_a_compaction(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    vault = demo_vault(path, clock, 20)
    ws = Workspace(vault)
    names = [doc["name"] for _, doc in vault.iter_records(RecordKind.RESIDENT.value)]
    ws.close()
    raw = (path / "derived-today.fv").read_bytes()
    for name in names:
        assert name.encode() not in raw
    assert b"resident" not in raw and b"contacts" not in raw
    ws = _open(path, clock)
    ws.vault.commit([Change("resident", ws.today_summary().due[0].resident_id, {"phones": []})])
    ws.vault.compact()  # the files it was worked out from are rewritten: it goes
    assert not (path / "derived-today.fv").exists()
    ws.vault.close(compact=False)


def test_a_read_only_or_supervisor_close_keeps_nothing(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    vault = demo_vault(path, clock, 10)
    Workspace(vault).close(keep_today=False)
    assert not (path / "derived-today.fv").exists()
    ws = Workspace(Vault.open(path, PASSPHRASE, clock=clock, read_only=True))
    ws.today_summary()
    ws.close()
    assert not (path / "derived-today.fv").exists()


def test_the_index_kept_while_the_app_runs_serves_the_start_after_a_crash(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    ws = Workspace(demo_vault(path, clock, 20))
    assert not ws.keep_today_index()  # nothing worked out yet
    ws.today_summary()
    assert ws.keep_today_index() and not ws.keep_today_index()  # kept once, not rewritten
    ws.vault.close(compact=False)  # kill -9: no close of the workspace
    ws = _open(path, clock)
    assert ws.today_summary() == reference(ws, TODAY) and ws.today_from_kept
    assert not ws.keep_today_index()  # read from the file: on disk already
    # Worked out, then a save before it is kept: the file would be stale, so it is not kept.
    rid = next(r for r, _ in ws.vault.iter_records("resident"))
    ws.vault.commit([Change("resident", rid, {"notes": "改过"})])
    ws.today_summary()
    held = ws._today
    ws.vault.commit([Change("resident", rid, {"notes": "又改过"})])
    assert held is not None and not ws.vault.save_derived("today", b"stale", revision=held[0])
    assert not ws.keep_today_index()
    ws.vault.close(compact=False)
    ws = _open(path, clock)
    assert ws.today_summary() == reference(ws, TODAY) and not ws.today_from_kept
    ws.vault.close(compact=False)


def _with_inbox(ws: Workspace, clock: FixedClock) -> None:
    """Two open notes on the worker's files (one due two days from now), and a resident
    newly assigned here: Today's inbox is not empty."""
    from fieldapp.domain import NoteAction
    from fieldapp.domain.models import assignment_id

    rids = [r for r, _ in ws.vault.iter_records(RecordKind.RESIDENT.value)][:2]
    ws.write_note(rids[0], NoteAction.VISIT, "请本周上门", due_date=TODAY + dt.timedelta(days=2))
    ws.write_note(rids[1], NoteAction.EXPLAIN, "请说明")
    when = clock.now().isoformat()
    fields = {"resident_id": rids[1], "assigned_at": when, "worker": ws.vault.device_id}
    ws.vault.commit([Change("assignment", assignment_id(rids[1]), fields)])


def _peeked(path: Path, clock: FixedClock) -> tuple[Workspace, list[TodaySummary | None]]:
    """Open with a peek that works out Today's preview, as the unlock does."""
    seen: list[TodaySummary | None] = []
    vault = Vault.open(
        path,
        PASSPHRASE,
        clock=clock,
        peek=lambda read: seen.append(day_summary.preview(read, clock.today())),
    )
    return Workspace(vault), seen


def test_the_first_screen_drawn_before_the_records_are_read_is_the_one_they_give(
    tmp_path: Path,
) -> None:
    """What the last session kept (the index and the inbox) is Today as the records give it,
    on the day the vault is opened again — days later, with a note then past due."""
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    ws = Workspace(demo_vault(path, clock, 30))
    _with_inbox(ws, clock)
    ws.close()
    for days in (0, 1, 5):
        later = FixedClock(T0 + dt.timedelta(days=days))
        ws, seen = _peeked(path, later)
        summary = ws.today_summary()
        assert seen == [summary], days
        assert summary.notes and summary.assignments and summary.due
        assert (summary.notes[0].days_overdue > 0) == (days > 2)
        ws.vault.close(compact=False)


def test_no_first_screen_is_drawn_from_what_is_no_longer_true(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    ws = Workspace(demo_vault(path, clock, 10))
    ws.close()
    # Nothing of Today's inbox was kept (a vault of before it was): no preview.
    (path / "derived-today_inbox.fv").unlink()
    ws, seen = _peeked(path, clock)
    assert seen == [None]
    ws.today_summary()
    assert ws.keep_today_index() is False  # the index is on disk already; the inbox is kept
    ws.vault.close(compact=False)
    ws, seen = _peeked(path, clock)
    assert seen == [ws.today_summary()] and seen[0] is not None
    # A save since: what was kept is stale, and no preview is drawn.
    rid = next(r for r, _ in ws.vault.iter_records("resident"))
    ws.vault.commit([Change("resident", rid, {"notes": "改过"})])
    ws.vault.close(compact=False)
    ws, seen = _peeked(path, clock)
    assert seen == [None]
    ws.vault.close(compact=False)


def test_no_preview_when_the_revision_is_known_only_after_the_replay(tmp_path: Path) -> None:
    """A frame past the acknowledged length (a crash after its fsync, before the superblock
    said so): the open keeps it, so what was kept before it is stale — and is not read."""
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    ws = Workspace(demo_vault(path, clock, 10))
    ws.close()
    ws, seen = _peeked(path, clock)
    assert seen[0] is not None
    ws.today_summary()
    journal = next(path.glob("journal-*.fv"))
    state = (path / "vault.state").read_bytes()
    rid = next(r for r, _ in ws.vault.iter_records("resident"))
    ws.vault.commit([Change("resident", rid, {"notes": "改过"})])
    ws.vault.close(compact=False)
    (path / "vault.state").write_bytes(state)  # the acknowledgement of that frame lost
    assert journal.exists()
    ws, seen = _peeked(path, clock)
    assert seen == [] and ws.vault.report.unacknowledged_frames_kept == 1
    ws.vault.close(compact=False)


def test_a_peek_that_raises_stops_nothing_it_did_not_start(tmp_path: Path) -> None:
    """The vault calls the peek as it is: the caller's errors are the caller's (the unlock
    guards its own), and a vault whose open failed in it is left closed and unlocked."""
    clock = FixedClock(T0)
    path = tmp_path / "vault"
    demo_vault(path, clock, 3).close()

    def broken(read: object) -> None:
        raise RuntimeError("the caller's bug")

    with pytest.raises(RuntimeError):
        Vault.open(path, PASSPHRASE, clock=clock, peek=broken)
    Vault.open(path, PASSPHRASE, clock=clock).close()  # not left locked
