"""Who may write what (DESIGN §3.7, issue 14): a worker's device writes no assignment and,
of a supervision note, only its answer (status, acknowledged, done). An upward bundle
that does more is refused whole, with a translated reason, and quarantined."""

from __future__ import annotations

from typing import Any

import pytest

from fieldapp.domain.models import assignment_id
from fieldapp.errors import NotTheWriter
from fieldapp.store import Change, Vault
from sync.merge import QUARANTINE, Merger
from tests.test_hardening import RID, Hostile
from tests.test_kinds import team_vault  # noqa: F401 (a fixture)
from tests.test_notes import NOTE_ID, _fields

Team = tuple[Vault, Hostile, Any]


def _records(v: Vault) -> list[tuple[str, str]]:
    return sorted((o.op_id, o.record_id) for o in v.all_ops())


def _refused(v: Vault, data: bytes) -> NotTheWriter:
    before = _records(v)
    [outcome] = Merger(v).receive(data)
    assert outcome.kind == "quarantined", outcome
    assert isinstance(outcome.reason, NotTheWriter)
    assert _records(v) == before  # nothing from it applied, not even its other ops
    assert any(v.get_meta(k)["reason"] == outcome.reason.msg_id for k in v.meta_keys(QUARANTINE))
    return outcome.reason


def test_a_worker_assigning_a_resident_is_refused_whole(team_vault: Team) -> None:  # noqa: F811
    v, device, secrets = team_vault
    device.resident()
    aid = assignment_id(RID)
    fields = {"resident_id": RID, "worker": device.id, "assigned_at": "2026-11-29T09:00:00"}
    save = [device.raw("assignment", aid, k, value) for k, value in fields.items()]
    del device.saves[-len(save) :]
    device.saves.append(save)
    reason = _refused(v, device.next_bundle(secrets))
    assert v.get(RID) is None and v.get(aid) is None
    assert reason.params["device"] == device.id and reason.params["index"] == 2
    assert "only a supervisor assigns" in reason.render("en")
    assert "只有督导可以分派" in reason.render("zh_CN")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", "改成别的意见"),
        ("due_date", "2026-12-20"),
        ("action", "visit"),
        ("_deleted", True),
        ("_resolved_text", ["0000000000000001-abc"]),
    ],
)
def test_a_worker_editing_a_note_beyond_its_answer_is_refused_whole(
    team_vault: Team,  # noqa: F811
    field: str,
    value: Any,
) -> None:
    v, device, secrets = team_vault
    device.resident()
    assert [o.kind for o in Merger(v).receive(device.next_bundle(secrets))] == ["applied"]
    v.commit([Change("supervision_note", NOTE_ID, _fields())])  # the supervisor writes it
    device.resident(notes="送药上门")  # an honest change in the same bundle goes too
    device.raw("supervision_note", NOTE_ID, field, value)
    reason = _refused(v, device.next_bundle(secrets))
    assert reason.params["field"] == field
    assert f"“{field}”" in reason.render("en") and f"“{field}”" in reason.render("zh_CN")
    assert v.get(NOTE_ID) == {**_fields()}


def test_a_worker_creating_a_note_is_refused(team_vault: Team) -> None:  # noqa: F811
    v, device, secrets = team_vault
    device.resident()
    save = [device.raw("supervision_note", NOTE_ID, k, val) for k, val in _fields().items()]
    del device.saves[-len(save) :]
    device.saves.append(save)
    _refused(v, device.next_bundle(secrets))
    assert v.get(NOTE_ID) is None


def test_the_workers_answer_to_a_note_is_applied(team_vault: Team) -> None:  # noqa: F811
    v, device, secrets = team_vault
    device.resident()
    assert [o.kind for o in Merger(v).receive(device.next_bundle(secrets))] == ["applied"]
    v.commit([Change("supervision_note", NOTE_ID, _fields())])
    device.raw("supervision_note", NOTE_ID, "status", "acknowledged")
    device.raw("supervision_note", NOTE_ID, "acknowledged_at", "2026-11-30T08:00:00")
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "applied", outcome
    note = v.get(NOTE_ID)
    assert note is not None and note["status"] == "acknowledged"
