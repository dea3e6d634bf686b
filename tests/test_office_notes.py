"""Notes from the level above to a lower office (DESIGN §3.8, ``office_note``): written
about the office's numbers — the city holds no resident's file to write on — sealed to
that office and to no other, answered by it (acknowledged, done) and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.enums import NoteAction, NoteStatus
from fieldapp.errors import RecordInvalid
from fieldapp.services.records import RecordService
from fieldapp.store import Change
from sync import downward, levels, scope, team
from sync.transports.folder import FolderTransport
from tests.test_levels import Levels, forged, forward, join, lv, office, refused

__all__ = ["lv"]  # the fixture, used by name


def _deliver(upper_vault: object, stick: Path) -> None:
    downward.deliver(upper_vault, FolderTransport(stick), downward.STICK_PREFIX)  # type: ignore[arg-type]


def test_a_note_to_a_street_reaches_that_street_only_and_its_answer_comes_back(
    lv: Levels, tmp_path: Path
) -> None:
    one, other = lv.streets[0].sup, lv.streets[1].sup
    note = RecordService(lv.district).write_office_note(
        one.device_id, NoteAction.EXPLAIN, "十一月探访率为什么下降？", period="2026-11"
    )
    cut = scope.cut(lv.district)
    assert cut.bundles == {one.device_id: 1}  # the other street holds no note: nothing
    stick = tmp_path / "stick"
    _deliver(lv.district, stick)
    received = levels.fetch(one, FolderTransport(stick), downward.STICK_PREFIX)
    assert [o.kind for o in received.outcomes] == ["applied"]
    assert one.get(note.id)["text"] == "十一月探访率为什么下降？"
    assert one.get(note.id)["period"] == "2026-11"
    assert levels.fetch(other, FolderTransport(stick), downward.STICK_PREFIX).outcomes == []
    assert other.get(note.id) is None
    # The street's own scope cut never sends it on to its workers.
    assert scope.cut(one).bundles == {}
    # The street answers: the answer goes up with its records and lands at the district.
    RecordService(one).set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
    assert [o.kind for o in forward(one, lv.district)] == ["applied"]
    got = lv.district.get(note.id)
    assert got["status"] == "acknowledged" and got["acknowledged_at"] is not None
    # Answered, it is not sent back down (the street wrote it); a second note is.
    assert scope.cut(lv.district).bundles == {}
    RecordService(lv.district).write_office_note(one.device_id, NoteAction.CALL, "请来电")
    assert scope.cut(lv.district).bundles == {one.device_id: 1}


def test_an_office_may_only_answer_a_note_and_only_one_written_to_it(lv: Levels) -> None:
    """A street rewriting the text of a note from above, or answering a note written to the
    other street, is refused whole, with the translated reason."""
    one, other = lv.streets[0].sup, lv.streets[1].sup
    service = RecordService(lv.district)
    mine = service.write_office_note(one.device_id, NoteAction.REVIEW, "请复核需求清单")
    theirs = service.write_office_note(other.device_id, NoteAction.REVIEW, "请复核")
    for note in (mine, theirs):
        for op in lv.district.history(note.id):
            one.commit([Change("office_note", note.id, {op.field: op.value})])
    rewrite = one.commit([Change("office_note", mine.id, {"text": "改过了"})])
    outcome = refused(lv.district, forged(one, rewrite, levels.roster(one)))
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.office_note_by_office"
    assert (
        "text" in outcome.reason.render("en")
        and lv.district.get(mine.id)["text"] == "请复核需求清单"
    )
    answer = one.commit([Change("office_note", theirs.id, {"status": "acknowledged"})])
    outcome = refused(lv.district, forged(one, answer, levels.roster(one)))
    assert outcome.reason is not None and outcome.reason.msg_id == "bundle.office_note_by_office"
    assert lv.district.get(theirs.id)["status"] == "new"


def test_a_city_note_reaches_a_district_that_sends_counts_only(
    lv: Levels, tmp_path: Path, clock: FixedClock
) -> None:
    """The city holds no records: its note is about the district's numbers, sealed to the
    district's device; the district acknowledges it at home."""
    city = office(tmp_path, clock, "拉萨市", [])
    join(lv.district, city.sup, team.AGGREGATES)
    note = RecordService(city.sup).write_office_note(
        lv.district.device_id, NoteAction.EXPLAIN, "需求解决率偏低，请说明", period="2026-11"
    )
    assert scope.cut(city.sup).bundles == {lv.district.device_id: 1}
    stick = tmp_path / "city-stick"
    _deliver(city.sup, stick)
    received = levels.fetch(lv.district, FolderTransport(stick), downward.STICK_PREFIX)
    assert [o.kind for o in received.outcomes] == ["applied"]
    assert lv.district.get(note.id)["text"] == "需求解决率偏低，请说明"
    # Not carried on to the streets below the district.
    assert scope.cut(lv.district).bundles == {}
    moved = RecordService(lv.district).set_note_status(note.id, NoteStatus.DONE)
    assert moved.status is NoteStatus.DONE and moved.acknowledged_at is not None
    city.sup.close(compact=False)


def test_a_note_only_goes_to_an_enrolled_office(lv: Levels) -> None:
    worker = lv.streets[0].workers["卓玛"]
    service = RecordService(lv.streets[0].sup)
    for device in (worker.device_id, "nosuchdevice"):
        with pytest.raises(RecordInvalid) as caught:
            service.write_office_note(device, NoteAction.OTHER, "写给谁？")
        assert caught.value.problems[0].code == "unknown_office"
    with pytest.raises(RecordInvalid):
        RecordService(lv.district).write_office_note(
            lv.streets[0].sup.device_id, NoteAction.OTHER, "月份不对", period="2026-13"
        )


def test_a_district_forwarding_records_keeps_its_notes_to_the_streets_at_home(
    lv: Levels, tmp_path: Path, clock: FixedClock
) -> None:
    """Notes between the district and a street are those two levels' business: a district
    that sends records to a city forwards neither them nor the street's answers (the city
    would refuse them), only its own answer to the city's note."""
    city = office(tmp_path, clock, "拉萨市", [])
    join(lv.district, city.sup, team.RECORDS)
    one = lv.streets[0].sup
    to_street = RecordService(lv.district).write_office_note(
        one.device_id, NoteAction.EXPLAIN, "请说明"
    )
    scope.cut(lv.district)
    stick = tmp_path / "stick"
    _deliver(lv.district, stick)
    levels.fetch(one, FolderTransport(stick), downward.STICK_PREFIX)
    RecordService(one).set_note_status(to_street.id, NoteStatus.ACKNOWLEDGED)
    assert [o.kind for o in forward(one, lv.district)] == ["applied"]
    from_city = RecordService(city.sup).write_office_note(
        lv.district.device_id, NoteAction.REVIEW, "请复核"
    )
    scope.cut(city.sup)
    city_stick = tmp_path / "city-stick"
    _deliver(city.sup, city_stick)
    levels.fetch(lv.district, FolderTransport(city_stick), downward.STICK_PREFIX)
    RecordService(lv.district).set_note_status(from_city.id, NoteStatus.DONE)
    outcomes = forward(lv.district, city.sup)
    assert outcomes and all(o.kind == "applied" for o in outcomes)
    assert city.sup.get(to_street.id) is None  # neither the note nor the street's answer
    assert city.sup.get(from_city.id)["status"] == "done"
    city.sup.close(compact=False)
