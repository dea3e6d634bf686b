"""The demo's words: every note, need, plan and answer the demo writes, in Chinese and in
English, kept in pools by the kind of resident they fit (an elderly person living alone, a
person with a disability, a juvenile under assistance, a left-behind child, a low-income
household with or without work), so a file never reads a child's note on an old man.

Each text is a ``(zh_CN, en)`` pair; :func:`say` picks the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fieldapp.domain import NeedCategory, Vulnerability

Text = tuple[str, str]  # (zh_CN, en)


def say(text: Text, language: str) -> str:
    """``text`` in ``language`` (``zh_CN`` or ``en``)."""
    return text[1] if language == "en" else text[0]


class Profile(StrEnum):
    """The kind of resident a text is written for."""

    ELDERLY_ALONE = "elderly_alone"
    DISABILITY = "disability"
    JUVENILE = "juvenile"
    LEFT_BEHIND = "left_behind"
    LOW_INCOME = "low_income"
    UNEMPLOYED = "unemployed"  # low income, of working age, out of work


def profile_of(tags: list[Vulnerability]) -> Profile:
    """The pool a resident with ``tags`` draws texts from (the demo gives each resident the
    tags of exactly one of these)."""
    if Vulnerability.ELDERLY_ALONE in tags:
        return Profile.ELDERLY_ALONE
    if Vulnerability.DISABILITY in tags:
        return Profile.DISABILITY
    if Vulnerability.JUVENILE_ASSISTANCE in tags:
        return Profile.JUVENILE
    if Vulnerability.LEFT_BEHIND_CHILD in tags:
        return Profile.LEFT_BEHIND
    if Vulnerability.UNEMPLOYED in tags:
        return Profile.UNEMPLOYED
    return Profile.LOW_INCOME


@dataclass(frozen=True)
class Pool:
    """What may be written about one kind of resident."""

    relation: Text  # the household member the demo adds (a parent, a grandparent, a child)
    relation_note: Text  # that member's note
    notes: tuple[Text, ...]  # the resident file's notes
    home: tuple[Text, ...]  # a home visit's observations
    phone: tuple[Text, ...]  # a phone call's observations
    needs: tuple[tuple[NeedCategory, Text], ...]
    resolved: tuple[Text, ...]  # a resolved need's note
    referral: tuple[Text, Text]  # a referred need's note, and where it went
    interview: tuple[Text, ...]  # an interview's notes
    progress: tuple[Text, ...]  # the interview's "progress on the case plan" answer
    follow_up: Text
    plan_title: Text
    goals: tuple[Text, Text]
    actions: tuple[tuple[Text, Text], tuple[Text, Text]]  # (what, who)
    review: Text


WORKER = ("李娜", "李娜")  # the demo's own worker (a name: the same in both languages)

POOLS: dict[Profile, Pool] = {
    Profile.ELDERLY_ALONE: Pool(
        relation=("子女", "Son or daughter"),
        relation_note=("不同住，在外地工作", "Lives and works in another city"),
        notes=(
            (
                "独居多年，子女在外地，每周通一次电话。",
                "Has lived alone for years; children far away call once a week.",
            ),
            ("耳背，上门需多敲几次门。", "Hard of hearing; knock more than once."),
            ("腿脚不便，很少下楼。", "Walks with difficulty; rarely goes downstairs."),
            ("喜欢在社区活动室下棋，性格开朗。", "Plays chess in the community room; cheerful."),
            ("老伴前年去世，邻居常来照应。", "Widowed two years ago; neighbours look in often."),
        ),
        home=(
            (
                "老人精神状态良好，冰箱有存粮，药品按时服用。",
                "In good spirits; food in the fridge; taking medicine on time.",
            ),
            (
                "屋内较冷，暖气不热，已联系物业。",
                "Flat is cold, heating weak; property management contacted.",
            ),
            ("卫生间地面湿滑，建议加装扶手。", "Bathroom floor slippery; grab bars advised."),
            (
                "血压偏高，提醒按时测量并记录。",
                "Blood pressure on the high side; reminded to measure and note it.",
            ),
            (
                "燃气灶使用后已关闭阀门，烟感正常。",
                "Gas valve closed after cooking; smoke alarm works.",
            ),
        ),
        phone=(
            ("电话问候，老人说一切都好，午饭已吃。", "Phoned; all well, lunch eaten."),
            (
                "电话中提到睡眠不好，约定下周上门。",
                "Mentioned sleeping badly on the phone; home visit next week.",
            ),
            ("提醒按时服药，老人已记下复诊时间。", "Reminded about medicine; check-up date noted."),
            ("电话无人接听，联系邻居后确认平安。", "No answer; a neighbour confirmed all is well."),
        ),
        needs=(
            (
                NeedCategory.DAILY_CARE,
                (
                    "独居，需助餐服务（社区食堂送餐）",
                    "Lives alone; needs meals delivered from the community canteen",
                ),
            ),
            (
                NeedCategory.DAILY_CARE,
                ("申请居家养老服务，每周两次助洁", "Home-care service: cleaning help twice a week"),
            ),
            (
                NeedCategory.HOUSING,
                ("卫生间加装扶手和防滑垫", "Grab bars and anti-slip mats in the bathroom"),
            ),
            (NeedCategory.HOUSING, ("安装燃气报警器和烟感", "Fit a gas alarm and a smoke alarm")),
            (
                NeedCategory.HOUSING,
                ("老旧平房漏雨，需申请修缮", "Old single-storey house leaks; apply for repairs"),
            ),
            (
                NeedCategory.HEALTH,
                (
                    "高血压需定期测量，协助签约家庭医生",
                    "High blood pressure; help sign up with a family doctor",
                ),
            ),
            (
                NeedCategory.HEALTH,
                (
                    "术后康复，需陪同复诊",
                    "Recovering from surgery; needs someone to go along to check-ups",
                ),
            ),
            (
                NeedCategory.FAMILY,
                (
                    "子女在外地，需建立紧急联系人机制",
                    "Children live far away; set up an emergency contact",
                ),
            ),
            (
                NeedCategory.PSYCHOLOGICAL,
                (
                    "丧偶后情绪低落，安排心理疏导",
                    "Low mood since losing spouse; arrange counselling",
                ),
            ),
            (
                NeedCategory.LEGAL,
                ("赡养纠纷，需法律援助", "Dispute over support from the children; needs legal aid"),
            ),
            (NeedCategory.OTHER, ("协助办理老年卡", "Help apply for the senior citizen card")),
        ),
        resolved=(
            ("已落实助餐服务", "Meal delivery arranged"),
            ("已办结，老人满意", "Done; resident satisfied"),
        ),
        referral=(
            ("转介至街道养老服务驿站", "Referred to the elderly-care station"),
            ("街道养老服务驿站", "Street office elderly-care station"),
        ),
        interview=(
            (
                "老人精神尚可，愿意参加社区活动。",
                "Fair spirits; willing to join community activities.",
            ),
        ),
        progress=(("按计划推进", "On track"),),
        follow_up=("联系社区医生上门", "Ask the community doctor to call"),
        plan_title=("个案服务计划", "Case service plan"),
        goals=(
            ("按时服药，血压稳定", "Takes medicine on time; blood pressure steady"),
            ("居家环境安全", "A safe home"),
        ),
        actions=(
            (("每周电话问候一次", "Weekly phone call"), WORKER),
            (
                ("联系物业加装扶手", "Ask property management to fit grab bars"),
                ("张建国", "张建国"),
            ),
        ),
        review=("老人情况稳定，继续关注用药。", "Stable; keep an eye on the medicine."),
    ),
    Profile.DISABILITY: Pool(
        relation=("家属", "Family member"),
        relation_note=("同住，负责日常照料", "Lives in; looks after daily care"),
        notes=(
            (
                "肢体残疾二级，出行需轮椅。",
                "Physical disability, grade 2; uses a wheelchair outdoors.",
            ),
            ("听力残疾，沟通可用手写或微信。", "Hearing disability; write or use WeChat to talk."),
            (
                "视力残疾，熟悉家中布局，勿随意挪动物品。",
                "Visual disability; knows the home by heart, do not move things.",
            ),
            ("在社区工疗站参加手工活动。", "Does handicrafts at the community workshop."),
            (
                "残疾证下月到期，需提醒换证。",
                "Disability certificate expires next month; remind to renew.",
            ),
        ),
        home=(
            ("家中通道畅通，轮椅进出方便。", "Clear passages; the wheelchair gets through."),
            (
                "家属在场，沟通顺畅，约定下次面谈时间。",
                "Family present, good conversation; next interview agreed.",
            ),
            ("辅具有磨损，需申请更换。", "Assistive device worn; apply for a new one."),
            ("康复训练坚持较好，情绪稳定。", "Keeps up rehabilitation exercises; mood steady."),
        ),
        phone=(("电话回访，辅具使用正常。", "Phoned; the assistive device works fine."),),
        needs=(
            (
                NeedCategory.DISABILITY_SUPPORT,
                ("申请轮椅及辅具适配", "Apply for a wheelchair and assistive devices"),
            ),
            (NeedCategory.LEGAL, ("协助办理残疾证换证", "Help renew the disability certificate")),
            (
                NeedCategory.INCOME,
                (
                    "申请困难残疾人生活补贴",
                    "Apply for the living allowance for disabled people in hardship",
                ),
            ),
            (
                NeedCategory.DAILY_CARE,
                ("申请残疾人居家托养服务", "Apply for home-based care for disabled people"),
            ),
            (
                NeedCategory.HOUSING,
                ("楼道口加装无障碍坡道", "Build a ramp at the building entrance"),
            ),
            (
                NeedCategory.HEALTH,
                ("需陪同康复训练", "Needs someone to go along to rehabilitation"),
            ),
        ),
        resolved=(
            ("辅具已送达", "Assistive device delivered"),
            ("已办结，居民满意", "Done; resident satisfied"),
        ),
        referral=(
            ("转介至区残联", "Referred to the disabled persons' federation"),
            ("区残联", "District disabled persons' federation"),
        ),
        interview=(("本人对康复进展满意。", "Pleased with the rehabilitation so far."),),
        progress=(("按计划推进", "On track"),),
        follow_up=("联系区残联确认辅具", "Check the device with the federation"),
        plan_title=("个案服务计划", "Case service plan"),
        goals=(
            ("辅具适配到位", "The right assistive devices"),
            ("参加社区康复活动", "Joins community rehabilitation activities"),
        ),
        actions=(
            (("陪同评估辅具需求", "Go along to the device assessment"), WORKER),
            (
                ("联系残联安排康复活动", "Arrange rehabilitation activities with the federation"),
                ("赵敏", "赵敏"),
            ),
        ),
        review=("辅具已申请，继续跟进康复。", "Device applied for; follow up the rehabilitation."),
    ),
    Profile.JUVENILE: Pool(
        relation=("母亲", "Mother"),
        relation_note=("同住", "Lives in"),
        notes=(
            ("帮教对象，每周面谈一次。", "Under assistance; weekly interview."),
            ("曾辍学半年，现已返校。", "Out of school for half a year; back now."),
            ("喜欢篮球，可借此建立关系。", "Likes basketball; a way to build rapport."),
            ("与父亲关系紧张，母亲配合度高。", "Tense with father; mother very cooperative."),
            ("有意读职高，学习汽修。", "Wants to go to vocational school for car repair."),
        ),
        home=(
            (
                "按计划完成学习打卡，与母亲关系改善。",
                "Kept to the study plan; relationship with mother improving.",
            ),
            ("本人情绪波动较大，提到睡眠不好。", "Mood swings; mentions sleeping badly."),
            ("作息较规律，晚上按时回家。", "Regular routine; home on time in the evenings."),
            ("母亲反映近期手机使用时间过长。", "Mother says screen time is too long lately."),
        ),
        phone=(("电话确认本周面谈时间。", "Phoned to fix this week's interview."),),
        needs=(
            (
                NeedCategory.EDUCATION,
                ("辍学在家，联系学校复学", "Dropped out; contact the school about going back"),
            ),
            (
                NeedCategory.EDUCATION,
                ("需要课业辅导志愿者", "Needs a volunteer tutor for homework"),
            ),
            (
                NeedCategory.EDUCATION,
                ("有意读职高，协助了解招生", "Wants vocational school; help with admission"),
            ),
            (
                NeedCategory.PSYCHOLOGICAL,
                ("与家人关系紧张，需家庭辅导", "Tension at home; family counselling"),
            ),
            (
                NeedCategory.PSYCHOLOGICAL,
                ("情绪易冲动，安排心理咨询", "Quick-tempered; arrange counselling"),
            ),
            (
                NeedCategory.LEGAL,
                (
                    "配合司法所落实帮教措施",
                    "Work with the judicial office on the assistance measures",
                ),
            ),
        ),
        resolved=(("已复学", "Back at school"), ("已办结，家长满意", "Done; parent satisfied")),
        referral=(
            ("转介至区未成年人保护中心", "Referred to the juvenile protection centre"),
            ("区未成年人保护中心", "District juvenile protection centre"),
        ),
        interview=(
            (
                "本周按时到校，与同学关系有改善。",
                "At school on time this week; getting on better with classmates.",
            ),
            ("情绪低落，谈到与父亲争吵。", "Low mood; talked about arguing with father."),
            ("主动提到想参加篮球队。", "Brought up joining the basketball team."),
            ("面谈时较沉默，约定下周再谈。", "Quiet in the interview; talk again next week."),
        ),
        progress=(
            ("按计划推进", "On track"),
            ("作息已规律", "Routine now regular"),
            ("复学手续办理中", "Return to school under way"),
        ),
        follow_up=("联系学校班主任", "Call the class teacher"),
        plan_title=("个性化帮教方案", "Individual assistance plan"),
        goals=(
            ("恢复规律作息与学习", "A regular routine and study again"),
            ("重建与家人的信任", "Rebuild trust with the family"),
        ),
        actions=(
            (("每周面谈一次", "Weekly interview"), WORKER),
            (("联系学校安排复学", "Arrange the return to school"), ("王老师", "王芳")),
        ),
        review=("进展良好，继续执行。", "Good progress; carry on."),
    ),
    Profile.LEFT_BEHIND: Pool(
        relation=("祖母", "Grandmother"),
        relation_note=("委托监护人", "Appointed guardian"),
        notes=(
            (
                "父母在外地务工，与祖母同住。",
                "Parents work in another city; lives with grandmother.",
            ),
            ("上小学，成绩中等，喜欢画画。", "At primary school; average marks; likes drawing."),
            ("性格内向，不爱说话。", "Shy and quiet."),
            (
                "父母春节回家，平时视频联系。",
                "Parents come home at Spring Festival; video calls otherwise.",
            ),
            ("参加社区“四点半课堂”。", "Goes to the community after-school class."),
        ),
        home=(
            ("作业有人辅导，祖母身体尚可。", "Homework help in place; grandmother keeping well."),
            ("孩子精神好，主动展示画作。", "Child in good spirits; showed off drawings."),
            (
                "家中无人辅导作业，祖母力不从心。",
                "No one to help with homework; grandmother struggling.",
            ),
            (
                "孩子说想念父母，已协助视频通话。",
                "Child misses the parents; helped with a video call.",
            ),
        ),
        phone=(("电话联系祖母，孩子近况良好。", "Phoned grandmother; the child is doing well."),),
        needs=(
            (
                NeedCategory.EDUCATION,
                (
                    "作业无人辅导，安排“四点半课堂”",
                    "No homework help; place in the after-school class",
                ),
            ),
            (
                NeedCategory.FAMILY,
                (
                    "父母在外务工，协助每周视频通话",
                    "Parents work away; help set up a weekly video call",
                ),
            ),
            (
                NeedCategory.FAMILY,
                (
                    "核实委托监护人，签订监护责任书",
                    "Confirm the guardian and sign the guardianship agreement",
                ),
            ),
            (
                NeedCategory.HEALTH,
                ("视力下降，联系学校安排体检", "Eyesight worse; ask the school for a check-up"),
            ),
            (
                NeedCategory.PSYCHOLOGICAL,
                ("性格内向，安排儿童小组活动", "Shy; join the children's group activities"),
            ),
            (
                NeedCategory.DAILY_CARE,
                ("祖母年迈，需协助照护", "Grandmother is frail; help with the child's daily care"),
            ),
        ),
        resolved=(
            ("已安排课后辅导", "After-school help arranged"),
            ("已办结，监护人满意", "Done; guardian satisfied"),
        ),
        referral=(
            ("转介至儿童之家", "Referred to the children's centre"),
            ("街道儿童之家", "Street office children's centre"),
        ),
        interview=(("孩子愿意交流，谈到学校生活。", "Child talked freely about school."),),
        progress=(("按计划推进", "On track"),),
        follow_up=("联系学校班主任", "Call the class teacher"),
        plan_title=("个案服务计划", "Case service plan"),
        goals=(
            ("作业有人辅导", "Homework help every school day"),
            ("每周与父母视频", "A weekly video call with the parents"),
        ),
        actions=(
            (("安排志愿者辅导", "Find a volunteer tutor"), WORKER),
            (
                ("与班主任沟通学习情况", "Talk with the class teacher about school"),
                ("王老师", "王芳"),
            ),
        ),
        review=("孩子适应良好，继续执行。", "Child settling well; carry on."),
    ),
    Profile.LOW_INCOME: Pool(
        relation=("子女", "Son or daughter"),
        relation_note=("同住", "Lives in"),
        notes=(
            ("低保户，每年复核一次。", "On the minimum living allowance; reviewed yearly."),
            (
                "家中有慢性病人，医疗支出较大。",
                "A chronically ill family member; high medical costs.",
            ),
            ("住房狭小，一家人挤在一间房。", "Cramped; the family shares one room."),
            ("靠打零工维持生活。", "Gets by on odd jobs."),
        ),
        home=(
            (
                "家属在场，沟通顺畅，约定下次面谈时间。",
                "Family present, good conversation; next interview agreed.",
            ),
            (
                "屋内较冷，暖气不热，已联系物业。",
                "Flat is cold, heating weak; property management contacted.",
            ),
            ("低保材料已备齐，下周提交。", "Allowance papers ready; handing in next week."),
            (
                "本人情绪尚可，对申请进度有些担心。",
                "Fair mood; a little worried about the application.",
            ),
        ),
        phone=(("电话提醒低保复核材料。", "Phoned about the allowance review papers."),),
        needs=(
            (
                NeedCategory.INCOME,
                (
                    "申请低保，材料待补充户口本复印件",
                    "Apply for the minimum living allowance; hukou copy missing",
                ),
            ),
            (
                NeedCategory.INCOME,
                (
                    "临时救助：医疗费用导致生活困难",
                    "Temporary relief: medical bills left the family short",
                ),
            ),
            (
                NeedCategory.HOUSING,
                (
                    "申请公租房，协助准备材料",
                    "Apply for public rental housing; help with the papers",
                ),
            ),
            (NeedCategory.HEALTH, ("协助办理医疗救助", "Help apply for medical assistance")),
            (
                NeedCategory.OTHER,
                (
                    "低保年审，提醒按时提交材料",
                    "Yearly allowance review; remind to hand in the papers",
                ),
            ),
            (
                NeedCategory.PSYCHOLOGICAL,
                ("经济压力大，安排心理疏导", "Money worries; arrange counselling"),
            ),
        ),
        resolved=(
            ("已办结，居民满意", "Done; resident satisfied"),
            ("低保已批", "Allowance granted"),
        ),
        referral=(
            ("转介至街道社会救助所", "Referred to the social assistance office"),
            ("街道社会救助所", "Street office social assistance office"),
        ),
        interview=(("本人配合，材料基本齐全。", "Cooperative; papers nearly complete."),),
        progress=(("按计划推进", "On track"),),
        follow_up=("提交低保申请材料", "Hand in the allowance papers"),
        plan_title=("个案服务计划", "Case service plan"),
        goals=(("落实低保", "The allowance granted"), ("医疗支出有保障", "Medical costs covered")),
        actions=(
            (("协助准备申请材料", "Help with the application papers"), WORKER),
            (
                ("联系社保所核对材料", "Check the papers with the social security office"),
                ("刘伟", "刘伟"),
            ),
        ),
        review=("材料已提交，等待审批。", "Papers in; waiting for approval."),
    ),
    Profile.UNEMPLOYED: Pool(
        relation=("子女", "Son or daughter"),
        relation_note=("同住", "Lives in"),
        notes=(
            (
                "去年单位裁员后失业，正在找工作。",
                "Lost a job in last year's lay-offs; looking for work.",
            ),
            ("低保户，有意参加技能培训。", "On the minimum living allowance; keen on training."),
            ("靠打零工维持生活。", "Gets by on odd jobs."),
            ("会开车，想找司机类工作。", "Can drive; looking for driving work."),
        ),
        home=(
            (
                "家属在场，沟通顺畅，约定下次面谈时间。",
                "Family present, good conversation; next interview agreed.",
            ),
            (
                "已报名家政培训，下月开课。",
                "Signed up for housekeeping training; starts next month.",
            ),
            ("本人情绪低落，求职不顺。", "Low mood; job hunting going badly."),
            ("面试了两家单位，等待结果。", "Two job interviews; waiting to hear."),
        ),
        phone=(("电话通知招聘会时间。", "Phoned about the job fair."),),
        needs=(
            (
                NeedCategory.EMPLOYMENT,
                (
                    "推荐参加街道就业培训（家政）",
                    "Refer to the street office's housekeeping training",
                ),
            ),
            (NeedCategory.EMPLOYMENT, ("协助办理失业登记", "Help register as unemployed")),
            (NeedCategory.EMPLOYMENT, ("推荐公益性岗位", "Recommend for a public-service job")),
            (
                NeedCategory.INCOME,
                (
                    "申请低保，材料待补充户口本复印件",
                    "Apply for the minimum living allowance; hukou copy missing",
                ),
            ),
            (
                NeedCategory.INCOME,
                ("临时救助：失业期间生活困难", "Temporary relief while out of work"),
            ),
            (
                NeedCategory.PSYCHOLOGICAL,
                ("求职受挫，安排心理疏导", "Discouraged by job hunting; arrange counselling"),
            ),
        ),
        resolved=(("已就业", "Found work"), ("已办结，居民满意", "Done; resident satisfied")),
        referral=(
            ("转介至街道就业服务站", "Referred to the job centre"),
            ("街道就业服务站", "Street office job centre"),
        ),
        interview=(("本人求职意愿强，需要岗位信息。", "Keen to work; needs job leads."),),
        progress=(("按计划推进", "On track"),),
        follow_up=("发送招聘信息", "Send job listings"),
        plan_title=("个案服务计划", "Case service plan"),
        goals=(
            ("完成职业技能培训", "Vocational training completed"),
            ("实现稳定就业", "A steady job"),
        ),
        actions=(
            (("推荐就业培训", "Refer to job training"), WORKER),
            (("对接招聘单位", "Put in touch with employers"), ("刘伟", "刘伟")),
        ),
        review=("已参加培训，继续跟进就业。", "In training; follow up on work."),
    ),
}

HOME_PURPOSES: tuple[Text, ...] = (
    ("例行探访", "Routine visit"),
    ("了解需求进展", "Progress on needs"),
    ("节前慰问", "Holiday visit"),
    ("入户核实情况", "Home check"),
)
PHONE_PURPOSES: tuple[Text, ...] = (
    ("电话问候", "Check-in call"),
    ("提醒按时服药", "Medicine reminder"),
    ("了解需求进展", "Progress on needs"),
    ("确认上门时间", "Fixing a visit"),
)
INTERVIEW_PLACES: tuple[Text, ...] = (
    ("社区服务站", "Community service centre"),
    ("居民家中", "At home"),
    ("司法所", "Judicial office"),
)
REVIEWER: Text = ("督导 陈静", "陈静")  # the supervisor (a name, and in Chinese her title)
