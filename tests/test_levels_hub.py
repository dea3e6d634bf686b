"""Levels over a real hub (SeaweedFS, ``weed mini``): a street forwards its team's records
to the district's hub with the credentials sealed in its device card, the district
fetches and merges them and leaves its feedback in the street's outbox there, which the
street takes. Marked ``hub``: the real clock (tests/hubfix.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.domain.enums import NoteAction
from fieldapp.services.records import RecordService
from fieldapp.store import Change, Vault
from sync import downward, hubsync, levels, scope, team
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.hubfix import CLOCK, Team, make_team

pytestmark = pytest.mark.hub


@pytest.fixture
def district(tmp_path: Path) -> Iterator[tuple[Team, Vault, str]]:
    """The district's team with its hub (started), and a street enrolled for records."""
    t = make_team(tmp_path, workers=0)
    street, _ = Vault.create(tmp_path / "street", PASSPHRASE, kdf=FAST_KDF, clock=CLOCK)
    street_team = team.create_team(street, "八廓街道")
    worker, _ = Vault.create(tmp_path / "worker", PASSPHRASE, kdf=FAST_KDF, clock=CLOCK)
    _, worker_code = team.join(worker, street_team.code(), "卓玛")
    team.enrol(street, worker_code)
    worker.close(compact=False)
    secrets = team.team_secrets(t.sup)
    assert secrets is not None
    _, code = levels.join_upper(street, secrets.code(), "八廓街道")
    team.enrol(t.sup, code, team.RECORDS)
    t.start_hub()
    yield t, street, worker.device_id
    t.stop_hub()
    for vault in (t.sup, street):
        vault.close(compact=False)


def test_a_street_forwards_by_the_districts_hub_and_takes_its_feedback(
    district: tuple[Team, Vault, str],
) -> None:
    t, street, worker = district
    from fieldapp.domain.ids import new_id

    rid = new_id()
    street.commit([Change("resident", rid, {"name": "格桑", "community": "八廓社区"})])
    up = levels.upper_transport(street, sleep=lambda s: None)
    result = levels.forward(street, up)
    assert result.failure is None and result.delivered == [1] and result.pending == 0
    fetched = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert fetched.outcomes and {o.kind for o in fetched.outcomes} == {"applied"}
    assert t.sup.get(rid) == street.get(rid)
    # The district's "please explain" goes down to the street's outbox on the hub.
    from fieldapp.services import assignments

    # Held by the street's worker: so in the district's scope for the street.
    assignments.assign(street, rid, worker)
    again = levels.forward(street, up)
    assert again.delivered == [2], again
    fetched = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert [o.kind for o in fetched.outcomes] == ["applied"], fetched
    note = RecordService(t.sup).write_note(rid, NoteAction.EXPLAIN, "请说明情况")
    cut = scope.cut(t.sup)
    assert cut.bundles.get(street.device_id) == 1
    delivered = downward.deliver(t.sup, t.supervisor_transport(), downward.HUB_PREFIX)
    assert delivered.failure is None and delivered.pending == 0
    received = levels.fetch(street, up, downward.HUB_PREFIX)
    assert [o.kind for o in received.outcomes] == ["applied"]
    assert street.get(note.id)["text"] == "请说明情况"


@pytest.fixture
def city(tmp_path: Path) -> Iterator[tuple[Team, Vault]]:
    """The city's team with its hub (started), and a district enrolled for counts only,
    holding a month of residents and needs."""
    import datetime as dt

    from fieldapp.domain import Need, NeedCategory, Resident, Urgency

    t = make_team(tmp_path, workers=0)
    district, _ = Vault.create(tmp_path / "district", PASSPHRASE, kdf=FAST_KDF, clock=CLOCK)
    team.create_team(district, "城关区")
    secrets = team.team_secrets(t.sup)
    assert secrets is not None
    _, code = levels.join_upper(district, secrets.code(), "城关区", flow=team.AGGREGATES)
    team.enrol(t.sup, code, team.AGGREGATES)
    records = RecordService(district)
    month = CLOCK.today().replace(day=1)
    for i in range(12):
        person = Resident(name=f"居民{i}", community="八廓社区")
        records.save(person)
        records.save(
            Need(
                resident_id=person.id,
                category=NeedCategory.HEALTH,
                description="陪同就医",
                urgency=Urgency.MEDIUM,
                opened_on=month,
                due_date=month + dt.timedelta(days=20),
            )
        )
    t.start_hub()
    yield t, district
    t.stop_hub()
    for vault in (t.sup, district):
        vault.close(compact=False)


def test_a_district_sends_its_counts_by_the_citys_hub(city: tuple[Team, Vault]) -> None:
    """Counts only, over the hub: the district's aggregate bundle goes under its own inbox
    on the city's hub (its credentials may write nowhere else), the city's merge takes it
    as counts, never as ops, archives it; an empty object and a forged bundle beside it
    are quarantined."""
    import datetime as dt

    from sync import counts
    from tests.hubfix import bundle_keys

    t, district = city
    start = CLOCK.today().replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    counts.cut(district, start, end)
    up = levels.upper_transport(district, sleep=lambda s: None)
    result = counts.deliver(district, up, hub=True)
    assert result.failure is None and result.delivered == [1] and result.pending == 0
    sup = t.supervisor_transport()
    (key,) = [k for k in bundle_keys(sup) if "/aggregates/" in k]
    assert key.startswith(f"inbox/{district.device_id}/aggregates/")
    forged = bytearray(sup.get(key))
    forged[-40] ^= 1
    sup.put(f"inbox/{district.device_id}/aggregates/x/{district.device_id}/00000002.fbundle", b"")
    sup.put(key.replace("00000001", "00000003"), bytes(forged))
    fetched = hubsync.fetch_and_merge(t.sup, sup)
    kinds = sorted(o.kind for o in fetched.outcomes)
    assert kinds == ["applied", "quarantined", "quarantined"], fetched.outcomes
    got = counts.received(t.sup)[district.device_id]
    assert list(got) == [f"{start.isoformat()}/{end.isoformat()}"]
    assert t.sup.count() == 0  # numbers, never records
    assert key not in bundle_keys(sup)  # archived once merged
