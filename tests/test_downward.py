"""Downward bundles (DESIGN §3.7): a supervisor device seals ops to one worker's device;
the worker opens them through the same pipeline as the supervisor's merge, with every
refusal the supervisor side has, and applies them with their original ids, authors and
clocks."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ids import new_id
from fieldapp.errors import (
    BadSignature,
    BundleError,
    BundleMalformed,
    BundleTooLarge,
    CardError,
    ChainBroken,
    DecryptFailed,
    DeviceRevoked,
    OpInvalid,
    SequenceConflict,
    SequenceGap,
    UnknownDevice,
    WrongRecipient,
    WrongTeam,
)
from fieldapp.store import Change, Vault
from sync import downward, outbox, team
from sync.bundle import INFO_2, MAX_BUNDLE, SUITE, digest, read_header
from sync.merge import QUARANTINE, Merger
from tests.conftest import FAST_KDF, PASSPHRASE


@dataclass
class Team:
    """A supervisor and two workers' devices, enrolled (v2 cards)."""

    sup: Vault
    a: Vault
    b: Vault

    @property
    def team_id(self) -> str:
        secrets = team.team_secrets(self.sup)
        assert secrets is not None
        return secrets.team_id

    @property
    def sup_key(self) -> Ed25519PrivateKey:
        return team.device_key(self.sup)


def make_team(root: Path, clock: FixedClock) -> Team:
    """A supervisor and two enrolled workers' devices (v2 cards)."""
    sup, _ = Vault.create(root / "sup", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    secrets = team.create_team(sup, "史家社区督导")
    workers = []
    for name in ("a", "b"):
        worker, _ = Vault.create(root / name, PASSPHRASE, kdf=FAST_KDF, clock=clock)
        _, code = team.join(worker, secrets.code(), name)
        team.enrol(sup, code)
        workers.append(worker)
    return Team(sup, *workers)


@pytest.fixture
def t(tmp_path: Path, clock: FixedClock) -> Iterator[Team]:
    made = make_team(tmp_path, clock)
    yield made
    for vault in (made.sup, made.a, made.b):
        vault.close(compact=False)


def resident(vault: Vault, name: str, **more: Any) -> str:
    rid = new_id()
    vault.commit([Change("resident", rid, {"name": name, "community": "史家社区", **more})])
    return rid


def upward(worker: Vault, sup: Vault) -> None:
    """The worker's pending ops reach the supervisor (cut, opened, merged)."""
    outbox.cut(worker)
    merger = Merger(sup)
    for seq in outbox.pending_bundles(worker):
        assert [o.kind for o in merger.receive(outbox.bundle_bytes(worker, seq))] == ["applied"]


def snapshot(vault: Vault) -> tuple[int, list[tuple[str, str, int]]]:
    """What a refusal must leave alone: the records and every op."""
    return vault.count(), sorted((o.op_id, o.device_id, o.hlc) for o in vault.all_ops())


def cut(t: Team, recipient: Vault, rids: list[str]) -> list[bytes]:
    """The supervisor sends those residents' whole files to ``recipient``."""
    ops = [op for rid in rids for op in t.sup.history(rid)]
    before = downward.pending_for(t.sup, recipient.device_id)
    downward.cut_for(t.sup, recipient.device_id, ops)
    seqs = [s for s in downward.pending_for(t.sup, recipient.device_id) if s not in before]
    return [downward.bundle_for(t.sup, recipient.device_id, s) for s in seqs]


def test_round_trip_keeps_ids_authors_and_clocks_and_redelivery_changes_nothing(
    t: Team,
) -> None:
    mine = resident(t.a, "张三")
    other = resident(t.a, "李四")
    upward(t.a, t.sup)
    t.sup.commit([Change("resident", mine, {"notes": "督导：下周回访"})])  # the supervisor's op
    (data,) = cut(t, t.b, [mine])
    header = read_header(data)[0]
    assert (header.v, header.to, header.device, header.seq) == (
        2,
        t.b.device_id,
        t.sup.device_id,
        1,
    )
    outcomes = downward.receive(t.b, data)
    assert [(o.kind, o.ops) for o in outcomes] == [("applied", 3)]
    assert t.b.get(mine) == t.sup.get(mine)
    assert t.b.get(other) is None  # only what was sent
    assert {(o.op_id, o.device_id, o.hlc, o.base) for o in t.b.history(mine)} == {
        (o.op_id, o.device_id, o.hlc, o.base) for o in t.sup.history(mine)
    }
    authors = {o.device_id for o in t.b.history(mine)}
    assert authors == {t.a.device_id, t.sup.device_id}
    state = snapshot(t.b)
    # The same bytes again: a no-op.
    assert [o.kind for o in downward.receive(t.b, data)] == ["duplicate"]
    # The same ops cut again (a new bundle, seq 2): applied, and nothing changes.
    (again,) = cut(t, t.b, [mine])
    assert read_header(again)[0].seq == 2 and read_header(again)[0].prev == digest(data)
    assert [o.kind for o in downward.receive(t.b, again)] == ["applied"]
    assert snapshot(t.b) == state and t.b.get(mine) == t.sup.get(mine)
    # Received ops are not the worker's to send up: its outbox stays empty.
    assert outbox.pending_ops(t.b) == []
    # The bundle leaves the supervisor's outbox only when delivery is confirmed.
    assert downward.pending_for(t.sup, t.b.device_id) == [1, 2]
    assert downward.recipients(t.sup) == [t.b.device_id]
    downward.confirm(t.sup, t.b.device_id, 1)
    assert downward.pending_for(t.sup, t.b.device_id) == [2]


def test_the_supervisor_seals_only_to_enrolled_devices_with_a_receiving_key(t: Team) -> None:
    rid = resident(t.sup, "王五")
    ops = t.sup.history(rid)
    with pytest.raises(CardError) as info:
        downward.cut_for(t.sup, "ffffffffffffffff", ops)
    assert info.value.params["what"] == "unknown_device"
    entry = dict(t.sup.get_meta(team.TEAM_DEVICES))
    entry[t.a.device_id] = {**entry[t.a.device_id], "recv_pub": None}  # enrolled with v1
    t.sup.put_meta(team.TEAM_DEVICES, entry)
    with pytest.raises(CardError) as info:
        downward.cut_for(t.sup, t.a.device_id, ops)
    assert "receiving key" in info.value.render("en") and "接收密钥" in info.value.render("zh_CN")
    team.revoke(t.sup, t.b.device_id)
    with pytest.raises(CardError):
        downward.cut_for(t.sup, t.b.device_id, ops)
    assert downward.recipients(t.sup) == []


# ------------------------------------------------------------------ refusals


def forge(
    t: Team,
    rows: list[list[Any]],
    *,
    sender: str | None = None,
    key: Ed25519PrivateKey | None = None,
    to: str | None = None,
    recv: X25519PublicKey | None = None,
    seq: int = 1,
    prev: str = "",
    team_id: str | None = None,
    payload: bytes | None = None,
    raw: int | None = None,
) -> bytes:
    """A downward bundle made by hand (rows as in the payload), signed by ``key`` —
    the supervisor's device by default: refusals after the signature are authentic."""
    body_raw = orjson.dumps(rows)
    header = orjson.dumps(
        {
            "v": 2,
            "team": team_id or t.team_id,
            "device": sender or t.sup.device_id,
            "seq": seq,
            "prev": prev,
            "ops": len(rows),
            "hlc": max((r[4] for r in rows if isinstance(r[4], int)), default=0),
            "raw": len(body_raw) if raw is None else raw,
            "to": to or t.b.device_id,
            "recv": "",
        },
        option=orjson.OPT_SORT_KEYS,
    )
    recv = recv or team.receiving_key(t.b).public_key()
    compressed = zlib.compress(body_raw, 9) if payload is None else payload
    ciphertext = SUITE.encrypt(compressed, recv, info=INFO_2 + header)
    body = b"FBN1" + struct.pack(">H", len(header)) + header
    body += struct.pack(">I", len(ciphertext)) + ciphertext
    return body + (key or t.sup_key).sign(body)


def row(t: Team, field: str = "name", value: Any = "张三", hlc: int | None = None) -> list[Any]:
    stamp = hlc or (t.sup.clock.wall_ms() << 16) + 1
    return ["resident", "019a0000-0000-7000-8000-000000000001", field, value, stamp, None, "a1"]


def good_rows(t: Team) -> list[list[Any]]:
    first = row(t)
    second = row(t, "community", "史家社区", first[4] + 1)
    return [first, second]


def refused(t: Team, data: bytes, kind: type[BundleError]) -> BundleError:
    """``data`` is refused by worker B with ``kind``: quarantined with a translated reason,
    nothing applied."""
    before = snapshot(t.b)
    quarantined = len(t.b.meta_keys(QUARANTINE))
    (outcome,) = downward.receive(t.b, data)
    assert outcome.kind == "quarantined", outcome
    assert isinstance(outcome.reason, kind), outcome.reason
    en, zh = outcome.reason.render("en"), outcome.reason.render("zh_CN")
    assert en != zh and "{" not in en + zh
    assert snapshot(t.b) == before
    assert len(t.b.meta_keys(QUARANTINE)) == quarantined + 1
    return outcome.reason


def test_a_well_made_forgery_would_apply(t: Team) -> None:
    """The helper below makes bundles the worker takes: each refusal is that one change."""
    assert [o.kind for o in downward.receive(t.b, forge(t, good_rows(t)))] == ["applied"]


def test_forged_signature_unknown_and_worker_senders_are_refused(t: Team) -> None:
    rows = good_rows(t)
    stranger = Ed25519PrivateKey.generate()
    exc = refused(t, forge(t, rows, key=stranger), BadSignature)
    assert not exc.authentic
    exc = refused(t, forge(t, rows, sender="ffffffffffffffff", key=stranger), UnknownDevice)
    assert "supervisor" in exc.render("en") and "督导" in exc.render("zh_CN")
    # A worker of the team (enrolled, signing with its own key) is not a supervisor device.
    refused(t, forge(t, rows, sender=t.a.device_id, key=team.device_key(t.a)), UnknownDevice)


def test_a_revoked_supervisor_device_is_refused(t: Team) -> None:
    data = forge(t, good_rows(t))
    secrets = team.revoke_supervisor(t.sup, t.sup.device_id)
    team.join(t.b, secrets.code(), "b", accept_change=True)
    exc = refused(t, data, DeviceRevoked)
    assert "revoked" in exc.render("en")
    with pytest.raises(CardError):
        downward.cut_for(t.sup, t.b.device_id, [])  # nor does it send any more


def test_a_worker_with_a_card_naming_no_supervisor_device_refuses(t: Team) -> None:
    card = team.team_secrets(t.sup)
    assert card is not None
    card.supervisors.clear()  # a team card made before downward bundles
    t.b.put_meta(team.TEAM_CARD, card.code())
    refused(t, forge(t, good_rows(t)), UnknownDevice)


def test_replay_gap_and_chain_refusals(t: Team) -> None:
    rows = good_rows(t)
    first = forge(t, rows)
    assert [o.kind for o in downward.receive(t.b, first)] == ["applied"]
    assert [o.kind for o in downward.receive(t.b, first)] == ["duplicate"]
    # Another bundle under a number already used: the alarm (kept whole: authentic).
    later = [row(t, "notes", "改", rows[-1][4] + 5)]
    exc = refused(t, forge(t, later, seq=1), SequenceConflict)
    assert exc.authentic
    refused(t, forge(t, later, seq=2, prev="0" * 64), ChainBroken)
    # A gap: held (reported, not applied), then applied once the missing one comes.
    second = forge(t, later, seq=2, prev=digest(first))
    third = forge(t, [row(t, "notes", "三", rows[-1][4] + 9)], seq=3, prev=digest(second))
    before = snapshot(t.b)
    (held,) = downward.receive(t.b, third)
    assert held.kind == "held" and isinstance(held.reason, SequenceGap)
    assert "3" in held.reason.render("en") and snapshot(t.b) == before
    assert [(o.kind, o.seq) for o in downward.receive(t.b, second)] == [
        ("applied", 2),
        ("applied", 3),
    ]
    assert t.b.get(rows[0][1])["notes"] == "三"


def test_another_devices_bundle_and_an_upward_bundle_are_refused(t: Team) -> None:
    rid = resident(t.sup, "王五")
    (for_a,) = cut(t, t.a, [rid])
    exc = refused(t, for_a, WrongRecipient)
    assert t.a.device_id in exc.render("en")
    assert [o.kind for o in downward.receive(t.a, for_a)] == ["applied"]  # A takes it
    resident(t.a, "赵六")
    outbox.cut(t.a)
    refused(t, outbox.bundle_bytes(t.a, 1), WrongRecipient)
    # And the supervisor's merge refuses a downward bundle put where upward ones go.
    (outcome,) = Merger(t.sup).receive(for_a)
    assert outcome.kind == "quarantined" and isinstance(outcome.reason, WrongRecipient)


def test_wrong_team_and_wrong_key_are_refused(t: Team) -> None:
    rows = good_rows(t)
    refused(t, forge(t, rows, team_id="0000000000000000"), WrongTeam)
    exc = refused(t, forge(t, rows, recv=X25519PrivateKey.generate().public_key()), DecryptFailed)
    assert "this device" in exc.render("en") and "本设备" in exc.render("zh_CN")


def test_bad_ops_are_refused_whole(t: Team) -> None:
    rows = good_rows(t)
    cases = [
        [*rows, row(t, "no_such_field", "x", rows[-1][4] + 1)],
        [*rows, row(t, "birth_date", "not a date", rows[-1][4] + 1)],
        [rows[1], rows[0]],  # out of order
        [[*rows[0][:6], "not an id!"], rows[1]],  # a bad author
        [rows[0][:6], rows[1]],  # a row without its author
        [["nothing", *rows[0][1:]], rows[1]],  # an unknown kind
        [row(t, "name", "张三", (t.sup.clock.wall_ms() + 3 * 86_400_000) << 16)],
    ]
    for rows_ in cases:
        exc = refused(t, forge(t, rows_), BundleError)
        assert exc.authentic
    assert isinstance(refused(t, forge(t, cases[0], seq=1), OpInvalid), OpInvalid)


def test_truncated_oversize_and_bomb_are_refused(t: Team) -> None:
    data = forge(t, good_rows(t))
    refused(t, data[:-1], BundleMalformed)
    refused(t, data[:40], BundleMalformed)
    refused(t, data + b"\0" * (MAX_BUNDLE + 1 - len(data)), BundleTooLarge)
    bomb = zlib.compress(b"[" + b" " * 50_000_000 + b"]", 9)
    refused(t, forge(t, good_rows(t), payload=bomb), BundleTooLarge)
    refused(t, forge(t, good_rows(t), raw=10), BundleTooLarge)  # a lying header


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cuts=st.lists(
        st.tuples(
            st.sampled_from(["truncate", "flip", "append"]),
            st.integers(min_value=0, max_value=10_000),
            st.integers(min_value=1, max_value=255),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_damage_to_a_downward_bundle_is_refused_and_nothing_applied(
    t: Team, cuts: list[tuple[str, int, int]]
) -> None:
    rids = [r for r, _ in t.sup.iter_records("resident")] or [resident(t.sup, "钱七")]
    rid = rids[0]
    key = f"{downward.DOWN_BUNDLE}{t.b.device_id}/00000001"
    if t.sup.get_meta(key) is None:
        (data,) = cut(t, t.b, [rid])
    else:
        data = downward.bundle_for(t.sup, t.b.device_id, 1)
    damaged = bytearray(data)
    for how, at, mask in cuts:
        if how == "truncate":
            del damaged[at % len(damaged) :]
        elif how == "flip" and damaged:
            damaged[at % len(damaged)] ^= mask
        else:
            damaged += bytes([mask]) * (at % 64 + 1)
        if not damaged:
            damaged = bytearray(b"F")
    if bytes(damaged) == data:
        return
    before = snapshot(t.b)
    outcomes = downward.receive(t.b, bytes(damaged))  # never a traceback
    assert [o.kind for o in outcomes] == ["quarantined"]
    assert isinstance(outcomes[0].reason, BundleError)
    assert snapshot(t.b) == before


def test_documented_downward_test_vector_opens() -> None:
    import re

    from sync.bundle import Chain, Enrolled, domain_validator, open_bundle
    from sync.cards import raw_public
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "bundle-format.md").read_text("utf-8")
    hex_text = re.search(r"```text vector-bundle-downward\n(.*?)```", doc, re.S)
    rows_text = re.search(r"```json vector-ops-downward\n(.*?)```", doc, re.S)
    assert hex_text and rows_text
    data = bytes.fromhex("".join(hex_text.group(1).split()))
    recv = X25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
    sup = Ed25519PrivateKey.from_private_bytes(bytes(range(96, 128)))
    kwargs: dict[str, Any] = {
        "team_id": "7465616d2d303031",
        "team_key": recv,
        "devices": {"fedcba9876543210": Enrolled(raw_public(sup.public_key()))},
        "chain": lambda d: Chain(),
        "validate_op": domain_validator(),
    }
    opened = open_bundle(data, recipient="1111222233334444", **kwargs)
    rows = orjson.loads(rows_text.group(1))
    got = [[o.kind, o.record_id, o.field, o.value, o.hlc, o.base, o.device_id] for o in opened.ops]
    assert got == rows and opened.header.to == "1111222233334444"
    assert opened.digest in doc
    with pytest.raises(WrongRecipient):
        open_bundle(data, recipient="0123456789abcdef", **kwargs)
    with pytest.raises(WrongRecipient):
        open_bundle(data, **kwargs)  # the supervisor's side: not an upward bundle


# ------------------------------------------------------------------ the stick


def test_one_stick_round_trip_carries_both_directions(t: Team, tmp_path: Path) -> None:
    from sync.sources import merge_sources
    from sync.transports.folder import FolderTransport

    stick = tmp_path / "stick"
    mine = resident(t.a, "张三")
    outbox.sync_to(t.a, FolderTransport(stick))  # A puts its bundles on the stick
    summary = merge_sources(t.sup, [stick])  # the supervisor merges them ...
    assert [o.kind for o in summary.outcomes] == ["applied"]
    t.sup.commit([Change("resident", mine, {"notes": "督导意见"})])
    downward.cut_for(t.sup, t.a.device_id, t.sup.history(mine))
    sent = downward.deliver(t.sup, FolderTransport(stick), downward.STICK_PREFIX)
    assert sent.delivered == [(t.a.device_id, 1)] and sent.failure is None  # ... leaves replies
    assert (
        stick / "fieldapp" / "to" / t.a.device_id / t.sup.device_id / "00000001.fbundle"
    ).is_file()
    # Merging the stick again does not take the replies for a bundle of its own.
    again = merge_sources(t.sup, [stick])
    assert [o.kind for o in again.outcomes] == ["duplicate"]
    assert t.sup.meta_keys(QUARANTINE) == []
    # A takes what is addressed to it; B finds nothing for itself.
    got = downward.fetch(t.a, FolderTransport(stick), downward.STICK_PREFIX)
    assert [o.kind for o in got.outcomes] == ["applied"]
    assert t.a.get(mine) == t.sup.get(mine) and t.a.get(mine)["notes"] == "督导意见"
    assert downward.fetch(t.a, FolderTransport(stick), downward.STICK_PREFIX).outcomes == []
    assert downward.fetch(t.b, FolderTransport(stick), downward.STICK_PREFIX).outcomes == []
    assert t.b.get(mine) is None


def test_hostile_entries_in_a_devices_stick_folder_are_refused_one_by_one(
    t: Team, tmp_path: Path
) -> None:
    from sync.transports.folder import FolderTransport

    stick = tmp_path / "stick"
    rid = resident(t.sup, "王五")
    downward.cut_for(t.sup, t.b.device_id, t.sup.history(rid))
    downward.deliver(t.sup, FolderTransport(stick), downward.STICK_PREFIX)
    folder = stick / "fieldapp" / "to" / t.b.device_id / t.sup.device_id
    (folder / "00000005.fbundle").write_bytes(b"junk")  # a gap-less junk file: refused
    (folder / "00000006.fbundle").symlink_to(folder / "00000001.fbundle")
    summary = downward.fetch(t.b, FolderTransport(stick), downward.STICK_PREFIX)
    kinds = sorted(o.kind for o in summary.outcomes)
    assert kinds == ["applied", "quarantined", "quarantined"]
    assert t.b.get(rid) == t.sup.get(rid)


def test_a_team_made_before_downward_bundles_names_its_supervisor_device_at_the_first_cut(
    t: Team,
) -> None:
    """Its workers' cards name no supervisor device; the first downward cut names this
    one on the card (a new fingerprint), and a worker that imports it accepts the bundle."""
    secrets = team.team_secrets(t.sup)
    assert secrets is not None
    secrets.supervisors.clear()
    t.sup.put_meta(team.TEAM_SECRETS, secrets.to_json())
    old = secrets.code()
    t.b.put_meta(team.TEAM_CARD, old)  # joined with the old card
    assert team.supervisor_keys(t.b) == {}
    (data,) = cut(t, t.b, [resident(t.sup, "孙八")])
    after = team.team_secrets(t.sup)
    assert after is not None and list(after.supervisors) == [t.sup.device_id]
    assert after.card().fingerprint != secrets.card().fingerprint
    refused(t, data, UnknownDevice)  # the old card names no supervisor device
    with pytest.raises(CardError):
        team.join(t.b, after.code(), "b")  # the new fingerprint is confirmed first
    team.join(t.b, after.code(), "b", accept_change=True)
    assert list(team.supervisor_keys(t.b)) == [t.sup.device_id]
    assert [o.kind for o in downward.receive(t.b, data)] == ["applied"]
