"""Levels (DESIGN §3.8, sync.levels): streets forward their teams' records to a district,
with their original ids, authors and clocks, under a signed roster; the district refuses
what no roster vouches for, and what an office enrolled for counts only sends."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ids import new_id
from fieldapp.domain.models import assignment_id
from fieldapp.errors import CardError, LevelRefused, OpInvalid
from fieldapp.services import assignments
from fieldapp.services.records import RecordService
from fieldapp.store import Change, Vault
from sync import bundle, levels, merge, outbox, team
from sync.merge import Merger, Outcome
from sync.sources import merge_sources
from sync.transports.folder import FolderTransport
from tests.conftest import FAST_KDF, PASSPHRASE, T0


@dataclass
class Office:
    """A supervisor's vault with its team, and its workers' vaults by name."""

    sup: Vault
    workers: dict[str, Vault]


@dataclass
class Levels:
    """Two streets under a district."""

    district: Vault
    streets: list[Office]

    def vaults(self) -> list[Vault]:
        return [self.district] + [v for o in self.streets for v in (o.sup, *o.workers.values())]


def office(root: Path, clock: FixedClock, name: str, workers: list[str]) -> Office:
    sup, _ = Vault.create(root / name, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    secrets = team.create_team(sup, name)
    out = {}
    for worker_name in workers:
        worker, _ = Vault.create(
            root / f"{name}-{worker_name}", PASSPHRASE, kdf=FAST_KDF, clock=clock
        )
        _, code = team.join(worker, secrets.code(), worker_name)
        team.enrol(sup, code)
        out[worker_name] = worker
    return Office(sup, out)


def join(lower: Vault, upper: Vault, flow: str = team.RECORDS) -> None:
    """``lower``'s office joins ``upper``'s team, enrolled with ``flow``."""
    secrets = team.team_secrets(upper)
    assert secrets is not None
    mine = team.team_secrets(lower)
    assert mine is not None
    _, code = levels.join_upper(lower, secrets.code(), mine.name)
    team.enrol(upper, code, flow)


def make_levels(root: Path, clock: FixedClock) -> Levels:
    district = office(root, clock, "城关区", [])
    streets = [
        office(root, clock, "八廓街道", ["卓玛", "扎西"]),
        office(root, clock, "吉日街道", ["次仁"]),
    ]
    for street in streets:
        join(street.sup, district.sup)
    return Levels(district.sup, streets)


@pytest.fixture
def lv(tmp_path: Path, clock: FixedClock) -> Iterator[Levels]:
    made = make_levels(tmp_path, clock)
    yield made
    for vault in made.vaults():
        vault.close(compact=False)


def resident(vault: Vault, name: str) -> str:
    rid = new_id()
    vault.commit([Change("resident", rid, {"name": name, "community": "八廓社区"})])
    return rid


def up(worker: Vault, sup: Vault) -> None:
    """A worker's pending ops merged by its street supervisor."""
    outbox.cut(worker)
    merger = Merger(sup)
    for seq in outbox.pending_bundles(worker):
        got = merger.receive(outbox.bundle_bytes(worker, seq))
        assert [o.kind for o in got] == ["applied"], [
            o.reason and o.reason.render("en") for o in got
        ]
    for seq in outbox.pending_bundles(worker):
        worker.put_meta(f"{outbox.BUNDLE_PREFIX}{seq:08d}", None)


def level_bundles(street: Vault) -> list[bytes]:
    """Cut what the street has not forwarded; every level bundle waiting, in order."""
    levels.cut(street)
    import base64

    return [
        base64.b64decode(street.get_meta(f"{levels.UP_BUNDLE}{seq:08d}")["data"])
        for seq in levels.pending(street)
    ]


def forward(street: Vault, district: Vault) -> list[Outcome]:
    outcomes = []
    for data in level_bundles(street):
        outcomes += Merger(district).receive(data)
    for seq in levels.pending(street):
        street.put_meta(f"{levels.UP_BUNDLE}{seq:08d}", None)
    return outcomes


def state(vault: Vault, rids: list[str]) -> dict[str, Any]:
    return {rid: vault.get(rid) for rid in rids}


def test_a_streets_records_reach_the_district_with_their_ids_authors_and_clocks(
    lv: Levels,
) -> None:
    street = lv.streets[0]
    zhuoma = street.workers["卓玛"]
    rid = resident(zhuoma, "格桑")
    up(zhuoma, street.sup)
    assignments.assign(street.sup, rid, zhuoma.device_id)  # the street's own op
    outcomes = forward(street.sup, lv.district)
    assert [o.kind for o in outcomes] == ["applied"]
    assert lv.district.get(rid) == street.sup.get(rid)
    ids = {op.op_id: (op.device_id, op.hlc) for op in street.sup.all_ops()}
    held = {op.op_id: (op.device_id, op.hlc) for op in lv.district.all_ops()}
    assert held == {
        k: v for k, v in ids.items() if v[0] in {zhuoma.device_id, street.sup.device_id}
    }
    assert lv.district.get(assignment_id(rid))["worker"] == zhuoma.device_id
    # The district's history names the street's worker, as the street's roster does.
    assert RecordService(lv.district).author_names()[zhuoma.device_id] == "卓玛"
    # Nothing new: nothing cut; something new: only that.
    assert level_bundles(street.sup) == []
    zhuoma.commit([Change("resident", rid, {"address": "八廓北街 3 号"})])
    up(zhuoma, street.sup)
    assert [o.ops for o in forward(street.sup, lv.district)] == [1]
    assert lv.district.get(rid)["address"] == "八廓北街 3 号"


def test_ops_from_above_are_not_sent_back_up(lv: Levels) -> None:
    """What the district wrote and the street received (feedback) stays out of the street's
    level bundles: only its roster's ops and its own go up."""
    street = lv.streets[0].sup
    rid = resident(street, "格桑")
    forward(street, lv.district)
    foreign = new_id()
    district_op = lv.district.commit(
        [Change("resident", foreign, {"name": "央金", "community": "八廓社区"})]
    )
    street.commit_ops(district_op, {})  # as a downward bundle would apply it
    assert level_bundles(street) == []
    assert lv.district.get(rid) is not None


def test_the_second_route_changes_nothing(lv: Levels, tmp_path: Path) -> None:
    """The district reads the same stick twice, and a street's bundle arrives again by the
    hub after the stick: every op is applied once; the result is the same."""
    street = lv.streets[0]
    for name in ("卓玛", "扎西"):
        resident(street.workers[name], name + "的邻居")
        up(street.workers[name], street.sup)
    stick = tmp_path / "stick"
    result = levels.forward(street.sup, FolderTransport(stick))
    assert result.cut == 1 and result.delivered == [1] and result.pending == 0
    first = merge_sources(lv.district, [stick])
    assert first.count("applied") == 1
    before = sorted((o.op_id, o.value) for o in lv.district.all_ops())
    again = merge_sources(lv.district, [stick])
    assert again.count("duplicate") == 1 and again.count("applied") == 0
    assert sorted((o.op_id, o.value) for o in lv.district.all_ops()) == before


def test_a_conflict_between_two_workers_shows_at_the_district_too(lv: Levels) -> None:
    """Two workers of a street change one field offline: the street sees the conflict, and
    the district, which receives both sides, sees the same one."""
    street = lv.streets[0]
    zhuoma, tashi = street.workers["卓玛"], street.workers["扎西"]
    rid = resident(zhuoma, "格桑")
    up(zhuoma, street.sup)
    held = [op for op in street.sup.history(rid)]
    tashi.commit_ops(held, {})
    zhuoma.commit([Change("resident", rid, {"address": "北京东路 1 号"})])
    tashi.commit([Change("resident", rid, {"address": "北京东路 2 号"})])
    up(zhuoma, street.sup)
    up(tashi, street.sup)
    forward(street.sup, lv.district)
    from sync.merge import conflicts

    assert conflicts(street.sup) == {rid: ["address"]}
    assert conflicts(lv.district) == conflicts(street.sup)
    assert lv.district.get(rid) == street.sup.get(rid)


# ------------------------------------------------------------------ refusals


def forged(street: Vault, ops: list[Any], roster: dict[str, dict[str, str]]) -> bytes:
    """A level bundle the street really signs and seals, with whatever roster and ops."""
    card = levels.upper_card(street)
    assert card is not None
    chain = street.get_meta(levels.UP_STATE, {"seq": 0, "digest": ""})
    return bundle.seal(
        sorted(ops, key=lambda op: (op.hlc, op.device_id)),
        team_id=card.team_id,
        team_key=card.encryption_key(),
        device_id=street.device_id,
        sign_key=team.device_key(street),
        seq=int(chain["seq"]) + 1,
        prev=str(chain["digest"]),
        roster=roster,
    )


def refused(district: Vault, data: bytes) -> Outcome:
    before = sorted(o.op_id for o in district.all_ops())
    (outcome,) = Merger(district).receive(data)
    assert outcome.kind == "quarantined"
    assert sorted(o.op_id for o in district.all_ops()) == before  # nothing applied
    return outcome


class Vouching(dict[str, dict[str, str]]):
    """A roster that lets the sealing side take any author, and names only its own."""

    def __contains__(self, device: object) -> bool:
        return True


def test_an_author_outside_the_roster_is_refused(
    lv: Levels, tmp_path: Path, clock: FixedClock
) -> None:
    """An op whose author is neither the street nor on its signed roster refuses the whole
    bundle (the street signed it, but vouches for nobody outside its team)."""
    street = lv.streets[0].sup
    stranger, _ = Vault.create(tmp_path / "stranger", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    resident(stranger, "陌生人")
    ops = stranger.all_ops()
    with pytest.raises(ValueError):  # the sealing side will not make one
        forged(street, ops, levels.roster(street))
    outcome = refused(lv.district, forged(street, ops, Vouching(levels.roster(street))))
    assert isinstance(outcome.reason, OpInvalid) and outcome.reason.params["reason"] == "author"
    stranger.close(compact=False)


def test_a_roster_claiming_a_device_of_the_district_or_of_another_street_is_refused(
    lv: Levels,
) -> None:
    one, other = lv.streets[0], lv.streets[1]
    resident(other.workers["次仁"], "次仁的邻居")
    up(other.workers["次仁"], other.sup)
    assert [o.kind for o in forward(other.sup, lv.district)] == ["applied"]
    ciren = other.workers["次仁"]
    # The first street claims the second street's worker: refused, whole.
    ops = [op for op in other.sup.all_ops() if op.device_id == ciren.device_id]
    claims = {**levels.roster(one.sup), ciren.device_id: {"name": "次仁", "role": "worker"}}
    outcome = refused(lv.district, forged(one.sup, ops, claims))
    assert isinstance(outcome.reason, LevelRefused)
    assert outcome.reason.msg_id == "bundle.roster_other"
    assert "吉日街道" in outcome.reason.render(
        "zh_CN"
    ) or other.sup.device_id in outcome.reason.render("en")
    # … or the district's own device.
    own = resident(lv.district, "区里的")
    ops = lv.district.history(own)
    claims = {**levels.roster(one.sup), lv.district.device_id: {"name": "区", "role": "supervisor"}}
    outcome = refused(lv.district, forged(one.sup, ops, claims))
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.roster_enrolled"


def test_a_workers_device_cannot_send_a_level_bundle(lv: Levels) -> None:
    """A worker's device enrolled at the street forwards nobody's ops: its v3 bundle to its
    street is refused there as not a level."""
    street = lv.streets[0]
    zhuoma, tashi = street.workers["卓玛"], street.workers["扎西"]
    rid = resident(tashi, "格桑")
    card = team.team_card(zhuoma)
    assert card is not None
    data = bundle.seal(
        tashi.history(rid),
        team_id=card.team_id,
        team_key=card.encryption_key(),
        device_id=zhuoma.device_id,
        sign_key=team.device_key(zhuoma),
        seq=1,
        prev="",
        roster={tashi.device_id: {"name": "扎西", "role": "worker"}},
    )
    outcome = refused(street.sup, data)
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.not_a_level"


def test_an_office_enrolled_for_counts_only_sends_no_records(
    lv: Levels, tmp_path: Path, clock: FixedClock
) -> None:
    city = office(tmp_path, clock, "拉萨市", [])
    join(lv.district, city.sup, team.AGGREGATES)
    resident(lv.district, "区里的")
    outcome = refused(city.sup, level_bundles(lv.district)[0])
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.aggregates_only"
    assert city.sup.count("resident") == 0
    city.sup.close(compact=False)


def test_a_forwarded_workers_op_is_still_held_to_what_a_worker_may_write(lv: Levels) -> None:
    """A street vouches for its workers, not for what they may not write: a worker's op on
    an assignment, forwarded, is refused at the district as at the street."""
    street = lv.streets[0]
    zhuoma = street.workers["卓玛"]
    rid = resident(zhuoma, "格桑")
    bad = zhuoma.commit(
        [Change("assignment", assignment_id(rid), {"resident_id": rid, "worker": zhuoma.device_id})]
    )
    ops = zhuoma.history(rid) + bad
    outcome = refused(lv.district, forged(street.sup, ops, levels.roster(street.sup)))
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.assignment_by_worker"


@pytest.mark.parametrize(
    "payload",
    [
        {"roster": [], "rows": []},
        {"roster": {}, "rows": [], "more": 1},
        {"roster": {"abc": {"name": "", "role": "worker"}}, "rows": []},
        {"roster": {"abc": {"name": "x", "role": "boss"}}, "rows": []},
        {"roster": {"a/b": {"name": "x", "role": "worker"}}, "rows": []},
        {"roster": {"abc": {"name": "x" * 101, "role": "worker"}}, "rows": []},
        {"roster": {"abc": {"name": "x", "role": "worker", "extra": 1}}, "rows": []},
        {"roster": {"abc": {"name": "x", "role": []}}, "rows": []},  # unhashable: no crash
        {"roster": {"abc": {"name": ["x"], "role": {}}}, "rows": []},
        [],
    ],
)
def test_a_roster_of_the_wrong_shape_is_refused(lv: Levels, payload: Any) -> None:
    """The payload is checked after the signature: a bad roster refuses the whole bundle."""
    street = lv.streets[0].sup
    header = {
        "v": 3,
        "team": "",
        "device": street.device_id,
        "seq": 1,
        "prev": "",
        "ops": 1,
        "hlc": 1,
        "raw": 0,
        "to": "",
        "recv": "",
    }
    h = bundle.Header(**header)
    with pytest.raises(OpInvalid):
        bundle._roster(payload, h)
    with pytest.raises(OpInvalid):  # the sender on its own roster
        bundle._roster(
            {"roster": {street.device_id: {"name": "x", "role": "worker"}}, "rows": []}, h
        )


def test_joining_the_level_above_needs_a_team_and_another_teams_card(
    lv: Levels, tmp_path: Path, clock: FixedClock
) -> None:
    worker = lv.streets[0].workers["卓玛"]
    card = team.team_secrets(lv.district)
    assert card is not None
    with pytest.raises(CardError) as no_team:
        levels.join_upper(worker, card.code(), "x")
    assert no_team.value.params["what"] == "no_team"
    own = team.team_secrets(lv.streets[0].sup)
    assert own is not None
    with pytest.raises(CardError) as same:
        levels.join_upper(lv.streets[0].sup, own.code(), "x")
    assert same.value.params["what"] == "upper_is_own"
    with pytest.raises(CardError) as flow:
        team.enrol(lv.district, "x", "everything")
    assert flow.value.params["what"] == "flow"
    listed = {e.device_id: e.flow for e in team.devices(lv.district)}
    assert listed == {s.sup.device_id: team.RECORDS for s in lv.streets}


# ------------------------------------------------------------------ convergence


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.sampled_from(["notes", "address"])),
        min_size=1,
        max_size=12,
    ),
    cuts=st.lists(st.booleans(), min_size=12, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_district_converges_whatever_the_order_and_the_repeats(
    tmp_path_factory: pytest.TempPathFactory,
    edits: list[tuple[int, int, str]],
    cuts: list[bool],
    seed: int,
) -> None:
    """Workers of two streets edit (some of them the same residents, concurrently); the
    streets forward in several bundles; the district receives them in any order, some
    twice (a stick read again, the hub after the stick). It ends with exactly what the
    streets hold of their teams, conflicts included."""
    root = tmp_path_factory.mktemp("levels")
    clock = FixedClock(T0)
    lv = make_levels(root, clock)
    try:
        workers = [
            lv.streets[0].workers["卓玛"],
            lv.streets[0].workers["扎西"],
            lv.streets[1].workers["次仁"],
        ]
        homes = [lv.streets[0], lv.streets[0], lv.streets[1]]
        # Each street's residents, known to all its workers (a shared file).
        rids: list[list[str]] = []
        for street in lv.streets:
            first = next(iter(street.workers.values()))
            made = [resident(first, f"居民{i}") for i in range(4)]
            up(first, street.sup)
            for worker in street.workers.values():
                if worker is not first:
                    worker.commit_ops([op for rid in made for op in street.sup.history(rid)], {})
            rids.append(made)
        sent: list[bytes] = []
        for i, (who, which, field) in enumerate(edits):
            worker, home = workers[who], homes[who]
            rid = rids[lv.streets.index(home)][which]
            worker.commit([Change("resident", rid, {field: f"{field}-{i}"})])
            if cuts[i]:
                up(worker, home.sup)
                sent += level_bundles(home.sup)
                for seq in levels.pending(home.sup):
                    home.sup.put_meta(f"{levels.UP_BUNDLE}{seq:08d}", None)
        for worker, home in zip(workers, homes, strict=True):
            up(worker, home.sup)
        for street in lv.streets:
            sent += level_bundles(street.sup)
        rng = random.Random(seed)
        arriving = sent + rng.sample(sent, k=len(sent) // 2)  # some arrive twice
        rng.shuffle(arriving)
        merger = Merger(lv.district)
        for data in arriving:
            merger.receive(data)
        from sync.merge import conflicts

        every = [rid for made in rids for rid in made]
        expected = {}
        for street, made in zip(lv.streets, rids, strict=True):
            expected.update(state(street.sup, made))
        assert state(lv.district, every) == expected
        union = {**conflicts(lv.streets[0].sup), **conflicts(lv.streets[1].sup)}
        assert conflicts(lv.district) == union
        assert not lv.district.meta_keys("recv/held/")
    finally:
        for vault in lv.vaults():
            vault.close(compact=False)


# ------------------------------------------------------------------ downward


def test_a_districts_please_explain_reaches_the_worker_and_the_answer_comes_back(
    lv: Levels, tmp_path: Path
) -> None:
    """The district writes a "please explain" note on a resident a street's worker holds:
    it goes down to that street (sealed to its device, the district's scope for it being
    what its roster holds), the street carries it on to the worker, the worker answers, and
    the answer comes back up through the street to the district."""
    from fieldapp.domain.enums import NoteAction, NoteStatus
    from sync import downward, scope

    street = lv.streets[0]
    zhuoma = street.workers["卓玛"]
    rid = resident(zhuoma, "格桑")
    up(zhuoma, street.sup)
    assignments.assign(street.sup, rid, zhuoma.device_id)
    stick = tmp_path / "stick"
    levels.forward(street.sup, FolderTransport(stick))
    merged = merge_sources(lv.district, [stick])  # and the district's scope cut after it
    assert merged.count("applied") == 1 and merged.scope_error is None
    assert merged.scope is not None and street.sup.device_id not in merged.scope.bundles
    # Nothing went back down: the street holds all of it already.
    note = RecordService(lv.district).write_note(rid, NoteAction.EXPLAIN, "为什么两周没有探访？")
    cut = scope.cut(lv.district)
    assert cut.bundles == {street.sup.device_id: 1} and cut.ops[street.sup.device_id] >= 1
    downward.deliver(lv.district, FolderTransport(stick), downward.STICK_PREFIX)
    # The other street gets nothing: none of its residents.
    assert lv.streets[1].sup.device_id not in cut.bundles
    received = levels.fetch(street.sup, FolderTransport(stick), downward.STICK_PREFIX)
    assert [o.kind for o in received.outcomes] == ["applied"]
    assert street.sup.get(note.id)["text"] == "为什么两周没有探访？"
    assert street.sup.get(rid) is not None  # nothing left the street by it
    # The street carries it on to the worker who holds the resident.
    scope.cut(street.sup)
    for seq in downward.pending_for(street.sup, zhuoma.device_id):
        downward.receive(zhuoma, downward.bundle_for(street.sup, zhuoma.device_id, seq))
    assert zhuoma.get(note.id)["text"] == "为什么两周没有探访？"
    assert not street.workers["扎西"].get(note.id)
    # The worker answers; the answer goes up to the street, and on to the district.
    RecordService(zhuoma).set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
    up(zhuoma, street.sup)
    assert [o.kind for o in forward(street.sup, lv.district)] == ["applied"]
    assert lv.district.get(note.id)["status"] == "acknowledged"


def test_a_downward_bundle_from_anyone_but_the_level_above_is_refused(lv: Levels) -> None:
    """A street takes feedback only from the supervisor devices on the upper card: the
    other street's device, sealing to it, is refused and nothing is applied."""

    one, other = lv.streets[0].sup, lv.streets[1].sup
    rid = resident(other, "假的")
    card = levels.upper_card(one)
    assert card is not None
    recv = team.receiving_key(one).public_key()
    data = bundle.seal(
        other.history(rid),
        team_id=card.team_id,
        team_key=recv,
        device_id=other.device_id,
        sign_key=team.device_key(other),
        seq=1,
        prev="",
        to=one.device_id,
    )
    merger = Merger(one, levels.upper_receiver(one))
    (outcome,) = merger.receive(data)
    assert outcome.kind == "quarantined" and one.get(rid) is None
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.unknown_supervisor"


# ------------------------------------------------------------------ bundle sizes


def test_a_save_is_never_cut_across_two_level_bundles(
    lv: Levels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers' ops interleave in ``(hlc, author)`` order; cut into small bundles, no
    save (one author's run of ops on one record) ends up in two, every record a bundle
    begins is whole in it, and the district applies them all in order, none held
    waiting for the rest of a record."""
    monkeypatch.setattr(levels, "MAX_OPS_PER_BUNDLE", 3)
    street = lv.streets[0]
    made = []
    for i in range(10):  # alternate, so that the stamps interleave
        for name in ("卓玛", "扎西"):
            made.append(resident(street.workers[name], f"{name}{i}"))
            if i:  # and an edit of two fields in one save, on the one before
                change = {
                    "address": f"北京东路 {i} 号",
                    "notes": f"第 {i} 次",
                    "tags": ["elderly_alone"],
                }
                street.workers[name].commit([Change("resident", made[-3], change)])
    for worker in street.workers.values():
        up(worker, street.sup)
    ops = sorted(
        (op for op in street.sup.all_ops()),
        key=lambda op: (op.hlc, op.device_id),
    )
    assert len({op.device_id for op in ops[:12]}) == 2  # interleaved indeed
    cut = levels.chunks(ops)
    assert len(cut) > 2 and [op for c in cut for op in c] == ops
    from fieldapp.domain.validation import missing_fields

    for before, after in itertools.pairwise(cut):  # no save cut in two
        for author in {op.device_id for op in before}:
            last = [op for op in before if op.device_id == author][-1]
            first = next((op for op in after if op.device_id == author), None)
            assert first is None or first.record_id != last.record_id
    for chunk in cut:
        fields: dict[str, dict[str, bool]] = {}
        for op in chunk:
            fields.setdefault(op.record_id, {})[op.field] = True
        made_in = [f for rid, f in fields.items() if street.sup.history(rid)[0] in chunk]
        assert all(not missing_fields("resident", f) for f in made_in)
    outcomes = forward(street.sup, lv.district)
    assert {o.kind for o in outcomes} == {"applied"} and len(outcomes) == len(cut)
    assert all(lv.district.get(rid) == street.sup.get(rid) for rid in made)


def test_a_record_cut_across_one_senders_bundles_is_settled_at_the_end_of_the_pass(
    lv: Levels,
) -> None:
    """Bundles cut by an older cutter (or at a bundle's hard limit) may split a new record:
    the first waits for the rest, the second is held behind it. The end of the pass takes
    them together: both applied, the record whole."""
    street = lv.streets[0]
    zhuoma = street.workers["卓玛"]
    rid = resident(zhuoma, "格桑")
    ops = zhuoma.history(rid)
    assert len(ops) >= 2
    card = team.team_card(zhuoma)
    assert card is not None
    first = bundle.seal(
        ops[:1],
        team_id=card.team_id,
        team_key=card.encryption_key(),
        device_id=zhuoma.device_id,
        sign_key=team.device_key(zhuoma),
        seq=1,
        prev="",
    )
    second = bundle.seal(
        ops[1:],
        team_id=card.team_id,
        team_key=card.encryption_key(),
        device_id=zhuoma.device_id,
        sign_key=team.device_key(zhuoma),
        seq=2,
        prev=bundle.digest(first),
    )
    merger = Merger(street.sup)
    assert [o.kind for o in merger.receive(first)] == ["held"]
    assert [o.kind for o in merger.receive(second)] == ["held"]
    settled = merger.settle()
    assert [(o.kind, o.seq) for o in settled] == [("applied", 1), ("applied", 2)]
    assert street.sup.get(rid) == zhuoma.get(rid)
    assert not street.sup.meta_keys("recv/held/") and not street.sup.meta_keys("recv/waiting/")


# ------------------------------------------------------------------ the district's view


def filled_district(lv: Levels) -> dict[str, str]:
    """Each street's workers record residents; the streets forward. Returns name → rid."""
    made = {}
    for street in lv.streets:
        for name, worker in street.workers.items():
            made[name] = resident(worker, f"{name}的居民")
            up(worker, street.sup)
        forward(street.sup, lv.district)
    return made


def test_the_districts_team_report_counts_each_office_and_its_workers(lv: Levels) -> None:
    filled_district(lv)
    from fieldapp.services import supervision

    report = supervision.team_report(lv.district, lv.district.clock.today())
    shown = [(r.name, r.flow, bool(r.office), r.residents, r.bundles) for r in report]
    assert shown == [
        ("八廓街道", team.RECORDS, False, 2, 1),
        ("卓玛", "", True, 1, 0),
        ("扎西", "", True, 1, 0),
        ("吉日街道", team.RECORDS, False, 1, 1),
        ("次仁", "", True, 1, 0),
    ]


def test_the_residents_behind_a_row_are_those_its_worker_or_office_wrote(lv: Levels) -> None:
    """Drill-down from the district's team view: an office's row stands for the residents
    its roster's workers (and the office) wrote, a worker's for theirs; an office sending
    counts only has no record behind its numbers."""
    filled_district(lv)
    from fieldapp.services import supervision

    district = lv.district
    report = supervision.team_report(district, district.clock.today())
    by_name = {r.name: r for r in report}

    def names(row: supervision.WorkerRow) -> set[str]:
        behind = supervision.residents_behind(district, row, report)
        assert behind is not None
        return {str((district.get(rid) or {}).get("name")) for rid in behind}

    office, worker = by_name["八廓街道"], by_name["卓玛"]
    assert len(names(office)) == office.residents == 2
    assert len(names(worker)) == worker.residents == 1 and names(worker) < names(office)
    assert names(by_name["次仁"]) & names(office) == set()
    counts_only = supervision.WorkerRow("x" * 16, "城关区", False, flow=team.AGGREGATES)
    assert supervision.residents_behind(district, counts_only, report) is None


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_districts_screen_shows_the_offices_and_their_workers(
    lv: Levels, lang: str
) -> None:
    from textual.widgets import DataTable

    from fieldapp.config import Config
    from fieldapp.services.workspace import Workspace
    from fieldapp.tui.app import FieldApp
    from fieldapp.tui.screens.team import TeamScreen
    from tests.tui.conftest import settle

    filled_district(lv)
    app = FieldApp(
        config=Config(language=lang),
        vault_path=lv.district.path,
        workspace=Workspace(lv.district),
        save_settings=False,
        supervisor=True,
        auto_sync=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TeamScreen)
        table = app.screen.query_one("#workers", DataTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        office = "（下级）" if lang == "zh_CN" else " (office)"
        assert names == [
            f"八廓街道{office}",
            "└ 卓玛",
            "└ 扎西",
            f"吉日街道{office}",
            "└ 次仁",
        ]
        # Enter on an office, then on one of its workers: the residents behind the numbers.
        from fieldapp.i18n import t
        from fieldapp.tui.screens.residents import ResidentsScreen

        for row, name, count in ((0, "八廓街道", 2), (4, "次仁", 1)):
            table.focus()
            table.move_cursor(row=row)
            await pilot.press("enter")
            await settle(pilot)
            residents = app.screen
            assert isinstance(residents, ResidentsScreen), row
            assert residents.title == t("ui.residents_of_title", lang, name=name)
            shown = residents.query_one("#residents", DataTable)
            assert shown.row_count == count == len(residents.filters.only or ())
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, TeamScreen)


def test_counts_the_schema_would_refuse_are_a_message_and_nothing_sent(
    lv: Levels,
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tables a receiver would refuse (here: more communities than a bundle may hold) are
    never sealed: the office is told, in its language, and nothing waits to go."""
    from fieldapp.cli.syncing import _forward_counts
    from sync import aggregates, counts

    city = office(tmp_path, clock, "拉萨市", [])
    join(lv.district, city.sup, team.AGGREGATES)
    secrets = team.team_secrets(city.sup)
    assert secrets is not None
    levels.join_upper(lv.district, secrets.code(), "城关区", flow=team.AGGREGATES)
    resident(lv.district, "区里的")
    monkeypatch.setattr(aggregates, "MAX_COMMUNITIES", 0)
    assert _forward_counts(lv.district, FolderTransport(tmp_path / "stick"), "2026-11") is None
    from fieldapp.i18n import t

    assert t("cli.counts_refused") in capsys.readouterr().err  # in the language set
    assert counts.pending(lv.district) == []
    city.sup.close(compact=False)


def test_a_roster_with_an_unhashable_role_is_quarantined_not_a_crash(lv: Levels) -> None:
    """Signed and sealed by the street, a roster whose role is a list: the district's merge
    refuses the whole bundle and goes on (found in review: it raised TypeError)."""
    street = lv.streets[0].sup
    rid = resident(street, "格桑")
    outcome = refused(
        lv.district, forged(street, street.history(rid), {"abc": {"name": "x", "role": []}})
    )  # type: ignore[dict-item]
    assert isinstance(outcome.reason, OpInvalid) and outcome.reason.params["reason"] == "roster"


def test_a_roster_too_large_for_the_level_above_is_said_before_anything_is_cut(
    lv: Levels, monkeypatch: pytest.MonkeyPatch
) -> None:
    street = lv.streets[0].sup
    resident(street, "格桑")
    monkeypatch.setattr(levels, "MAX_ROSTER", 1)  # the street's roster has two workers
    with pytest.raises(CardError) as refused_cut:
        levels.cut(street)
    assert refused_cut.value.params["what"] == "roster_too_large"
    assert levels.pending(street) == [] and street.get_meta(levels.UP_STATE) is None


def test_a_roster_claiming_a_supervisor_device_of_the_district_is_refused(lv: Levels) -> None:
    """A second (or old) supervisor device of the district's team, named on a street's
    roster as its own supervisor, would pass its ops for the district's."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.cards import SupervisorDevice, raw_public

    secrets = team.team_secrets(lv.district)
    assert secrets is not None
    other = "0123456789abcdef"
    secrets.supervisors[other] = SupervisorDevice(
        raw_public(Ed25519PrivateKey.generate().public_key())
    )
    lv.district.commit((), kv={team.TEAM_SECRETS: secrets.to_json()})
    street = lv.streets[0].sup
    rid = resident(street, "格桑")
    claims = {**levels.roster(street), other: {"name": "区", "role": "supervisor"}}
    outcome = refused(lv.district, forged(street, street.history(rid), claims))
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.roster_enrolled"


def test_settling_takes_only_the_held_bundles_that_follow_on_without_a_gap(lv: Levels) -> None:
    """A record cut across bundles 1 and 3 with bundle 2 missing: nothing completes bundle 1
    yet (what would, 3, is behind the gap), so both go on waiting; once 2 comes, all apply."""
    street = lv.streets[0]
    zhuoma = street.workers["卓玛"]
    rid = resident(zhuoma, "格桑")
    other = resident(zhuoma, "央金")
    ops, filler = zhuoma.history(rid), zhuoma.history(other)
    card = team.team_card(zhuoma)
    assert card is not None
    made: list[bytes] = []
    for seq, part in enumerate((ops[:1], filler, ops[1:]), start=1):
        made.append(
            bundle.seal(
                part,
                team_id=card.team_id,
                team_key=card.encryption_key(),
                device_id=zhuoma.device_id,
                sign_key=team.device_key(zhuoma),
                seq=seq,
                prev=bundle.digest(made[-1]) if made else "",
            )
        )
    merger = Merger(street.sup)
    merger.receive(made[0])
    merger.receive(made[2])
    assert merger.settle() == [] and street.sup.get(rid) is None
    merger.receive(made[1])
    merger.settle()
    assert street.sup.get(rid) == zhuoma.get(rid) and street.sup.get(other) is not None


def test_one_stick_for_the_workers_and_the_level_above(lv: Levels, tmp_path: Path) -> None:
    """A street uses one stick both ways: its workers' bundles for it, and its own level
    bundle for the district, side by side. Merging the stick at the street takes the
    workers' and leaves its own for the district — never quarantined as another team's."""
    street = lv.streets[0]
    stick = tmp_path / "stick"
    rid = resident(street.workers["卓玛"], "格桑")
    outbox.sync_to(street.workers["卓玛"], FolderTransport(stick))
    first = merge_sources(street.sup, [stick])
    assert [o.kind for o in first.outcomes] == ["applied"]
    assert levels.forward(street.sup, FolderTransport(stick)).delivered == [1]
    rid2 = resident(street.workers["扎西"], "央金")
    outbox.sync_to(street.workers["扎西"], FolderTransport(stick))
    again = merge_sources(street.sup, [stick])
    assert sorted(o.kind for o in again.outcomes) == ["applied", "duplicate"], again.outcomes
    assert street.sup.get(rid2) is not None
    assert not list(street.sup.meta_keys(merge.QUARANTINE))
    at_district = merge_sources(lv.district, [stick])
    applied = [o for o in at_district.outcomes if o.kind == "applied"]
    assert [o.device for o in applied] == [street.sup.device_id]
    assert lv.district.get(rid) is not None
