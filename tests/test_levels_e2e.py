"""Three levels end to end (issue 15): workers → two streets → district (records) → city
(aggregates), by USB stick, with overlapping and conflicting edits and feedback flowing
down each level. Every level ends holding what it may see; the city holds numbers only,
scanned for every name, phone, ID number and address of the source vaults."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.enums import NoteAction, NoteStatus
from fieldapp.errors import CardError
from fieldapp.services import assignments
from fieldapp.services.demo import build_demo
from fieldapp.services.records import RecordService
from fieldapp.store import Change, Vault
from sync import counts, downward, levels, merge, outbox, scope, team
from sync.sources import merge_sources
from sync.transports.folder import FolderTransport
from tests.test_levels import Office, join, office

TODAY = dt.date(2026, 11, 29)


def stick_round(worker: Vault, street: Vault, stick: Path) -> None:
    """A worker's stick sync with its street: up, merged, and the street's replies taken."""
    outbox.sync_to(worker, FolderTransport(stick))
    merge_sources(street, [stick])  # the street's scope cut runs after the merge
    downward.deliver(street, FolderTransport(stick), downward.STICK_PREFIX)
    downward.fetch(worker, FolderTransport(stick), downward.STICK_PREFIX)


def personal_values(vault: Vault) -> set[str]:
    """Every name, phone, ID number and address a vault holds (residents, household)."""
    out: set[str] = set()
    for _, doc in vault.iter_records("resident", include_deleted=True):
        out |= {doc.get("name"), doc.get("id_number"), doc.get("address")}
        out |= set(doc.get("phones") or [])
        for member in doc.get("household") or []:
            out |= {member.get("name"), member.get("phone")}
    return {v for v in out if isinstance(v, str) and len(v) >= 2}


def everything_in(vault: Vault) -> str:
    """Every record and every stored value of a vault, as text (what it holds in plain)."""
    parts: list[Any] = [vault.get_meta(k) for k in vault.meta_keys()]
    for kind in ("resident", "need", "visit", "interview", "plan", "note", "assignment"):
        parts += [doc for _, doc in vault.iter_records(kind, include_deleted=True)]
    return json.dumps(parts, ensure_ascii=False, default=str)


def test_workers_streets_district_city(tmp_path: Path) -> None:
    clock = FixedClock(dt.datetime.combine(TODAY, dt.time(9)))
    district = office(tmp_path, clock, "城关区", [])
    city = office(tmp_path, clock, "拉萨市", [])
    streets: list[Office] = [
        office(tmp_path, clock, "八廓街道", ["卓玛", "扎西"]),
        office(tmp_path, clock, "吉日街道", ["次仁"]),
    ]
    for street in streets:
        join(street.sup, district.sup)
    join(district.sup, city.sup, team.AGGREGATES)
    city_card = team.team_secrets(city.sup)
    assert city_card is not None
    levels.join_upper(district.sup, city_card.code(), "城关区", flow=team.AGGREGATES)
    vaults = [district.sup, city.sup] + [v for s in streets for v in (s.sup, *s.workers.values())]
    try:
        # Each worker registers residents (names, phones, ID numbers, addresses, needs,
        # visits); each street assigns them to the worker who registered them.
        sticks = {s.sup.device_id: tmp_path / f"stick-{i}" for i, s in enumerate(streets)}
        for n, street in enumerate(streets):
            for m, worker in enumerate(street.workers.values()):
                build_demo(RecordService(worker), TODAY, residents=14, seed=10 * n + m)
                stick = sticks[street.sup.device_id]
                stick_round(worker, street.sup, stick)
                for rid, _ in worker.iter_records("resident"):
                    assignments.assign(street.sup, rid, worker.device_id)
        # Overlap: one of 卓玛's residents shared with 扎西, both edit the same field.
        first = streets[0]
        zhuoma, tashi = first.workers["卓玛"], first.workers["扎西"]
        shared = sorted(rid for rid, _ in zhuoma.iter_records("resident"))[0]
        assignments.assign(first.sup, shared, zhuoma.device_id)
        from fieldapp.services.assignments import share

        share(first.sup, shared, tashi.device_id)
        stick = sticks[first.sup.device_id]
        for worker in (zhuoma, tashi):
            stick_round(worker, first.sup, stick)
        assert tashi.get(shared) is not None
        clock.advance(3600)
        zhuoma.commit([Change("resident", shared, {"address": "八廓北街 1 号"})])
        tashi.commit([Change("resident", shared, {"address": "八廓北街 2 号"})])
        for worker in (zhuoma, tashi):
            stick_round(worker, first.sup, stick)
        assert merge.conflicts(first.sup).get(shared) == ["address"]

        # Up to the district (records), by the streets' sticks.
        up_stick = tmp_path / "district-stick"
        for street in streets:
            result = levels.forward(street.sup, FolderTransport(up_stick))
            assert result.failure is None and result.pending == 0
        merged = merge_sources(district.sup, [up_stick])
        assert merged.count("quarantined") == 0 and merged.count("held") == 0
        assert merge.conflicts(district.sup).get(shared) == ["address"]  # both sides here

        # Feedback down: the district asks 卓玛's street to explain; it reaches 卓玛 only.
        note = RecordService(district.sup).write_note(
            shared, NoteAction.EXPLAIN, "两个地址哪个对？", due_date=TODAY + dt.timedelta(days=7)
        )
        scope.cut(district.sup)
        downward.deliver(district.sup, FolderTransport(up_stick), downward.STICK_PREFIX)
        for street in streets:
            levels.fetch(street.sup, FolderTransport(up_stick), downward.STICK_PREFIX)
        assert first.sup.get(note.id) is not None and streets[1].sup.get(note.id) is None
        scope.cut(first.sup)  # on to the holders of that file: 卓玛 and 扎西 (shared)
        for worker in (zhuoma, tashi):
            stick_round(worker, first.sup, stick)
        assert zhuoma.get(note.id)["text"] == "两个地址哪个对？"
        assert streets[1].workers["次仁"].get(note.id) is None
        # The answer goes back up both levels.
        RecordService(zhuoma).set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
        stick_round(zhuoma, first.sup, stick)
        levels.forward(first.sup, FolderTransport(up_stick))
        merge_sources(district.sup, [up_stick])
        assert district.sup.get(note.id)["status"] == "acknowledged"

        # Every level holds what it may see.
        for street in streets:
            for rid, doc in street.sup.iter_records("resident"):
                assert district.sup.get(rid) == doc  # the district: every street's files
            for worker in street.workers.values():
                held = scope.scope_of(street.sup, worker.device_id)
                assert {rid for rid, _ in worker.iter_records("resident")} == held
        other = {rid for rid, _ in streets[1].sup.iter_records("resident")}
        assert not other & {rid for rid, _ in first.sup.iter_records("resident")}

        # Up to the city: counts only.
        city_stick = tmp_path / "city-stick"
        counts.cut(district.sup, dt.date(2026, 1, 1), dt.date(2026, 11, 30))  # the year so far
        assert counts.deliver(district.sup, FolderTransport(city_stick)).pending == 0
        # Records are not the city's: the district's level cut refuses to make them.
        with pytest.raises(CardError):
            levels.cut(district.sup)
        at_city = merge_sources(city.sup, [city_stick])
        assert [o.kind for o in at_city.outcomes] == ["applied"]
        got = counts.received(city.sup)[district.sup.device_id]["2026-01-01/2026-11-30"]
        tables = got["tables"]
        assert tables["communities"] and tables["needs"]
        assert city.sup.count() == 0  # no record at all
        # The city's view: the district's row, its counts from the tables received.
        from fieldapp.services.supervision import team_report

        (row,) = team_report(city.sup, TODAY)
        corners = {status: grid[-1][-1] for status, grid in tables["needs"].items()}
        assert row.flow == team.AGGREGATES and row.bundles == 1 and row.last_at
        assert row.needs_listed == sum(v or 0 for v in corners.values()) > 0
        assert row.residents == 0 and row.office == ""
        # The scan: nothing personal of any source vault in the city's vault or payloads.
        secrets_everywhere = set()
        for vault in vaults:
            secrets_everywhere |= personal_values(vault)
        assert len(secrets_everywhere) > 100
        # (the scan sees them where they are: the district holds every one of them)
        at_district = everything_in(district.sup)
        assert all(value in at_district for value in secrets_everywhere)
        held = everything_in(city.sup)
        payload = orjson.dumps(tables).decode()
        for value in secrets_everywhere:
            assert value not in held, value
            assert value not in payload, value
        # The stick the city read holds the same bundle only (encrypted): nothing in plain.
        raw = b"".join(p.read_bytes() for p in city_stick.rglob("*") if p.is_file())
        for value in secrets_everywhere:
            assert value.encode() not in raw
    finally:
        for vault in vaults:
            vault.close(compact=False)
