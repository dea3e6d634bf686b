"""The demo vault reads as one worker's files: every text in the chosen language, and every
note, need and plan fitting the resident it is about."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.domain import (
    CasePlan,
    Interview,
    Need,
    Resident,
    Visit,
    Vulnerability,
)
from fieldapp.services.demo import build_demo
from fieldapp.services.demo_texts import POOLS, Pool, Profile
from fieldapp.services.records import RecordService
from fieldapp.store import Vault
from tests.conftest import FAST_KDF, PASSPHRASE, T0

TODAY = T0.date()
LATIN = re.compile(r"[A-Za-z]")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module", params=["zh_CN", "en"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RecordService]]:
    """(language, service) over a demo vault of 240 residents in that language."""
    path: Path = tmp_path_factory.mktemp("demo") / "v"
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
    service = RecordService(vault)
    build_demo(service, TODAY, residents=240, language=request.param)
    yield request.param, service
    vault.close(compact=False)


def texts(service: RecordService) -> dict[str, list[tuple[str, str]]]:
    """Per resident id, every (field, text) written about them, names aside."""
    out: dict[str, list[tuple[str, str]]] = {}
    for r in service.all(Resident):
        out[r.id] = [("address", r.address), ("community", r.community), ("notes", r.notes)]
        for m in r.household:
            out[r.id] += [("relation", m.relation), ("member notes", m.notes)]
    for n in service.all(Need):
        out[n.resident_id] += [
            ("description", n.description),
            ("status_note", n.status_note),
            ("referred_to", n.referred_to),
        ]
    for v in service.all(Visit):
        out[v.resident_id] += [("purpose", v.purpose), ("observations", v.observations)]
    for i in service.all(Interview):
        answers = [("answer", a) for q, a in i.answers.items() if q == "plan_progress"]
        follow = [("follow-up", f.text) for f in i.follow_ups]
        for rid in i.resident_ids:
            out[rid] += [("place", i.place), ("notes", i.notes), *answers, *follow]
    for p in service.all(CasePlan):
        out[p.resident_id] += [("title", p.title)]
        out[p.resident_id] += [("goal", g.text) for g in p.goals]
        out[p.resident_id] += [("action", a.text) for a in p.actions]
        out[p.resident_id] += [("review", r.text) for r in p.reviews]
    return out


def names(service: RecordService) -> list[str]:
    """The people named in the vault: residents, household members, plan owners, reviewers."""
    found = [service.profile()["name"]]
    for r in service.all(Resident):
        found += [r.name, *(m.name for m in r.household)]
    for p in service.all(CasePlan):
        found += [a.owner for a in p.actions] + [r.reviewer for r in p.reviews]
    return found


def test_every_text_is_in_the_demos_language(demo: tuple[str, RecordService]) -> None:
    language, service = demo
    written = [(f, t) for per in texts(service).values() for f, t in per if t]
    written.append(("profile community", service.profile()["community"]))
    assert len(written) > 1000
    if language == "zh_CN":
        latin = [
            (f, t) for f, t in written + [("name", n) for n in names(service)] if LATIN.search(t)
        ]
        assert not latin, latin[:5]
        assert any(t.endswith("社区") for f, t in written if f == "community")
    else:
        cjk = [(f, t) for f, t in written if CJK.search(t)]
        assert not cjk, cjk[:5]
        assert any(t.endswith("Community") for f, t in written if f == "community")
        # People keep their own names, written as on their ID cards.
        assert all(CJK.search(n) for n in names(service))


def pool_texts(pool: Pool, language: str) -> set[str]:
    """Every text ``pool`` may put in a file, in ``language``."""
    pairs = [
        pool.relation,
        pool.relation_note,
        *pool.notes,
        *pool.home,
        *pool.phone,
        *(text for _, text in pool.needs),
        *pool.resolved,
        *pool.referral,
        *pool.interview,
        *pool.progress,
        pool.follow_up,
        pool.plan_title,
        *pool.goals,
        *(what for what, _ in pool.actions),
        pool.review,
    ]
    return {pair[1] if language == "en" else pair[0] for pair in pairs}


def expected_profile(r: Resident) -> Profile:
    """The kind of resident the tags say, decided here and not by the code under test."""
    tags = set(r.tags)
    table = {
        frozenset({Vulnerability.ELDERLY_ALONE}): Profile.ELDERLY_ALONE,
        frozenset({Vulnerability.ELDERLY_ALONE, Vulnerability.CHRONIC_ILLNESS}): (
            Profile.ELDERLY_ALONE
        ),
        frozenset({Vulnerability.DISABILITY}): Profile.DISABILITY,
        frozenset({Vulnerability.JUVENILE_ASSISTANCE, Vulnerability.MINOR}): Profile.JUVENILE,
        frozenset({Vulnerability.LEFT_BEHIND_CHILD, Vulnerability.MINOR}): Profile.LEFT_BEHIND,
        frozenset({Vulnerability.LOW_INCOME}): Profile.LOW_INCOME,
        frozenset({Vulnerability.LOW_INCOME, Vulnerability.UNEMPLOYED}): Profile.UNEMPLOYED,
    }
    return table[frozenset(tags)]


def age(r: Resident) -> int:
    """Whole years on :data:`TODAY`."""
    assert r.birth_date is not None
    born = r.birth_date
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


SHARED = {"address", "community", "purpose", "place"}  # the same for everyone


def test_every_text_fits_the_resident(demo: tuple[str, RecordService]) -> None:
    language, service = demo
    by_id = texts(service)
    minors = pool_texts(POOLS[Profile.JUVENILE], language) | pool_texts(
        POOLS[Profile.LEFT_BEHIND], language
    )
    adults = set().union(
        *(
            pool_texts(POOLS[p], language)
            for p in Profile
            if p not in (Profile.JUVENILE, Profile.LEFT_BEHIND)
        )
    )
    elderly = pool_texts(POOLS[Profile.ELDERLY_ALONE], language)
    school = "school" if language == "en" else "学"
    seen = set()
    for r in service.all(Resident):
        profile = expected_profile(r)
        seen.add(profile)
        allowed = pool_texts(POOLS[profile], language)
        written = [t for f, t in by_id[r.id] if t and f not in SHARED]
        assert written
        strays = [t for t in written if t not in allowed]
        assert not strays, (r.name, age(r), profile, strays)
        if age(r) >= 60:
            assert not [t for t in written if t in minors - adults], (age(r), written)
            assert not [t for t in written if school in t.lower()], (age(r), written)
            assert Vulnerability.UNEMPLOYED not in r.tags  # retired, not out of work
        if Vulnerability.MINOR in r.tags:
            assert age(r) < 18
            assert not [t for t in written if t in elderly - minors], (age(r), written)
        if profile is Profile.ELDERLY_ALONE:
            assert age(r) >= 70
    assert seen == set(Profile)


def test_home_safety_needs_go_to_the_elderly_living_alone(demo: tuple[str, RecordService]) -> None:
    language, service = demo
    grab_bars = "Grab bars" if language == "en" else "扶手"
    residents = {r.id: r for r in service.all(Resident)}
    fitted = [residents[n.resident_id] for n in service.all(Need) if grab_bars in n.description]
    assert fitted and all(Vulnerability.ELDERLY_ALONE in r.tags for r in fitted)


def test_the_languages_share_people_dates_and_counts(tmp_path: Path) -> None:
    """One seed: the same residents, needs and visits in Chinese and in English."""
    seen = []
    for language in ("zh_CN", "en"):
        vault, _ = Vault.create(tmp_path / language, PASSPHRASE, kdf=FAST_KDF)
        service = RecordService(vault)
        counts = build_demo(service, TODAY, residents=60, language=language)
        people = sorted((r.name, r.birth_date, tuple(r.tags)) for r in service.all(Resident))
        due = sorted((n.due_date, n.status, n.category) for n in service.all(Need))
        seen.append((counts, people, due))
        vault.close(compact=False)
    assert seen[0] == seen[1]
