"""Assigning residents (DESIGN §3.7, issue 14): the supervisor assigns, reassigns, shares,
stops sharing and takes back — the resident's one assignment record, saved through the
vault's commit (in the history, it syncs), followed by the scope cut — from the service
and from ``fieldapp assign``; a worker's device is refused, in the user's language."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp import cli, i18n
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.models import assignment_id
from fieldapp.errors import AssignmentRefused
from fieldapp.services import assignments
from fieldapp.store import Vault
from sync import downward, team
from tests.conftest import PASSPHRASE
from tests.test_downward import Team
from tests.test_scope import file_of, t

__all__ = ["t"]  # the fixture: a supervisor and two workers' devices


def test_assign_reassign_share_unshare_and_take_back_are_the_assignment_record(
    t: Team, clock: FixedClock
) -> None:
    rid = file_of(t.sup, 0)
    a, b = t.a.device_id, t.b.device_id
    done = assignments.assign(t.sup, rid, a)
    assert (done.assignment.worker, done.assignment.shared_with) == (a, [])
    assert done.cut is not None and done.cut.entered == {a: [rid]}  # cut after the assign
    assert downward.pending_for(t.sup, a) == [1]
    clock.advance(60)
    assert assignments.share(t.sup, rid, b).assignment.holders() == {a, b}
    assert downward.pending_for(t.sup, b) == [1]
    clock.advance(60)
    moved = assignments.assign(t.sup, rid, b)  # reassigned: B is the worker, no longer shared
    assert (moved.assignment.worker, moved.assignment.shared_with) == (b, [])
    assert moved.cut is not None and moved.cut.left == {a: [rid]}
    assert moved.assignment.assigned_at > done.assignment.assigned_at
    clock.advance(60)
    assert assignments.share(t.sup, rid, a).assignment.holders() == {a, b}
    assert assignments.unshare(t.sup, rid, a).assignment.holders() == {b}
    back = assignments.take_back(t.sup, rid)
    assert back.assignment.worker is None and back.assignment.holders() == frozenset()
    # Every step is an op of this supervisor device on the one record, in its history.
    history = t.sup.history(assignment_id(rid))
    assert {op.device_id for op in history} == {t.sup.device_id}
    assert [op.value for op in history if op.field == "worker"] == [a, b, None]
    current = assignments.current(t.sup, rid)
    assert current is not None and current.holders() == frozenset()


def test_a_workers_device_cannot_assign(t: Team) -> None:
    rid = file_of(t.a, 0)
    with pytest.raises(AssignmentRefused) as caught:
        assignments.assign(t.a, rid, t.a.device_id)
    assert caught.value.msg_id == "assign.not_supervisor"
    assert "supervisor" in caught.value.render("en") and "督导" in caught.value.render("zh_CN")
    assert t.a.get(assignment_id(rid)) is None


@contextlib.contextmanager
def refused(msg_id: str) -> Iterator[None]:
    with pytest.raises(AssignmentRefused) as caught:
        yield
    assert caught.value.msg_id == msg_id


def test_unknown_residents_and_workers_are_refused(t: Team) -> None:
    rid = file_of(t.sup, 0)
    with refused("assign.unknown_resident"):
        assignments.assign(t.sup, "019a0000-0000-7000-8000-0000000000ff", t.a.device_id)
    with refused("assign.unknown_worker"):
        assignments.assign(t.sup, rid, "0123456789abcdef")
    assert assignments.worker_named(t.sup, " A ").device_id == t.a.device_id  # by name
    team.revoke(t.sup, t.b.device_id)
    with refused("assign.revoked"):
        assignments.worker_named(t.sup, "b")
    with refused("assign.unknown_worker"):
        assignments.share(t.sup, rid, t.b.device_id)  # revoked: not given a file
    assert [d.name for d in assignments.workers(t.sup)] == ["a"]
    assert t.sup.get(assignment_id(rid)) is None


def _run(monkeypatch: pytest.MonkeyPatch, vault: Path, *args: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    monkeypatch.setattr(i18n, "_current", None)  # the --lang it sets is undone after the test
    return cli.main(["--vault", str(vault), *args])


def test_fieldapp_assign_by_names(
    t: Team, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rid = file_of(t.sup, 0)
    a, b, sup = t.a.device_id, t.b.device_id, t.sup.path
    t.sup.close(compact=False)
    assert _run(monkeypatch, sup, "--lang", "en", "assign", "张三丰", "a") == 0
    out = capsys.readouterr().out
    assert "张三丰: assigned to a; shared with no one else." in out
    assert "1 bundle(s) sealed for 1 device(s)" in out
    assert _run(monkeypatch, sup, "--lang", "en", "assign", rid, "--share", "b") == 0
    assert "assigned to a; shared with b." in capsys.readouterr().out
    assert _run(monkeypatch, sup, "--lang", "zh_CN", "assign", "张三丰") == 0  # who holds it
    assert "张三丰：分派给 a；共享给 b。" in capsys.readouterr().out
    assert _run(monkeypatch, sup, "--lang", "en", "assign", "张三丰", "--take-back") == 0
    assert "assigned to nobody; shared with no one else." in capsys.readouterr().out
    assert _run(monkeypatch, sup, "--lang", "en", "assign", "张三丰", "nobody-here") == 1
    assert "No enrolled worker's device is called “nobody-here”" in capsys.readouterr().err
    assert _run(monkeypatch, sup, "--lang", "en", "assign", "无此人", "a") == 1
    assert "No such resident" in capsys.readouterr().err
    t.sup = Vault.open(sup, PASSPHRASE, clock=t.a.clock)
    worker = [op.value for op in t.sup.history(assignment_id(rid)) if op.field == "worker"]
    assert worker == [a, None]
    assert downward.pending_for(t.sup, b)  # B was sent the file when it was shared


def test_fieldapp_assign_on_a_workers_device_is_refused_in_its_language(
    t: Team, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file_of(t.a, 0)
    path = t.a.path
    t.a.close(compact=False)
    assert _run(monkeypatch, path, "--lang", "zh_CN", "assign", "张三丰", "a") == 1
    assert "只有督导的设备可以分派居民" in capsys.readouterr().err
    t.a = Vault.open(path, PASSPHRASE, clock=t.sup.clock)
