"""The record-kind registry: every kind registered once, and every consumer — the
resident's complete file and its export, the workspace's resident file, links checked on
save, merge validation, the forms lookup — reads it. A throwaway kind registered by a
fixture shows that none of them keeps a list of its own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Self

import pytest
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from fieldapp import i18n
from fieldapp.domain import KindSpec, RecordKind, Resident, kinds
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.models import Record, RecordId, RequiredLine
from fieldapp.domain.validation import check_record, missing_fields
from fieldapp.errors import RecordInvalid
from fieldapp.services import export
from fieldapp.services.records import RecordService
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from sync import team
from sync.merge import Merger
from tests.conftest import PASSPHRASE, T0
from tests.test_hardening import Hostile
from tests.test_merge import supervisor

RID = "019a0000-0000-7000-8000-0000000000a1"
NOTE = "019a0000-0000-7000-8000-0000000000c1"


class ThrowawayKind(StrEnum):
    CARE_NOTE = "care_note"


class CareNote(Record):
    """A kind no fieldapp ships: a short care note about one resident."""

    KIND: ClassVar[RecordKind] = ThrowawayKind.CARE_NOTE  # type: ignore[assignment]
    resident_id: RecordId
    text: RequiredLine
    written_on: dt.date
    follow_up_on: dt.date | None = None
    minutes: int = Field(default=0, ge=0, le=600)

    @model_validator(mode="after")
    def _follow_up_after(self) -> Self:
        if self.follow_up_on is not None and self.follow_up_on < self.written_on:
            raise PydanticCustomError(
                "due_before_opened", "due_before_opened", {"field": "follow_up_on"}
            )
        return self


@pytest.fixture
def care_notes() -> Iterator[KindSpec]:
    """The throwaway kind, registered for one test and removed afterwards."""
    spec = kinds.register(KindSpec(CareNote, resident_field="resident_id"))
    yield spec
    if kinds.get(spec.kind) is not None:  # a test may have taken it out already
        kinds.unregister(spec.kind)


# ---------------------------------------------------------------- the registry


def test_the_shipped_kinds_are_registered_once_with_what_consumers_need() -> None:
    specs = {spec.kind: spec for spec in kinds.all_kinds()}
    assert list(specs) == [k.value for k in RecordKind]  # the vocabulary, in its order
    assert {k: s.resident_field for k, s in specs.items()} == {
        "resident": None,
        "need": "resident_id",
        "interview": "resident_ids",
        "visit": "resident_id",
        "case_plan": "resident_id",
        "supervision_note": "resident_id",
        "assignment": "resident_id",
        "scope_receipt": None,  # outlives the file it reports purged
        "office_note": None,  # about an office: scope sends it by its office
    }
    assert [s.kind for s in kinds.resident_file_kinds()] == [
        "need",
        "interview",
        "visit",
        "case_plan",
        "supervision_note",
        "assignment",
    ]
    for kind, spec in specs.items():
        assert kind == spec.model.KIND and spec.table == kind
        # An assignment (a supervisor's), a scope receipt (a device's) and a note to an
        # office (written by its service, not on a resident's file) have no form.
        formless = ("assignment", "scope_receipt", "office_note")
        assert spec.form == (None if kind in formless else kind)
        for lang in ("en", "zh_CN"):  # the label is a message both catalogs hold
            assert spec.label in i18n.catalog(lang)
    assert i18n.t(specs["case_plan"].label, "en") != specs["case_plan"].label
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(KindSpec(Resident))
    with pytest.raises(KeyError, match="no record kind"):
        kinds.spec_of("care_note")


def test_a_kind_must_point_at_the_resident_by_a_field_it_has() -> None:
    with pytest.raises(ValueError, match="no field"):
        kinds.register(KindSpec(CareNote, resident_field="resident_ids"))
    assert kinds.get("care_note") is None


def test_a_registered_kind_is_read_by_the_domain_checks(care_notes: KindSpec) -> None:
    assert kinds.MODELS["care_note"] is CareNote and ThrowawayKind.CARE_NOTE in kinds.MODELS
    assert missing_fields("care_note", {"resident_id": RID}) == ["text", "written_on"]
    assert kinds.with_defaults("care_note", {"text": "x"}) == {
        "follow_up_on": None,
        "minutes": 0,
        "text": "x",
    }
    doc = {"resident_id": RID, "text": "送药", "written_on": "2026-11-29"}
    assert check_record("care_note", NOTE, doc, T0.date()) is None
    late = doc | {"follow_up_on": "2026-11-01"}
    assert check_record("care_note", NOTE, late, T0.date()) == "follow_up_on: due_before_opened"


# ---------------------------------------------------------------- services


def _note(resident_id: str, text: str = "送药上门", **extra: object) -> CareNote:
    return CareNote.model_validate(
        {"resident_id": resident_id, "text": text, "written_on": "2026-11-29", **extra}
    )


@pytest.fixture
def filled(vault: Vault, care_notes: KindSpec) -> tuple[Vault, Resident, CareNote, CareNote]:
    """A vault with two residents and a care note about each."""
    service = RecordService(vault)
    mine = Resident(name="张三", community="史家社区")
    other = Resident(name="李四", community="史家社区")
    service.save_many([mine, other])
    note, theirs = _note(mine.id), _note(other.id, "别人的记录")
    service.save(note)
    service.save(theirs)
    return vault, mine, note, theirs


def test_saving_a_registered_kind_checks_its_link_to_a_resident(
    vault: Vault, care_notes: KindSpec
) -> None:
    with pytest.raises(RecordInvalid) as caught:
        RecordService(vault).save(_note("019a0000-0000-7000-8000-0000000000ff"))
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("resident_id", "unknown_resident")
    ]


def test_the_export_of_a_resident_file_holds_a_registered_kind(
    filled: tuple[Vault, Resident, CareNote, CareNote],
) -> None:
    vault, mine, note, _ = filled
    data = export.resident_file(vault, mine.id)
    assert [r["id"] for r in data["records"]["care_note"]] == [note.id]  # not the other's
    assert data["records"]["care_note"][0]["text"] == "送药上门"
    assert {h["record"] for h in data["history"]} == {mine.id, note.id}  # its history too
    RecordService(vault).delete(note.id)  # a deleted one is still part of the file
    again = export.resident_file(vault, mine.id)
    assert again["records"]["care_note"][0]["_deleted"] is True


def test_the_workspace_resident_file_lists_a_registered_kind(
    filled: tuple[Vault, Resident, CareNote, CareNote],
) -> None:
    vault, mine, note, _ = filled
    file = Workspace(vault).resident_file(mine.id)
    assert file is not None
    assert file.linked["care_note"] == [note]
    assert isinstance(file.linked["care_note"][0], CareNote)
    assert file.needs == [] and file.damaged == []


def test_a_damaged_record_of_a_registered_kind_is_shown_damaged(
    vault: Vault, care_notes: KindSpec
) -> None:
    from fieldapp.store import Change

    resident = Resident(name="张三", community="史家社区")
    RecordService(vault).save(resident)
    vault.commit([Change("care_note", NOTE, {"resident_id": resident.id, "minutes": 5})])
    file = Workspace(vault).resident_file(resident.id)
    assert file is not None and file.linked["care_note"] == []
    assert [(d.kind, d.id) for d in file.damaged] == [("care_note", NOTE)]


# ---------------------------------------------------------------- forms


def test_the_forms_lookup_finds_a_registered_kinds_form_or_fails_loudly(
    care_notes: KindSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldapp.tui import forms

    with pytest.raises(forms.NoForm, match="'care_note' has no form"):
        forms.form_for("care_note")
    kinds.unregister("care_note")
    with pytest.raises(forms.NoForm, match="no record kind 'care_note'"):
        forms.form_for("care_note")
    kinds.register(dataclasses.replace(care_notes, form="care_note"))
    with pytest.raises(forms.NoForm, match="names the form 'care_note', which is not here"):
        forms.form_for("care_note")
    assert forms.unclaimed_forms() == set()
    care_note_form = types.SimpleNamespace(build=lambda ws, resident: None)
    monkeypatch.setitem(forms.FORMS, "care_note", care_note_form)
    assert forms.form_for("care_note") is care_note_form
    assert forms.form_for("need") is forms.FORMS["need"]  # the shipped ones are still found
    kinds.unregister("care_note")
    assert forms.unclaimed_forms() == {"care_note"}  # a form no kind names is seen
    kinds.register(care_notes)


# ---------------------------------------------------------------- merge


@pytest.fixture
def team_vault(tmp_path: Path) -> Iterator[tuple[Vault, Hostile, team.TeamSecrets]]:
    device = Hostile(7)
    secrets = team.TeamSecrets.generate("team0001", "督导")
    supervisor(tmp_path / "sup", secrets.to_json(), [device]).close(compact=False)
    v = Vault.open(tmp_path / "sup", PASSPHRASE, clock=FixedClock(T0))
    yield v, device, secrets
    v.close(compact=False)


def _care_note(device: Hostile, **fields: object) -> None:
    base = {"resident_id": RID, "text": "送药上门", "written_on": "2026-11-29"} | fields
    save = [device.raw("care_note", NOTE, k, value) for k, value in base.items()]
    del device.saves[-len(save) :]
    device.saves.append(save)


def test_merge_validates_a_registered_kind_with_its_model(
    team_vault: tuple[Vault, Hostile, team.TeamSecrets], care_notes: KindSpec
) -> None:
    v, device, secrets = team_vault
    device.resident()
    _care_note(device, minutes="15")
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "applied", outcome
    assert v.kind_of(NOTE) == "care_note"
    stored = {"resident_id": RID, "text": "送药上门", "written_on": "2026-11-29", "minutes": 15}
    assert v.get(NOTE) == stored  # as its model validated it: "15" → 15
    # A field's own rule (minutes ≤ 600) and a rule across fields are the model's.
    for field, value, reason in [
        ("minutes", 900, "minutes: too_large"),
        ("follow_up_on", "2026-11-01", "care_note follow_up_on: due_before_opened"),
    ]:
        kept = (device.seq, device.prev, device.sent)
        device.raw("care_note", NOTE, field, value)
        [outcome] = Merger(v).receive(device.next_bundle(secrets))
        assert outcome.kind == "quarantined" and outcome.reason is not None
        assert outcome.reason.params["reason"] == reason
        device.seq, device.prev, device.sent = kept  # the device sends something else
        del device.saves[device.sent :]
    assert v.get(NOTE) == stored


def test_merge_refuses_a_kind_nobody_registered(
    team_vault: tuple[Vault, Hostile, team.TeamSecrets],
) -> None:
    v, device, secrets = team_vault
    device.resident()
    _care_note(device)
    [outcome] = Merger(v).receive(device.next_bundle(secrets))
    assert outcome.kind == "quarantined" and outcome.reason is not None
    assert outcome.reason.params["reason"] == "kind"
    assert v.get(NOTE) is None and v.get(RID) is None


def test_an_assignment_is_one_record_per_resident_and_holds_its_devices() -> None:
    from fieldapp.domain.ids import is_record_id, new_id
    from fieldapp.domain.models import Assignment, assignment_id

    resident, other = new_id(), new_id()
    rid = assignment_id(resident)
    assert is_record_id(rid) and rid == assignment_id(resident) != assignment_id(other)
    a = Assignment(
        id=rid,
        resident_id=resident,
        worker="devA",
        shared_with=["devB"],
        assigned_at="2026-12-01T10:00:00",
    )
    assert a.holders() == {"devA", "devB"}
    assert (
        Assignment(id=rid, resident_id=resident, assigned_at="2026-12-01T10:00:00").holders()
        == set()
    )
    for bad in (
        {"id": assignment_id(other)},  # another resident's record
        {"shared_with": ["devA"]},  # the worker twice
        {"shared_with": ["devB", "devB"]},
        {"worker": "dev/../A"},
    ):
        fields = {
            "id": rid,
            "resident_id": resident,
            "worker": "devA",
            "assigned_at": "2026-12-01T10:00:00",
            **bad,
        }
        with pytest.raises(ValueError):
            Assignment(**fields)
