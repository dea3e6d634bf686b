"""Merge laws: any delivery order, any duplication → the same state and the same
conflicts on every supervisor; every refusal quarantined with nothing applied."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fieldapp.domain.ops import Op, make_op_id
from fieldapp.store import Vault
from sync import merge, team
from sync.bundle import digest, seal
from sync.cards import raw_public
from sync.merge import Merger, conflicts
from sync.preview import heads
from tests.conftest import FAST_KDF, PASSPHRASE

RIDS = [f"019a0000-0000-7000-8000-{i:012d}" for i in range(1, 4)]
FIELDS = ["name", "community", "notes"]


class Device:
    """A worker's device: writes ops with the base it saw, sometimes after hearing of
    another device's edits (so bases cross devices, as after a sync)."""

    def __init__(self, n: int) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.id = f"{n:016x}"
        self.key = Ed25519PrivateKey.generate()
        self.view: dict[tuple[str, str], Op] = {}
        self.ops: list[Op] = []
        self.saves: list[list[Op]] = []  # ops saved together
        self.hlc = (1 << 40) + n

    def create(self, rid: str, name: str = "张三") -> None:
        """A new resident, saved whole (its required fields in one save)."""
        first = self.edit(rid, "name", name)
        second = self.edit(rid, "community", "史家社区")
        self.saves[-2:] = [[first, second]]

    def edit(self, rid: str, field: str, value: str) -> Op:
        self.hlc += 1 << 8
        base = self.view.get((rid, field))
        op = Op(
            make_op_id(self.hlc, self.id),
            "resident",
            rid,
            field,
            value,
            self.hlc,
            self.id,
            base.op_id if base else None,
        )
        self.view[(rid, field)] = op
        self.ops.append(op)
        self.saves.append([op])
        return op

    def hear(self, op: Op) -> None:
        mine = self.view.get((op.record_id, op.field))
        if mine is None or op.stamp > mine.stamp:
            self.view[(op.record_id, op.field)] = op
        self.hlc = max(self.hlc, op.hlc)

    def bundles(self, team_id: str, team_key: object, per: int) -> list[bytes]:
        """About ``per`` ops a bundle, never cutting one save in two (as the outbox
        keeps a record's fields saved together)."""
        chunks: list[list[Op]] = []
        for save in self.saves:
            if chunks and len(chunks[-1]) < per:
                chunks[-1].extend(save)
            else:
                chunks.append(list(save))
        out, prev = [], ""
        for seq, chunk in enumerate(chunks, 1):
            data = seal(
                chunk,
                team_id=team_id,
                team_key=team_key,  # type: ignore[arg-type]
                device_id=self.id,
                sign_key=self.key,
                seq=seq,
                prev=prev,
            )
            out.append(data)
            prev = digest(data)
        return out


def supervisor(path: Path, secrets_json: dict[str, object], devices: list[Device]) -> Vault:
    v, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
    devs = {
        d.id: {
            "name": d.id,
            "sign_pub": _b64(raw_public(d.key.public_key())),
            "enrolled": "2026-11-29",
            "revoked": None,
        }
        for d in devices
    }
    v.commit((), kv={team.TEAM_SECRETS: secrets_json, team.TEAM_DEVICES: devs})
    return v


def _b64(data: bytes) -> str:
    from sync.cards import b64

    return b64(data)


def state_hash(v: Vault) -> str:
    docs = {rid: doc for rid, doc in v.iter_records("resident")}
    return hashlib.sha256(orjson.dumps(docs, option=orjson.OPT_SORT_KEYS)).hexdigest()


edits = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(RIDS),
        st.sampled_from(FIELDS),
        st.sampled_from(["甲", "乙", "丙", "丁"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=int(os.environ.get("FIELDAPP_MERGE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits, st.integers(1, 5), st.randoms(use_true_random=False))
def test_any_order_any_duplication_same_state_and_conflicts(
    tmp_path_factory: pytest.TempPathFactory,
    script: list[tuple[int, str, str, str, bool]],
    per: int,
    rnd: random.Random,
) -> None:
    devices = [Device(n) for n in range(3)]
    for n, rid in enumerate(RIDS):  # each resident created whole by one device
        devices[n % 3].create(rid, f"居民{n}")
    for who, rid, field, value, gossip in script:
        op = devices[who].edit(rid, field, value)
        if gossip:  # another device hears of it before its own next edit
            devices[(who + 1) % 3].hear(op)
    secrets = team.TeamSecrets.generate("team0001", "督导")
    bundles = [
        b
        for d in devices
        if d.ops
        for b in d.bundles("team0001", secrets.enc_key.public_key(), per)
    ]
    results = []
    base = tmp_path_factory.mktemp("merge")
    for n in range(3):
        deliveries = bundles + rnd.sample(bundles, k=min(len(bundles), 3))  # duplicates
        rnd.shuffle(deliveries)
        v = supervisor(base / f"sup{n}", secrets.to_json(), devices)
        merger = Merger(v)
        for data in deliveries:
            merger.receive(data)
        merger.settle()  # the end of the pass
        assert not v.meta_keys(merge.HELD) and not v.meta_keys(merge.QUARANTINE)
        assert not v.meta_keys(merge.WAITING)  # every record complete once all arrived
        first = (state_hash(v), conflicts(v))
        for data in bundles:  # idempotence: everything again changes nothing
            assert merger.receive(data)[0].kind == "duplicate"
        assert (state_hash(v), conflicts(v)) == first
        results.append(first)
        v.close(compact=False)
    assert results[0] == results[1] == results[2]
    event("with conflicts" if results[0][1] else "no conflicts")
    # The merged value of every field is the last writer's, by (hlc, device).
    all_ops = [op for d in devices for op in d.ops]
    v = Vault.open(base / "sup0", PASSPHRASE)
    for rid in {op.record_id for op in all_ops}:
        doc = v.get(rid) or {}
        for field in {op.field for op in all_ops if op.record_id == rid}:
            winner = max(
                (op for op in all_ops if op.record_id == rid and op.field == field),
                key=lambda op: op.stamp,
            )
            assert doc[field] == winner.value
    v.close(compact=False)


def test_concurrent_edits_are_a_conflict_sequential_ones_are_not() -> None:
    a, b = Device(1), Device(2)
    first = a.edit(RIDS[0], "name", "张三")
    b.hear(first)
    later = b.edit(RIDS[0], "name", "张三丰")  # built on a's value: sequential
    assert heads([first, later], "name") == [later]
    concurrent = a.edit(RIDS[0], "name", "张叁")  # a never saw b's edit
    assert {op.value for op in heads([first, later, concurrent], "name")} == {"张三丰", "张叁"}
    same = Device(3)
    same.hear(first)
    agree = same.edit(RIDS[0], "name", "张三丰")  # concurrent but the same value
    assert [op.value for op in heads([first, later, agree], "name")] == ["张三丰"]


def _sup(tmp_path: Path, devices: list[Device]) -> tuple[Vault, team.TeamSecrets]:
    secrets = team.TeamSecrets.generate("team0001", "督导")
    return supervisor(tmp_path / "sup", secrets.to_json(), devices), secrets


def test_a_long_run_of_held_bundles_is_released_without_recursion(tmp_path: Path) -> None:
    device = Device(1)
    device.create(RIDS[0])
    for i in range(600):
        device.edit(RIDS[0], "notes", f"第{i}次")
    v, secrets = _sup(tmp_path, [device])
    bundles = device.bundles("team0001", secrets.enc_key.public_key(), 1)
    assert len(bundles) > 500
    merger = Merger(v)
    for data in bundles[1:]:
        assert merger.receive(data)[0].kind == "held"
    outcomes = merger.receive(bundles[0])
    assert [o.kind for o in outcomes] == ["applied"] * len(bundles)
    assert v.get(RIDS[0])["notes"] == "第599次" and not v.meta_keys(merge.HELD)
    v.close(compact=False)


def test_an_op_may_not_change_a_records_kind(tmp_path: Path) -> None:
    device = Device(1)
    device.create(RIDS[0])
    v, secrets = _sup(tmp_path, [device])
    merger = Merger(v)
    first = device.bundles("team0001", secrets.enc_key.public_key(), 1)[0]
    assert merger.receive(first)[0].kind == "applied"
    hlc = device.hlc + (1 << 8)
    sneaky = Op(make_op_id(hlc, device.id), "need", RIDS[0], "status", "open", hlc, device.id, None)
    data = seal(
        [sneaky],
        team_id="team0001",
        team_key=secrets.enc_key.public_key(),
        device_id=device.id,
        sign_key=device.key,
        seq=2,
        prev=digest(first),
    )
    outcome = merger.receive(data)[0]
    assert outcome.kind == "quarantined" and outcome.reason is not None
    assert outcome.reason.params["reason"] == "kind"
    assert v.get(RIDS[0]) == {"name": "张三", "community": "史家社区"}
    assert v.kind_of(RIDS[0]) == "resident"
    with pytest.raises(ValueError):  # and the vault itself refuses it, as a backstop
        v.commit_ops([sneaky])
    v.close(compact=False)


def test_a_device_card_may_not_reuse_the_supervisors_device_id(tmp_path: Path) -> None:
    from fieldapp.errors import CardError
    from sync.cards import DeviceCard, device_code

    v, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    secrets = team.create_team(v, "督导")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    card = DeviceCard(secrets.team_id, v.device_id, "冒充", raw_public(key.public_key()))
    with pytest.raises(CardError):
        team.enrol(v, device_code(card, key))
    v.close(compact=False)


def test_two_different_bundles_under_one_held_number_raise_the_alarm(tmp_path: Path) -> None:
    """While bundle 1 is missing, bundle 2 arrives twice with different content (a
    restored laptop): the first stays held, the second is quarantined as a conflict."""
    device = Device(1)
    device.create(RIDS[0])
    for i in range(3):
        device.edit(RIDS[0], "notes", f"第{i}次")
    v, secrets = _sup(tmp_path, [device])
    key = secrets.enc_key.public_key()
    bundles = device.bundles("team0001", key, 1)
    other = Device(1)
    other.key = device.key
    other.create(RIDS[1])
    for i in range(3):
        other.edit(RIDS[1], "notes", f"另{i}")
    forked = other.bundles("team0001", key, 1)
    merger = Merger(v)
    assert merger.receive(bundles[1])[0].kind == "held"
    second = merger.receive(forked[1])[0]
    assert second.kind == "quarantined" and second.reason is not None
    assert "ALARM" in second.reason.render("en")
    assert merger.receive(bundles[1])[0].kind == "held"  # the same again: still held
    assert [o.kind for o in merger.receive(bundles[0])] == ["applied", "applied"]
    assert v.get(RIDS[0])["notes"] == "第0次" and v.get(RIDS[1]) is None
    v.close(compact=False)


def test_archiving_and_restoring_a_resident_merge_like_any_change(tmp_path: Path) -> None:
    device = Device(1)
    device.create(RIDS[0])
    device.edit(RIDS[0], "archived", True)  # type: ignore[arg-type]
    device.edit(RIDS[0], "archived", False)  # type: ignore[arg-type]
    device.edit(RIDS[0], "archived", True)  # type: ignore[arg-type]
    v, secrets = _sup(tmp_path, [device])
    merger = Merger(v)
    outcomes = [
        o.kind
        for data in device.bundles("team0001", secrets.enc_key.public_key(), 1)
        for o in merger.receive(data)
    ]
    assert outcomes == ["applied"] * 4  # the field is the model's: nothing quarantined
    assert v.get(RIDS[0])["archived"] is True
    v.close(compact=False)
