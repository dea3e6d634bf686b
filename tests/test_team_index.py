"""The team view's index (supervision.team_index / team_view, kept as a derived file by
services/team_view.py): on any day, and after a round trip through the kept file, it
gives what the direct pass gave before it (the oracle below, the old ``team_report``
verbatim) — at a street with two workers' demo files and conflicts, and at a district."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from fieldapp.domain import NeedStatus, RecordKind
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.kinds import with_defaults
from fieldapp.services import supervision
from fieldapp.services import team_view as kept
from fieldapp.services.demo import build_demo
from fieldapp.services.records import RecordService
from fieldapp.services.supervision import (
    DEFINING,
    OPEN,
    OPEN_NOTES,
    WorkerRow,
    _counts_rows,
    _days_between,
    _made,
    author,
)
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault
from sync import merge, outbox, team
from sync.merge import Merger
from tests.conftest import FAST_KDF, PASSPHRASE, T0

TODAY = T0.date()


def reference_report(vault: Vault, today: dt.date, weeks: int = 8) -> list[WorkerRow]:
    """The team report as it was worked out before the index (the oracle), verbatim:
    one row per enrolled device (and one for records of unknown origin, if any). A
    lower office (DESIGN §3.8: enrolled with a flow) counts what it and every device on
    its roster wrote; each device of its roster then has a row of its own under it
    (``office`` names that office's device), where this level may see them."""
    from fieldapp.services.schedule import iso_date, overdue
    from sync.levels import ROSTER

    rows: dict[str, WorkerRow] = {}
    offices: dict[str, str] = {}  # a lower office's device → the office
    for entry in team.devices(vault):
        stats = vault.get_meta(merge.STATS + entry.device_id, {})
        rows[entry.device_id] = WorkerRow(
            entry.device_id,
            entry.name,
            entry.revoked is not None,
            last_bundle=int(stats.get("last_seq", 0)),
            last_at=stats.get("last_at"),
            last_made=_made(stats.get("last_hlc")),
            bundles=int(stats.get("bundles", 0)),
            ops=int(stats.get("ops", 0)),
            visits_per_week=[0] * weeks,
            flow=entry.flow,
        )
        if entry.flow:
            for device, member in (vault.get_meta(ROSTER + entry.device_id) or {}).items():
                if device not in rows:
                    offices[device] = entry.device_id
                    rows[device] = WorkerRow(
                        device,
                        str(member.get("name") or device),
                        False,
                        visits_per_week=[0] * weeks,
                        office=entry.device_id,
                    )

    _counts_rows(vault, rows)

    def rows_of(device: str | None) -> list[WorkerRow]:
        found = rows.get(device or "")
        if found is None:
            return []
        office = offices.get(found.device_id)
        return [found, rows[office]] if office else [found]

    owner: dict[str, str | None] = {}
    archived: set[str] = set()
    for rid, doc in vault.iter_records(RecordKind.RESIDENT.value):
        owner[rid] = author(vault, "resident", rid)
        # An archived resident is out of the caseload, as in every list and count: the
        # needs list and the worker's Today leave their needs out too.
        if doc.get("archived"):
            archived.add(rid)
        else:
            for r in rows_of(owner[rid]):
                r.residents += 1
    for nid, doc in vault.iter_records(RecordKind.NEED.value):
        if doc.get("resident_id") in archived:
            continue
        for r in rows_of(author(vault, "need", nid)):
            r.needs_listed += 1
            r.needs_resolved += doc.get("status") == NeedStatus.RESOLVED.value
            r.needs_open += doc.get("status") in OPEN
    month = today.replace(day=1)
    week0 = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    for vid, doc in vault.iter_records(RecordKind.VISIT.value):
        day = iso_date(doc.get("started_at"))
        if day is None:
            continue  # a damaged record
        for r in rows_of(author(vault, "visit", vid)):
            r.visits_this_month += day >= month
            index = (day - week0).days // 7
            if 0 <= index < weeks:
                r.visits_per_week[index] += 1
    for item in overdue(vault, today):
        for r in rows_of(owner.get(item.resident_id)):
            r.overdue += 1
    waits: dict[str, list[float]] = defaultdict(list)
    for _, doc in vault.iter_records(RecordKind.SUPERVISION_NOTE.value):
        resident = doc.get("resident_id")
        if resident in archived:
            continue
        doc = with_defaults(RecordKind.SUPERVISION_NOTE.value, doc)
        wait = _days_between(doc.get("created_at"), doc.get("acknowledged_at"))
        for r in rows_of(owner.get(str(resident))):
            r.notes_open += doc.get("status") in OPEN_NOTES
            if wait is not None:
                waits[r.device_id].append(wait)
    for device, days in waits.items():
        rows[device].notes_ack_days = round(statistics.median(days), 1)
    for rid, fields in merge.conflicts(vault).items():
        kind = vault.kind_of(rid) or "resident"
        for r in rows_of(author(vault, kind, rid) if kind in DEFINING else None):
            r.conflicts += len(fields)
    # Offices and workers by name, each office's roster right under it.
    top = sorted((r for r in rows.values() if not r.office), key=lambda r: (r.revoked, r.name))
    out = []
    for r in top:
        out.append(r)
        out += sorted((m for m in rows.values() if m.office == r.device_id), key=lambda m: m.name)
    return out


def _bundles(worker: Vault) -> list[bytes]:
    outbox.cut(worker)
    out = [outbox.bundle_bytes(worker, seq) for seq in outbox.pending_bundles(worker)]
    for seq in outbox.pending_bundles(worker):
        worker.put_meta(f"{outbox.BUNDLE_PREFIX}{seq:08d}", None)
    return out


@pytest.fixture
def street(tmp_path: Path) -> Vault:
    """A street that merged two workers' demo files, with a field both changed at once,
    a note acknowledged, an archived resident, and a bundle it quarantined."""
    from fieldapp.domain import NoteAction, NoteStatus

    clock = FixedClock(T0)

    def vault(name: str) -> Vault:
        return Vault.create(tmp_path / name, PASSPHRASE, kdf=FAST_KDF, clock=clock)[0]

    sup = vault("street")
    secrets = team.create_team(sup, "八廓街道")
    workers = []
    for i, name in enumerate(("卓玛", "扎西")):
        worker = vault(f"worker{i}")
        _, code = team.join(worker, secrets.code(), name)
        team.enrol(sup, code)
        build_demo(RecordService(worker), TODAY, residents=12, seed=i)
        workers.append(worker)
    merger = Merger(sup)
    for worker in workers:
        for data in _bundles(worker):
            merger.receive(data)
    merger.receive(b"not a bundle", source="/media/usb/junk.fbundle")
    ws = Workspace(sup)
    rid = next(r for r, _ in sup.iter_records(RecordKind.RESIDENT.value))
    note = ws.write_note(rid, NoteAction.EXPLAIN, "请说明")
    # The street and the worker change the same field at once: a conflict at the street.
    w_rid = next(r for r, _ in workers[0].iter_records(RecordKind.RESIDENT.value))
    workers[0].commit([Change("resident", w_rid, {"notes": "社工改"})])
    sup.commit([Change("resident", w_rid, {"notes": "督导改"})])
    merger = Merger(sup)
    for data in _bundles(workers[0]):
        merger.receive(data)
    other = [r for r, _ in sup.iter_records(RecordKind.RESIDENT.value)][-1]
    sup.commit([Change("resident", other, {"archived": True})])
    ws.set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
    for worker in workers:
        worker.close()
    return sup


DAYS = [TODAY + dt.timedelta(days=d) for d in (-40, -3, 0, 1, 9, 31, 200)]


def _same(index: supervision.TeamIndex, vault: Vault) -> None:
    for day in DAYS:
        view = supervision.team_view(index, day)
        assert view.rows == reference_report(vault, day), day
        assert view.weekly == supervision.needs_per_week(vault, day), day
        assert view.needs == supervision.needs_by_category(vault)
        assert view.conflicts == supervision.open_conflicts(vault)
        assert view.quarantined == len(supervision.quarantine(vault))


def test_the_team_view_from_its_index_is_the_direct_pass_on_any_day(street: Vault) -> None:
    index = supervision.team_index(street)
    rows = reference_report(street, TODAY)
    assert any(r.visits_this_month for r in rows) and any(r.overdue for r in rows)
    assert any(r.conflicts for r in rows) and any(r.notes_ack_days is not None for r in rows)
    _same(index, street)
    again = kept.decode(kept.encode(index))  # kept between sessions and read back
    assert again == index
    _same(again, street)
    street.close()


def test_the_kept_index_is_read_only_while_true_and_a_bad_one_is_missing(street: Vault) -> None:
    ws = Workspace(street)
    first = ws.team_view()
    assert ws.keep_team_index() and not ws.keep_team_index()  # kept once
    path, clock = street.path, street.clock
    street.close(compact=False)
    ws = Workspace(Vault.open(path, PASSPHRASE, clock=clock))
    seen: list[object] = []
    assert ws.team_view() == first and ws._team_kept_at == ws.vault.revision  # read, not built
    ws.vault.close(compact=False)
    reopened = Vault.open(
        path, PASSPHRASE, clock=clock, peek=lambda read: seen.append(kept.preview(read, TODAY))
    )
    assert seen == [first]  # the preview drawn before the records are read is the view
    rid = next(r for r, _ in reopened.iter_records("resident"))
    reopened.commit([Change("resident", rid, {"notes": "改过"})])  # stale from here on
    reopened.close(compact=False)
    seen.clear()
    Vault.open(
        path, PASSPHRASE, clock=clock, peek=lambda read: seen.append(kept.preview(read, TODAY))
    ).close(compact=False)
    assert seen == [None]
    for junk in (b"", b"{}", b'{"v": 1}', b'{"v": 1, "rows": [[1]]}', b"\xff" * 9):
        assert kept.decode(junk) is None


def test_a_kept_index_with_any_field_of_another_type_reads_as_missing(street: Vault) -> None:
    """The file is sealed by the vault, but a row of another shape (another version's, or a
    bug's) must never reach the screen, where it would fail on the UI thread: every field
    of every row is checked, the field list must be this version's, device ids unique."""
    import orjson

    raw = orjson.loads(kept.encode(supervision.team_index(street)))
    assert kept.decode(orjson.dumps(raw)) is not None
    for i in range(len(raw["fields"])):
        for wrong in ({"x": 1}, -1, True if i else 7):
            bad = orjson.loads(orjson.dumps(raw))
            if bad["rows"][0][i] == wrong or (
                wrong is True and isinstance(bad["rows"][0][i], bool)
            ):
                continue
            bad["rows"][0][i] = wrong
            assert kept.decode(orjson.dumps(bad)) is None, (raw["fields"][i], wrong)
    moved = orjson.loads(orjson.dumps(raw))
    moved["fields"] = list(reversed(moved["fields"]))
    assert kept.decode(orjson.dumps(moved)) is None
    twice = orjson.loads(orjson.dumps(raw))
    twice["rows"].append(twice["rows"][0])
    assert kept.decode(orjson.dumps(twice)) is None
    street.close()
