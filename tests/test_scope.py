"""Scope (DESIGN §3.7, issue 14): the supervisor seals to each worker's device exactly the
files of the residents assigned to it or shared with it — whole when they enter its
scope, op by op afterwards, only the assignment when they leave — and nothing else."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain import Need, Resident, validate
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.idcard import make_id_number
from fieldapp.domain.models import assignment_id
from fieldapp.domain.ops import Op
from fieldapp.errors import VaultWriteFailed
from fieldapp.services.records import RecordService
from fieldapp.store import Change, Vault
from sync import downward, leaving, outbox, scope, team
from sync.bundle import Chain, open_bundle, read_header
from tests.conftest import T0
from tests.test_downward import Team, make_team, upward


@pytest.fixture
def t(tmp_path: Path, clock: FixedClock) -> Iterator[Team]:
    made = make_team(tmp_path, clock)
    yield made
    for vault in (made.sup, made.a, made.b):
        vault.close(compact=False)


NAMES = ["张三丰", "李四海", "王五洲", "赵六合", "钱七星"]


def file_of(sup: Vault, n: int) -> str:
    """Resident number ``n`` with a phone, an ID number and a need, saved by the supervisor."""
    records = RecordService(sup)
    person = validate(
        Resident,
        {
            "name": NAMES[n],
            "community": "史家社区",
            "phones": [f"1380013800{n}"],
            "id_number": make_id_number("110101", dt.date(1950, 1, 1 + n), 10 + n),
        },
        today=T0.date(),
    )
    records.save(person)
    need = validate(
        Need,
        {"resident_id": person.id, "category": "health", "description": f"{NAMES[n]}的药"},
        today=T0.date(),
    )
    records.save(need)
    return person.id


def assign(sup: Vault, resident: str, worker: str | None, shared: list[str] | None = None) -> None:
    """The supervisor's assignment record (the service is tested in test_assignments)."""
    fields = {
        "resident_id": resident,
        "worker": worker,
        "shared_with": shared or [],
        "assigned_at": sup.clock.now().replace(microsecond=0).isoformat(),
    }
    sup.commit([Change("assignment", assignment_id(resident), fields)])


def opened(worker: Vault, data: bytes) -> list[Op]:
    """A downward bundle decrypted with the worker's own key: the ops sealed to it."""
    header = read_header(data)[0]
    card = team.team_card(worker)
    assert card is not None
    return open_bundle(
        data,
        team_id=card.team_id,
        team_key=team.receiving_key(worker),
        devices=team.supervisor_keys(worker),
        chain=lambda _d: Chain(header.seq - 1, header.prev),
        validate_op=lambda op: op,
        recipient=worker.device_id,
    ).ops


def push(worker: Vault, sup: Vault) -> None:
    """The worker's pending ops reach the supervisor, and its bundles leave its outbox."""
    upward(worker, sup)
    for seq in outbox.pending_bundles(worker):
        worker.put_meta(f"{outbox.BUNDLE_PREFIX}{seq:08d}", None)  # delivered


def take(t: Team, worker: Vault) -> list[Op]:
    """Deliver what waits for ``worker`` (applied in its vault); the ops sealed to it."""
    ops: list[Op] = []
    for seq in downward.pending_for(t.sup, worker.device_id):
        data = downward.bundle_for(t.sup, worker.device_id, seq)
        ops += opened(worker, data)
        outcomes = downward.receive(worker, data)
        assert [o.kind for o in outcomes] == ["applied"], outcomes
        downward.confirm(t.sup, worker.device_id, seq)
    return ops


def whole_file(sup: Vault, resident: str) -> set[str]:
    """The op ids of the resident's whole file on the supervisor."""
    records = scope.file_records(sup, [resident])[resident]
    return {op.op_id for rid in records for op in sup.history(rid)}


def secrets_of(sup: Vault, resident: str) -> list[str]:
    """What must never reach a device outside the resident's scope: name, phone, ID number."""
    doc = sup.get(resident)
    assert doc is not None
    return [doc["name"], *doc["phones"], doc["id_number"]]


def five(t: Team) -> tuple[list[str], list[str]]:
    """Three residents assigned to A, two to B, cut."""
    rids = [file_of(t.sup, n) for n in range(5)]
    mine, theirs = rids[:3], rids[3:]
    for rid in mine:
        assign(t.sup, rid, t.a.device_id)
    for rid in theirs:
        assign(t.sup, rid, t.b.device_id)
    scope.cut(t.sup)
    return mine, theirs


def test_each_device_is_sealed_exactly_the_whole_files_of_its_residents(t: Team) -> None:
    mine, theirs = five(t)
    for worker, held, others in ((t.a, mine, theirs), (t.b, theirs, mine)):
        ops = take(t, worker)
        assert {op.op_id for op in ops} == set().union(*(whole_file(t.sup, r) for r in held))
        # Original ids, authors, clocks and bases.
        by_id = {op.op_id: op for op in t.sup.all_ops()}
        assert all(by_id[op.op_id] == op for op in ops)
        # Nothing of another worker's residents in any payload.
        payload = orjson.dumps([op.to_row() for op in ops]).decode()
        for rid in others:
            for secret in secrets_of(t.sup, rid):
                assert secret not in payload
            assert rid not in payload
        for rid in held:
            for record in scope.file_records(t.sup, [rid])[rid]:
                assert worker.get(record) == t.sup.get(record)
        assert {rid for rid, _ in worker.iter_records("resident")} == set(held)
    # Cutting again cuts nothing: every device has had everything.
    again = scope.cut(t.sup)
    assert again.total == 0 and not downward.recipients(t.sup)


def test_a_reassigned_resident_goes_whole_to_its_new_worker_and_only_its_assignment_to_the_old(
    t: Team,
) -> None:
    mine, _ = five(t)
    take(t, t.a), take(t, t.b)
    moved = mine[0]
    assign(t.sup, moved, t.b.device_id)
    done = scope.cut(t.sup)
    assert done.entered == {t.b.device_id: [moved]} and done.left == {t.a.device_id: [moved]}
    to_b = take(t, t.b)
    assert {op.op_id for op in to_b} == whole_file(t.sup, moved)
    to_a = take(t, t.a)
    assert to_a and {op.record_id for op in to_a} == {assignment_id(moved)}
    # A learnt it holds the file no more, and (nothing of it left to send) purged it.
    assert leaving.purged(t.a) == {moved}
    assert all(t.a.get(r) is None for r in scope.file_records(t.sup, [moved])[moved])
    assert t.b.get(moved) == t.sup.get(moved)
    assert scope.cut(t.sup).total == 0


def test_later_ops_follow_whoever_wrote_them_and_only_to_its_holders(t: Team) -> None:
    mine, theirs = five(t)
    take(t, t.a), take(t, t.b)
    shared = mine[1]
    assign(t.sup, shared, t.a.device_id, [t.b.device_id])  # shared with B too
    scope.cut(t.sup)
    assert {op.op_id for op in take(t, t.b)} >= whole_file(t.sup, shared)
    take(t, t.a)
    # A worker's edit, merged from its upward bundle; a supervisor's note on the file.
    t.a.commit([Change("resident", shared, {"notes": "独居，需每周电话"})])
    t.a.commit([Change("resident", mine[2], {"notes": "只给 A"})])
    upward(t.a, t.sup)
    note = RecordService(t.sup).write_note(shared, _action(), "请下周家访")
    scope.cut(t.sup)
    to_b = take(t, t.b)
    to_a = take(t, t.a)
    assert {op.record_id for op in to_b} == {shared, note.id}
    assert all(op.device_id != t.b.device_id for op in to_b)
    # A gets the note, not its own edits back.
    assert {op.record_id for op in to_a} == {note.id}
    assert t.b.get(shared) == t.sup.get(shared) and t.a.get(note.id) == t.sup.get(note.id)
    assert t.b.get(mine[2]) is None
    # B's own residents never reach A.
    assert all(t.a.get(rid) is None for rid in theirs)
    assert scope.cut(t.sup).total == 0


def _action() -> Any:
    from fieldapp.domain import NoteAction

    return NoteAction.VISIT


def test_a_resident_taken_back_sends_only_the_assignment_and_a_devices_state_goes(t: Team) -> None:
    mine, _ = five(t)
    take(t, t.a)
    for rid in mine:
        assign(t.sup, rid, None)
    done = scope.cut(t.sup)
    assert done.left == {t.a.device_id: sorted(mine)}
    assert {op.record_id for op in take(t, t.a)} == {assignment_id(r) for r in mine}
    # A supervisor's later edit on them reaches nobody.
    t.sup.commit([Change("resident", mine[0], {"notes": "督导自留"})])
    assert scope.cut(t.sup).total == 0
    assert t.sup.get_meta(scope.SCOPE_STATE + t.a.device_id) is None  # holds nothing now


def test_a_failed_commit_leaves_neither_bundles_nor_state_and_the_next_cut_sends_it_all(
    t: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = file_of(t.sup, 0)
    assign(t.sup, rid, t.a.device_id)
    team.supervisor_device(t.sup)  # named on the card before the commit that fails
    real = Vault.commit

    def failing(self: Vault, changes: Any, kv: dict[str, Any] | None = None) -> list[Op]:
        if kv and any(k.startswith(downward.DOWN_BUNDLE) for k in kv):
            raise VaultWriteFailed(reason="disk full")
        return real(self, changes, kv)

    monkeypatch.setattr(Vault, "commit", failing)
    with pytest.raises(VaultWriteFailed):
        scope.cut(t.sup)
    assert not t.sup.meta_keys(scope.SCOPE_STATE) and not downward.recipients(t.sup)
    monkeypatch.setattr(Vault, "commit", real)
    scope.cut(t.sup)
    assert {op.op_id for op in take(t, t.a)} == whole_file(t.sup, rid)


def test_a_device_that_cannot_receive_yet_is_left_for_later(t: Team) -> None:
    rid = file_of(t.sup, 0)
    assign(t.sup, rid, t.a.device_id)
    assign(t.sup, file_of(t.sup, 1), "0123456789abcdef")  # no such device
    devices = dict(t.sup.get_meta(team.TEAM_DEVICES))
    key = devices[t.a.device_id].pop("recv_pub")
    t.sup.put_meta(team.TEAM_DEVICES, devices)
    done = scope.cut(t.sup)
    assert sorted(done.skipped) == sorted(["0123456789abcdef", t.a.device_id])
    assert done.total == 0
    devices[t.a.device_id]["recv_pub"] = key
    t.sup.put_meta(team.TEAM_DEVICES, devices)
    scope.cut(t.sup)
    assert {op.op_id for op in take(t, t.a)} == whole_file(t.sup, rid)
    # Revoked (a lost laptop): sent nothing again, its state dropped.
    team.revoke(t.sup, t.a.device_id)
    t.sup.commit([Change("resident", rid, {"notes": "丢失之后"})])
    assert scope.cut(t.sup).total == 0
    assert t.sup.get_meta(scope.SCOPE_STATE + t.a.device_id) is None


# ---------------------------------------------------------------- any sequence

STEP = st.one_of(
    st.tuples(st.just("assign"), st.integers(0, 3), st.sampled_from(["a", "b", None])),
    st.tuples(st.just("share"), st.integers(0, 3), st.sampled_from(["a", "b"])),
    st.tuples(st.just("unshare"), st.integers(0, 3), st.sampled_from(["a", "b"])),
    st.tuples(st.just("edit"), st.integers(0, 3), st.sampled_from(["sup", "a", "b"])),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEP, min_size=1, max_size=10))
def test_any_sequence_of_assignments_and_edits_keeps_each_device_to_its_scope(
    steps: list[tuple[str, int, str | None]],
) -> None:
    clock = FixedClock(T0)
    with tempfile.TemporaryDirectory() as root:
        t = make_team(Path(root), clock)
        try:
            _run(t, clock, steps)
        finally:
            for vault in (t.sup, t.a, t.b):
                vault.close(compact=False)


def _run(t: Team, clock: FixedClock, steps: list[tuple[str, int, str | None]]) -> None:
    rids = [file_of(t.sup, n) for n in range(4)]
    worker = {"a": t.a, "b": t.b}
    holders: dict[str, tuple[str | None, list[str]]] = {r: (None, []) for r in rids}
    ever: dict[str, set[str]] = {"a": set(), "b": set()}  # residents ever in its scope
    for n, (what, i, who) in enumerate(steps):
        clock.advance(60)
        rid = rids[i]
        main, shared = holders[rid]
        dev = worker[who].device_id if who in worker else None
        if what == "assign":
            holders[rid] = (dev, [s for s in shared if s != dev])
        elif what == "share" and dev is not None and dev != main and dev not in shared:
            holders[rid] = (main, [*shared, dev])
        elif what == "unshare" and dev in shared:
            holders[rid] = (main, [s for s in shared if s != dev])
        elif what == "edit":
            author = t.sup if who == "sup" else worker[str(who)]
            held = author is t.sup or author.device_id in {main, *shared}
            if held:
                author.commit([Change("resident", rid, {"notes": f"第{n}次"})])
                if author is not t.sup:
                    push(author, t.sup)
        if holders[rid] != (main, shared):
            assign(t.sup, rid, *holders[rid])
        scope.cut(t.sup)
        for name, vault in worker.items():
            ever[name] |= {
                r for r, (m, s) in holders.items() if vault.device_id in {m, *s} if m or s
            }
            for op in take(t, vault):
                residents = scope.residents_of(t.sup, op.record_id)
                assert residents & ever[name], (name, op)  # never outside its scope
    for name, vault in worker.items():
        now = scope.scope_of(t.sup, vault.device_id)
        assert now == {r for r, (m, s) in holders.items() if vault.device_id in {m, *s}}
        for rid in now:  # its state is the supervisor's, restricted to its scope
            for record in scope.file_records(t.sup, [rid])[rid]:
                assert vault.get(record) == t.sup.get(record), (name, record)
        for rid in set(rids) - ever[name]:
            assert vault.get(rid) is None
        for rid in ever[name] - now:  # it left: the device learnt it, and purged the file
            assert rid in leaving.purged(vault), (name, rid)
            for record in scope.file_records(t.sup, [rid])[rid]:
                assert vault.get(record) is None, (name, record)
    assert scope.cut(t.sup).total == 0


def test_a_merge_pass_cuts_what_it_merged_for_the_devices_holding_it(
    t: Team, tmp_path: Path
) -> None:
    from sync.sources import merge_sources
    from sync.transports.folder import FolderTransport

    mine, _ = five(t)
    take(t, t.a), take(t, t.b)
    assign(t.sup, mine[0], t.a.device_id, [t.b.device_id])
    scope.cut(t.sup)
    take(t, t.b), take(t, t.a)
    t.a.commit([Change("resident", mine[0], {"notes": "A 写的"})])
    t.a.commit([Change("resident", mine[1], {"notes": "只有 A 持有"})])
    stick = tmp_path / "stick"
    outbox.sync_to(t.a, FolderTransport(stick))
    summary = merge_sources(t.sup, [stick])
    assert [o.kind for o in summary.outcomes] == ["applied"]
    assert summary.scope is not None and summary.scope_error is None
    assert summary.scope.bundles == {t.b.device_id: 1}  # A holds its own ops already
    to_b = take(t, t.b)
    assert {(op.record_id, op.value) for op in to_b} == {(mine[0], "A 写的")}
    assert t.b.get(mine[0]) == t.sup.get(mine[0])


def test_the_log_position_survives_compaction_and_reading_from_it_skips_what_came_before(
    vault: Vault,
) -> None:
    rids = [f"019a0000-0000-7000-8000-00000000000{n}" for n in range(4)]
    for rid in rids[:2]:
        vault.commit([Change("resident", rid, {"name": rid[-1], "community": "c"})])
    middle = vault.log_length()
    assert middle == 4
    vault.compact()
    vault.commit([Change("resident", rids[2], {"name": "2", "community": "c"})])
    vault.compact()
    vault.commit([Change("resident", rids[3], {"name": "3", "community": "c"})])
    ops, end = vault.ops_since(middle)
    assert end == vault.log_length() == 8
    assert [op.record_id for op in ops] == [rids[2]] * 2 + [rids[3]] * 2
    assert vault.ops_since(0)[0] == [o for rid in rids for o in vault.history(rid)]
    assert vault.ops_since(end) == ([], end)


def test_a_hub_pass_cuts_what_it_merged_too(t: Team, tmp_path: Path) -> None:
    from sync import hubsync
    from tests.test_transports import FolderHub

    rid = file_of(t.sup, 0)
    assign(t.sup, rid, t.a.device_id, [t.b.device_id])
    scope.cut(t.sup)
    take(t, t.a), take(t, t.b)
    t.a.commit([Change("resident", rid, {"notes": "经由中转站"})])
    hub = FolderHub(tmp_path / "hub", folder="")
    (tmp_path / "hub").mkdir()
    assert hubsync.upload(t.a, hub).delivered == [1]
    summary = hubsync.fetch_and_merge(t.sup, hub)
    assert summary.count("applied") == 1 and summary.scope_error is None
    assert summary.scope is not None and summary.scope.bundles == {t.b.device_id: 1}
    assert {(op.record_id, op.value) for op in take(t, t.b)} == {(rid, "经由中转站")}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_cut_that_fails_after_a_merge_is_said_and_the_merge_stands(
    t: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    from fieldapp import i18n
    from fieldapp.errors import VaultWriteFailed
    from fieldapp.services.syncing import merge_notice
    from sync.sources import merge_sources
    from sync.transports.folder import FolderTransport

    monkeypatch.setattr(i18n, "_current", None)
    i18n.set_language(lang)
    mine, _ = five(t)
    take(t, t.a)
    t.a.commit([Change("resident", mine[0], {"notes": "A 写的"})])
    stick = tmp_path / "stick"
    outbox.sync_to(t.a, FolderTransport(stick))
    cut = scope.cut

    def full_disk(vault: Vault) -> scope.ScopeCut:
        raise VaultWriteFailed(reason="No space left on device")

    monkeypatch.setattr(scope, "cut", full_disk)
    summary = merge_sources(t.sup, [stick])
    assert [o.kind for o in summary.outcomes] == ["applied"]  # the merge stands
    assert isinstance(summary.scope_error, VaultWriteFailed)
    notice = merge_notice(summary, t.sup)
    assert notice.severity == "warning"
    assert i18n.t("cli.scope_failed", error=summary.scope_error.render()) in notice.text
    assert "No space left on device" in notice.text
    monkeypatch.setattr(scope, "cut", cut)
    assert scope.cut(t.sup).total == 0  # cut again: A holds its own edit, B nothing of it
