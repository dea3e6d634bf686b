"""Hostile input to a supervisor's vault (issue 11): one enrolled device's keys, a USB
stick anyone can write to. Every refusal changes nothing, the vault always opens again,
and every view runs on what was let in."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ids import is_record_id
from fieldapp.domain.ops import Op, make_op_id
from fieldapp.errors import CommitRefused
from fieldapp.services import export, schedule, supervision
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault, fold, limits, writing
from sync import hubsync, merge
from sync.bundle import MAX_VALUE, seal
from sync.merge import Merger
from sync.sources import merge_sources
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.test_merge import Device, supervisor

RID = "019a0000-0000-7000-8000-0000000000a1"
NID = "019a0000-0000-7000-8000-0000000000b1"


class Hostile(Device):
    """An enrolled device that writes whatever it likes into its signed bundles."""

    def raw(self, kind: str, rid: str, field: str, value: object, base: str | None = None) -> Op:
        self.hlc = max(self.hlc, int(T0.timestamp() * 1000) << 16) + (1 << 8)
        op = Op(make_op_id(self.hlc, self.id), kind, rid, field, value, self.hlc, self.id, base)
        self.ops.append(op)
        self.saves.append([op])
        return op

    def resident(self, rid: str = RID, **fields: object) -> None:
        save = [
            self.raw("resident", rid, "name", "张三"),
            self.raw("resident", rid, "community", "史家社区"),
        ]
        save += [self.raw("resident", rid, k, v) for k, v in fields.items()]
        del self.saves[-len(save) :]
        self.saves.append(save)

    sent = 0  # saves already in a bundle
    seq = 0
    prev = ""

    def next_bundle(self, secrets: object) -> bytes:
        """Everything saved since the last one, as the next bundle of the chain."""
        from sync.bundle import digest

        ops = [op for save in self.saves[self.sent :] for op in save]
        self.sent, self.seq = len(self.saves), self.seq + 1
        data = seal(
            ops,
            team_id="team0001",
            team_key=secrets.enc_key.public_key(),  # type: ignore[attr-defined]
            device_id=self.id,
            sign_key=self.key,
            seq=self.seq,
            prev=self.prev,
        )
        self.prev = digest(data)
        return data


@pytest.fixture
def team_vault(tmp_path: Path):  # type: ignore[no-untyped-def]
    from sync import team

    device = Hostile(7)
    secrets = team.TeamSecrets.generate("team0001", "督导")
    v = supervisor(tmp_path / "sup", secrets.to_json(), [device])
    v.close(compact=False)
    v = Vault.open(tmp_path / "sup", PASSPHRASE, clock=FixedClock(T0))
    yield v, device, secrets
    v.close(compact=False)


def reopen(v: Vault, *, compact: bool) -> Vault:
    path = v.path
    v.close(compact=compact)
    return Vault.open(path, PASSPHRASE, clock=FixedClock(T0))


def every_view_runs(v: Vault) -> None:
    """Today, the residents list, each file, the team report, overdue, every export."""
    ws = Workspace(v)
    ws.build_index()
    ws.today_summary()
    ws.find_residents("")
    for rid, _ in v.iter_records("resident"):
        try:
            ws.resident_file(rid)
        except Exception as exc:  # only the typed, translated refusal is allowed
            from fieldapp.errors import RecordDamaged

            assert isinstance(exc, RecordDamaged), exc
        ws.history(rid)
    supervision.team_report(v, T0.date())
    supervision.needs_per_week(v, T0.date())
    supervision.needs_by_category(v)
    schedule.overdue(v, T0.date())
    for rid in merge.conflicts(v):
        supervision.field_conflicts(v, rid)
    supervision.quarantine(v)
    out = v.path.parent / "exports"
    out.mkdir(exist_ok=True)
    from fieldapp.domain import RecordKind

    for kind in RecordKind:
        export.export_kind(v, kind, out / f"{kind.value}.csv", redact=True)
    export.export_summary(v, out / "summary.xlsx", T0.date())


def state(v: Vault) -> dict[str, object]:
    return {
        kind: {rid: doc for rid, doc in v.iter_records(kind, include_deleted=True)}
        for kind in ("resident", "need", "visit", "interview", "case_plan")
    }


# ---------------------------------------------------------------- 1. names and values


@pytest.mark.parametrize(
    "field, value",
    [
        ("_resolved_x;y", ["0000010000000100-0000000000000007"]),  # the brick of issue 11
        ("_resolved_name;", ["0000010000000100-0000000000000007"]),
        ("_resolved_nope", ["0000010000000100-0000000000000007"]),  # not a model field
        ("_resolved_name", ["ok\x00", "\x1b[2J", "\u2028"]),  # control characters
        ("_resolved_name", ["0000010000000100-0000000000000007\n"]),  # $ would take it
        ("_resolved_name", [f"{i:016x}-0000000000000007" for i in range(100)]),  # too many
        ("_resolved_name", []),
        ("_resolved_name", "0000010000000100-0000000000000007"),
        ("name=x", "张三"),
        ("na;me", "张三"),
        ("__class__", "x"),
        ("", "x"),
    ],
)
def test_only_model_fields_and_strict_reserved_names_enter(
    team_vault, field: str, value: object
) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.resident()
    assert Merger(v).receive(device.next_bundle(secrets))[0].kind == "applied"
    before = state(v)
    device.raw("resident", RID, field, value)
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "quarantined", outcome
    assert outcome.reason is not None and outcome.reason.render("zh_CN")
    assert state(v) == before
    # The vault compacts and opens; every view runs; the ordinary ops merge on.
    v = reopen(v, compact=True)
    assert state(v) == before and merge.chain_of(v, device.id).last_seq == 1
    every_view_runs(v)
    honest = Hostile(7)
    honest.key, honest.seq, honest.prev, honest.hlc = (
        device.key,
        1,
        merge.chain_of(v, device.id).last_digest,
        device.hlc,
    )
    honest.raw("resident", RID, "notes", "之后")
    assert Merger(v).receive(honest.next_bundle(secrets))[0].kind == "applied"
    assert v.get(RID)["notes"] == "之后"  # type: ignore[index]
    v.close(compact=True)


def test_the_vault_itself_refuses_what_it_could_not_read_back(vault: Vault) -> None:
    rid = "019a0000-0000-7000-8000-0000000000c1"
    hlc = 1 << 60
    for field, value in (
        ("a;b", "x"),
        ("é", "x"),
        ("ok", float("nan")),
        ("ok", float("inf")),
        ("ok", 2**70),
        ("ok", "\ud800"),
        ("ok", {1: "x"}),
        ("ok", [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
    ):
        with pytest.raises(CommitRefused) as info:
            vault.commit_ops(
                [Op(make_op_id(hlc, "d1"), "resident", rid, field, value, hlc, "d1", None)]
            )
        assert info.value.render("en") and info.value.render("zh_CN")
        with pytest.raises(CommitRefused):
            vault.commit([Change("resident", rid, {field: value})])
    assert vault.get(rid) is None and vault.hlc.last < hlc


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([f"019a0000-0000-7000-8000-{i:012d}" for i in range(3)]),
            st.text(min_size=0, max_size=12),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers()
                | st.floats(allow_nan=True, allow_infinity=True)
                | st.text(),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=8,
            ),
        ),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_whatever_a_commit_accepts_opens_back_identically(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[str, str, object]], compact: bool
) -> None:
    path = tmp_path_factory.mktemp("v") / "v"
    v, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(T0))
    accepted: dict[str, dict[str, object]] = {}
    hlc = 1 << 50
    for rid, field, value in edits:
        hlc += 1
        op = Op(make_op_id(hlc, "dev1"), "resident", rid, field, value, hlc, "dev1", None)
        try:
            v.commit_ops([op])
        except CommitRefused:
            continue
        accepted.setdefault(rid, {})[field] = value
    assert dict(state(v)["resident"]) == accepted  # type: ignore[arg-type]
    expected = orjson.dumps(state(v), option=orjson.OPT_SORT_KEYS)
    v = reopen(v, compact=compact)
    assert orjson.dumps(state(v), option=orjson.OPT_SORT_KEYS) == expected
    v = reopen(v, compact=not compact)
    assert orjson.dumps(state(v), option=orjson.OPT_SORT_KEYS) == expected
    v.close(compact=False)


@given(
    st.dictionaries(
        st.text(max_size=20), st.tuples(st.integers(0, 2**62), st.integers(0, 10**6)), max_size=8
    )
)
def test_packed_stamps_round_trip_whatever_the_names(stamps: dict[str, tuple[int, int]]) -> None:
    packed = fold.pack_stamps({k: list(v) for k, v in stamps.items()})
    assert fold.unpack_stamps(packed) == {k: list(v) for k, v in stamps.items()}
    # One field read in place is what unpacking gives, whatever the other names hold
    # (";", ":", digits, a name ending in another's): and a name not there is None.
    for name, stamp in stamps.items():
        assert fold.find_stamp(packed, name) == stamp
        for other in (name + ";", "1:" + name, name[1:]):
            if other not in stamps:
                assert fold.find_stamp(packed, other) is None


def test_a_version_1_stamp_string_broken_by_a_name_is_read_around() -> None:
    stamps, bad = fold.unpack_stamps_v1("name=1a.0;_resolved_x;y=2b.1;notes=3c.0")
    assert stamps == {"name": [0x1A, 0], "y": [0x2B, 1], "notes": [0x3C, 0]} and bad == 1


# ---------------------------------------------------------------- 2. limits


def test_the_limits_follow_from_the_vaults_frame() -> None:
    from sync import bundle, outbox

    assert bundle.MAX_RAW + bundle.MAX_OPS * bundle.ROW_EXTRA + bundle.KV_HEADROOM <= (
        limits.MAX_PAYLOAD
    )
    assert outbox.MAX_BYTES_PER_BUNDLE < bundle.MAX_RAW and bundle.MAX_VALUE == limits.MAX_VALUE
    # A merged bundle's quarantined or held copy (base64) still fits one frame.
    assert bundle.MAX_BUNDLE * 4 // 3 + 64 * 1024 < limits.MAX_PAYLOAD


def test_one_huge_value_is_refused_by_the_merge_and_by_a_local_save(
    team_vault, vault: Vault
) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.resident(notes="短")
    device.raw("resident", RID, "tags", ["x"] * 880_000)  # the 240 KB bundle of issue 11
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "quarantined" and v.get(RID) is None
    big = "字" * (MAX_VALUE // 3 + 10)
    with pytest.raises(CommitRefused):
        vault.commit([Change("resident", RID, {"notes": big})])


def test_a_commit_too_large_for_one_frame_is_refused_and_the_bundle_quarantined(
    team_vault, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    for i in range(40):
        device.resident(f"019a0000-0000-7000-8000-{i:012d}", notes="备注" * 500)
    monkeypatch.setattr(writing, "MAX_PAYLOAD", 64 * 1024)  # a frame as open() allows
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "quarantined"
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.too_large_to_apply"
    assert v.count("resident") == 0
    v = reopen(v, compact=False)
    assert v.count("resident") == 0 and supervision.quarantine(v)
    v.close(compact=False)


# ---------------------------------------------------------------- 3. records as they stand


@pytest.mark.parametrize(
    "extra, stored",
    [
        ({"birth_year": "1950"}, {"birth_year": 1950}),  # lax input, normalised value stored
        ({"birth_date": "1950-03-04", "birth_year": 1950.0}, {"birth_year": 1950}),
        ({"phones": ["138 0013 8000"]}, {"phones": ["13800138000"]}),
    ],
)
def test_the_value_stored_is_the_value_validated(team_vault, extra, stored) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.resident(**extra)
    assert Merger(v).receive(device.next_bundle(secrets))[0].kind == "applied"
    doc = v.get(RID)
    assert doc is not None and {k: doc[k] for k in stored} == stored
    every_view_runs(v)


def _need(device: Hostile, **fields: object) -> None:
    base = {"resident_id": RID, "category": "housing", "description": "屋顶漏雨"} | fields
    save = [device.raw("need", NID, k, val) for k, val in base.items()]
    del device.saves[-len(save) :]
    device.saves.append(save)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: _need(d, status="resolved", status_note=""),  # resolved without a note
        lambda d: _need(d, due_date="2020-01-01", opened_on="2026-11-01"),  # due before opened
        lambda d: d.resident("019a0000-0000-7000-8000-0000000000a2", birth_date="2999-01-01"),
        lambda d: d.resident(
            "019a0000-0000-7000-8000-0000000000a3", birth_year=1950, birth_date="1960-01-01"
        ),
        lambda d: d.raw(
            "visit", "019a0000-0000-7000-8000-0000000000d1", "duration_minutes", "thirty"
        ),
        lambda d: d.raw("visit", "019a0000-0000-7000-8000-0000000000d1", "started_at", [1, 2]),
    ],
)
def test_a_record_that_would_not_stand_is_refused_whole(team_vault, make) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.resident()
    assert Merger(v).receive(device.next_bundle(secrets))[0].kind == "applied"
    before = state(v)
    make(device)
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "quarantined", outcome
    assert outcome.reason is not None and type(outcome.reason).__name__ == "OpInvalid"
    assert state(v) == before
    every_view_runs(v)


def test_a_new_record_with_only_notes_waits_and_is_never_applied(team_vault) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.raw("resident", RID, "notes", "只有备注")
    merger = Merger(v)
    [outcome] = merger.receive(device.next_bundle(secrets))
    assert outcome.kind == "held" and outcome.reason is not None
    assert outcome.reason.msg_id == "bundle.incomplete"
    assert "…" in outcome.reason.render("en") and outcome.reason.render("zh_CN")
    assert merger.settle() == []  # nothing completes it
    assert v.get(RID) is None and v.meta_keys(merge.WAITING)
    every_view_runs(v)


def test_a_need_without_its_optional_fields_reads_with_the_defaults(team_vault) -> None:  # type: ignore[no-untyped-def]
    """An older fieldapp's need (no status field) is the model's default: open."""
    v, device, secrets = team_vault
    device.resident()
    _need(device)
    assert Merger(v).receive(device.next_bundle(secrets))[0].kind == "applied"
    summary = Workspace(v).today_summary()
    assert summary.needs_open == 1 and Workspace(v).resident_file(RID).needs[0].status == "open"  # type: ignore[union-attr]
    every_view_runs(v)


def test_damaged_records_already_stored_never_stop_a_view(team_vault) -> None:  # type: ignore[no-untyped-def]
    """What an older merge let in: every view still runs, the file shows them damaged."""
    v, device, secrets = team_vault
    device.resident(cadence=[{"activity": "home_visit", "every_days": 30}])
    assert Merger(v).receive(device.next_bundle(secrets))[0].kind == "applied"
    hlc = 1 << 58
    junk = [
        ("need", NID, {"resident_id": RID, "status": "resolved", "due_date": "bad"}),
        ("visit", "019a0000-0000-7000-8000-0000000000d2", {"resident_id": RID, "started_at": 3}),
        (
            "interview",
            "019a0000-0000-7000-8000-0000000000e2",
            {"resident_ids": "x", "held_on": "no"},
        ),
    ]
    ops = []
    for kind, rid, fields in junk:
        for name, value in fields.items():
            hlc += 1
            ops.append(Op(make_op_id(hlc, "old"), kind, rid, name, value, hlc, "old", None))
    v.commit_ops(ops)  # as an old merge did, past every check
    every_view_runs(v)
    file = Workspace(v).resident_file(RID)
    assert file is not None and {d.kind for d in file.damaged} == {"need", "visit"}


# ---------------------------------------------------------------- 4. the stick


def test_a_hostile_stick_cannot_stop_the_good_bundle_beside_it(team_vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.resident()
    good = device.next_bundle(secrets)
    stick = tmp_path / "stick"
    (stick / "fieldapp").mkdir(parents=True)
    (stick / "fieldapp" / "good.fbundle").write_bytes(good)
    os.symlink("/etc/passwd", stick / "fieldapp" / "passwd.fbundle")
    os.symlink("/dev/zero", stick / "fieldapp" / "zero.fbundle")
    os.symlink(stick / "nowhere", stick / "fieldapp" / "dangling.fbundle")
    os.mkfifo(stick / "fieldapp" / "pipe.fbundle")
    (stick / "fieldapp" / "dir.fbundle").mkdir()
    os.symlink("/etc", stick / "fieldapp" / "etc")  # a linked folder is not entered
    gbk = os.fsencode(stick / "fieldapp") + b"/" + "社工".encode("gbk")
    os.mkdir(gbk)
    with open(gbk + b"/\xc9\xe7.fbundle", "wb") as f:  # a name that is not UTF-8
        f.write(b"FBN1 junk")
    summary = merge_sources(v, [stick])
    kinds = sorted(o.kind for o in summary.outcomes)
    assert kinds == ["applied"] + ["quarantined"] * 6, [
        (o.kind, o.source) for o in summary.outcomes
    ]
    assert v.get(RID) is not None
    kept = b"".join(orjson.dumps(v.get_meta(k)) for k in v.meta_keys(merge.QUARANTINE))
    assert b"root:" not in kept and b"cm9vdD" not in kept  # /etc/passwd, plain or base64
    sources = [q.source for q in supervision.quarantine(v)]
    assert any("\\x" in s for s in sources)  # shown, escaped
    orjson.dumps(sources)  # and storable
    v = reopen(v, compact=True)
    every_view_runs(v)
    v.close(compact=False)


def test_merging_a_path_that_does_not_exist_merges_nothing(team_vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fieldapp.errors import SourceNotFound

    v, device, secrets = team_vault
    device.resident()
    (tmp_path / "ok.fbundle").write_bytes(device.next_bundle(secrets))
    with pytest.raises(SourceNotFound) as info:
        merge_sources(v, [tmp_path / "ok.fbundle", tmp_path / "missing"])
    assert "missing" in info.value.render("en") and info.value.render("zh_CN")
    assert v.get(RID) is None


# ---------------------------------------------------------------- 5. quarantine


def test_junk_on_a_stick_keeps_the_vault_small_and_the_quarantine_bounded(
    team_vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    v, _, _ = team_vault
    monkeypatch.setattr(merge, "QUARANTINE_MAX", 20)
    stick = tmp_path / "stick"
    stick.mkdir()
    for i in range(30):
        (stick / f"junk{i:03d}.fbundle").write_bytes(os.urandom(1 << 20))  # 1 MiB each
    summary = merge_sources(v, [stick])
    assert summary.count("quarantined") == 30
    entries = v.meta_keys(merge.QUARANTINE)
    assert len(entries) == 20
    assert all(len(v.get_meta(k)["data"]) <= merge.QUARANTINE_KEEP * 4 // 3 + 4 for k in entries)
    assert v.get_meta(merge.QUARANTINE_TALLY)["count"] == 10
    assert merge_sources(v, [stick]).count("quarantined") == 30  # again: nothing grows
    assert len(v.meta_keys(merge.QUARANTINE)) == 20
    v.close(compact=True)
    size = sum(f.stat().st_size for f in v.path.iterdir())
    assert size < 1024 * 1024, size  # 30 MiB of junk, under 1 MiB kept


def test_a_signed_refusal_is_kept_whole_within_the_quota(team_vault) -> None:  # type: ignore[no-untyped-def]
    v, device, secrets = team_vault
    device.resident(birth_date="2999-01-01")
    data = device.next_bundle(secrets)
    [outcome] = Merger(v).receive(data)
    assert outcome.kind == "quarantined"
    [entry] = [v.get_meta(k) for k in v.meta_keys(merge.QUARANTINE)]
    assert entry["authentic"] and entry["kept"] == len(data) == entry["size"]


# ---------------------------------------------------------------- 7. revoked, merged again


def test_a_stick_merged_again_after_a_revocation_is_all_duplicates(
    team_vault, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from sync import team

    v, device, secrets = team_vault
    device.resident()
    (tmp_path / "1.fbundle").write_bytes(device.next_bundle(secrets))
    assert merge_sources(v, [tmp_path]).count("applied") == 1
    team.revoke(v, device.id)
    again = merge_sources(v, [tmp_path])
    assert [o.kind for o in again.outcomes] == ["duplicate"]
    device.raw("resident", RID, "notes", "撤销后")
    (tmp_path / "2.fbundle").write_bytes(device.next_bundle(secrets))
    kinds = sorted(o.kind for o in merge_sources(v, [tmp_path]).outcomes)
    assert kinds == ["duplicate", "quarantined"]  # a new one from a revoked device: refused


# ---------------------------------------------------------------- 10. ids matched whole


def test_ids_and_hub_keys_are_matched_whole() -> None:
    assert is_record_id(RID) and not is_record_id(RID + "\n") and not is_record_id(" " + RID)
    assert hubsync._parse("inbox/dev1/00000001.fbundle") == ("dev1", 1)
    assert hubsync._parse("inbox/dev1/00000001.fbundle\n") is None


def test_a_stick_entry_that_is_not_a_regular_file_is_never_opened(tmp_path: Path) -> None:
    from fieldapp.store import fsio

    os.mkfifo(tmp_path / "p.fbundle")
    os.symlink("/dev/zero", tmp_path / "z.fbundle")
    (tmp_path / "f.fbundle").write_bytes(b"x" * 100)
    found = {e.path.name: e.problem for e in fsio.find_files(tmp_path, ".fbundle")}
    assert found == {"p.fbundle": "not_regular", "z.fbundle": "link", "f.fbundle": None}
    with pytest.raises(fsio.NotRegularFile):
        fsio.read_regular(tmp_path / "p.fbundle", 10)  # no hang
    with pytest.raises(OSError):
        fsio.read_regular(tmp_path / "z.fbundle", 10)  # no endless read
    assert len(fsio.read_regular(tmp_path / "f.fbundle", 10)) == 11  # bounded: limit + 1
    assert stat.S_ISFIFO(os.lstat(tmp_path / "p.fbundle").st_mode)


def test_a_worker_writing_to_a_hostile_stick_is_never_led_elsewhere(tmp_path: Path) -> None:
    from fieldapp.errors import TransportError
    from sync.transports.folder import FolderTransport

    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(elsewhere, linked / "fieldapp")  # the stick's folder leads off the stick
    with pytest.raises(TransportError):
        FolderTransport(linked).put("team/dev/00000001.fbundle", b"bundle")
    assert list(elsewhere.iterdir()) == []
    stick = FolderTransport(tmp_path / "stick")
    target = tmp_path / "stick" / "fieldapp" / "team" / "dev"
    target.mkdir(parents=True)
    os.symlink("/dev/zero", target / "00000001.fbundle")  # where the bundle would go
    os.mkfifo(target / "00000002.fbundle")
    for seq in (1, 2):
        with pytest.raises(TransportError):  # refused, no endless read, no hang
            stick.put(f"team/dev/{seq:08d}.fbundle", b"bundle")
        with pytest.raises(TransportError):
            stick.get(f"team/dev/{seq:08d}.fbundle")
    assert stick.list() == []
    (target / ".x.tmp").write_bytes(b"half")
    os.symlink("/etc/hostname", target / ".y.tmp")
    assert stick.clean_temp() == 1 and Path("/etc/hostname").exists()


def test_a_merged_value_typed_in_the_conflict_review_is_validated(team_vault) -> None:  # type: ignore[no-untyped-def]
    from fieldapp.errors import RecordInvalid

    v, device, secrets = team_vault
    device.resident()
    assert Merger(v).receive(device.next_bundle(secrets))[0].kind == "applied"
    conflict = supervision.FieldConflict(RID, "resident", "name", [])
    with pytest.raises(RecordInvalid) as info:
        supervision.resolve(v, conflict, "名" * 51)  # a name has at most 50 characters
    assert info.value.render("zh_CN")
    with pytest.raises(RecordInvalid):
        supervision.resolve(v, conflict, "\x1b[31m张三")
    supervision.resolve(v, conflict, "  张三丰  ")
    assert v.get(RID)["name"] == "张三丰"  # type: ignore[index]  # stored as validated
