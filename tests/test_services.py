"""Services: saving domain records, need workflow, history, schedule on a fixed clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fieldapp.domain import (
    Activity,
    CadenceRule,
    Interview,
    Need,
    NeedCategory,
    NeedStatus,
    Resident,
    Visit,
    VisitKind,
)
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ids import new_id
from fieldapp.errors import RecordInvalid
from fieldapp.services.demo import build_demo
from fieldapp.services.records import RecordService
from fieldapp.services.schedule import due_items, overdue
from fieldapp.store import Vault
from tests.conftest import PASSPHRASE, T0

TODAY = T0.date()


@pytest.fixture
def service(vault: Vault) -> RecordService:
    s = RecordService(vault)
    s.set_profile("李娜", "史家社区")
    return s


def person(name: str = "张三", **extra: object) -> Resident:
    return Resident(name=name, community="史家社区", **extra)


def test_save_and_read_back_domain_objects(service: RecordService, vault_path: Path) -> None:
    r = person(phones=["138 0013 8000"])
    service.save(r)
    assert service.get(Resident, r.id) == r
    assert service.get(Need, r.id) is None  # wrong kind
    service.vault.close()
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert RecordService(v).all(Resident) == [r]


def test_links_to_residents_are_checked(service: RecordService) -> None:
    with pytest.raises(RecordInvalid) as info:
        service.save(Need(resident_id=new_id(), category=NeedCategory.HEALTH, description="x"))
    assert info.value.codes() == {"resident_id": "unknown_resident"}
    assert service.count(Need.KIND) == 0


def test_need_workflow_through_the_service(service: RecordService) -> None:
    r = person()
    need = Need(resident_id=r.id, category=NeedCategory.HOUSING, description="屋顶漏雨")
    service.save_many([r, need])
    with pytest.raises(RecordInvalid) as info:  # resolved on the spot: still with a note
        service.change_need_status(need.id, NeedStatus.RESOLVED, "")
    assert info.value.codes() == {"status_note": "status_note_required"}
    service.change_need_status(need.id, NeedStatus.IN_PROGRESS)
    with pytest.raises(RecordInvalid) as info:
        service.change_need_status(need.id, NeedStatus.RESOLVED, "")
    assert info.value.codes() == {"status_note": "status_note_required"}
    assert service.get(Need, need.id).status is NeedStatus.IN_PROGRESS
    done = service.change_need_status(need.id, NeedStatus.RESOLVED, "已修缮")
    assert service.get(Need, need.id) == done
    # A form that edits the status directly goes through the same check.
    with pytest.raises(RecordInvalid) as info:
        service.save(done.model_copy(update={"status": NeedStatus.IN_PROGRESS}))
    assert info.value.codes() == {"status": "transition"}


def test_a_need_solved_on_the_spot_is_resolved_from_open(service: RecordService) -> None:
    r = person()
    need = Need(resident_id=r.id, category=NeedCategory.DAILY_CARE, description="灯泡坏了")
    service.save_many([r, need])
    done = service.change_need_status(need.id, NeedStatus.RESOLVED, "当场换好")
    assert service.get(Need, need.id) == done
    assert (done.status, done.status_note) == (NeedStatus.RESOLVED, "当场换好")


def test_history_says_who_changed_what_when(service: RecordService, clock: FixedClock) -> None:
    r = person()
    service.save(r)
    clock.advance(90)
    service.save(r.model_copy(update={"name": "张三丰"}))
    entries = [e for e in service.history(r.id) if e.field == "name"]
    assert [(e.old, e.new) for e in entries] == [(None, "张三"), ("张三", "张三丰")]
    assert {e.author for e in entries} == {"李娜"}
    # "when" is the vault's clock at each save, to the second.
    assert [e.when.replace(microsecond=0) for e in entries] == [T0, T0 + dt.timedelta(seconds=90)]


def test_delete_keeps_history(service: RecordService) -> None:
    r = person()
    service.save(r)
    service.delete(r.id)
    assert service.get(Resident, r.id) is None
    assert service.history(r.id)[-1].field == "_deleted"
    with pytest.raises(RecordInvalid):
        service.delete(r.id)


def test_overdue_on_a_fixed_clock(service: RecordService, clock: FixedClock) -> None:
    weekly_and_monthly = [
        CadenceRule(activity=Activity.INTERVIEW, every_days=7),
        CadenceRule(activity=Activity.HOME_VISIT, every_days=30),
    ]
    on_time = person("按时", cadence=weekly_and_monthly)
    late = person("逾期", cadence=weekly_and_monthly)
    never = person("从未", cadence=[CadenceRule(activity=Activity.HOME_VISIT, every_days=30)])
    new = person("新登记", cadence=[CadenceRule(activity=Activity.HOME_VISIT, every_days=30)])
    moved = person("改期", cadence=[CadenceRule(activity=Activity.HOME_VISIT, every_days=30)])
    no_rule = person("无规则")

    def visit(r: Resident, days_ago: int, **extra: object) -> Visit:
        at = dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(10))
        return Visit(
            resident_id=r.id,
            kind=VisitKind.HOME,
            started_at=at,
            duration_minutes=30,
            purpose="例行探访",
            **extra,
        )

    def interview(r: Resident, days_ago: int) -> Interview:
        return Interview(
            resident_ids=[r.id],
            held_on=TODAY - dt.timedelta(days=days_ago),
            template_id="general_intake",
        )

    # "从未" was registered 40 days ago and never visited; "新登记" today.
    clock.set(dt.datetime.combine(TODAY - dt.timedelta(days=40), dt.time(9)))
    service.save(never)
    clock.set(dt.datetime.combine(TODAY, dt.time(9)))
    service.save(new)
    service.save_many(
        [
            on_time,
            late,
            moved,
            no_rule,
            visit(on_time, 29),
            interview(on_time, 6),
            interview(on_time, 20),
            visit(late, 45),
            visit(late, 31),
            interview(late, 8),
            visit(moved, 60, next_due=TODAY + dt.timedelta(days=2)),
            visit(no_rule, 400),
        ]
    )
    items = overdue(service.vault, TODAY)
    got = {
        (service.vault.get(i.resident_id)["name"], i.activity, i.days_overdue(TODAY)) for i in items
    }
    assert got == {
        ("逾期", Activity.HOME_VISIT, 1),
        ("逾期", Activity.INTERVIEW, 1),
        ("从未", Activity.HOME_VISIT, 10),  # registered 40 days ago, never visited
    }
    due_today = {service.vault.get(i.resident_id)["name"] for i in due_items(service.vault, TODAY)}
    assert due_today == {"逾期", "从未"}
    week = {service.vault.get(i.resident_id)["name"] for i in due_items(service.vault, TODAY, 7)}
    assert week == {"逾期", "从未", "按时", "改期"}


def test_demo_has_every_need_status_and_overdue_visits(service: RecordService) -> None:
    counts = build_demo(service, TODAY, residents=300)
    assert counts["resident"] == 300
    statuses = {n.status for n in service.all(Need)}
    assert statuses == set(NeedStatus)
    assert counts["interview"] > 0 and counts["visit"] > 0 and counts["case_plan"] > 0
    assert len(overdue(service.vault, TODAY)) > 10
    communities = {r.community for r in service.all(Resident)}
    assert len(communities) >= 4
    resolved = next(n for n in service.all(Need) if n.status is NeedStatus.RESOLVED)
    assert [e.new for e in service.history(resolved.id) if e.field == "status"] == [
        "in_progress",
        "resolved",
    ]


def test_a_team_template_needs_no_code_change(vault: Vault, tmp_path: Path) -> None:
    import os

    from fieldapp.services.workspace import Workspace

    folder = Path(os.environ["FIELDAPP_HOME"]) / "templates"
    folder.mkdir(parents=True)
    (folder / "school_visit.toml").write_text(
        'id = "school_visit"\nkind = "interview"\n'
        'title = { zh_CN = "学校走访", en = "School visit" }\n'
        '[[questions]]\nid = "teacher_view"\ntype = "note"\n'
        'label = { zh_CN = "老师评价", en = "What the teacher says" }\n',
        "utf-8",
    )
    ws = Workspace(vault)
    template = ws.templates["school_visit"]
    assert template.title("zh_CN") == "学校走访"
    assert {"general_intake", "home_safety_elderly", "school_visit"} <= set(ws.templates)
    with pytest.raises(RecordInvalid) as info:
        template.check_answers({"teacher_view": "好", "unknown": 1})
    assert info.value.codes() == {"answers.unknown": "unknown_field"}


def test_a_broken_template_file_is_a_clear_error(tmp_path: Path) -> None:
    from fieldapp.errors import TemplateInvalid
    from fieldapp.services.templates import load_templates

    (tmp_path / "bad.toml").write_text('id = "x"\nkind = "survey"\n', "utf-8")
    with pytest.raises(TemplateInvalid) as info:
        load_templates(tmp_path)
    assert "bad.toml" in info.value.render("en") and "模板" in info.value.render("zh_CN")


def test_a_broken_team_template_is_skipped_and_reported(vault: Vault) -> None:
    import os

    from fieldapp.services.workspace import Workspace

    folder = Path(os.environ["FIELDAPP_HOME"]) / "templates"
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_bytes(b"\xff\xfe not toml")
    ws = Workspace(vault)
    assert "general_intake" in ws.templates
    assert [e.params["source"].endswith("broken.toml") for e in ws.template_errors] == [True]


def test_a_failed_safety_item_is_offered_as_a_need_and_saved_only_when_asked(
    vault: Vault,
) -> None:
    from fieldapp.domain import CheckAnswer, CheckItem, Visit, VisitKind
    from fieldapp.services.workspace import Workspace

    ws = Workspace(vault)
    r = person()
    ws.save(r)
    visit = Visit(
        resident_id=r.id,
        kind=VisitKind.HOME,
        started_at=dt.datetime.combine(TODAY, dt.time(10)),
        duration_minutes=30,
        purpose="例行探访",
        checklist_template="home_safety_elderly",
        checklist={
            "gas_off": CheckItem(answer=CheckAnswer.NO, note="阀门松动"),
            "smoke_alarm": CheckItem(answer=CheckAnswer.YES),
            "medicine_ok": CheckItem(answer=CheckAnswer.NOT_APPLICABLE),
        },
    )
    ws.save(visit)
    (need,) = ws.safety_needs(visit, "zh_CN")
    assert ws.records.all(Need) == []  # offered, not saved
    assert (need.resident_id, need.category, need.status) == (
        r.id,
        NeedCategory.HOUSING,
        NeedStatus.OPEN,
    )
    assert need.description == "居家安全检查：“燃气阀门关闭、无异味”一项为否 — 阀门松动"
    assert ws.safety_needs(visit, "en")[0].description.startswith(
        'Home-safety check: "Gas valve closed, no smell" answered no'
    )
    ws.add_needs([need])
    assert ws.records.all(Need) == [need]
    assert ws.safety_needs(visit, "zh_CN") == []  # an open need for it already: not twice


def test_an_archived_resident_leaves_every_list_and_comes_back_when_restored(
    vault: Vault, clock: FixedClock
) -> None:
    from fieldapp.domain import RecordKind
    from fieldapp.domain.validation import check_record
    from fieldapp.services.needs import NeedFilters, needs_list
    from fieldapp.services.workspace import Workspace

    ws = Workspace(vault)
    monthly = [CadenceRule(activity=Activity.HOME_VISIT, every_days=30)]
    kept, shelved = person("留下", cadence=monthly), person("归档", cadence=monthly)
    clock.set(dt.datetime.combine(TODAY - dt.timedelta(days=40), dt.time(9)))
    late = TODAY - dt.timedelta(days=3)
    needs = [
        Need(
            resident_id=r.id,
            category=NeedCategory.HEALTH,
            description=r.name,
            opened_on=late - dt.timedelta(days=30),
            due_date=late,
        )
        for r in (kept, shelved)
    ]
    ws.records.save_many([kept, shelved, *needs])
    clock.set(dt.datetime.combine(TODAY, dt.time(9)))
    ws.build_index()

    def listed() -> dict[str, set[str]]:
        summary = ws.today_summary()
        names = {n.need.resident_name for n in needs_list(ws, NeedFilters()).rows}
        rows, _ = ws.find_residents()
        return {
            "residents": {r.name for r in rows},
            "due": {d.name for d in summary.due},
            "overdue_needs": {n.resident_name for n in summary.overdue_needs},
            "needs": names,
            "overdue": {vault.get(i.resident_id)["name"] for i in overdue(vault, TODAY)},
        }

    def everywhere(names: set[str]) -> dict[str, set[str]]:
        return {key: names for key in ("residents", "due", "overdue_needs", "needs", "overdue")}

    both = {"留下", "归档"}
    assert listed() == everywhere(both)
    # A new resident makes no op for the field; archiving makes one, in the history.
    assert "archived" not in {e.field for e in ws.history(shelved.id)}
    ws.set_archived(shelved.id, True)
    assert ws.records.get(Resident, shelved.id).archived is True
    assert listed() == everywhere({"留下"})
    assert [r.name for r in ws.find_residents(archived=True)[0]] == ["归档"]
    # Editing the archived resident's profile does not restore them.
    edited = ws.records.get(Resident, shelved.id).model_copy(update={"address": "二号楼"})
    ws.save(edited.model_copy(update={"archived": False}))
    assert ws.records.get(Resident, shelved.id).archived is True
    # The field is the model's: a supervisor's merge accepts it.
    doc = vault.get(shelved.id)
    assert check_record(RecordKind.RESIDENT.value, shelved.id, doc, TODAY) is None
    ws.set_archived(shelved.id, False)
    assert listed() == everywhere(both)
    assert [(e.old, e.new) for e in ws.history(shelved.id) if e.field == "archived"] == [
        (None, True),
        (True, False),
    ]
    with pytest.raises(RecordInvalid):
        ws.set_archived(needs[0].id, True)  # only a resident is archived


def test_an_older_resident_without_the_field_reads_as_not_archived() -> None:
    r = Resident.from_fields(new_id(), {"name": "老记录", "community": "史家社区"})
    assert r.archived is False
    assert "archived" not in r.to_fields()


def test_deleting_a_resident_tombstones_their_whole_file_and_keeps_the_history(
    vault: Vault,
) -> None:
    from fieldapp.services.workspace import Workspace

    ws = Workspace(vault)
    gone, other = person("撤回同意"), person("邻居")
    need = Need(resident_id=gone.id, category=NeedCategory.HEALTH, description="x")
    alone = Interview(resident_ids=[gone.id], held_on=TODAY, template_id="general_intake")
    shared = Interview(
        resident_ids=[gone.id, other.id], held_on=TODAY, template_id="general_intake"
    )
    ws.records.save_many([gone, other, need, alone, shared])
    ws.build_index()
    ws.delete_resident(gone.id)
    assert ws.records.get(Resident, gone.id) is None
    assert ws.records.get(Need, need.id) is None
    assert ws.records.get(Interview, alone.id) is None
    assert ws.records.get(Interview, shared.id).resident_ids == [other.id]
    assert [r.name for r in ws.find_residents()[0]] == ["邻居"]
    assert ws.history(gone.id)[-1].field == "_deleted"
    with pytest.raises(RecordInvalid):
        ws.delete_resident(gone.id)


@pytest.mark.parametrize(
    ("lang", "tags"), [("en", "Disability, Low income"), ("zh_CN", "残疾、低收入")]
)
def test_an_export_joins_a_residents_tags_as_its_language_joins_a_list(
    service: RecordService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, tags: str
) -> None:
    import csv

    from fieldapp import i18n
    from fieldapp.domain import RecordKind, Vulnerability
    from fieldapp.services import export

    monkeypatch.setattr(i18n, "_current", None)  # set_language below is undone after the test
    i18n.set_language(lang)
    r = person(tags=[Vulnerability.LOW_INCOME, Vulnerability.DISABILITY])
    service.save(r)
    export.export_kind(service.vault, RecordKind.RESIDENT, tmp_path / "residents.csv")
    rows = list(csv.reader((tmp_path / "residents.csv").read_text("utf-8-sig").splitlines()))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row[i18n.field_label("resident", "tags")] == tags


def test_todays_summary_worked_out_at_unlock_is_used_once_and_only_while_true(
    vault: Vault, clock: FixedClock
) -> None:
    """The unlock's worker works out Today's summary (``prime_today``); the first Today gets
    it as it is, never twice; the records are scanned again only once something was saved
    (another day only filters the same index again)."""
    from fieldapp.services import today as day_summary
    from fieldapp.services.workspace import Workspace

    ws = Workspace(vault)
    ws.records.save(person("王五", cadence=[{"activity": "home_visit", "every_days": 7}]))
    scans: list[int] = []
    build = day_summary.build

    def counted(v: Vault) -> day_summary.TodayIndex:
        scans.append(1)
        return build(v)

    day_summary.build = counted  # type: ignore[assignment]
    try:
        ws.prime_today()
        primed = ws.today_summary()
        assert len(scans) == 1  # worked out once, at the unlock
        again = ws.today_summary()
        assert again is not primed and again == primed and len(scans) == 1  # not rescanned
        ws.prime_today()
        ws.records.save(person("赵六"))  # a save in between: worked out again
        assert ws.today_summary().residents == 2 and len(scans) == 2
        ws.prime_today()
        clock.advance(days=8)  # another day: the same index, seen on that day
        later = ws.today_summary()
        assert later.today == TODAY + dt.timedelta(days=8) and len(scans) == 2
        assert [row.name for row in later.due] == ["王五"]  # due a week after it was set
    finally:
        day_summary.build = build  # type: ignore[assignment]
