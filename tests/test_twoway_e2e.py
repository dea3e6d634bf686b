"""Supervision flows back down, end to end (issue 14, "Tests that must exist"): a team of a
supervisor and workers A and B, by stick and again through the real hub, in the product's
own passes (``sync_to_folder`` / ``merge_folder``, ``HubSync``) and services (assigning,
notes, conflict review):

- the supervisor assigns 3 residents to A and 2 to B: each worker's vault — decrypted,
  frame by frame — holds exactly its residents, and no downward payload (decrypted with
  its recipient's key) holds another worker's names, phones or ID numbers; a supervisor
  note reaches A's Today, A acknowledges it and the supervisor sees the acknowledgement;
- A (offline) and the supervisor edit one field: both sides list the conflict, A's
  resolution flows up and everyone converges;
- a resident handed over from A (offline, with unsent edits) to B: nothing A wrote is
  lost, B gets the whole file with A's late edits, A purges it only once they went up;
- Hypothesis, at sync level over folder transports: bundles both ways delivered in any
  order and twice, with assignments, shares and edits interleaved, end with every worker
  holding the supervisor's state restricted to its scope, the same conflicts, and nothing
  outside its scope.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from fieldapp.domain import Need, NoteAction, NoteStatus, Resident, Visit, validate
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.enums import NeedCategory, VisitKind
from fieldapp.domain.idcard import make_id_number
from fieldapp.domain.ops import Op
from fieldapp.services import assignments, supervision, syncing
from fieldapp.services.records import RecordService
from fieldapp.services.syncing import HubSync
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault
from sync import downward, leaving, merge, outbox, scope
from sync.merge import Merger
from sync.transports.base import Transport
from sync.transports.folder import FolderTransport
from tests.conftest import T0
from tests.hubfix import Team as HubTeam
from tests.hubfix import hub_team
from tests.test_leaving import frame_key, leaks
from tests.test_scope import make_team, opened

__all__ = ["hub_team"]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore")


# ---------------------------------------------------------------- the parties and their passes


@dataclass
class Party:
    """A supervisor and workers A and B, their vaults' folders, and how a round goes:
    ``worker_pass`` (up, then what waits for it), ``sup_pass`` (merge, then deliver), and
    ``payloads`` (every downward bundle ever put for a device, as stored)."""

    sup: Vault
    a: Vault
    b: Vault
    folders: dict[str, Path]  # device id -> its vault's folder
    worker_pass: Callable[[Vault], None]
    sup_pass: Callable[[], None]
    payloads: Callable[[Vault], list[bytes]]

    def round_trip(self, *workers: Vault) -> None:
        """Each worker's pass up, the supervisor's merge and delivery, each worker's pass."""
        for worker in workers:
            self.worker_pass(worker)
        self.sup_pass()
        for worker in workers:
            self.worker_pass(worker)


def by_stick(sup: Vault, a: Vault, b: Vault, root: Path) -> Party:
    """The team's round trips on one USB stick (``root/stick``)."""
    stick = root / "stick"
    stick.mkdir()

    def worker_pass(worker: Vault) -> None:
        done = syncing.sync_to_folder(worker, stick, name=worker.device_id)
        assert done.result.error is None and done.received.failure is None
        assert done.received.quarantined == 0

    def sup_pass() -> None:
        done = syncing.merge_folder(Workspace(sup), stick)
        assert done.delivery.failure is None and done.delivery.pending == 0
        assert not done.summary.count("quarantined") and not done.summary.count("held")

    def payloads(worker: Vault) -> list[bytes]:
        transport = FolderTransport(stick)
        mine = f"{downward.STICK_PREFIX}{worker.device_id}/"
        return [transport.get(e.key) for e in transport.scan(mine) if e.key.endswith(".fbundle")]

    folders = {v.device_id: root / name for v, name in ((sup, "sup"), (a, "a"), (b, "b"))}
    return Party(sup, a, b, folders, worker_pass, sup_pass, payloads)


def by_hub(t: HubTeam) -> Party:
    """The team's round trips through the real hub (started here)."""
    t.start_hub()
    a, b = t.workers

    def worker_pass(worker: Vault) -> None:
        done = HubSync(Workspace(worker), supervisor=False).run(manual=True)
        assert done.ok, done.notice

    def sup_pass() -> None:
        done = HubSync(Workspace(t.sup), supervisor=True).run(manual=True)
        assert done.ok, done.notice
        assert downward.recipients(t.sup) == []  # everything delivered

    def payloads(worker: Vault) -> list[bytes]:
        transport: Transport = t.supervisor_transport()
        mine = f"{downward.HUB_PREFIX}{worker.device_id}/"
        return [transport.get(k) for k in transport.list(mine) if k.endswith(".fbundle")]

    folders = {t.sup.device_id: t.root / "sup", a.device_id: t.root / "w0"}
    folders[b.device_id] = t.root / "w1"
    return Party(t.sup, a, b, folders, worker_pass, sup_pass, payloads)


@pytest.fixture
def stick_party(tmp_path: Path, clock: FixedClock) -> Iterator[Party]:
    """The team on a stick, every party on the scenario's clock."""
    made = make_team(tmp_path, clock)
    yield by_stick(made.sup, made.a, made.b, tmp_path)
    for vault in (made.sup, made.a, made.b):
        vault.close(compact=False)


# The hub's variant is a hub test (left out of the shifted-clock passes: SeaweedFS reads
# the real clock); marked here, since it asks for the hub's fixture only when it runs.
@pytest.fixture(params=["stick", pytest.param("hub", marks=pytest.mark.hub)])
def party(request: pytest.FixtureRequest) -> Party:
    """The team by stick, and again through the real hub (a hub test)."""
    if request.param == "stick":
        return request.getfixturevalue("stick_party")  # type: ignore[no-any-return]
    return by_hub(request.getfixturevalue("hub_team"))


# ---------------------------------------------------------------- the residents

NAMES = ["欧阳春燕", "司马秋菊", "上官冬梅", "诸葛夏荷", "东方晓岚"]


def person(vault: Vault, n: int) -> str:
    """Resident ``n`` with a phone, an ID number and a need, saved in ``vault``."""
    records = RecordService(vault)
    today = vault.clock.today()
    resident = validate(
        Resident,
        {
            "name": NAMES[n],
            "community": "史家社区",
            "phones": [f"1390013900{n}"],
            "id_number": make_id_number("110101", dt.date(1948, 2, 1 + n), 20 + n),
        },
        today=today,
    )
    records.save(resident)
    need = Need(
        resident_id=resident.id,
        category=NeedCategory.HEALTH,
        description=f"{NAMES[n]}的降压药",
        opened_on=today,
    )
    records.save(need)
    return resident.id


def secrets_of(sup: Vault, rid: str) -> list[str]:
    """What must never reach a device outside the resident's scope."""
    doc = sup.get(rid)
    assert doc is not None
    return [doc["name"], *doc["phones"], doc["id_number"]]


def file_of(sup: Vault, rid: str) -> list[str]:
    """The record ids of the resident's file on the supervisor."""
    return scope.file_records(sup, [rid])[rid]


def residents(vault: Vault) -> set[str]:
    """The residents a vault holds."""
    return {rid for rid, _ in vault.iter_records("resident")}


def assigned(p: Party) -> tuple[list[str], list[str]]:
    """A writes one resident and sends it up; the supervisor writes four more; three go to
    A and two to B (through the assigning service, which cuts), and one round trip each
    way. Returns (A's residents, B's residents)."""
    own = person(p.a, 0)  # written by the worker, synced up
    p.worker_pass(p.a)
    p.sup_pass()
    assert p.sup.get(own) == p.a.get(own)
    rids = [own, *(person(p.sup, n) for n in range(1, 5))]
    mine, theirs = rids[:3], rids[3:]
    for rid in mine:
        assert assignments.assign(p.sup, rid, p.a.device_id).cut_error is None
    for rid in theirs:
        assert assignments.assign(p.sup, rid, p.b.device_id).cut_error is None
    p.round_trip(p.a, p.b)
    return mine, theirs


def decrypted_payload(worker: Vault, datas: list[bytes]) -> bytes:
    """Every downward bundle for ``worker``, opened with its own key, as one text."""
    ops: list[Op] = [op for data in datas for op in opened(worker, data)]
    return orjson.dumps([op.to_row() for op in ops])


# ---------------------------------------------------------------- 1. the assignments go down


def test_each_worker_holds_exactly_its_residents_and_a_note_is_acknowledged_back(
    party: Party,
) -> None:
    p = party
    mine, theirs = assigned(p)
    for worker, held, others in ((p.a, mine, theirs), (p.b, theirs, mine)):
        assert residents(worker) == set(held)
        for rid in held:  # and their files, as the supervisor has them
            records = file_of(p.sup, rid)
            assert len(records) >= 3  # resident, need, assignment
            assert all(worker.get(r) == p.sup.get(r) for r in records), rid
        # Nowhere in its folder, decrypted frame by frame, is another worker's resident.
        forbidden = [s for rid in others for s in secrets_of(p.sup, rid)]
        folder = p.folders[worker.device_id]
        assert leaks(folder, frame_key(worker), forbidden) == []
        assert leaks(folder, frame_key(worker), secrets_of(p.sup, held[-1])) != []  # it sees
        # Nor in any downward payload sealed to it.
        datas = p.payloads(worker)
        assert datas
        text = decrypted_payload(worker, datas).decode()
        for secret in forbidden:
            assert secret not in text
        assert all(rid not in text for rid in others)
        assert all(secret in text for secret in secrets_of(p.sup, held[-1]))

    # A supervisor note reaches A's Today; A acknowledges it; the supervisor sees it.
    note = Workspace(p.sup).write_note(mine[1], NoteAction.CALL, "请本周电话回访，核实用药。")
    p.sup_pass()
    p.worker_pass(p.a)
    inbox = Workspace(p.a).today_summary().notes
    assert [row.id for row in inbox] == [note.id]
    assert p.a.get(note.id) == p.sup.get(note.id)
    RecordService(p.a).set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
    p.worker_pass(p.a)
    p.sup_pass()
    seen = p.sup.get(note.id)
    assert seen is not None and seen["status"] == NoteStatus.ACKNOWLEDGED.value
    assert seen["acknowledged_at"] is not None
    assert seen == p.a.get(note.id)
    assert p.b.get(note.id) is None and merge.conflicts(p.sup) == {}


# ---------------------------------------------------------------- 2. concurrent edits


def test_a_conflict_between_the_offline_worker_and_the_supervisor_is_resolved_by_the_worker(
    party: Party,
) -> None:
    p = party
    mine, _ = assigned(p)
    rid = mine[2]
    p.a.commit([Change("resident", rid, {"notes": "女儿每周来两次"})])  # offline
    p.sup.commit([Change("resident", rid, {"notes": "督导：请核实独居情况"})])
    p.sup_pass()  # the supervisor's edit waits for A
    p.worker_pass(p.a)  # A's edit goes up, the supervisor's comes down
    p.sup_pass()  # the supervisor merges A's edit
    for vault in (p.a, p.sup):
        assert merge.conflicts(vault) == {rid: ["notes"]}
        (conflict,) = supervision.all_conflicts(vault)
        values = {side.value: side.device_id for side in conflict.sides}
        assert values == {"女儿每周来两次": p.a.device_id, "督导：请核实独居情况": p.sup.device_id}
    (conflict,) = supervision.all_conflicts(p.a)
    supervision.resolve(p.a, conflict, "女儿每周来两次；独居情况待核实")
    p.round_trip(p.a)
    for vault in (p.a, p.sup):
        assert merge.conflicts(vault) == {} and supervision.all_conflicts(vault) == []
    assert p.a.get(rid) == p.sup.get(rid)
    assert p.sup.get(rid)["notes"] == "女儿每周来两次；独居情况待核实"  # type: ignore[index]
    assert all(p.a.get(r) == p.sup.get(r) for r in file_of(p.sup, rid))


# ---------------------------------------------------------------- 3. a handover


def test_a_handover_from_an_offline_worker_loses_nothing_and_purges_only_after_upload(
    party: Party, tmp_path: Path
) -> None:
    p = party
    mine, _ = assigned(p)
    rid = mine[0]
    # A, offline, edits the resident and writes a visit: nothing of it has gone up.
    p.a.commit([Change("resident", rid, {"address": "史家胡同 12 号 3 单元"})])
    visit = Visit(
        resident_id=rid,
        kind=VisitKind.HOME,
        started_at=p.a.clock.now().replace(microsecond=0),
        duration_minutes=40,
        purpose="交接前最后一次家访",
        observations="血压偏高，已提醒复诊",
    )
    RecordService(p.a).save(visit)
    assert assignments.assign(p.sup, rid, p.b.device_id).cut_error is None
    p.sup_pass()
    p.worker_pass(p.b)  # B has the file already, before A's late edits
    assert residents(p.b) >= {rid} and p.b.get(visit.id) is None

    # A takes the reassignment before it could send anything: it still holds the file.
    got = downward.receive_all(p.a, [(d, "") for d in p.payloads(p.a)])
    assert got.count("applied") >= 1
    assert set(leaving.leaving(p.a)) == {rid} and leaving.purged(p.a) == set()
    assert p.a.get(rid) is not None and p.a.get(visit.id) is not None

    # Its next pass sends its edits up, and only then purges.
    p.worker_pass(p.a)
    assert p.a.get(rid) is None and p.a.get(visit.id) is None and rid in leaving.purged(p.a)
    folder = p.folders[p.a.device_id]
    assert leaks(folder, frame_key(p.a), [NAMES[0], "交接前最后一次家访"]) == []
    p.sup_pass()  # A's edits reach the supervisor, and go on to B
    assert p.sup.get(rid)["address"] == "史家胡同 12 号 3 单元"  # type: ignore[index]
    assert p.sup.get(visit.id)["observations"] == "血压偏高，已提醒复诊"  # type: ignore[index]
    p.worker_pass(p.b)
    records = file_of(p.sup, rid)
    assert visit.id in records
    assert all(p.b.get(r) == p.sup.get(r) for r in records)
    assert residents(p.a) == set(mine[1:])
    assert merge.conflicts(p.sup) == {} and merge.conflicts(p.b) == {}


# ---------------------------------------------------------------- 4. any order, any scope


WHO = st.sampled_from(["a", "b"])
STEP = st.one_of(
    st.tuples(st.just("assign"), st.integers(0, 2), st.sampled_from(["a", "b", None])),
    st.tuples(st.just("share"), st.integers(0, 2), WHO),
    st.tuples(st.just("unshare"), st.integers(0, 2), WHO),
    st.tuples(st.just("round"), st.just(0), st.none()),
    st.tuples(st.just("resolve"), st.integers(0, 2), st.sampled_from(["sup", "a", "b"])),
    st.tuples(st.just("edit"), st.integers(0, 2), st.sampled_from(["sup", "a", "b"])),
    st.tuples(st.just("edit"), st.integers(0, 2), WHO),
    st.tuples(st.just("up"), st.integers(0, 7), WHO),
    st.tuples(st.just("down"), st.integers(0, 7), WHO),
    st.tuples(st.just("up"), st.integers(0, 7), WHO),
    st.tuples(st.just("down"), st.integers(0, 7), WHO),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEP, min_size=6, max_size=16))
@example(  # B edits a file that left it and came back before it heard: its edit survives
    steps=[
        ("assign", 1, "a"),
        ("assign", 1, "b"),
        ("edit", 1, "b"),
        ("down", 2, "b"),
    ]
)
@example(  # conflicts decided mid-way by a worker, by the supervisor, by a sharer
    steps=[("edit", 0, "sup"), ("edit", 0, "a"), ("round", 0, None), ("resolve", 0, "a")]
)
@example(steps=[("edit", 2, "b"), ("edit", 2, "a"), ("round", 0, None), ("resolve", 0, "sup")])
@example(
    steps=[
        ("edit", 2, "b"),
        ("edit", 2, "a"),
        ("round", 0, None),
        ("round", 0, None),
        ("resolve", 0, "b"),
        ("edit", 2, "a"),
    ]
)
def test_bundles_both_ways_in_any_order_end_with_each_worker_the_supervisor_restricted(
    steps: list[tuple[str, int, str | None]],
) -> None:
    clock = FixedClock(T0)
    with tempfile.TemporaryDirectory() as root:
        made = make_team(Path(root), clock)
        try:
            _any_order(made.sup, {"a": made.a, "b": made.b}, Path(root), clock, steps)
        finally:
            for vault in (made.sup, made.a, made.b):
                vault.close(compact=False)


def _bundles(transport: FolderTransport, prefix: str) -> list[bytes]:
    return [transport.get(e.key) for e in transport.scan(prefix) if e.key.endswith(".fbundle")]


def _round(
    sup: Vault, workers: dict[str, Vault], ups: dict[str, FolderTransport], down: FolderTransport
) -> None:
    """Every bundle both ways, in order: each worker's up and merged, the cut delivered."""
    for name, worker in workers.items():
        assert outbox.sync_to(worker, ups[name]).error is None
        merger = Merger(sup)
        for data in _bundles(ups[name], ""):
            merger.receive(data)
        merger.settle()
    scope.cut(sup)
    assert downward.deliver(sup, down, downward.STICK_PREFIX).failure is None
    for worker in workers.values():
        downward.fetch(worker, down, downward.STICK_PREFIX)


def _any_order(
    sup: Vault,
    workers: dict[str, Vault],
    root: Path,
    clock: FixedClock,
    steps: list[tuple[str, int, str | None]],
) -> None:
    rids = [person(sup, n) for n in range(3)]
    ups = {name: FolderTransport(root / f"up-{name}") for name in workers}  # each one's stick
    down = FolderTransport(root / "down")
    mine = {name: f"{downward.STICK_PREFIX}{w.device_id}/" for name, w in workers.items()}
    # To start with, each worker holds a file and they share the third.
    a, b = workers["a"].device_id, workers["b"].device_id
    assignments.assign(sup, rids[0], a), assignments.assign(sup, rids[1], b)
    assignments.assign(sup, rids[2], a), assignments.share(sup, rids[2], b)
    assert downward.deliver(sup, down, downward.STICK_PREFIX).failure is None
    for start in workers.values():
        downward.fetch(start, down, downward.STICK_PREFIX)
    for n, (what, i, who) in enumerate(steps):
        clock.advance(60)
        worker: Vault | None = workers.get(str(who))
        if what == "assign":
            rid = rids[i]
            assignments.assign(sup, rid, worker.device_id if worker else None)
        elif what == "share" and worker is not None:
            assignments.share(sup, rids[i], worker.device_id)
        elif what == "unshare" and worker is not None:
            assignments.unshare(sup, rids[i], worker.device_id)
        elif what == "round":
            _round(sup, workers, ups, down)
        elif what == "resolve":  # the first open conflict, decided by whoever holds it
            author = worker or sup
            open_ = supervision.all_conflicts(author)
            if open_:
                supervision.resolve(author, open_[i % len(open_)], f"{who}定{n}")
                event("resolved")
        elif what == "edit":
            author = worker or sup
            if author.get(rids[i]) is not None and rids[i] not in leaving.leaving(author):
                author.commit([Change("resident", rids[i], {"notes": f"{who}第{n}次"})])
        elif what == "up" and worker is not None:  # cut and put; then one bundle, any, merged
            assert outbox.sync_to(worker, ups[str(who)]).error is None
            sent = _bundles(ups[str(who)], "")
            if sent:
                merger = Merger(sup)  # any of them, again and again
                kinds = [o.kind for o in merger.receive(sent[i % len(sent)]) + merger.settle()]
                event(f"up: {sorted(set(kinds))}")
                scope.cut(sup)
        elif what == "down" and worker is not None:  # delivered; one bundle, any, applied
            assert downward.deliver(sup, down, downward.STICK_PREFIX).failure is None
            sent = _bundles(down, mine[str(who)])
            if sent:
                kinds = [o.kind for o in downward.receive(worker, sent[i % len(sent)])]
                event(f"down: {sorted(set(kinds))}")
    for _ in range(3):  # a quiescent end: every bundle both ways, until nothing moves
        _round(sup, workers, ups, down)
    assert scope.cut(sup).total == 0 and not downward.recipients(sup)
    for name, worker in workers.items():
        assert outbox.pending_ops(worker) == [] and leaving.leaving(worker) == {}, name
        held = scope.scope_of(sup, worker.device_id)
        in_scope = {r for rid in held for r in file_of(sup, rid)}
        assert residents(worker) == held, name
        for record in in_scope:  # the supervisor's state, restricted to its scope
            assert worker.get(record) == sup.get(record), (name, record)
        present = {op.record_id for op in worker.all_ops() if worker.get(op.record_id)}
        outside = {r for r in present - in_scope if worker.kind_of(r) != "scope_receipt"}
        assert outside == set(), name  # nothing outside its scope
        for rid in set(rids) - held:
            assert all(worker.get(r) is None for r in file_of(sup, rid)), (name, rid)
        theirs = {r: f for r, f in merge.conflicts(sup).items() if r in in_scope}
        event(f"{name}: {len(held)} held, {len(leaving.purged(worker))} purged")
        event(f"conflicts: {bool(theirs)}")
        assert merge.conflicts(worker) == theirs, name
