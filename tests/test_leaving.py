"""A resident leaving a worker's device's scope (DESIGN §3.7, sync/leaving.py): what the
device still has to send for it goes up first, then it is purged — no synced deletion,
gone from the state, the history and every frame on disk — and a signed receipt goes up
in the device's normal outbox."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import time
from pathlib import Path

import pytest

from fieldapp.domain import Interview, Need, NeedCategory, Resident, Visit
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.enums import VisitKind
from fieldapp.domain.models import Assignment, assignment_id
from fieldapp.services.records import RecordService
from fieldapp.store import Change, Vault, crypto, frames
from fieldapp.store.frames import JOURNAL_MAGIC
from sync import downward, leaving, outbox, team
from sync.merge import Merger
from sync.transports.folder import FolderTransport
from tests import leaving_child
from tests.children import Child
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.test_downward import Team, cut, t, upward
from tests.test_plaintext import needles

__all__ = ["t"]  # the team fixture, shared with test_downward

NAME, PHONE, ID_NUMBER = "欧阳秀英离开", "13987654321", "11010519491231002X"
NOTE_TEXT = "离开范围的家访记录 leaving-visit-text"


def frame_key(vault: Vault) -> tuple[bytes, bytes]:
    """An open vault's frame key and id: what decrypts every frame of its files."""
    return vault._keys.frame, vault.vault_id


def decrypted_views(path: Path, key: tuple[bytes, bytes]) -> list[tuple[str, bytes]]:
    """Every file of the vault folder as stored and, for the vault's own files, every
    frame decrypted with the vault's key (the scan sees what the key would reveal)."""
    key_bytes, vault_id = key
    views: list[tuple[str, bytes]] = []
    for file in sorted(path.iterdir()):
        if not file.is_file():
            continue
        raw = file.read_bytes()
        views.append((file.name, raw))
        name = file.name
        if not name.endswith(".fv") or name.startswith("."):
            continue
        gen = int(name.rsplit("-", 1)[1][:-3])
        if name.startswith("snap-"):
            views.append((name, frames.open_snapshot(key_bytes, vault_id, gen, raw)))
        elif name.startswith("ops-"):
            views.append(
                (name, frames.open_archive(key_bytes, vault_id, gen, raw, crypto.sha256(raw)))
            )
        elif name.startswith("journal-"):
            pos, index = len(JOURNAL_MAGIC), 0
            while (
                frame := frames.open_journal_frame(key_bytes, vault_id, raw, pos, gen, index)
            ) is not None:
                views.append((name, frame[0]))
                pos, index = frame[1], index + 1
    return views


def leaks(path: Path, key: tuple[bytes, bytes], values: list[str]) -> list[str]:
    """The files of the vault folder (decrypted) that hold any of ``values``."""
    patterns = needles(values)
    views = decrypted_views(path, key)
    return sorted({name for name, data in views for p in patterns if p in data})


def file_of_a(t: Team) -> dict[str, str]:
    """On worker A: a resident with a need, a visit, an interview with another resident
    who stays, and a half-filled form — all delivered to the supervisor already."""
    records = RecordService(t.a)
    leaving_one = Resident(name=NAME, community="史家社区", phones=[PHONE], id_number=ID_NUMBER)
    staying = Resident(name="李四留下", community="史家社区")
    need = Need(
        resident_id=leaving_one.id,
        category=NeedCategory.HEALTH,
        description="陪同复诊",
        opened_on=T0.date(),
    )
    visit = Visit(
        resident_id=leaving_one.id,
        kind=VisitKind.HOME,
        started_at=T0,
        duration_minutes=30,
        purpose="家访",
        observations=NOTE_TEXT,
    )
    interview = Interview(
        resident_ids=[leaving_one.id, staying.id],
        held_on=T0.date(),
        template_id="weekly",
        notes="两人一起面谈",
    )
    for record in (leaving_one, staying, need, visit, interview):
        records.save(record)
    t.a.put_meta(f"draft/need:new:{leaving_one.id}", {"description": f"草稿 {PHONE}"})
    upward(t.a, t.sup)
    for seq in outbox.pending_bundles(t.a):  # delivered (the supervisor merged them)
        t.a.put_meta(f"{outbox.BUNDLE_PREFIX}{seq:08d}", None)
    return {
        "resident": leaving_one.id,
        "staying": staying.id,
        "need": need.id,
        "visit": visit.id,
        "interview": interview.id,
    }


def reassign(t: Team, resident: str, worker: Vault) -> list[bytes]:
    """The supervisor hands ``resident`` to ``worker``; the bundle(s) that tell worker A."""
    assignment = Assignment(
        id=assignment_id(resident),
        resident_id=resident,
        worker=worker.device_id,
        assigned_at=T0 + dt.timedelta(hours=1),
    )
    t.sup.commit([Change("assignment", assignment.id, assignment.to_fields())])
    return cut(t, t.a, [assignment.id])


def receipts(vault: Vault) -> dict[str, dict[str, object]]:
    """The scope receipts in a vault: resident id → fields."""
    return {doc["resident_id"]: doc for _, doc in vault.iter_records("scope_receipt")}


def test_a_reassigned_resident_is_purged_everywhere_and_a_receipt_goes_up(
    t: Team, tmp_path: Path
) -> None:
    ids = file_of_a(t)
    rid = ids["resident"]
    gone = [rid, ids["need"], ids["visit"], assignment_id(rid)]
    key = frame_key(t.a)
    assert leaks(tmp_path / "a", key, [NAME]) != []  # the scan sees the file while it is here
    (data,) = reassign(t, rid, t.b)
    outcomes = downward.receive(t.a, data)
    assert [o.kind for o in outcomes] == ["applied"]

    # Gone from the state, the tables, the history — and no deletion op anywhere.
    for record in gone:
        assert t.a.get(record) is None and t.a.kind_of(record) is None
        assert t.a.history(record) == []
    assert {op.record_id for op in t.a.all_ops()}.isdisjoint(gone)
    assert not any(op.field == "_deleted" for op in t.a.all_ops())
    assert t.a.count("resident") == 1 and t.a.count("need") == t.a.count("visit") == 0
    assert t.a.meta_keys("draft/") == []
    assert leaving.leaving(t.a) == {} and leaving.purged(t.a) == {rid}
    # The interview stays (the other resident's file) without the purged resident, locally.
    interview = t.a.get(ids["interview"])
    assert interview is not None and interview["resident_ids"] == [ids["staying"]]
    assert t.sup.get(ids["interview"])["resident_ids"] == [rid, ids["staying"]]  # type: ignore[index]

    # The receipt: queued in A's outbox, no personal data, and the supervisor gets it.
    receipt = receipts(t.a)[rid]
    assert receipt["records"] == 4 and set(receipt) == {"resident_id", "purged_at", "records"}
    pending = outbox.pending_ops(t.a)
    assert {op.kind for op in pending} == {"scope_receipt"}
    upward(t.a, t.sup)
    at_sup = receipts(t.sup)[rid]
    receipt_id = next(r for r, d in t.sup.iter_records("scope_receipt") if d is at_sup)
    assert t.sup.field_author(receipt_id, "resident_id") == t.a.device_id
    assert t.sup.get(rid) is not None  # the supervisor keeps the file: nothing synced a deletion

    # No frame on disk — decrypted with the vault's own key — holds the resident.
    t.a.close(compact=False)
    assert leaks(tmp_path / "a", key, [NAME, PHONE, ID_NUMBER, NOTE_TEXT]) == []
    with Vault.open(tmp_path / "a", PASSPHRASE) as again:  # and it opens as it was left
        assert again.get(rid) is None and again.get(ids["staying"]) is not None
        assert again.get(ids["interview"])["resident_ids"] == [ids["staying"]]  # type: ignore[index]
        again.close(compact=False)


def test_pending_work_goes_up_before_the_purge(t: Team, tmp_path: Path) -> None:
    ids = file_of_a(t)
    rid = ids["resident"]
    t.a.commit([Change("need", ids["need"], {"status_note": "未发送的修改"})])  # uncut
    outbox.cut(t.a)
    t.a.commit([Change("visit", ids["visit"], {"purpose": "还没切出的修改"})])  # uncut
    (data,) = reassign(t, rid, t.b)
    assert [o.kind for o in downward.receive(t.a, data)] == ["applied"]
    # Leaving, but whole: a bundle and an op of its file have not gone up.
    assert set(leaving.leaving(t.a)) == {rid}
    assert t.a.get(rid) is not None and t.a.get(ids["need"]) is not None
    assert receipts(t.a) == {}
    assert downward.receive(t.a, data)[0].kind == "duplicate"
    assert t.a.get(rid) is not None  # still waiting

    stick = FolderTransport(tmp_path / "stick")
    result = outbox.sync_to(t.a, stick)  # cut, deliver, confirmed: now it goes
    # The two bundles of its edits, then, in the same pass, the receipt's.
    assert result.error is None and len(result.delivered) == 3 and result.pending == 0
    assert t.a.get(rid) is None and set(receipts(t.a)) == {rid}
    assert leaving.leaving(t.a) == {} and outbox.pending_ops(t.a) == []
    # Both edits reached the supervisor, and the receipt with them.
    merger = Merger(t.sup)
    for entry in sorted(stick.scan(""), key=lambda e: e.key):
        merger.receive(stick.get(entry.key, limit=1 << 24))
    assert t.sup.get(ids["need"])["status_note"] == "未发送的修改"  # type: ignore[index]
    assert t.sup.get(ids["visit"])["purpose"] == "还没切出的修改"  # type: ignore[index]
    assert set(receipts(t.sup)) == {rid}


def test_a_resident_shared_with_this_device_stays_and_one_given_back_is_not_purged(
    t: Team,
) -> None:
    ids = file_of_a(t)
    rid = ids["resident"]
    assignment = Assignment(
        id=assignment_id(rid),
        resident_id=rid,
        worker=t.b.device_id,
        shared_with=[t.a.device_id],
        assigned_at=T0,
    )
    t.sup.commit([Change("assignment", assignment.id, assignment.to_fields())])
    downward.receive_all(t.a, [(b, "") for b in cut(t, t.a, [assignment.id])])
    assert t.a.get(rid) is not None and leaving.leaving(t.a) == {}
    # The supervisor's own vault holds assignments naming others: it never purges.
    assert leaving.settle(t.sup) == [] and t.sup.get(rid) is not None


def test_what_arrives_for_a_purged_resident_later_is_purged_too(t: Team) -> None:
    ids = file_of_a(t)
    rid = ids["resident"]
    (data,) = reassign(t, rid, t.b)
    downward.receive(t.a, data)
    assert t.a.get(rid) is None
    # An edit the supervisor sent before it saw the reassignment arrives afterwards.
    t.sup.commit([Change("need", ids["need"], {"status_note": "迟到的修改"})])
    downward.receive_all(t.a, [(b, "") for b in cut(t, t.a, [ids["need"]])])
    assert t.a.kind_of(ids["need"]) is None
    assert all(op.record_id != ids["need"] for op in t.a.all_ops())
    assert len(list(t.a.iter_records("scope_receipt"))) == 2  # each purge says so


def test_a_purged_resident_is_not_found_by_a_search_built_before(t: Team) -> None:
    from fieldapp.services.workspace import Workspace

    ids = file_of_a(t)
    workspace = Workspace(t.a)
    workspace.build_index()
    assert [row.id for row in workspace.find_residents(NAME)[0]] == [ids["resident"]]
    (data,) = reassign(t, ids["resident"], t.b)
    downward.receive(t.a, data)  # purged by the sync, under the open workspace
    assert workspace.find_residents(NAME) == ([], 0)
    assert [row.id for row in workspace.find_residents("李四留下")[0]] == [ids["staying"]]


def test_todays_kept_index_goes_with_the_purge_and_today_no_longer_shows_the_resident(
    t: Team, tmp_path: Path
) -> None:
    from fieldapp.services.workspace import Workspace

    ids = file_of_a(t)
    workspace = Workspace(t.a)
    before = workspace.today_summary()
    t.a.save_derived("today", b"worked out while the resident was here")
    assert (tmp_path / "a" / "derived-today.fv").exists()
    (data,) = reassign(t, ids["resident"], t.b)
    downward.receive(t.a, data)
    assert not (tmp_path / "a" / "derived-today.fv").exists()
    after = workspace.today_summary()
    shown = after.due + after.urgent_needs + after.overdue_needs + after.needs_due_soon
    assert ids["resident"] not in {r.resident_id for r in shown}
    assert after.residents == before.residents - 1


def test_a_full_disk_during_the_purge_changes_nothing_and_the_next_pass_finishes_it(
    t: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldapp.errors import VaultWriteFailed
    from fieldapp.store import fsio

    ids = file_of_a(t)
    rid = ids["resident"]
    real = fsio.atomic_write
    written: list[str] = []

    def full_at_the_snapshot(path: Path, data: bytes) -> None:
        if path.name.startswith("snap-"):
            raise OSError(28, "No space left on device")
        written.append(path.name)
        real(path, data)

    monkeypatch.setattr(fsio, "atomic_write", full_at_the_snapshot)
    (data,) = reassign(t, rid, t.b)
    with pytest.raises(VaultWriteFailed):
        downward.receive(t.a, data)
    assert written and written[0].startswith("ops-")  # the new archive was written first
    # Nothing changed: still whole, still leaving, no receipt, and the vault writes on.
    assert t.a.get(rid) is not None and t.a.history(rid) != []
    assert set(leaving.leaving(t.a)) == {rid} and receipts(t.a) == {}
    t.a.commit([Change("resident", ids["staying"], {"notes": "还能保存"})])
    monkeypatch.setattr(fsio, "atomic_write", real)
    t.a.close(compact=False)
    with Vault.open(tmp_path / "a", PASSPHRASE) as again:  # the stray archive is swept
        assert "strays_swept" in again.report.notes
        assert not (tmp_path / "a" / written[0]).exists()
        assert again.get(rid) is not None and again.get(ids["staying"])["notes"] == "还能保存"  # type: ignore[index]
        assert leaving.settle(again) == [rid]  # the next pass purges it
        assert again.get(rid) is None and set(receipts(again)) == {rid}
        again.close(compact=False)


# ---------------------------------------------------------------- kill -9 during the purge

KILLS = int(os.environ.get("FIELDAPP_LEAVING_KILLS", "60"))


def check_after_kill(vault: Vault, last_begun: int, seen: set[int]) -> tuple[set[int], set[int]]:
    """Each round's resident is whole (and not receipted) or gone with its receipt
    queued; a round seen before (``seen``) never vanishes. Returns the rounds purged and
    those whole."""
    receipted = receipts(vault)
    gone = leaving.purged(vault)
    now_leaving = leaving.leaving(vault)
    out, whole = set(), set()
    for i in range(1, last_begun + 1):
        r = leaving_child.ids(i)
        rid = r["resident"]
        present = {kind for kind, record in r.items() if vault.kind_of(record) is not None}
        assigned = vault.kind_of(assignment_id(rid)) is not None
        if "resident" in present:  # whole, and still leaving when the assignment came
            assert present == set(r), f"round {i}: half-purged {present}"
            assert rid in vault.get(r["interview"])["resident_ids"]  # type: ignore[index]
            assert rid not in receipted and rid not in gone
            # Leaving is marked in the commit after the assignment's (which says so already).
            assert rid not in now_leaving or assigned
            whole.add(i)
        elif present:  # gone: the interview stays, without it, and its receipt is queued
            assert present == {"interview"}, f"round {i}: half-purged {present}"
            assert vault.get(r["interview"])["resident_ids"] == [leaving_child.STAYING]  # type: ignore[index]
            assert not assigned and rid in receipted and rid in gone
            assert rid not in now_leaving
            out.add(i)
        else:  # the kill came before the round's file was saved: never there
            assert i not in seen and rid not in receipted and rid not in gone, i
    return out, whole


@pytest.mark.slow
def test_kill_9_during_the_purge_leaves_it_whole_or_gone_with_its_receipt(
    tmp_path: Path, clock: FixedClock
) -> None:
    path, stick = tmp_path / "worker", tmp_path / "stick"
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    secrets = team.create_team(sup, "史家社区督导")
    worker, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    _, code = team.join(worker, secrets.code(), "a")
    team.enrol(sup, code)
    staying = Resident(id=leaving_child.STAYING, name="李四留下", community="史家社区")
    RecordService(worker).save(staying)
    key = (bytes(worker._keys.frame), worker.vault_id)
    worker.close(compact=False)
    rng = random.Random(2026)
    next_round, last_begun = 1, 0
    purged: set[int] = set()
    seen: set[int] = set()
    whole_leaving = swept = 0
    for round_no in range(KILLS):
        child = Child.python("leaving_child.py", str(path), PASSPHRASE, str(stick), str(next_round))
        child.wait_for_line("READY")
        time.sleep(rng.uniform(0, 0.2))
        assert child.kill() == -signal.SIGKILL, child.stderr
        began = [int(line.split()[1]) for line in child.out if line.startswith("BEGIN")]
        if began:
            last_begun = max(began)
            next_round = last_begun + 1
        with Vault.open(path, PASSPHRASE, clock=clock) as vault:
            gone, whole = check_after_kill(vault, last_begun, seen)
            assert purged <= gone  # nothing purged comes back
            purged, seen = gone, seen | gone | whole
            whole_leaving += len(leaving.leaving(vault))
            swept += "strays_swept" in vault.report.notes  # killed inside a purge's rewrite
            vault.close(compact=False)
        # No frame of any file — decrypted — holds a purged resident's name.
        assert leaks(path, key, [leaving_child.name(i) for i in purged]) == [], round_no
    assert len(purged) > KILLS // 4  # the loop really purged between kills

    # Delivered first: everything the worker wrote about a purged resident reached the
    # supervisor (whatever the kills cut), and so did every receipt.
    with Vault.open(path, PASSPHRASE, clock=clock) as vault:
        assert outbox.sync_to(vault, FolderTransport(stick)).error is None
        purged, _ = check_after_kill(vault, last_begun, seen)
        device = vault.device_id
        vault.close(compact=False)
    transport = FolderTransport(stick)
    merger = Merger(sup)
    for entry in sorted(transport.scan(""), key=lambda e: e.key):
        assert merger.receive(transport.get(entry.key, limit=1 << 24))[0].kind == "applied"
    at_sup = receipts(sup)
    for i in purged:
        r = leaving_child.ids(i)
        assert all(sup.get(record) is not None for record in r.values()), i
        assert r["resident"] in at_sup
    authors = {sup.field_author(rid, "resident_id") for rid, _ in sup.iter_records("scope_receipt")}
    assert authors == {device}
    sup.close(compact=False)
    print(
        f"\n{KILLS} kills, {last_begun} rounds, {len(purged)} purged, "
        f"{whole_leaving} times a resident was found whole and still leaving, "
        f"{swept} opens that swept a cut rewrite's files"
    )
