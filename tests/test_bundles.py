"""Bundles: seal/open round trips, the documented test vector, and every refusal."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.domain.ops import Op, make_op_id
from fieldapp.errors import (
    BadSignature,
    BundleError,
    BundleMalformed,
    BundleTooLarge,
    ChainBroken,
    DecryptFailed,
    DeviceRevoked,
    DuplicateBundle,
    OpInvalid,
    SequenceConflict,
    SequenceGap,
    UnknownDevice,
    WrongTeam,
)
from sync import bundle as B
from sync.bundle import Chain, Enrolled, open_bundle, seal
from sync.cards import raw_public
from tests.conftest import ROOT

TEAM = "team0001"
A, C = "aaaaaaaaaaaaaaaa", "cccccccccccccccc"
TEAM_KEY = X25519PrivateKey.generate()
OTHER_TEAM_KEY = X25519PrivateKey.generate()
KEY_A = Ed25519PrivateKey.generate()
KEY_C = Ed25519PrivateKey.generate()
DEVICES = {A: Enrolled(raw_public(KEY_A.public_key())), C: Enrolled(raw_public(KEY_C.public_key()))}
VALIDATE = B.domain_validator()
RID = "019a0000-0000-7000-8000-000000000001"


def ops_for(device: str, n: int = 3, start: int = 1 << 40, **fields: object) -> list[Op]:
    values = fields or {"name": "张三", "community": "史家社区", "notes": "独居老人"}
    out, hlc = [], start
    for i in range(n):
        for field, value in values.items():
            hlc += 1
            out.append(
                Op(
                    make_op_id(hlc, device),
                    "resident",
                    RID,
                    field,
                    value if i == 0 else f"{value}{i}",
                    hlc,
                    device,
                    None,
                )
            )
    return out


def make(
    device: str = A,
    key: Ed25519PrivateKey = KEY_A,
    seq: int = 1,
    prev: str = "",
    ops: list[Op] | None = None,
    team_key: X25519PrivateKey = TEAM_KEY,
    team: str = TEAM,
) -> bytes:
    return seal(
        ops or ops_for(device),
        team_id=team,
        team_key=team_key.public_key(),
        device_id=device,
        sign_key=key,
        seq=seq,
        prev=prev,
    )


def opener(
    chains: dict[str, Chain] | None = None,
    devices: dict[str, Enrolled] | None = None,
    team_key: X25519PrivateKey = TEAM_KEY,
) -> Callable[[bytes], B.Opened]:
    chains = chains if chains is not None else {}

    def run(data: bytes) -> B.Opened:
        return open_bundle(
            data,
            team_id=TEAM,
            team_key=team_key,
            devices=DEVICES if devices is None else devices,
            chain=lambda d: chains.get(d, Chain()),
            validate_op=VALIDATE,
        )

    return run


def resign(
    data: bytes,
    key: Ed25519PrivateKey,
    header: dict[str, object] | None = None,
    payload: bytes | None = None,
) -> bytes:
    """Rebuild a bundle with a changed header/ciphertext and a fresh (valid) signature."""
    _, header_bytes, ciphertext, _, _ = B.read_header(data)
    if header is not None:
        header_bytes = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    if payload is not None:
        ciphertext = payload
    body = B.MAGIC + struct.pack(">H", len(header_bytes)) + header_bytes
    body += struct.pack(">I", len(ciphertext)) + ciphertext
    return body + key.sign(body)


# ------------------------------------------------------------------ round trips

names = (
    st.text(
        alphabet=st.sampled_from("张王李赵刘陈杨黄周吴徐孙abcdefg xyz"), min_size=1, max_size=20
    )
    .map(str.strip)
    .filter(bool)
)
op_values = st.one_of(
    st.tuples(st.just("name"), names),
    st.tuples(st.just("community"), names),
    st.tuples(
        st.just("notes"),
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200).map(
            str.rstrip
        ),
    ),
    st.tuples(
        st.just("tags"),
        st.lists(st.sampled_from(["elderly_alone", "disability", "minor"]), unique=True),
    ),
    st.tuples(st.just("_deleted"), st.booleans()),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(op_values, min_size=1, max_size=60), st.integers(1, 10**6))
def test_seal_open_round_trip(values: list[tuple[str, object]], gap: int) -> None:
    ops, hlc = [], 1 << 40
    for field, value in values:
        hlc += gap
        ops.append(Op(make_op_id(hlc, A), "resident", RID, field, value, hlc, A, None))
    opened = opener()(make(ops=ops))
    assert opened.ops == ops
    assert opened.header.ops == len(ops) and opened.header.seq == 1


def test_documented_test_vector_opens() -> None:
    doc = (ROOT / "docs" / "bundle-format.md").read_text("utf-8")
    hex_text = re.search(r"```text vector-bundle\n(.*?)```", doc, re.S)
    rows_text = re.search(r"```json vector-ops\n(.*?)```", doc, re.S)
    assert hex_text and rows_text
    data = bytes.fromhex("".join(hex_text.group(1).split()))
    team = X25519PrivateKey.from_private_bytes(bytes(range(32)))
    dev = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    did = "0123456789abcdef"
    opened = open_bundle(
        data,
        team_id="7465616d2d303031",
        team_key=team,
        devices={did: Enrolled(raw_public(dev.public_key()))},
        chain=lambda d: Chain(),
        validate_op=VALIDATE,
    )
    rows = orjson.loads(rows_text.group(1))
    assert [[o.kind, o.record_id, o.field, o.value, o.hlc, o.base] for o in opened.ops] == rows
    assert opened.digest in doc


# ------------------------------------------------------------------ refusals


def test_wrong_team_key_is_refused() -> None:
    with pytest.raises(DecryptFailed):
        opener()(make(team_key=OTHER_TEAM_KEY))


def test_other_team_id_is_refused() -> None:
    with pytest.raises(WrongTeam):
        opener()(make(team="team9999"))


def test_unknown_and_revoked_devices_are_refused() -> None:
    with pytest.raises(UnknownDevice):
        opener(devices={C: DEVICES[C]})(make())
    with pytest.raises(DeviceRevoked):
        opener(devices={A: Enrolled(DEVICES[A].sign_pub, revoked=True)})(make())


def test_signature_from_another_device_is_refused() -> None:
    with pytest.raises(BadSignature):
        opener()(make(device=A, key=KEY_C))


def test_edited_header_is_refused() -> None:
    data = make()
    header = orjson.loads(B.read_header(data)[1])
    edited = orjson.dumps({**header, "seq": 2}, option=orjson.OPT_SORT_KEYS)
    forged = data.replace(B.read_header(data)[1], edited)
    with pytest.raises(BadSignature):
        opener()(forged)


def test_every_single_bit_flip_is_refused() -> None:
    data = make(ops=ops_for(A, n=1))
    open_ = opener()
    for position in range(len(data)):
        for bit in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[position] ^= bit
            with pytest.raises(BundleError):
                open_(bytes(damaged))


def test_every_truncation_is_refused() -> None:
    data = make(ops=ops_for(A, n=1))
    open_ = opener()
    for length in range(len(data)):
        with pytest.raises(BundleMalformed):
            open_(data[:length])


def test_replay_conflict_gap_and_broken_chain() -> None:
    first = make(seq=1)
    second = make(seq=2, prev=B.digest(first), ops=ops_for(A, start=2 << 40))
    chains: dict[str, Chain] = {}
    open_ = opener(chains)
    opened = open_(first)
    chains[A] = Chain(1, opened.digest, {1: opened.digest})
    with pytest.raises(DuplicateBundle):
        open_(first)  # replayed
    with pytest.raises(SequenceConflict):
        open_(make(seq=1, ops=ops_for(A, start=5 << 40)))  # same sequence, other content
    with pytest.raises(SequenceGap) as gap:
        open_(make(seq=3, prev="whatever", ops=ops_for(A, start=3 << 40)))  # out of order
    assert gap.value.params["missing"] == 2
    with pytest.raises(ChainBroken):
        open_(make(seq=2, prev="0" * 64, ops=ops_for(A, start=2 << 40)))
    assert open_(second).header.seq == 2


def test_oversize_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make()
    monkeypatch.setattr(B, "MAX_BUNDLE", len(data) - 1)
    with pytest.raises(BundleTooLarge):
        opener()(data)


def test_too_many_ops_in_header_is_refused() -> None:
    data = make()
    header = orjson.loads(B.read_header(data)[1])
    with pytest.raises(BundleTooLarge):
        opener()(resign(data, KEY_A, header={**header, "ops": B.MAX_OPS + 1}))


def test_decompression_bomb_is_refused() -> None:
    """A real device signs a payload that inflates far beyond what the header says."""
    bomb = zlib.compress(b"[" + b" " * 50_000_000 + b"]", 9)
    header = {
        "v": 1,
        "team": TEAM,
        "device": A,
        "seq": 1,
        "prev": "",
        "ops": 1,
        "hlc": 1,
        "raw": 100,
    }
    header_bytes = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    ciphertext = B.SUITE.encrypt(bomb, TEAM_KEY.public_key(), info=B.INFO + header_bytes)
    data = resign(make(), KEY_A, header=header, payload=ciphertext)
    assert len(data) < 200_000
    with pytest.raises(BundleTooLarge):
        opener()(data)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "", "name: required"),
        ("phones", ["123"], "phones: phone_format"),
        ("no_such_field", 1, "field no_such_field"),
        ("tags", ["flying"], "tags: choice"),
        ("name", "a\x00b", "name: control_char"),
    ],
)
def test_schema_invalid_op_signed_by_a_real_device(field: str, value: object, reason: str) -> None:
    ops = ops_for(A, n=1)
    hlc = ops[-1].hlc + 1
    ops.append(Op(make_op_id(hlc, A), "resident", RID, field, value, hlc, A, None))
    with pytest.raises(OpInvalid) as info:
        opener()(make(ops=ops))
    assert info.value.params["reason"] == reason and info.value.params["index"] == 3


def test_ops_out_of_order_or_of_another_kind_are_refused() -> None:
    ops = ops_for(A, n=1)
    swapped = [ops[1], ops[0], ops[2]]
    with pytest.raises(OpInvalid) as info:
        opener()(make(ops=swapped))
    assert info.value.params["reason"] == "order"
    bad = [Op(ops[0].op_id, "spaceship", RID, "name", "x", ops[0].hlc, A, None)]
    with pytest.raises(OpInvalid):
        opener()(make(ops=bad))


def test_refusals_read_well_in_both_languages() -> None:
    errors = [
        DuplicateBundle(device=A, seq=3),
        SequenceGap(device=A, missing=12, seq=13),
        OpInvalid(index=4, reason="name: required"),
        BundleMalformed(what="length"),
    ]
    for exc in errors:
        for lang in ("en", "zh_CN"):
            text = exc.render(lang)
            assert "{" not in text and not text.startswith("bundle.")


def test_a_bundle_holds_only_its_own_devices_ops() -> None:
    with pytest.raises(ValueError):
        make(device=A, ops=ops_for(C))


def test_bundle_file_never_written_in_plaintext(tmp_path: Path) -> None:
    data = make(ops=ops_for(A, name="欧阳明月测试", notes="女儿在深圳工作"))
    for needle in ("欧阳明月测试", "女儿在深圳工作"):
        assert needle.encode() not in data and needle.encode("utf-16-le") not in data


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_sealed_hub_credentials_refuse_any_bytes(blob: bytes) -> None:
    """Untrusted bytes where sealed credentials belong: a CardError, nothing else."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from fieldapp.errors import CardError
    from sync.cards import open_hub_credentials

    with pytest.raises(CardError):
        open_hub_credentials(blob, X25519PrivateKey.generate(), "0011223344556677")


def test_sealed_hub_credentials_open_only_for_their_device_and_team() -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from fieldapp.errors import CardError
    from sync.cards import open_hub_credentials, seal_hub_credentials

    key = X25519PrivateKey.generate()
    sealed = seal_hub_credentials("FA0011", "s3cret", key.public_key(), "dev1")
    assert open_hub_credentials(sealed, key, "dev1") == {
        "access_key": "FA0011",
        "secret_key": "s3cret",
    }
    for other_key, device in [(X25519PrivateKey.generate(), "dev1"), (key, "dev2")]:
        with pytest.raises(CardError):
            open_hub_credentials(sealed, other_key, device)
    # Credentials that would break the identities file are refused.
    odd = seal_hub_credentials('FA"},{"x', "s", key.public_key(), "dev1")
    with pytest.raises(CardError):
        open_hub_credentials(odd, key, "dev1")
