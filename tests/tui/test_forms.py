"""Each record kind's form as data: its ``build()`` called directly — no app, no Pilot —
over a workspace on a fixed clock. What a social worker sees (fields, labels,
defaults, the checklist), what a save makes of what was typed, and which message shows
beside which field when the input is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fieldapp.domain import (
    CasePlan,
    CheckAnswer,
    Interview,
    Need,
    NeedStatus,
    Record,
    Resident,
    Visit,
    Vulnerability,
    kinds,
)
from fieldapp.errors import RecordInvalid
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.forms import (
    FORMS,
    case_plan,
    form_for,
    interview,
    need,
    resident,
    supervision_note,
    visit,
)
from fieldapp.tui.forms.spec import FormDef
from tests.conftest import T0

TODAY = T0.date()  # 2026-11-29


@pytest.fixture
def ws(vault: Vault) -> Workspace:
    """A worker's workspace on the scenario clock, with the worker's own community."""
    workspace = Workspace(vault)
    workspace.records.set_profile("王社工", "史家社区")
    return workspace


@pytest.fixture
def grandma(ws: Workspace) -> Resident:
    """An elderly woman living alone (高龄独居): her visits get the home-safety checklist."""
    person = Resident(
        name="张奶奶",
        community="史家社区",
        birth_year=1940,
        tags=[Vulnerability.ELDERLY_ALONE],
    )
    ws.save(person)
    return person


@pytest.fixture
def youth(ws: Workspace) -> Resident:
    person = Resident(
        name="李明", community="史家社区", birth_year=2010, tags=[Vulnerability.MINOR]
    )
    ws.save(person)
    return person


def captions(form: FormDef) -> list[str]:
    return [spec.caption() for spec in form.specs]


def problems(form: FormDef, **typed: Any) -> dict[str, list[str]]:
    """What the form shows beside each field when saving ``typed`` over its defaults."""
    with pytest.raises(RecordInvalid) as caught:
        form.to_record({**form.values, **typed})
    shown: dict[str, list[str]] = {}
    for problem in caught.value.problems:
        shown.setdefault(form.problem_field(problem.path), []).append(problem.render("en"))
    return shown


def saved(form: FormDef, **typed: Any) -> Record:
    return form.to_record({**form.values, **typed})


# ---------------------------------------------------------------- which form


def test_every_kind_finds_its_form_through_the_registry() -> None:
    # Assignments and scope receipts are written by the sync, not typed in a form; a note
    # to an office has no resident's file to open a form from (its service writes it).
    formless = {"assignment", "scope_receipt", "office_note"}
    assert {s.kind for s in kinds.all_kinds() if s.form is None} == formless
    assert {s.kind: form_for(s.kind) for s in kinds.all_kinds() if s.form is not None} == {
        "resident": resident,
        "need": need,
        "interview": interview,
        "visit": visit,
        "case_plan": case_plan,
        "supervision_note": supervision_note,
    }
    assert set(FORMS) == {spec.form for spec in kinds.all_kinds()} - {None}


# ---------------------------------------------------------------- resident


def test_a_new_residents_form_asks_who_the_person_is(ws: Workspace) -> None:
    form = resident.build(ws)
    assert form.title == "ui.form_new_resident" and form.draft_key == "resident:new"
    assert captions(form) == [
        "Name *",
        "Gender *",
        "Date of birth (YYYY-MM-DD)",
        "Year of birth (if the date is unknown)",
        "ID number",
        "Phones",
        "Address",
        "Community / village *",
        "Vulnerabilities",
        "Consent *",
        "Consent date",
        "Interview every … days",
        "Home visit every … days",
        "Phone call every … days",
        "Household members",
        "Notes",
    ]
    # The worker's own community is filled in; consent starts as "not yet asked".
    assert form.values["community"] == "史家社区"
    assert form.values["gender"] == "unknown" and form.values["consent_status"] == "pending"
    assert ("Elderly living alone", "elderly_alone") in form.spec("tags").options
    assert form.spec("household").hint == "hint.household"


def test_a_residents_form_turns_lines_and_lists_into_the_record(ws: Workspace) -> None:
    record = saved(
        resident.build(ws),
        name=" 赵六 ",
        phones="13800138000，010-65123456",
        tags=["elderly_alone"],
        interview_every="7",
        home_visit_every="30",
        household="李梅; 女儿; 13900139000\n王强；邻居",
        consent_status="given",
        consent_on="2026-11-20",
    )
    assert isinstance(record, Resident)
    assert record.name == "赵六" and record.community == "史家社区"
    assert record.phones == ["13800138000", "010-65123456"]
    assert [(c.activity.value, c.every_days) for c in record.cadence] == [
        ("interview", 7),
        ("home_visit", 30),
    ]
    assert [(m.name, m.relation, m.phone) for m in record.household] == [
        ("李梅", "女儿", "13900139000"),
        ("王强", "邻居", None),
    ]
    assert record.consent.on == dt.date(2026, 11, 20)


def test_a_residents_form_shows_each_problem_beside_its_field(ws: Workspace) -> None:
    shown = problems(
        resident.build(ws),
        name="",
        phones="12345",
        consent_status="given",
        interview_every="0",
        birth_year="abc",
    )
    assert shown == {
        "name": ["Required."],
        "phones": [
            "Not a phone number: use 11 digits for a mobile, or area code + number for a "
            "landline (010-65123456)."
        ],
        "birth_year": ["Enter a whole number."],
        "consent_on": ["Enter the date consent was given or withdrawn."],
        "interview_every": ["Must be at least 1."],
    }


def test_editing_a_resident_keeps_what_the_form_does_not_show(ws: Workspace) -> None:
    person = Resident.model_validate(
        {
            "name": "张三",
            "community": "史家社区",
            "birth_date": "1950-03-01",
            "household": [{"name": "李梅", "relation": "女儿", "notes": "周末回家"}],
            "consent": {"status": "given", "on": "2026-01-05", "note": "书面同意"},
        }
    )
    form = resident.build(ws, person)
    assert form.title == "ui.form_edit_resident" and form.title_params == {"name": "张三"}
    assert form.draft_key == f"resident:{person.id}"
    assert form.values["birth_date"] == "1950-03-01" and form.values["birth_year"] == ""
    assert form.values["household"] == "李梅; 女儿"
    again = saved(form, address="东城区史家胡同5号")
    assert isinstance(again, Resident) and again.id == person.id
    assert again.household[0].notes == "周末回家" and again.consent.note == "书面同意"
    assert again.address == "东城区史家胡同5号" and again.birth_year == 1950


# ---------------------------------------------------------------- need


def test_a_new_needs_form_starts_today_at_medium_urgency(ws: Workspace, grandma: Resident) -> None:
    form = need.build(ws, grandma)
    assert form.title == "ui.form_new_need" and form.title_params == {"name": "张奶奶"}
    assert captions(form) == [
        "Category *",
        "Description *",
        "Urgency *",
        "Listed on *",
        "Due date",
    ]
    assert form.values == {
        "category": None,
        "description": "",
        "urgency": "medium",
        "opened_on": "2026-11-29",
        "due_date": "",
    }
    assert form.draft_key == f"need:new:{grandma.id}"
    record = saved(form, category="housing", description="屋顶漏雨")
    assert isinstance(record, Need) and record.resident_id == grandma.id
    assert record.status is NeedStatus.OPEN and record.opened_on == TODAY


def test_a_needs_form_refuses_a_need_without_what_or_due_before_listed(
    ws: Workspace, grandma: Resident
) -> None:
    form = need.build(ws, grandma)
    assert problems(form) == {"category": ["Required."], "description": ["Required."]}
    assert problems(form, category="health", description="腿疼", due_date="2026-11-01") == {
        "due_date": ["The due date is before the date the need was opened."]
    }
    assert problems(form, category="health", description="腿疼", due_date="12/01") == {
        "due_date": ["Enter a date as YYYY-MM-DD."]
    }


def test_editing_a_need_keeps_its_status(ws: Workspace, grandma: Resident) -> None:
    listed = Need(
        resident_id=grandma.id,
        category="income",  # type: ignore[arg-type]
        description="申请低保",
        status=NeedStatus.IN_PROGRESS,
        opened_on=dt.date(2026, 11, 1),
    )
    form = need.build(ws, grandma, listed)
    assert form.title == "ui.form_edit_need"
    assert form.values["category"] == "income" and form.values["opened_on"] == "2026-11-01"
    record = saved(form, urgency="high")
    assert isinstance(record, Need) and record.id == listed.id
    assert record.status is NeedStatus.IN_PROGRESS and record.urgency.value == "high"


# ---------------------------------------------------------------- visit


def test_a_visit_to_an_elderly_person_living_alone_has_the_safety_checklist(
    ws: Workspace, grandma: Resident
) -> None:
    form = visit.build(ws, grandma)
    assert form.title == "ui.form_new_visit" and form.title_params == {"name": "张奶奶"}
    assert captions(form) == [
        "Kind of contact *",
        "Date and time *",
        "Minutes *",
        "Purpose *",
        "Observations",
        "Home-safety checklist (answer what you checked)",
        "Gas valve closed, no smell",
        "Smoke alarm works",
        "Floor clear and dry",
        "Grab bar in the bathroom",
        "Emergency phone works",
        "Medicines in date and taken",
        "Next visit due",
    ]
    assert form.values["kind"] == "home" and form.values["started_at"] == "2026-11-29 10:30"
    assert form.values["duration_minutes"] == "30" and form.values["checklist_title"] is True
    item = form.spec("chk_gas_off")
    assert item.shown_when == "checklist_title" and form.values["chk_gas_off"] is None
    assert [value for _, value in item.options] == [a.value for a in CheckAnswer]
    record = saved(form, purpose="月度家访", chk_gas_off="no", chk_smoke_alarm="yes")
    assert isinstance(record, Visit) and record.checklist_template == "home_safety_elderly"
    assert {k: v.answer.value for k, v in record.checklist.items()} == {
        "gas_off": "no",
        "smoke_alarm": "yes",
    }
    assert record.started_at == dt.datetime(2026, 11, 29, 10, 30)
    # Unticked, the checklist is not saved, whatever its items hold.
    unticked = saved(form, purpose="月度家访", chk_gas_off="no", checklist_title=False)
    assert isinstance(unticked, Visit) and unticked.checklist == {}
    assert unticked.checklist_template is None


def test_a_visit_to_someone_else_has_no_checklist(ws: Workspace, youth: Resident) -> None:
    form = visit.build(ws, youth)
    assert [s.name for s in form.specs] == [
        "kind",
        "started_at",
        "duration_minutes",
        "purpose",
        "observations",
        "next_due",
    ]


def test_a_visits_form_shows_its_problems(ws: Workspace, grandma: Resident) -> None:
    form = visit.build(ws, grandma)
    assert problems(form, duration_minutes="half an hour") == {
        "duration_minutes": ["Enter a whole number."],
        "purpose": ["Required."],
    }
    assert problems(form, purpose="回访", next_due="2026-11-01", started_at="2026-11-29") == {
        "next_due": ["The next visit cannot be before this one."],
    }
    assert problems(form, purpose="回访", started_at="tomorrow") == {
        "started_at": ["Enter a date and time as YYYY-MM-DD HH:MM."],
    }


# ---------------------------------------------------------------- interview


def test_an_interview_asks_its_templates_questions(ws: Workspace, grandma: Resident) -> None:
    form = interview.build(ws, grandma, "psych_screening")
    assert form.title == "ui.form_new_interview"
    assert form.title_params == {"name": "张奶奶", "template": "Psychological screening"}
    assert form.draft_key == f"interview:new:{grandma.id}:psych_screening"
    assert [(s.name, s.kind, s.caption()) for s in form.specs] == [
        ("held_on", "date", "Date *"),
        ("place", "text", "Place"),
        ("q_mood_0_10", "int", "Mood, self-rated (0–10)"),
        ("q_sleep", "select", "Sleep"),
        (
            "q_thoughts_of_self_harm",
            "select",
            "Thoughts of self-harm (if yes, tell the supervisor today)",
        ),
        ("q_support_people", "text", "People they can talk to"),
        ("notes", "note", "Notes"),
        ("follow_ups", "lines", "Follow-up actions"),
    ]
    assert form.spec("q_sleep").options == [
        ("Normal", "normal"),
        ("Poor", "poor"),
        ("Very poor", "very_poor"),
    ]
    assert form.values["held_on"] == "2026-11-29"
    record = saved(
        form,
        q_mood_0_10="4",
        q_sleep="poor",
        q_thoughts_of_self_harm="no",
        follow_ups="联系家属; 2026-12-06\n下周再谈",
    )
    assert isinstance(record, Interview) and record.resident_ids == [grandma.id]
    assert record.answers == {"mood_0_10": 4, "sleep": "poor", "thoughts_of_self_harm": False}
    assert [(f.text, f.due_date) for f in record.follow_ups] == [
        ("联系家属", dt.date(2026, 12, 6)),
        ("下周再谈", None),
    ]


def test_an_interviews_answers_are_checked_against_the_template(
    ws: Workspace, grandma: Resident
) -> None:
    form = interview.build(ws, grandma, "psych_screening")
    assert problems(form, q_mood_0_10="11") == {"q_mood_0_10": ["Must be at most 10."]}
    assert problems(form, q_mood_0_10="很好") == {"q_mood_0_10": ["Enter a whole number."]}
    assert problems(form, held_on="") == {"held_on": ["Required."]}
    with pytest.raises(KeyError):
        interview.build(ws, grandma, "no_such_template")


# ---------------------------------------------------------------- case plan


def test_a_new_case_plan_is_active_from_today(ws: Workspace, youth: Resident) -> None:
    form = case_plan.build(ws, youth)
    assert form.title == "ui.form_new_plan" and form.title_params == {"name": "李明"}
    assert captions(form) == [
        "Title *",
        "Status *",
        "Start date *",
        "Goals",
        "Actions",
        "Reviews",
        "Next review",
    ]
    assert form.values["status"] == "active" and form.values["start_date"] == "2026-11-29"
    assert [s.hint for s in form.specs if s.kind == "lines"] == [
        "hint.goals",
        "hint.actions",
        "hint.reviews",
    ]
    record = saved(
        form,
        title="帮教方案",
        goals="[x] 恢复上学\n每周参加一次社区活动",
        actions="联系学校; 王社工; 2026-12-10; x\n家访父母；李社工",
        reviews="2026-11-28; 情况稳定，继续关注; 督导",
    )
    assert isinstance(record, CasePlan) and record.resident_id == youth.id
    assert [(g.text, g.achieved) for g in record.goals] == [
        ("恢复上学", True),
        ("每周参加一次社区活动", False),
    ]
    assert [(a.text, a.owner, a.due_date, a.done) for a in record.actions] == [
        ("联系学校", "王社工", dt.date(2026, 12, 10), True),
        ("家访父母", "李社工", None, False),
    ]
    assert [(r.text, r.reviewer) for r in record.reviews] == [("情况稳定，继续关注", "督导")]


def test_a_case_plan_reads_back_into_its_form_unchanged(ws: Workspace, youth: Resident) -> None:
    first = saved(
        case_plan.build(ws, youth),
        title="帮教方案",
        goals="[x] 恢复上学\n找到兼职",
        actions="联系学校; 王社工; 2026-12-10; x\n家访父母",
        reviews="2026-11-28; 情况稳定; 督导",
        next_review="2026-12-28",
    )
    assert isinstance(first, CasePlan)
    form = case_plan.build(ws, youth, first)
    assert form.title == "ui.form_edit_plan"
    assert form.values["actions"] == "联系学校; 王社工; 2026-12-10; x\n家访父母"
    assert form.draft_key == f"case_plan:{first.id}:{youth.id}"
    assert saved(form) == first


def test_a_case_plans_form_shows_its_problems(ws: Workspace, youth: Resident) -> None:
    form = case_plan.build(ws, youth)
    assert problems(form) == {"title": ["Required."]}
    assert problems(form, title="方案", reviews="2026-11-28", actions="; 王社工") == {
        "actions": ["Required."],
        "reviews": ["Required."],
    }
    assert problems(form, title="方案", start_date="下周") == {
        "start_date": ["Enter a date as YYYY-MM-DD."]
    }
