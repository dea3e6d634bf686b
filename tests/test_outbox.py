"""Enrolment, the outbox and USB (folder) delivery."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import pytest

from fieldapp.domain.ids import new_id
from fieldapp.errors import BundleConflictError, CardError, TransportError
from fieldapp.store import Change, Vault, fsio
from sync import outbox, team
from sync.bundle import Chain, domain_validator, open_bundle
from sync.cards import read_device_card, read_team_card
from sync.transports.folder import FolderTransport
from tests.conftest import FAST_KDF, PASSPHRASE, kill_child_at_random

KILLS = int(os.environ.get("FIELDAPP_OUTBOX_KILLS", "120"))


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Vault, Vault]:
    """A supervisor with a team and a worker whose device is enrolled."""
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    worker, _ = Vault.create(tmp_path / "worker", PASSPHRASE, kdf=FAST_KDF)
    secrets = team.create_team(sup, "史家社区督导")
    _, device_code = team.join(worker, secrets.code(), "李娜")
    team.enrol(sup, device_code)
    yield sup, worker
    sup.close(compact=False)
    worker.close(compact=False)


def save_residents(vault: Vault, n: int) -> list[str]:
    ids = []
    for i in range(n):
        rid = new_id()
        vault.commit([Change("resident", rid, {"name": f"居民{i}", "community": "史家社区"})])
        ids.append(rid)
    return ids


def receive(sup: Vault, folder: Path) -> list[list[object]]:
    """Open every bundle on the stick in order, as the supervisor will (issue 5 merges)."""
    secrets = team.team_secrets(sup)
    assert secrets is not None
    chains: dict[str, Chain] = {}
    received = []
    for key in FolderTransport(folder).list():
        data = (folder / "fieldapp" / key).read_bytes()
        opened = open_bundle(
            data,
            team_id=secrets.team_id,
            team_key=secrets.enc_key,
            devices=team.enrolled_keys(sup),
            chain=lambda d: chains.get(d, Chain()),
            validate_op=domain_validator(),
        )
        device = opened.header.device
        chains[device] = Chain(opened.header.seq, opened.digest)
        received.append([opened.header.seq, opened.ops])
    return received


def test_cards_round_trip_and_refuse_tampering(pair: tuple[Vault, Vault]) -> None:
    sup, worker = pair
    secrets = team.team_secrets(sup)
    assert secrets is not None
    code = secrets.code()
    card = read_team_card(code)
    assert card.name == "史家社区督导" and card.fingerprint == secrets.card().fingerprint
    assert len(code) < 600  # short enough to send as a message
    tampered = code[:-3] + ("AAA" if code[-3:] != "AAA" else "BBB")
    with pytest.raises(CardError):
        read_team_card(tampered)
    with pytest.raises(CardError):
        read_device_card(code)  # a team card is not a device card
    with pytest.raises(CardError) as info:
        team.enrol(worker, team.my_device_code(worker, "李娜") or "")  # worker has no team keys
    assert "create a team" in info.value.render("en")
    listed = team.devices(sup)
    assert [(d.device_id, d.name, d.revoked) for d in listed] == [(worker.device_id, "李娜", None)]
    team.revoke(sup, worker.device_id)
    assert team.enrolled_keys(sup)[worker.device_id].revoked
    with pytest.raises(CardError):
        team.enrol(sup, team.my_device_code(worker, "李娜") or "")  # revoked stays revoked


def test_cut_deliver_and_open_on_the_other_side(pair: tuple[Vault, Vault], tmp_path: Path) -> None:
    sup, worker = pair
    ids = save_residents(worker, 7)
    stick = tmp_path / "stick"
    assert outbox.status(worker).pending_ops == 14
    result = outbox.sync_to(worker, FolderTransport(stick))
    assert (result.cut, result.delivered, result.pending, result.error) == (1, [1], 0, None)
    state = outbox.status(worker)
    assert (state.pending_ops, state.pending_bundles, state.delivered) == (0, 0, 1)
    save_residents(worker, 3)
    assert outbox.sync_to(worker, FolderTransport(stick)).delivered == [2]
    received = receive(sup, stick)
    assert [seq for seq, _ in received] == [1, 2]
    ops = [op for _, batch in received for op in batch]
    assert {op.record_id for op in ops} >= set(ids)
    assert len(ops) == len({op.op_id for op in ops}) == 20
    # Nothing new: no empty bundle.
    assert outbox.sync_to(worker, FolderTransport(stick)).cut == 0


def test_big_outboxes_are_cut_by_count(
    pair: tuple[Vault, Vault], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, worker = pair
    monkeypatch.setattr(outbox, "MAX_OPS_PER_BUNDLE", 4)
    save_residents(worker, 5)
    assert outbox.cut(worker) == 3
    assert outbox.pending_bundles(worker) == [1, 2, 3]


def test_a_failing_stick_leaves_the_outbox_intact(
    pair: tuple[Vault, Vault], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup, worker = pair
    save_residents(worker, 4)
    stick = tmp_path / "stick"
    outbox.cut(worker)
    real = fsio.write_all

    def pulled_out(fd: int, data: bytes) -> None:
        real(fd, data[: len(data) // 3])
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("sync.transports.folder.write_all", pulled_out)
    result = outbox.deliver(worker, FolderTransport(stick))
    assert result.delivered == [] and result.pending == 1 and "Input/output" in (result.error or "")
    assert outbox.status(worker).last_error == "transport.failed"
    assert FolderTransport(stick).list() == []  # no half-written bundle under a final name
    monkeypatch.setattr("sync.transports.folder.write_all", real)
    assert FolderTransport(stick).clean_temp() == 1
    assert outbox.deliver(worker, FolderTransport(stick)).delivered == [1]
    assert outbox.status(worker).last_error is None
    assert [seq for seq, _ in receive(sup, stick)] == [1]


def test_redelivery_is_idempotent_and_a_different_bundle_is_an_alarm(
    pair: tuple[Vault, Vault], tmp_path: Path
) -> None:
    _, worker = pair
    save_residents(worker, 2)
    outbox.cut(worker)
    stick = FolderTransport(tmp_path / "stick")
    card = team.team_card(worker)
    assert card is not None
    key = stick.key_for(card.team_id, worker.device_id, 1)
    data = outbox.bundle_bytes(worker, 1)
    stick.put(key, data)  # delivered, but the acknowledgement was lost
    assert outbox.deliver(worker, stick).delivered == [1]
    with pytest.raises(BundleConflictError):
        stick.put(key, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError):
        stick.put("../escape.fbundle", data)


def test_worker_without_a_team_is_told_to_join(tmp_path: Path) -> None:
    v, _ = Vault.create(tmp_path / "v", PASSPHRASE, kdf=FAST_KDF)
    with pytest.raises(CardError) as info:
        outbox.cut(v)
    assert "fieldapp team join" in info.value.render("en")
    v.close()


def test_transport_errors_are_translated(tmp_path: Path) -> None:
    exc = TransportError(path="/media/usb", reason="No space left on device")
    assert "outbox" in exc.render("en") and "发件箱" in exc.render("zh_CN")


# ------------------------------------------------------------------ kill -9


@pytest.mark.slow
def test_kill_9_during_cutting_and_delivery_loses_and_duplicates_nothing(
    pair: tuple[Vault, Vault], tmp_path: Path
) -> None:
    sup, worker = pair
    worker_path = worker.path
    worker.close(compact=False)
    stick = tmp_path / "stick"
    rng = random.Random(99)
    for round_no in range(KILLS):
        child_args = [str(worker_path), PASSPHRASE, str(stick), str(round_no)]
        kill_child_at_random("outbox_child.py", child_args, rng.uniform(0, 0.05))
        check_invariants(sup, worker_path, stick)
    with Vault.open(worker_path, PASSPHRASE) as v:
        assert outbox.sync_to(v, FolderTransport(stick)).pending == 0
    check_invariants(sup, worker_path, stick, everything_delivered=True)


def check_invariants(
    sup: Vault, worker_path: Path, stick: Path, everything_delivered: bool = False
) -> None:
    received = receive(sup, stick)  # every file under a final name is a whole, valid bundle
    on_stick = {seq: ops for seq, ops in received}
    with Vault.open(worker_path, PASSPHRASE) as v:
        pending = {seq: outbox.bundle_bytes(v, seq) for seq in outbox.pending_bundles(v)}
        state = outbox._state(v)
        mine = {op.op_id for op in v.all_ops() if op.device_id == v.device_id}
        not_cut = {op.op_id for op in outbox.pending_ops(v)}
        v.close(compact=False)
    # Sequence numbers 1..n with no gaps, each either delivered or still in the outbox.
    assert set(on_stick) | set(pending) == set(range(1, state.next_seq))
    secrets = team.team_secrets(sup)
    assert secrets is not None
    in_bundles: list[str] = [op.op_id for ops in on_stick.values() for op in ops]
    for seq, data in pending.items():
        opened = open_bundle(
            data,
            team_id=secrets.team_id,
            team_key=secrets.enc_key,
            devices=team.enrolled_keys(sup),
            chain=lambda d, s=seq, b=data: Chain(s - 1, _prev(b)),
            validate_op=domain_validator(),
        )
        if seq in on_stick:  # delivered, ack not yet recorded: must be the very same bundle
            assert [o.op_id for o in opened.ops] == [o.op_id for o in on_stick[seq]]
        else:
            in_bundles += [op.op_id for op in opened.ops]
    # Every op is in exactly one bundle, or not cut yet; none lost, none twice.
    assert len(in_bundles) == len(set(in_bundles))
    assert set(in_bundles) | not_cut == mine
    assert not set(in_bundles) & not_cut
    if everything_delivered:
        assert not pending and not not_cut


def _prev(data: bytes) -> str:
    from sync.bundle import read_header

    return read_header(data)[0].prev
