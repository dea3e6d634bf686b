"""Device keys (DESIGN §3.7): every device signs (Ed25519) and receives (X25519); device
cards v2 carry both; a device enrolled with a v1 card gains the receiving key without
re-enrolment, announced in the signed header of its next upward bundle."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldapp.domain.ids import new_id
from fieldapp.errors import BadSignature, BundleMalformed, CardError
from fieldapp.services import session
from fieldapp.store import Change, Vault
from sync import outbox, team
from sync.bundle import read_header
from sync.cards import (
    DEVICE_PREFIX,
    DeviceCard,
    b64,
    device_code,
    encode,
    raw_public,
    read_device_card,
    seal_hub_credentials,
)
from sync.merge import QUARANTINE, Merger
from tests.conftest import FAST_KDF, PASSPHRASE


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[Vault]:
    """A supervisor's vault with a team."""
    vault, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    team.create_team(vault, "史家社区督导")
    yield vault
    vault.close(compact=False)


def v1_worker(path: Path, sup: Vault) -> Vault:
    """A worker's vault as the v1 code made it: a signing key, the team card, hub
    credentials — no receiving key — enrolled with a v1 device card."""
    secrets = team.team_secrets(sup)
    assert secrets is not None
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
    key = team.device_key(vault)
    vault.commit((), kv={team.TEAM_CARD: secrets.code()})
    creds = team.device_hub_credentials(vault)
    sealed = seal_hub_credentials(
        creds["access_key"],
        creds["secret_key"],
        secrets.card().encryption_key(),
        vault.device_id,
    )
    card = DeviceCard(
        secrets.team_id, vault.device_id, "李娜", raw_public(key.public_key()), sealed
    )
    code = device_code(card, key)
    assert read_device_card(code).version == 1
    assert team.enrol(sup, code).recv_pub is None
    assert vault.get_meta(team.DEVICE_RECV) is None
    return vault


def save(vault: Vault, n: int) -> list[str]:
    ids = []
    for i in range(n):
        rid = new_id()
        vault.commit([Change("resident", rid, {"name": f"居民{i}", "community": "史家社区"})])
        ids.append(rid)
    return ids


def cut_all(vault: Vault) -> list[bytes]:
    outbox.cut(vault)
    return [outbox.bundle_bytes(vault, seq) for seq in outbox.pending_bundles(vault)]


def entry(sup: Vault, device_id: str) -> team.DeviceEntry:
    return next(e for e in team.devices(sup) if e.device_id == device_id)


def test_a_new_device_makes_both_keys_at_setup_and_its_card_carries_both(
    tmp_path: Path, sup: Vault
) -> None:
    worker, _ = session.create(
        tmp_path / "w", PASSPHRASE, name="李娜", community="史家社区", kdf=FAST_KDF
    )
    try:
        assert worker.get_meta(team.DEVICE_KEY) and worker.get_meta(team.DEVICE_RECV)
        recv = raw_public(team.receiving_key(worker).public_key())
        secrets = team.team_secrets(sup)
        assert secrets is not None
        _, code = team.join(worker, secrets.code(), "李娜")
        card = read_device_card(code)
        assert card.version == 2 and card.recv_pub == recv
        assert card.payload()["v"] == 2 and card.payload()["recv_pub"] == b64(recv)
        team.enrol(sup, code)
        assert entry(sup, worker.device_id).recv_pub == recv
        # Enrolled with it: nothing to announce, the first bundle is a v1 bundle.
        assert team.to_announce(worker) is None
        save(worker, 1)
        (data,) = cut_all(worker)
        assert read_header(data)[0].v == 1
    finally:
        worker.close(compact=False)


def test_v1_and_v2_cards_parse_and_a_card_lying_about_its_version_is_refused(
    sup: Vault,
) -> None:
    secrets = team.team_secrets(sup)
    assert secrets is not None
    key = Ed25519PrivateKey.generate()
    recv = raw_public(X25519PrivateKey.generate().public_key())
    v1 = DeviceCard(secrets.team_id, "d1", "甲", raw_public(key.public_key()))
    v2 = DeviceCard(secrets.team_id, "d2", "乙", raw_public(key.public_key()), recv_pub=recv)
    assert read_device_card(device_code(v1, key)) == v1
    assert read_device_card(device_code(v2, key)) == v2
    for payload in (
        {**v1.payload(), "v": 2},  # v2 without the key
        {**v2.payload(), "v": 1},  # v1 with one
        {**v2.payload(), "recv_pub": b64(b"short")},  # not a key
        {**v1.payload(), "v": 3},
        {**v1.payload(), "v": True},
    ):
        with pytest.raises(CardError):
            read_device_card(encode(DEVICE_PREFIX, payload, key))
    team.enrol(sup, device_code(v1, key))
    team.enrol(sup, device_code(v2, key))
    assert entry(sup, "d1").recv_pub is None and entry(sup, "d2").recv_pub == recv
    # Re-enrolling d1 with its v2 card (same signing key) adds the key; another
    # receiving key for a device that has one is refused.
    team.enrol(sup, device_code(DeviceCard(*list(vars(v1).values())[:5], recv), key))
    assert entry(sup, "d1").recv_pub == recv
    other = raw_public(X25519PrivateKey.generate().public_key())
    with pytest.raises(CardError):
        team.enrol(sup, device_code(DeviceCard(*list(vars(v1).values())[:5], other), key))


def test_a_v1_device_gains_its_receiving_key_and_the_supervisor_learns_it(
    tmp_path: Path, sup: Vault
) -> None:
    worker = v1_worker(tmp_path / "w", sup)
    try:
        ids = save(worker, 3)
        before = entry(sup, worker.device_id)
        bundles = cut_all(worker)
        # The upgrade made the key, once, and the first bundle announces it (signed).
        recv = raw_public(team.receiving_key(worker).public_key())
        header = read_header(bundles[0])[0]
        assert (header.v, header.to, header.announced_key(), header.ops) == (2, "", recv, 6)
        assert team.to_announce(worker) is None  # announced: not again
        merger = Merger(sup)
        outcomes = [o for data in bundles for o in merger.receive(data)]
        assert [o.kind for o in outcomes] == ["applied"]
        after = entry(sup, worker.device_id)
        assert after.recv_pub == recv
        # Nothing lost: the same enrolment (name, keys, date, hub), and the records.
        assert (after.name, after.sign_pub, after.enrolled, after.revoked) == (
            before.name,
            before.sign_pub,
            before.enrolled,
            before.revoked,
        )
        stored = sup.get_meta(team.TEAM_DEVICES)[worker.device_id]
        assert stored["hub"]["access_key"] == team.device_hub_credentials(worker)["access_key"]
        assert all(sup.get(rid)["name"].startswith("居民") for rid in ids)
        # Later bundles are v1 again, and applied.
        save(worker, 1)
        outbox.deliver(worker, _Drop())
        (later,) = cut_all(worker)
        assert read_header(later)[0].v == 1
        assert [o.kind for o in merger.receive(later)] == ["applied"]
        assert entry(sup, worker.device_id).recv_pub == recv
    finally:
        worker.close(compact=False)


def test_a_v1_device_with_nothing_to_send_announces_in_a_bundle_without_ops(
    tmp_path: Path, sup: Vault
) -> None:
    worker = v1_worker(tmp_path / "w", sup)
    try:
        (data,) = cut_all(worker)
        header = read_header(data)[0]
        assert (header.ops, header.seq) == (0, 1)
        assert [o.kind for o in Merger(sup).receive(data)] == ["applied"]
        assert entry(sup, worker.device_id).recv_pub == raw_public(
            team.receiving_key(worker).public_key()
        )
        assert outbox.cut(worker) == 0  # nothing more to say
    finally:
        worker.close(compact=False)


def test_showing_the_card_of_a_v1_device_still_announces_the_key(
    tmp_path: Path, sup: Vault
) -> None:
    worker = v1_worker(tmp_path / "w", sup)
    try:
        code = team.my_device_code(worker, "李娜")  # the new code's card: v2
        assert code is not None and read_device_card(code).version == 2
        (data,) = cut_all(worker)
        assert read_header(data)[0].announced_key() == read_device_card(code).recv_pub
    finally:
        worker.close(compact=False)


def resign(data: bytes, key: Ed25519PrivateKey, **changes: object) -> bytes:
    """The bundle with its header changed and signed again with ``key``."""
    (hlen,) = struct.unpack_from(">H", data, 4)
    header = orjson.loads(data[6 : 6 + hlen])
    new = orjson.dumps({**header, **changes}, option=orjson.OPT_SORT_KEYS)
    body = data[:4] + struct.pack(">H", len(new)) + new + data[6 + hlen : -64]
    return body + key.sign(body)


def test_a_forged_announcement_is_refused_quarantined_and_learns_nothing(
    tmp_path: Path, sup: Vault
) -> None:
    worker = v1_worker(tmp_path / "w", sup)
    try:
        save(worker, 1)
        (data,) = cut_all(worker)
        mallory = raw_public(X25519PrivateKey.generate().public_key())
        forgeries = [
            # The header's key swapped for another (the signature no longer matches).
            resign(data, Ed25519PrivateKey.generate(), recv=b64(mallory)),
            data[:-64] + Ed25519PrivateKey.generate().sign(data[:-64]),
        ]
        unsigned = bytearray(data)
        (hlen,) = struct.unpack_from(">H", data, 4)
        at = data.index(b'"recv":"') + len(b'"recv":"')
        unsigned[at] = ord("A") if unsigned[at] != ord("A") else ord("B")
        assert at < 6 + hlen
        forgeries.append(bytes(unsigned))
        merger = Merger(sup)
        for forged in forgeries:
            (outcome,) = merger.receive(forged)
            assert outcome.kind == "quarantined"
            assert isinstance(outcome.reason, BadSignature)
            assert "forged" in outcome.reason.render("en")
        assert entry(sup, worker.device_id).recv_pub is None
        assert len(sup.meta_keys(QUARANTINE)) == len(forgeries)
        assert sup.count("resident") == 0  # nothing from them applied
        # The real one still goes through.
        assert [o.kind for o in merger.receive(data)] == ["applied"]
        assert entry(sup, worker.device_id).recv_pub is not None
    finally:
        worker.close(compact=False)


def test_a_key_announced_in_a_downward_header_or_a_v1_bundle_without_ops_is_malformed(
    tmp_path: Path, sup: Vault
) -> None:
    worker = v1_worker(tmp_path / "w", sup)
    key = team.device_key(worker)
    try:
        (data,) = cut_all(worker)
        for changes in (
            {"to": "0123456789abcdef"},  # a downward bundle may not announce
            {"recv": "", "ops": 0},  # no ops and nothing announced
            {"recv": "not a key"},
        ):
            with pytest.raises(BundleMalformed):
                read_header(resign(data, key, **changes))
    finally:
        worker.close(compact=False)


class _Drop:
    """A transport that takes everything (the bundles are not looked at here)."""

    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        return f"{team_id}/{device_id}/{seq:08d}"

    def put(self, key: str, data: bytes) -> None:
        return None
