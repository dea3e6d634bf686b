"""Aggregates upward (sync/aggregates.py, DESIGN §3.8): the counts a level sends, their
suppression, and the sealed bundle that carries them — refused whole when anything in it
could be personal data or is not what it claims."""

from __future__ import annotations

import dataclasses
import datetime as dt
import struct
import zlib
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain import NeedCategory, NeedStatus, Vulnerability
from fieldapp.domain.enums import VisitKind
from fieldapp.domain.models import Need, Record, Resident, Visit
from fieldapp.errors import (
    AggregateInvalid,
    BadSignature,
    BundleError,
    BundleMalformed,
    BundleTooLarge,
    ChainBroken,
    DuplicateBundle,
    SequenceConflict,
    SequenceGap,
    UnknownDevice,
    WrongTeam,
)
from fieldapp.services.demo import build_demo
from fieldapp.services.records import RecordService
from fieldapp.store import Vault
from sync import aggregates as agg
from sync.bundle import SUITE, Chain, digest

TODAY = dt.date(2026, 11, 29)
START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
TEAM = "city"
DEVICE = "street1"
TEAM_KEY = X25519PrivateKey.generate()
DEVICE_KEY = Ed25519PrivateKey.generate()
ENROLLED = {DEVICE: DEVICE_KEY.public_key()}
STATUSES = [s.value for s in NeedStatus]
CATEGORIES = [c.value for c in NeedCategory]
TAGS = [v.value for v in Vulnerability]


def fresh(_device: str) -> Chain:
    return Chain()


def open_(data: bytes, chain: Any = fresh, **kw: Any) -> agg.Opened:
    args: dict[str, Any] = {"team_priv": TEAM_KEY, "enrolled": ENROLLED, "team_id": TEAM}
    return agg.open_aggregates(data, chain=chain, **{**args, **kw})


def seal(tables: agg.AggregateTables, seq: int = 1, prev: str = "", **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "team_pub": TEAM_KEY.public_key(),
        "device_key": DEVICE_KEY,
        "device_id": DEVICE,
        "team_id": TEAM,
    }
    return agg.seal_aggregates(tables, seq=seq, prev=prev, **{**args, **kw})


def seal_unchecked(payload: Any, *, raw: int | None = None, seq: int = 1) -> bytes:
    """An aggregate bundle of any payload at all, skipping the schema check that
    seal_aggregates makes — what a broken or hostile sender could cut."""
    body = orjson.dumps(payload)
    header = orjson.dumps(
        {
            "v": 1,
            "team": TEAM,
            "device": DEVICE,
            "seq": seq,
            "prev": "",
            "period": "2026-11-01/2026-11-30",
            "raw": len(body) if raw is None else raw,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    ct = SUITE.encrypt(zlib.compress(body), TEAM_KEY.public_key(), info=agg.INFO + header)
    signed = agg.MAGIC + struct.pack(">H", len(header)) + header + struct.pack(">I", len(ct)) + ct
    return signed + DEVICE_KEY.sign(signed)


def plaintext(data: bytes) -> bytes:
    """The decrypted, inflated payload of a bundle, as the receiver reads it."""
    _, header_bytes, ct, _, _ = agg.read_header(data)
    return zlib.decompress(SUITE.decrypt(ct, TEAM_KEY, info=agg.INFO + header_bytes))


def grid_of(interior: list[list[int]]) -> agg.Grid:
    """``interior`` with its row totals, column totals and grand total."""
    rows: agg.Grid = [[*line, sum(line)] for line in interior]
    width = len(rows[0])
    rows.append([sum(int(line[j] or 0) for line in rows) for j in range(width)])
    return rows


def small_tables(**changes: Any) -> agg.AggregateTables:
    """Two communities' published tables, nothing small in them."""
    needs = {s: grid_of([[0] * len(CATEGORIES), [0] * len(CATEGORIES)]) for s in STATUSES}
    needs["open"] = grid_of([[6] + [0] * (len(CATEGORIES) - 1), [0] * (len(CATEGORIES) - 1) + [9]])
    tables = agg.AggregateTables(
        START,
        END,
        ["东风社区", "Lhasa Road"],
        CATEGORIES,
        needs,
        TAGS,
        [[7, *[0] * (len(TAGS) - 1)], [None] * len(TAGS)],
        [[7, *[0] * (len(TAGS) - 1)], [None] * len(TAGS)],
    )
    return dataclasses.replace(tables, **changes)


def payload_of(tables: agg.AggregateTables) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(plaintext(seal(tables)))
    return out


# ------------------------------------------------------------------ counting


def _resident(community: str, tags: list[Vulnerability], **kw: Any) -> Resident:
    return Resident(name=kw.pop("name", "王芳"), community=community, tags=tags, **kw)


def _visit(resident: Resident, day: dt.date) -> Visit:
    when = dt.datetime.combine(day, dt.time(10))
    return Visit(
        resident_id=resident.id,
        kind=VisitKind.HOME,
        started_at=when,
        duration_minutes=30,
        purpose="家访",
    )


def _need(resident: Resident, category: NeedCategory, opened: dt.date, **kw: Any) -> Need:
    return Need(resident_id=resident.id, category=category, description="x", opened_on=opened, **kw)


def test_tally_counts_what_a_supervisor_expects(vault: Vault) -> None:
    service = RecordService(vault)
    east = [_resident("  东风社区 ", [Vulnerability.ELDERLY_ALONE]) for _ in range(7)]
    minors = [_resident("东风社区", [Vulnerability.MINOR]) for _ in range(2)]
    road = [_resident("Lhasa Road", [Vulnerability.LOW_INCOME]) for _ in range(5)]
    gone = _resident("东风社区", [Vulnerability.ELDERLY_ALONE], archived=True)
    records: list[Any] = [*east, *minors, *road, gone]
    records += [_visit(r, dt.date(2026, 11, 3)) for r in east[:6]]
    records += [_visit(east[6], dt.date(2026, 10, 31))]  # before the period
    records += [_visit(minors[0], END), _visit(gone, START)]
    records += [_need(r, NeedCategory.HEALTH, dt.date(2026, 11, 2)) for r in east[:6]]
    records += [_need(east[0], NeedCategory.HOUSING, START)]
    records += [_need(east[1], NeedCategory.HOUSING, dt.date(2026, 10, 30))]  # before
    records += [
        _need(road[0], NeedCategory.INCOME, END, status=NeedStatus.RESOLVED, status_note="ok"),
        _need(gone, NeedCategory.HEALTH, START),  # archived
    ]
    service.save_many(records)

    tables = agg.tally(vault, START, END, today=TODAY)

    assert tables.communities == ["Lhasa Road", "东风社区"]
    east_row, road_row = 1, 0
    health, housing = CATEGORIES.index("health"), CATEGORIES.index("housing")
    income = CATEGORIES.index("income")
    opened = tables.needs["open"]
    assert opened[east_row][health] == 6 and opened[east_row][housing] == 1
    assert opened[east_row][-1] == 7 and opened[-1][-1] == 7 and opened[road_row][-1] == 0
    assert tables.needs["resolved"][road_row][income] == 1
    assert tables.needs["resolved"][-1][-1] == 1 and tables.needs["in_progress"][-1][-1] == 0
    alone, minor = TAGS.index("elderly_alone"), TAGS.index("minor")
    assert tables.residents[east_row][alone] == 7 and tables.visited[east_row][alone] == 6
    assert tables.residents[east_row][minor] == 2 and tables.visited[east_row][minor] == 1
    assert tables.residents[road_row][TAGS.index("low_income")] == 5
    assert tables.visited[road_row][TAGS.index("low_income")] == 0

    shown = agg.compute(vault, START, END, today=TODAY)
    assert shown.needs["open"][east_row][housing] is None  # 1: suppressed
    assert shown.needs["open"][road_row] == [0] * (len(CATEGORIES) + 1)
    assert shown.needs["resolved"][road_row][income] is None
    assert shown.residents[east_row][alone] is None  # one not visited would show
    assert shown.residents[east_row][minor] is None
    assert (shown.residents[road_row][TAGS.index("low_income")], shown.visited[road_row][2]) == (
        5,
        0,
    )
    assert all(not agg.determinable(grid) for grid in shown.needs.values())


def test_a_label_that_may_not_travel_goes_as_a_generic_one(vault: Vault) -> None:
    service = RecordService(vault)
    bad = ["13812345678", "a@b.cn", "张三", "community-1"]
    records: list[Record] = [
        _resident(c, [Vulnerability.MINOR], name="张三") for c in [*bad, "东风社区", "和平里"]
    ]
    records.append(_resident("东风社区", [], name="和平里", archived=True))  # a name too
    service.save_many(records)

    tables = agg.compute(vault, START, END, today=TODAY)

    assert tables.communities == [
        "community-1",
        "community-2",
        "community-3",
        "community-4",
        "community-5",
        "东风社区",
    ]
    assert open_(seal(tables)).tables.communities == tables.communities


def test_a_period_runs_forward_and_has_begun(vault: Vault) -> None:
    with pytest.raises(ValueError):
        agg.compute(vault, END, START, today=TODAY)
    with pytest.raises(ValueError):
        agg.compute(vault, dt.date(2026, 12, 1), dt.date(2026, 12, 31), today=TODAY)


def test_no_personal_data_in_any_payload(vault: Vault) -> None:
    service = RecordService(vault)
    build_demo(service, TODAY, residents=60)
    secrets: set[str] = set()
    for _, doc in vault.iter_records("resident"):
        secrets |= {doc["name"], doc.get("id_number") or "", doc.get("address") or ""}
        secrets |= set(doc.get("phones") or [])
        for member in doc.get("household") or []:
            secrets |= {member["name"], member.get("phone") or ""}
    for _, doc in vault.iter_records("need"):
        secrets.add(doc["description"])
    secrets.discard("")
    assert len(secrets) > 100

    tables = agg.compute(vault, dt.date(2026, 10, 1), TODAY, today=TODAY)
    data = seal(tables)
    text = plaintext(data).decode()
    assert tables.communities and any(
        v for grid in tables.needs.values() for line in grid for v in line
    )
    found = [s for s in secrets if s in text or s.encode() in data]
    assert found == []
    assert open_(data).tables == tables


# ------------------------------------------------------------------ suppression

tables_st = st.integers(1, 6).flatmap(
    lambda rows: st.integers(1, 5).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(0, 12), min_size=cols, max_size=cols),
            min_size=rows,
            max_size=rows,
        )
    )
)


@settings(max_examples=150, deadline=None)
@given(tables_st)
def test_nothing_suppressed_can_be_worked_out(interior: list[list[int]]) -> None:
    grid = grid_of(interior)
    shown = agg.suppress(grid)
    assert agg.determinable(shown) == set()
    for line, published in zip(grid, shown, strict=True):
        for v, p in zip(line, published, strict=True):
            assert p is None if 0 < int(v or 0) < agg.SMALL else p in (None, v)


@settings(max_examples=150, deadline=None)
@given(tables_st, st.randoms(use_true_random=False))
def test_the_graph_and_the_algebra_agree(interior: list[list[int]], rnd: Any) -> None:
    """The bridge test (what suppress and open rely on) finds exactly the cells that
    linear algebra finds determined, on any pattern of suppressed cells."""
    grid = grid_of(interior)
    masked: agg.Grid = [[None if rnd.random() < 0.4 else v for v in line] for line in grid]
    assert agg.exposed(masked) == agg.determinable(masked)


def test_primary_suppression_alone_gives_cells_away() -> None:
    masked = [
        [None if v is not None and 0 < v < 5 else v for v in line]
        for line in grid_of([[3, 6], [7, 8]])
    ]
    assert agg.determinable(masked) == {(0, 0)}
    shown = agg.suppress(grid_of([[3, 6], [7, 8]]))
    assert shown[0][0] is None and sum(v is None for line in shown for v in line) >= 4


def test_visit_cells_hide_small_counts_and_small_differences() -> None:
    residents, visited = agg.suppress_rates([[0, 3, 7, 9, 20]], [[0, 0, 7, 4, 10]])
    assert residents == [[0, None, 7, None, 20]]
    assert visited == [[0, None, 7, None, 10]]
    residents, _ = agg.suppress_rates([[8]], [[5]])  # 3 not visited
    assert residents == [[None]]


# ------------------------------------------------------------------ the bundle


def test_round_trip_and_chain() -> None:
    tables = small_tables()
    first = seal(tables)
    opened = open_(first)
    assert opened.tables == tables and opened.header.period == "2026-11-01/2026-11-30"
    assert opened.digest == digest(first)
    second = seal(tables, seq=2, prev=opened.digest)
    after = Chain(1, opened.digest, {1: opened.digest})
    assert open_(second, chain=lambda _d: after).header.seq == 2


def test_replays_and_out_of_order_are_refused() -> None:
    first = seal(small_tables())
    after = Chain(1, digest(first), {1: digest(first)})
    cases: list[tuple[bytes, type[BundleError]]] = [
        (first, DuplicateBundle),
        (seal(small_tables(communities=["东风社区", "西山"])), SequenceConflict),
        (seal(small_tables(), seq=3, prev=digest(first)), SequenceGap),
        (seal(small_tables(), seq=2, prev="0" * 64), ChainBroken),
    ]
    for data, error in cases:
        with pytest.raises(error) as caught:
            open_(data, chain=lambda _d: after)
        assert caught.value.authentic


def test_wrong_team_unknown_device_forged_signature() -> None:
    data = seal(small_tables())
    with pytest.raises(WrongTeam):
        open_(data, team_id="othercity")
    with pytest.raises(UnknownDevice):
        open_(data, enrolled={})
    forged = seal(small_tables(), device_key=Ed25519PrivateKey.generate())
    with pytest.raises(BadSignature) as caught:
        open_(forged)
    assert not caught.value.authentic


def test_every_truncation_and_every_flipped_byte_is_refused() -> None:
    data = seal(small_tables())
    for n in range(len(data)):
        with pytest.raises(BundleMalformed):
            open_(data[:n])
    _, header_bytes, _, _, _ = agg.read_header(data)
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        with pytest.raises(BundleError) as caught:
            open_(bytes(flipped))
        if i >= 6 + len(header_bytes) + 4:  # the ciphertext and the signature
            assert isinstance(caught.value, BadSignature)
        assert not caught.value.authentic


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.update(note="call her back"), "keys"),
        (lambda p: p["needs"]["open"][0].__setitem__(0, "six"), "counts"),
        (lambda p: p["needs"]["open"][0].__setitem__(0, 6.0), "counts"),
        (lambda p: p["needs"]["open"][0].__setitem__(0, True), "counts"),
        (lambda p: p["needs"]["open"][0].__setitem__(0, -6), "counts"),
        (lambda p: p["residents"][0].__setitem__(0, {"n": 7}), "counts"),
        (lambda p: p["communities"].__setitem__(0, "王芳 13812345678"), "communities"),
        (lambda p: p["communities"].__setitem__(0, "wang@example.cn"), "communities"),
        (lambda p: p["communities"].__setitem__(0, "x" * 41), "communities"),
        (lambda p: p["categories"].__setitem__(0, "gossip"), "enum"),
        (lambda p: p["vulnerabilities"].__setitem__(0, 7), "enum"),
        (lambda p: p["needs"].update(everything=p["needs"]["open"]), "statuses"),
        (lambda p: p["needs"]["open"].pop(), "counts"),
        (lambda p: p["visited"][0].__setitem__(0, 4), "small_count"),
        (lambda p: p["visited"][0].__setitem__(0, None), "small_count"),
        (lambda p: p.update(v=True), "version"),
    ],
)
def test_a_payload_outside_the_schema_is_refused_whole(change: Any, reason: str) -> None:
    payload = payload_of(small_tables())
    change(payload)
    with pytest.raises(AggregateInvalid) as caught:
        open_(seal_unchecked(payload))
    assert caught.value.params["reason"] == reason and caught.value.authentic


def test_small_or_determinable_need_counts_are_refused() -> None:
    payload = payload_of(small_tables())
    payload["needs"]["open"][0][0] = 3
    with pytest.raises(AggregateInvalid, match="small_count"):
        open_(seal_unchecked(payload))
    payload = payload_of(small_tables())
    payload["needs"]["open"][0][0] = None  # 6, and its row's total gives it away
    with pytest.raises(AggregateInvalid, match="determinable"):
        open_(seal_unchecked(payload))


def test_seal_sends_nothing_open_would_refuse() -> None:
    for bad in (
        small_tables(communities=["王芳@家", "Lhasa Road"]),
        small_tables(needs={**small_tables().needs, "open": grid_of([[3] * 11, [0] * 11])}),
        small_tables(residents=[[2] * len(TAGS), [None] * len(TAGS)]),
    ):
        with pytest.raises(ValueError):
            seal(bad)


def test_oversize_is_refused() -> None:
    with pytest.raises(BundleTooLarge):
        open_(b"FAG1" + bytes(agg.MAX_BUNDLE))
    with pytest.raises(BundleTooLarge):
        open_(seal_unchecked(payload_of(small_tables()), raw=agg.MAX_RAW + 1))
    with pytest.raises(BundleTooLarge):  # a header that understates what inflates
        open_(seal_unchecked(payload_of(small_tables()), raw=100))
    rows = agg.MAX_COMMUNITIES + 1
    many = small_tables(
        communities=[f"社区{i}" for i in range(rows)],
        needs={s: grid_of([[0] * len(CATEGORIES)] * rows) for s in STATUSES},
        residents=[[0] * len(TAGS)] * rows,
        visited=[[0] * len(TAGS)] * rows,
    )
    with pytest.raises(AggregateInvalid, match="communities"):
        open_(seal_unchecked(payload_of_unchecked(many)))


def test_the_largest_payload_the_schema_admits_fits_its_limit() -> None:
    """MAX_RAW is derived from the schema's caps: the widest labels and counts fit."""
    rows, big = agg.MAX_COMMUNITIES, agg.MAX_COUNT - 1
    names = [
        "藏" * 36 + "".join(chr(65 + (i // 26**k) % 26) for k in range(4)) for i in range(rows)
    ]
    widest = small_tables(
        communities=names,
        needs={s: [[big] * (len(CATEGORIES) + 1)] * (rows + 1) for s in STATUSES},
        residents=[[big] * len(TAGS)] * rows,
        visited=[[big] * len(TAGS)] * rows,
    )
    data = seal(widest)
    assert len(plaintext(data)) <= agg.MAX_RAW
    assert open_(data).tables.communities == names


def payload_of_unchecked(tables: agg.AggregateTables) -> dict[str, Any]:
    """The payload of ``tables`` as the format lays it out, unchecked."""
    return {
        "v": 1,
        "communities": tables.communities,
        "categories": tables.categories,
        "needs": tables.needs,
        "vulnerabilities": tables.vulnerabilities,
        "residents": tables.residents,
        "visited": tables.visited,
    }


# ------------------------------------------------------------------ fuzz

VALID = seal(small_tables())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600) | st.binary(max_size=200).map(lambda b: b"FAG1" + b))
def test_random_bytes_only_raise_typed_errors(data: bytes) -> None:
    with pytest.raises(BundleError):
        open_(data)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255), st.sampled_from("sid")),
        min_size=1,
        max_size=4,
    )
)
def test_mutations_only_raise_typed_errors(edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(VALID)
    for at, byte, how in edits:
        at = min(at, len(data) - 1)
        if how == "s":
            data[at] = byte
        elif how == "i":
            data.insert(at, byte)
        else:
            del data[at]
    if bytes(data) == VALID:
        assert open_(bytes(data)).tables == small_tables()
        return
    with pytest.raises(BundleError):
        open_(bytes(data))
