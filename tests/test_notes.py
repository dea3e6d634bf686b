"""Supervision notes (督导意见, issue 14): the record kind, its workflow new → acknowledged →
done set by the worker, the services that write and move it, the worker's inbox, and a
note arriving in a bundle refused by the same validation path as every other kind."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain import (
    Need,
    NeedCategory,
    NoteAction,
    NoteStatus,
    RecordKind,
    Resident,
    SupervisionNote,
    kinds,
    validate,
)
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ops import Op
from fieldapp.domain.validation import check_record
from fieldapp.domain.workflow import NOTE_TRANSITIONS, check_note_transition, note_allowed_next
from fieldapp.errors import FieldProblem, NotTheWriter, OpInvalid, RecordInvalid
from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault
from sync import team
from sync.bundle import domain_validator
from sync.merge import Merger
from tests import test_kinds
from tests.conftest import T0
from tests.test_hardening import RID, Hostile

NOTE_ID = "019a0000-0000-7000-8000-0000000000d1"
OTHER = "019a0000-0000-7000-8000-0000000000a2"


def _fields(**extra: Any) -> dict[str, Any]:
    return {
        "resident_id": RID,
        "target_id": RID,
        "action": "call",
        "text": "请本周电话回访，确认低保材料已交。",
        "created_at": "2026-11-29T09:00:00",
        **extra,
    }


# ---------------------------------------------------------------- the model


def test_a_note_is_registered_in_the_residents_file() -> None:
    spec = kinds.spec_of("supervision_note")
    assert spec.model is SupervisionNote and spec.resident_field == "resident_id"
    assert spec in kinds.resident_file_kinds()
    assert spec.required == ("resident_id", "target_id", "action", "text", "created_at")
    assert kinds.with_defaults("supervision_note", {})["status"] == "new"
    for lang in ("en", "zh_CN"):
        assert t(spec.label, lang) != spec.label
        for action in NoteAction:
            assert t(f"enum.NoteAction.{action.value}", lang) != f"enum.NoteAction.{action}"


def test_a_time_with_a_zone_is_stored_as_local_time_so_times_always_compare() -> None:
    note = validate(SupervisionNote, _fields(created_at="2026-11-29T01:00:00+00:00"))
    assert note.created_at.tzinfo is None
    assert note.created_at == dt.datetime(2026, 11, 29, 1, tzinfo=dt.UTC).astimezone().replace(
        tzinfo=None
    )
    check = domain_validator(today=lambda: T0.date())
    op = Op(
        "0" * 16 + "-x",
        "supervision_note",
        NOTE_ID,
        "done_at",
        "2026-11-29T01:00:00Z",
        1,
        "x",
        None,
    )
    assert "+" not in check(op).value and not check(op).value.endswith("Z")


def test_a_valid_note_round_trips_through_its_fields() -> None:
    note = validate(SupervisionNote, _fields(due_date="2026-12-03"), today=T0.date())
    assert note.status is NoteStatus.NEW and note.is_open and note.target_field is None
    again = SupervisionNote.from_fields(note.id, note.to_fields())
    assert again == note
    assert note.to_fields()["created_at"] == "2026-11-29T09:00:00"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"text": "   "}, ("text", "required")),
        ({"action": "shout"}, ("action", "choice")),
        ({"due_date": "2026-11-28"}, ("due_date", "due_before_written")),
        ({"status": "acknowledged"}, ("acknowledged_at", "status_time_required")),
        (
            {"status": "done", "acknowledged_at": "2026-11-29T10:00:00"},
            ("done_at", "status_time_required"),
        ),
        ({"status": "archived"}, ("status", "choice")),
        ({"target_id": "not-an-id"}, ("target_id", "record_id")),
        ({"target_field": "../x"}, ("target_field", "slug")),
        ({"author": "督导"}, ("author", "unknown_field")),
        ({"created_at": "yesterday"}, ("created_at", "datetime_format")),
    ],
)
def test_a_bad_note_is_refused_with_a_stable_code(
    extra: dict[str, Any], problem: tuple[str, str]
) -> None:
    with pytest.raises(RecordInvalid) as caught:
        validate(SupervisionNote, _fields(**extra), today=T0.date())
    assert (caught.value.problems[0].path, caught.value.problems[0].code) == problem
    for lang in ("en", "zh_CN"):  # every code reads as a sentence in both languages
        assert not caught.value.problems[0].render(lang).startswith("invalid.")


# ---------------------------------------------------------------- the workflow

NOTE_WORKFLOW = {
    (NoteStatus.NEW, NoteStatus.ACKNOWLEDGED),
    (NoteStatus.NEW, NoteStatus.DONE),
    (NoteStatus.ACKNOWLEDGED, NoteStatus.DONE),
} | {(s, s) for s in NoteStatus}


@pytest.mark.parametrize("old", list(NoteStatus))
@pytest.mark.parametrize("new", list(NoteStatus))
def test_note_status_transitions(old: NoteStatus, new: NoteStatus) -> None:
    if (old, new) in NOTE_WORKFLOW:
        check_note_transition(old, new)
        return
    with pytest.raises(RecordInvalid) as info:
        check_note_transition(old, new)
    assert info.value.problems == [
        FieldProblem("status", "note_transition", {"old": old.value, "new": new.value})
    ]
    assert new not in note_allowed_next(old)


def test_done_is_final() -> None:
    assert NOTE_TRANSITIONS[NoteStatus.DONE] == frozenset()


# ---------------------------------------------------------------- the services


@pytest.fixture
def filed(vault: Vault) -> tuple[Workspace, Resident, Need, Need]:
    """A vault with two residents, a need each."""
    ws = Workspace(vault)
    mine = Resident(id=RID, name="张三", community="史家社区")
    other = Resident(id=OTHER, name="李四", community="史家社区")
    opened = T0.date()  # never the machine's date
    need = Need(
        resident_id=RID, category=NeedCategory.INCOME, description="低保材料", opened_on=opened
    )
    theirs = Need(
        resident_id=OTHER, category=NeedCategory.HEALTH, description="复诊", opened_on=opened
    )
    ws.records.save_many([mine, other, need, theirs])
    return ws, mine, need, theirs


def test_writing_a_note_on_a_resident_or_one_of_their_records(
    clock: FixedClock, filed: tuple[Workspace, Resident, Need, Need]
) -> None:
    ws, mine, need, theirs = filed
    note = ws.write_note(mine.id, NoteAction.CALL, "电话回访", due_date=dt.date(2026, 12, 1))
    assert note.target_id == mine.id and note.created_at == T0
    assert ws.vault.get(note.id)["status"] == "new"
    on_need = ws.write_note(mine.id, NoteAction.REVIEW, "描述不清", target_id=need.id)
    assert on_need.target_id == need.id
    ws.records.save(on_need.model_copy(update={"target_field": "description"}))
    for target, field in [(theirs.id, None), (need.id, "no_such_field"), (OTHER, None)]:
        with pytest.raises(RecordInvalid) as caught:
            note = validate(
                SupervisionNote,
                _fields(target_id=target, target_field=field),
                today=T0.date(),
            )
            ws.records.save(note)
        assert caught.value.codes() == {"target_id": "unknown_target"}
    with pytest.raises(RecordInvalid) as caught:  # the resident must be one too
        ws.write_note("019a0000-0000-7000-8000-0000000000ff", NoteAction.CALL, "x")
    assert "resident_id" in caught.value.codes()


def test_the_worker_acknowledges_then_marks_done_each_an_op_stamped_when(
    clock: FixedClock, filed: tuple[Workspace, Resident, Need, Need]
) -> None:
    ws, mine, _, _ = filed
    note = ws.write_note(mine.id, NoteAction.VISIT, "上门看看")
    clock.advance(days=2)
    acked = ws.set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
    assert acked.status is NoteStatus.ACKNOWLEDGED
    assert acked.acknowledged_at == T0 + dt.timedelta(days=2) and acked.done_at is None
    moved = [op.field for op in ws.vault.history(note.id)][-2:]
    assert sorted(moved) == ["acknowledged_at", "status"]  # only what moved makes ops
    clock.advance(3 * 3600)
    done = ws.set_note_status(note.id, NoteStatus.DONE)
    assert done.done_at == T0 + dt.timedelta(days=2, hours=3)
    assert done.acknowledged_at == acked.acknowledged_at  # not stamped again
    with pytest.raises(RecordInvalid) as caught:
        ws.set_note_status(note.id, NoteStatus.ACKNOWLEDGED)
    assert caught.value.codes() == {"status": "note_transition"}
    with pytest.raises(RecordInvalid):  # saving the whole record back is refused alike
        ws.records.save(done.model_copy(update={"status": NoteStatus.NEW}))
    assert ws.records.get(SupervisionNote, note.id) == done
    with pytest.raises(RecordInvalid) as caught:
        ws.set_note_status(mine.id, NoteStatus.DONE)  # not a note
    assert caught.value.codes() == {"id": "unknown_record"}


def test_done_straight_away_is_acknowledged_in_the_same_move(
    filed: tuple[Workspace, Resident, Need, Need],
) -> None:
    ws, mine, _, _ = filed
    note = ws.write_note(mine.id, NoteAction.EXPLAIN, "说明情况")
    done = ws.set_note_status(note.id, NoteStatus.DONE)
    assert done.acknowledged_at == done.done_at == T0


def test_the_inbox_lists_open_notes_most_overdue_first_then_newest(
    clock: FixedClock, filed: tuple[Workspace, Resident, Need, Need]
) -> None:
    ws, mine, need, _ = filed
    old = ws.write_note(mine.id, NoteAction.CALL, "旧的", due_date=dt.date(2026, 11, 30))
    clock.advance(3600)
    later = ws.write_note(mine.id, NoteAction.REVIEW, "晚的", target_id=need.id)
    clock.advance(3600)
    lately = ws.write_note(OTHER, NoteAction.VISIT, "更晚", due_date=dt.date(2026, 12, 1))
    done = ws.write_note(mine.id, NoteAction.OTHER, "做完了")
    ws.set_note_status(done.id, NoteStatus.DONE)
    clock.advance(60)
    acked = ws.write_note(OTHER, NoteAction.CALL, "知道了", due_date=dt.date(2026, 12, 9))
    ws.set_note_status(acked.id, NoteStatus.ACKNOWLEDGED)
    assert [r.id for r in ws.today_summary().notes] == [acked.id, lately.id, later.id, old.id]
    clock.advance(days=3)  # 12-02: the first two are past due now
    inbox = ws.today_summary().notes
    assert [(r.id, r.days_overdue) for r in inbox] == [
        (old.id, 2),
        (lately.id, 1),
        (acked.id, 0),
        (later.id, 0),
    ]
    row = inbox[-1]
    assert (row.resident_name, row.action, row.status, row.target_kind) == (
        "张三",
        "review",
        "new",
        "need",
    )
    assert row.author == ws.vault.device_id  # no profile: the device, as history says
    ws.set_archived(OTHER, True)  # an archived resident's notes leave the inbox
    assert [r.id for r in ws.today_summary().notes] == [old.id, later.id]


def test_the_residents_file_holds_its_notes_and_deleting_it_takes_them(
    filed: tuple[Workspace, Resident, Need, Need],
) -> None:
    ws, mine, _, _ = filed
    ws.records.set_profile("王督导", "史家社区")
    note = ws.write_note(mine.id, NoteAction.CALL, "电话回访")
    ws.write_note(OTHER, NoteAction.CALL, "别人的")
    file = ws.resident_file(mine.id)
    assert file is not None and [n.id for n in file.notes] == [note.id]
    assert file.authors == {note.id: "王督导"}
    ws.delete_resident(mine.id)
    assert ws.vault.get(note.id) is None


# ---------------------------------------------------------------- merge (untrusted ops)


team_vault = test_kinds.team_vault  # the supervisor's vault with one hostile device


def _send_note(device: Hostile, **fields: object) -> None:
    doc = _fields() | fields
    save = [device.raw("supervision_note", NOTE_ID, k, v) for k, v in doc.items()]
    del device.saves[-len(save) :]
    device.saves.append(save)


def test_a_note_from_a_bundle_merges_and_a_malformed_one_is_refused(
    team_vault: tuple[Vault, Hostile, team.TeamSecrets],
) -> None:
    v, device, secrets = team_vault
    device.resident()
    assert [o.kind for o in Merger(v).receive(device.next_bundle(secrets))] == ["applied"]
    # A worker's device cannot write a note (only its answer: tests/test_writers.py); the
    # supervisor writes it, and what a worker's bundle says of it is checked like any op.
    kept = (device.seq, device.prev, device.sent)
    _send_note(device)
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "quarantined" and isinstance(outcome.reason, NotTheWriter)
    assert v.get(NOTE_ID) is None
    device.seq, device.prev, device.sent = kept
    del device.saves[device.sent :]
    v.commit([Change("supervision_note", NOTE_ID, _fields())])
    stored = v.get(NOTE_ID)
    assert stored is not None and stored["action"] == "call"
    for field, value, reason in [
        ("action", "shout", "action: choice"),
        ("status", "acknowledged", "supervision_note acknowledged_at: status_time_required"),
        ("due_date", "2026-11-01", None),  # not the worker's to write: NotTheWriter
        ("author", "督导", "field author"),
        ("text", "", "text: required"),
    ]:
        kept = (device.seq, device.prev, device.sent)
        device.raw("supervision_note", NOTE_ID, field, value)
        [outcome] = Merger(v).receive(device.next_bundle(secrets))
        assert outcome.kind == "quarantined" and outcome.reason is not None, field
        if reason is None:
            assert isinstance(outcome.reason, NotTheWriter), field
        else:
            assert outcome.reason.params["reason"] == reason
        device.seq, device.prev, device.sent = kept
        del device.saves[device.sent :]
    assert v.get(NOTE_ID) == stored


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELDS = [*sorted(SupervisionNote.model_fields), "author", "_deleted", "_resolved_text"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=JSONISH)
def test_any_note_op_is_refused_or_stored_as_its_model_reads_it(field: str, value: Any) -> None:
    """Whatever a bundle says of a note's field, the op check either refuses it
    (OpInvalid) or returns the value as validated, which the record check accepts or
    refuses without ever raising."""
    check = domain_validator(today=lambda: T0.date())
    op = Op("0" * 16 + "-x", RecordKind.SUPERVISION_NOTE.value, NOTE_ID, field, value, 1, "x", None)
    try:
        checked = check(op)
    except OpInvalid:
        return
    if field.startswith("_"):
        return
    doc = _fields() | {field: checked.value}
    assert check(checked).value == checked.value  # stable: validating again changes nothing
    result = check_record("supervision_note", NOTE_ID, doc, T0.date())
    assert result is None or ": " in result


def test_the_op_check_knows_the_note_kind() -> None:
    """The kind reaches the bundle check through the registry, field by field."""
    check = domain_validator(today=lambda: T0.date())
    op = Op("0" * 16 + "-x", "supervision_note", NOTE_ID, "due_date", "2026-12-01", 1, "x", None)
    assert check(op).value == "2026-12-01"
    with pytest.raises(OpInvalid):
        check(Op("0" * 16 + "-x", "supervision_note", NOTE_ID, "action", 3, 1, "x", None))
