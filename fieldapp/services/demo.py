"""A demo vault with realistic, entirely invented sample data, written in Chinese or in
English (the app's language).

Two street offices in Beijing and a township and a village near Lhasa; elderly people
living alone, people with disabilities, juveniles under assistance, left-behind children,
low-income families. Each file's notes, needs and plans come from the pool for that kind
of resident (``demo_texts``). People keep their Chinese or Tibetan names in both
languages; in English, communities and streets are in pinyin as on the street signs.
Dates are relative to ``today`` so that some visits are always overdue. Every name, phone
and ID number is generated; none belongs to a real person.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from fieldapp.domain import (
    Activity,
    CadenceRule,
    CasePlan,
    CheckAnswer,
    CheckItem,
    Consent,
    ConsentStatus,
    FollowUp,
    Gender,
    Goal,
    HouseholdMember,
    Interview,
    Need,
    NeedStatus,
    PlanAction,
    PlanReview,
    Record,
    Resident,
    Urgency,
    Visit,
    VisitKind,
    Vulnerability,
)
from fieldapp.domain.idcard import make_id_number
from fieldapp.domain.ids import new_id
from fieldapp.services.demo_texts import (
    HOME_PURPOSES,
    INTERVIEW_PLACES,
    PHONE_PURPOSES,
    POOLS,
    REVIEWER,
    Text,
    profile_of,
    say,
)
from fieldapp.services.records import RecordService

DEMO_PASSPHRASE = "demo-passphrase"  # the demo vault holds only invented data


@dataclass(frozen=True)
class Community:
    """A place the demo's residents live: its name and streets in Chinese and in English
    (pinyin, as the street signs give them), ID-number region, phone area code, and whether
    its people get Tibetan names."""

    name: Text
    region: str  # first six digits of local ID numbers
    area_code: str
    streets: tuple[Text, ...]
    tibetan: bool = False


COMMUNITIES = (
    Community(
        ("史家社区", "Shijia Community"),
        "110101",
        "010",
        (
            ("史家胡同", "Shijia Hutong"),
            ("内务部街", "Neiwubu Street"),
            ("演乐胡同", "Yanle Hutong"),
        ),
    ),
    Community(
        ("演乐社区", "Yanle Community"),
        "110101",
        "010",
        (
            ("演乐胡同", "Yanle Hutong"),
            ("本司胡同", "Bensi Hutong"),
            ("灯草胡同", "Dengcao Hutong"),
        ),
    ),
    Community(
        ("西总布社区", "Xizongbu Community"),
        "110101",
        "010",
        (
            ("西总布胡同", "Xizongbu Hutong"),
            ("东堂子胡同", "Dongtangzi Hutong"),
            ("赵家楼", "Zhaojialou"),
        ),
    ),
    Community(
        ("和平里北街社区", "Hepingli Beijie Community"),
        "110101",
        "010",
        (
            ("和平里北街", "Hepingli North Street"),
            ("和平里七区", "Hepingli Block 7"),
            ("小黄庄路", "Xiaohuangzhuang Road"),
        ),
    ),
    Community(
        ("冲赛康社区", "Chongsaikang Community"),
        "540102",
        "0891",
        (
            ("冲赛康巷", "Chongsaikang Lane"),
            ("八廓东街", "Barkhor East Street"),
            ("鲁固三巷", "Lugu Lane 3"),
        ),
        tibetan=True,
    ),
    Community(
        ("波玛村", "Boma Village"),
        "540103",
        "0891",
        (("一组", "Group 1"), ("二组", "Group 2"), ("三组", "Group 3")),
        tibetan=True,
    ),
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭"
GIVEN = (
    "秀英",
    "桂兰",
    "建国",
    "志强",
    "淑珍",
    "玉兰",
    "国华",
    "丽",
    "伟",
    "芳",
    "敏",
    "静",
    "磊",
    "洋",
    "浩然",
    "子涵",
    "欣怡",
    "德明",
    "凤英",
    "文",
    "雪梅",
    "振华",
    "桂芝",
    "宇轩",
    "思雨",
    "建军",
    "春花",
    "海燕",
    "长林",
    "美玲",
)
TIBETAN = (
    "扎西",
    "卓玛",
    "次仁",
    "旺堆",
    "央金",
    "格桑",
    "拉姆",
    "达瓦",
    "顿珠",
    "白玛",
    "德吉",
    "平措",
    "尼玛",
    "曲珍",
    "多吉",
    "索朗",
)

HOME_SAFETY = (
    "gas_off",
    "smoke_alarm",
    "floor_clear",
    "bath_grab_bar",
    "emergency_phone",
    "medicine_ok",
)


def _person(rng: random.Random, community: Community) -> str:
    if community.tibetan:
        return rng.choice(TIBETAN) + rng.choice(TIBETAN)
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def _landline(rng: random.Random, community: Community) -> str:
    digits = 8 if community.area_code == "010" else 7
    rest = rng.randrange(10 ** (digits - 1))
    return f"{community.area_code}-{rng.randrange(2, 9)}{rest:0{digits - 1}d}"


def _address(rng: random.Random, community: Community, street: Text, language: str) -> str:
    number = rng.randrange(1, 120)
    if community.tibetan:
        return f"No. {number}, {street[1]}" if language == "en" else f"{street[0]}{number}号"
    unit = rng.randrange(1, 7)
    return (
        f"{number} {street[1]}, Unit {unit}"
        if language == "en"
        else f"{street[0]}{number}号{unit}单元"
    )


def _spend(rng: random.Random, size: int) -> None:
    """Make the draws an earlier demo made here for a text (a choice among ``size``, and the
    coin that picked its language), so the people, dates and record counts stay what they
    were; the texts now come from a stream of their own."""
    rng.randrange(size)
    rng.random()


_OLD_NEED_SIZES = (2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1)  # how many texts each category once had


def build_demo(
    service: RecordService,
    today: dt.date,
    residents: int = 320,
    seed: int = 7,
    language: str = "zh_CN",
) -> dict[str, int]:
    """Fill an empty vault, every text in ``language`` (``zh_CN`` or ``en``; people keep their
    Chinese or Tibetan names) and fitting the resident it is about; returns the number of
    records of each kind. The same seed gives the same people, dates and counts in both
    languages."""
    rng = random.Random(seed)  # people, dates, statuses: what happens
    words = random.Random(seed + 1)  # what is written about it

    def pick(texts: tuple[Text, ...]) -> str:
        return say(words.choice(texts), language)

    home_name = say(COMMUNITIES[0].name, language)
    service.set_profile("李娜 (Li Na)" if language == "en" else "李娜", home_name)
    counts = {"resident": 0, "need": 0, "interview": 0, "visit": 0, "case_plan": 0}
    batch: list[Record] = []
    followups: list[Need] = []

    def flush() -> None:
        if batch:
            service.save_many(batch)
            batch.clear()

    def add(record: Record) -> None:
        batch.append(record)
        counts[record.KIND.value] += 1

    def day(days_ago: int) -> dt.date:
        return today - dt.timedelta(days=days_ago)

    for i in range(residents):
        community = COMMUNITIES[i % len(COMMUNITIES)]
        profile = rng.random()
        tags: list[Vulnerability] = []
        if profile < 0.35:
            tags = [Vulnerability.ELDERLY_ALONE]
            age = rng.randrange(70, 96)
            if rng.random() < 0.3:
                tags.append(Vulnerability.CHRONIC_ILLNESS)
        elif profile < 0.5:
            tags = [Vulnerability.DISABILITY]
            age = rng.randrange(20, 70)
        elif profile < 0.62:
            tags = [Vulnerability.JUVENILE_ASSISTANCE, Vulnerability.MINOR]
            age = rng.randrange(14, 18)
        elif profile < 0.72:
            tags = [Vulnerability.LEFT_BEHIND_CHILD, Vulnerability.MINOR]
            age = rng.randrange(6, 14)
        else:
            tags = [Vulnerability.LOW_INCOME]
            age = rng.randrange(25, 75)
            if rng.random() < 0.4 and age < 60:  # out of work, not retired
                tags.append(Vulnerability.UNEMPLOYED)
        pool = POOLS[profile_of(tags)]
        born = dt.date(today.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
        gender = rng.choice((Gender.FEMALE, Gender.MALE))
        cadence = [CadenceRule(activity=Activity.HOME_VISIT, every_days=30)]
        if Vulnerability.JUVENILE_ASSISTANCE in tags:
            cadence.append(CadenceRule(activity=Activity.INTERVIEW, every_days=7))
        elif Vulnerability.ELDERLY_ALONE in tags:
            cadence.append(CadenceRule(activity=Activity.PHONE_CALL, every_days=7))
        consent_day = day(rng.randrange(60, 900))
        household = []
        if Vulnerability.MINOR in tags or rng.random() < 0.5:
            household.append(
                HouseholdMember(
                    name=_person(rng, community),
                    relation=say(pool.relation, language),
                    phone=_mobile(rng),
                    notes=say(pool.relation_note, language),
                )
            )
        street = rng.choice(community.streets)
        resident = Resident(
            id=new_id(),
            name=_person(rng, community),
            gender=gender,
            birth_date=born,
            id_number=make_id_number(community.region, born, rng.randrange(1000))
            if rng.random() < 0.85
            else None,
            phones=[_mobile(rng)] + ([_landline(rng, community)] if rng.random() < 0.3 else []),
            address=_address(rng, community, street, language),
            community=say(community.name, language),
            household=household,
            tags=tags,
            consent=Consent(status=ConsentStatus.GIVEN, on=consent_day),
            cadence=cadence,
            notes=pick(pool.notes),
        )
        _spend(rng, 5)
        add(resident)

        # Needs: every status, some overdue.
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            old_category = rng.randrange(len(_OLD_NEED_SIZES))
            category, description = words.choice(pool.needs)
            opened = day(rng.randrange(3, 200))
            status = rng.choice(list(NeedStatus))
            note = ""
            if status is NeedStatus.RESOLVED:
                rng.randrange(3)  # the draw its text once took
                note = pick(pool.resolved)
            elif status is NeedStatus.REFERRED:
                rng.randrange(2)  # the draw its text once took
                note = say(pool.referral[0], language)
            _spend(rng, _OLD_NEED_SIZES[old_category])
            need = Need(
                id=new_id(),
                resident_id=resident.id,
                category=category,
                description=say(description, language),
                urgency=rng.choice(list(Urgency)),
                status=NeedStatus.OPEN if status is NeedStatus.RESOLVED else status,
                status_note="" if status is NeedStatus.RESOLVED else note,
                referred_to=say(pool.referral[1], language)
                if status is NeedStatus.REFERRED
                else "",
                opened_on=opened,
                due_date=opened + dt.timedelta(days=rng.randrange(7, 90)),
            )
            if status is NeedStatus.RESOLVED:
                need = need.model_copy(update={"status": NeedStatus.IN_PROGRESS})
                followups.append(
                    need.model_copy(update={"status": NeedStatus.RESOLVED, "status_note": note})
                )
            add(need)

        # Contacts: most residents are on time, about a fifth are overdue.
        late = rng.random() < 0.2
        for rule in cadence:
            last_gap = (
                rule.every_days + rng.randrange(3, 20)
                if late
                else rng.randrange(0, rule.every_days)
            )
            for n in range(rng.randrange(1, 4)):
                when = day(last_gap + n * rule.every_days)
                if rule.activity is Activity.INTERVIEW:
                    rng.randrange(3)  # the draw its text once took
                    answers: dict[str, str | int] = {
                        "school_attendance": rng.choice(("regular", "irregular")),
                        "contact_with_peers": rng.choice(("yes", "no")),
                        "mood_0_10": rng.randrange(3, 10),
                        "plan_progress": pick(pool.progress),
                    }
                    _spend(rng, 5)
                    add(
                        Interview(
                            id=new_id(),
                            resident_ids=[resident.id],
                            held_on=when,
                            place=pick(INTERVIEW_PLACES),
                            template_id="juvenile_followup",
                            answers=answers,
                            notes=pick(pool.interview),
                            follow_ups=[
                                FollowUp(
                                    text=say(pool.follow_up, language),
                                    due_date=when + dt.timedelta(days=7),
                                )
                            ]
                            if rng.random() < 0.3
                            else [],
                        )
                    )
                    continue
                kind = VisitKind.HOME if rule.activity is Activity.HOME_VISIT else VisitKind.PHONE
                checklist = {}
                if kind is VisitKind.HOME and Vulnerability.ELDERLY_ALONE in tags:
                    checklist = {
                        item: CheckItem(
                            answer=CheckAnswer.YES if rng.random() < 0.85 else CheckAnswer.NO
                        )
                        for item in HOME_SAFETY
                    }
                started = dt.datetime.combine(
                    when, dt.time(rng.randrange(9, 17), rng.choice((0, 15, 30, 45)))
                )
                minutes = rng.choice((10, 15, 30, 45, 60)) if kind is VisitKind.HOME else 10
                rng.randrange(4)  # the draw its text once took
                _spend(rng, 5)
                home = kind is VisitKind.HOME
                add(
                    Visit(
                        id=new_id(),
                        resident_id=resident.id,
                        kind=kind,
                        started_at=started,
                        duration_minutes=minutes,
                        purpose=pick(HOME_PURPOSES if home else PHONE_PURPOSES),
                        observations=pick(pool.home if home else pool.phone),
                        checklist_template="home_safety_elderly" if checklist else None,
                        checklist=checklist,
                    )
                )

        if Vulnerability.JUVENILE_ASSISTANCE in tags or rng.random() < 0.08:
            start = day(rng.randrange(30, 200))
            (first, first_owner), (second, second_owner) = pool.actions
            add(
                CasePlan(
                    id=new_id(),
                    resident_id=resident.id,
                    title=say(pool.plan_title, language),
                    start_date=start,
                    goals=[
                        Goal(text=say(pool.goals[0], language)),
                        Goal(text=say(pool.goals[1], language), achieved=rng.random() < 0.3),
                    ],
                    actions=[
                        PlanAction(
                            text=say(first, language),
                            owner=say(first_owner, language),
                            due_date=start + dt.timedelta(days=90),
                        ),
                        PlanAction(
                            text=say(second, language),
                            owner=say(second_owner, language),
                            due_date=start + dt.timedelta(days=30),
                            done=rng.random() < 0.5,
                        ),
                    ],
                    reviews=[
                        PlanReview(
                            held_on=start + dt.timedelta(days=28),
                            text=say(pool.review, language),
                            reviewer=say(REVIEWER, language),
                        )
                    ],
                    next_review=start + dt.timedelta(days=rng.randrange(40, 120)),
                )
            )
        if len(batch) >= 60:
            flush()
    flush()
    # Resolutions are later edits, so the history shows the status moving.
    for need in followups:
        service.save(need)
    return counts
