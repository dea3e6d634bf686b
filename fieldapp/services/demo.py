"""A demo vault with realistic, entirely invented sample data (bilingual).

Two street offices in Beijing and a township and a village near Lhasa; elderly people
living alone, people with disabilities, juveniles under assistance, low-income
families. Dates are relative to ``today`` so that some visits are always overdue.
Every name, phone and ID number is generated; none belongs to a real person.
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
    NeedCategory,
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
from fieldapp.services.records import RecordService

DEMO_PASSPHRASE = "demo-passphrase"  # the demo vault holds only invented data


@dataclass(frozen=True)
class Community:
    """A place the demo's residents live: name, ID-number region, phone area code, streets,
    and whether its people get Tibetan names."""

    name: str
    region: str  # first six digits of local ID numbers
    area_code: str
    streets: tuple[str, ...]
    tibetan: bool = False


COMMUNITIES = (
    Community("史家社区", "110101", "010", ("史家胡同", "内务部街", "演乐胡同")),
    Community("演乐社区", "110101", "010", ("演乐胡同", "本司胡同", "灯草胡同")),
    Community("西总布社区", "110101", "010", ("西总布胡同", "东堂子胡同", "赵家楼")),
    Community("和平里北街社区", "110101", "010", ("和平里北街", "和平里七区", "小黄庄路")),
    Community("冲赛康社区", "540102", "0891", ("冲赛康巷", "八廓东街", "鲁固三巷"), tibetan=True),
    Community("波玛村", "540103", "0891", ("一组", "二组", "三组"), tibetan=True),
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

NEED_TEXT: dict[NeedCategory, tuple[tuple[str, str], ...]] = {
    NeedCategory.INCOME: (
        (
            "申请低保，材料待补充户口本复印件",
            "Apply for minimum living allowance; hukou copy missing",
        ),
        ("临时救助：医疗费用导致生活困难", "Temporary relief: medical bills left the family short"),
    ),
    NeedCategory.HOUSING: (
        ("老旧平房漏雨，需申请修缮", "Old single-storey house leaks; apply for repairs"),
        ("卫生间加装扶手和防滑垫", "Grab bars and anti-slip mats in the bathroom"),
    ),
    NeedCategory.HEALTH: (
        (
            "高血压需定期测量，协助签约家庭医生",
            "High blood pressure; help sign up with a family doctor",
        ),
        ("术后康复，需陪同复诊", "Post-surgery recovery; needs someone to accompany check-ups"),
    ),
    NeedCategory.DAILY_CARE: (
        (
            "独居，需助餐服务（社区食堂送餐）",
            "Lives alone; needs meal delivery from the community canteen",
        ),
        ("申请居家养老服务，每周两次助洁", "Home-care service: cleaning help twice a week"),
    ),
    NeedCategory.EDUCATION: (
        ("辍学在家，联系学校复学", "Dropped out; contact the school about returning"),
        ("需要课业辅导志愿者", "Needs a volunteer tutor for homework"),
    ),
    NeedCategory.EMPLOYMENT: (
        ("推荐参加街道就业培训（家政）", "Refer to the street office's housekeeping training"),
        ("协助办理失业登记", "Help register as unemployed"),
    ),
    NeedCategory.LEGAL: (
        ("赡养纠纷，需法律援助", "Elder-support dispute; needs legal aid"),
        ("协助办理残疾证换证", "Help renew the disability certificate"),
    ),
    NeedCategory.PSYCHOLOGICAL: (
        ("丧偶后情绪低落，安排心理疏导", "Low mood since losing spouse; arrange counselling"),
        ("与家人关系紧张，需家庭辅导", "Tension at home; family counselling"),
    ),
    NeedCategory.FAMILY: (
        ("子女在外地，需建立紧急联系人机制", "Children live far away; set up an emergency contact"),
    ),
    NeedCategory.DISABILITY_SUPPORT: (
        ("申请轮椅及辅具适配", "Apply for a wheelchair and assistive devices"),
    ),
    NeedCategory.OTHER: (("协助办理老年卡", "Help apply for the senior citizen card"),),
}

OBSERVATIONS = (
    (
        "老人精神状态良好，冰箱有存粮，药品按时服用。",
        "In good spirits; food in the fridge; taking medicine on time.",
    ),
    (
        "屋内较冷，暖气不热，已联系物业。",
        "Flat is cold, heating weak; property management contacted.",
    ),
    (
        "家属在场，沟通顺畅，约定下次面谈时间。",
        "Family present, good conversation; next interview agreed.",
    ),
    ("本人情绪波动较大，提到睡眠不好。", "Mood swings; mentions sleeping badly."),
    (
        "按计划完成学习打卡，与母亲关系改善。",
        "Kept to the study plan; relationship with mother improving.",
    ),
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


def _text(rng: random.Random, pair: tuple[str, str]) -> str:
    # Most workers write in Chinese; an NGO volunteer writes some notes in English.
    return pair[1] if rng.random() < 0.2 else pair[0]


def build_demo(
    service: RecordService, today: dt.date, residents: int = 320, seed: int = 7
) -> dict[str, int]:
    """Fill an empty vault; returns the number of records of each kind."""
    rng = random.Random(seed)
    service.set_profile("李娜 (Li Na)", "史家社区")
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
            if rng.random() < 0.4:
                tags.append(Vulnerability.UNEMPLOYED)
        born = dt.date(today.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
        gender = rng.choice((Gender.FEMALE, Gender.MALE))
        cadence = [CadenceRule(activity=Activity.HOME_VISIT, every_days=30)]
        if Vulnerability.JUVENILE_ASSISTANCE in tags:
            cadence.append(CadenceRule(activity=Activity.INTERVIEW, every_days=7))
        elif Vulnerability.ELDERLY_ALONE in tags:
            cadence.append(CadenceRule(activity=Activity.PHONE_CALL, every_days=7))
        consent_day = day(rng.randrange(60, 900))
        household = []
        if Vulnerability.MINOR in tags:
            household.append(
                HouseholdMember(name=_person(rng, community), relation="母亲", phone=_mobile(rng))
            )
        elif rng.random() < 0.5:
            household.append(
                HouseholdMember(name=_person(rng, community), relation="子女", phone=_mobile(rng))
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
            address=f"{street}{rng.randrange(1, 120)}号"
            + ("" if community.tibetan else f"{rng.randrange(1, 7)}单元"),
            community=community.name,
            household=household,
            tags=tags,
            consent=Consent(status=ConsentStatus.GIVEN, on=consent_day),
            cadence=cadence,
            notes=_text(rng, rng.choice(OBSERVATIONS)),
        )
        add(resident)

        # Needs: every status, some overdue.
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            category = rng.choice(list(NEED_TEXT))
            opened = day(rng.randrange(3, 200))
            status = rng.choice(list(NeedStatus))
            note = ""
            if status is NeedStatus.RESOLVED:
                note = rng.choice(
                    ("已办结，居民满意", "Done; resident satisfied", "已落实助餐服务")
                )
            elif status is NeedStatus.REFERRED:
                note = rng.choice(("转介至街道残联", "Referred to the district legal aid centre"))
            need = Need(
                id=new_id(),
                resident_id=resident.id,
                category=category,
                description=_text(rng, rng.choice(NEED_TEXT[category])),
                urgency=rng.choice(list(Urgency)),
                status=NeedStatus.OPEN if status is NeedStatus.RESOLVED else status,
                status_note="" if status is NeedStatus.RESOLVED else note,
                referred_to="街道残联" if status is NeedStatus.REFERRED else "",
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
                    add(
                        Interview(
                            id=new_id(),
                            resident_ids=[resident.id],
                            held_on=when,
                            place=rng.choice(("社区服务站", "居民家中", "司法所")),
                            template_id="juvenile_followup",
                            answers={
                                "school_attendance": rng.choice(("regular", "irregular")),
                                "contact_with_peers": rng.choice(("yes", "no")),
                                "mood_0_10": rng.randrange(3, 10),
                            },
                            notes=_text(rng, rng.choice(OBSERVATIONS)),
                            follow_ups=[
                                FollowUp(
                                    text="联系学校班主任", due_date=when + dt.timedelta(days=7)
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
                add(
                    Visit(
                        id=new_id(),
                        resident_id=resident.id,
                        kind=kind,
                        started_at=dt.datetime.combine(
                            when, dt.time(rng.randrange(9, 17), rng.choice((0, 15, 30, 45)))
                        ),
                        duration_minutes=rng.choice((10, 15, 30, 45, 60))
                        if kind is VisitKind.HOME
                        else 10,
                        purpose=rng.choice(
                            ("例行探访", "Routine check-in", "了解需求进展", "节前慰问")
                        ),
                        observations=_text(rng, rng.choice(OBSERVATIONS)),
                        checklist_template="home_safety_elderly" if checklist else None,
                        checklist=checklist,
                    )
                )

        if Vulnerability.JUVENILE_ASSISTANCE in tags or rng.random() < 0.08:
            start = day(rng.randrange(30, 200))
            add(
                CasePlan(
                    id=new_id(),
                    resident_id=resident.id,
                    title="个性化帮教方案"
                    if Vulnerability.JUVENILE_ASSISTANCE in tags
                    else "个案服务计划",
                    start_date=start,
                    goals=[
                        Goal(text="恢复规律作息与学习"),
                        Goal(text="Rebuild trust with family", achieved=rng.random() < 0.3),
                    ],
                    actions=[
                        PlanAction(
                            text="每周面谈一次",
                            owner="李娜",
                            due_date=start + dt.timedelta(days=90),
                        ),
                        PlanAction(
                            text="联系学校安排复学",
                            owner="王老师",
                            due_date=start + dt.timedelta(days=30),
                            done=rng.random() < 0.5,
                        ),
                    ],
                    reviews=[
                        PlanReview(
                            held_on=start + dt.timedelta(days=28),
                            text="进展良好，继续执行。",
                            reviewer="督导 陈静",
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
