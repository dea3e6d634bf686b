"""Conflicts on the worker (issue 14): the supervisor and an offline worker change one field
at once; the worker's merge of the downward bundle finds the conflict as the supervisor's
merge does, lists both values with who wrote them, and the worker's resolution flows up in
its next bundle so that both vaults end equal with no conflict open on either side."""

from __future__ import annotations

import pytest

from fieldapp.i18n import t as translate
from fieldapp.services import supervision
from fieldapp.services.records import RecordService
from fieldapp.store import Change, Vault
from sync import downward, merge, outbox
from sync.merge import Merger
from tests.test_downward import Team, cut, resident, t

__all__ = ["t"]  # the fixture: a supervisor and two enrolled workers


def upward(worker: Vault, sup: Vault) -> None:
    """The worker's next bundle reaches the supervisor and is merged (the bundles sent
    before are still in its outbox here, nothing confirms them: they are duplicates)."""
    assert outbox.cut(worker) == 1
    merger = Merger(sup)
    *before, last = outbox.pending_bundles(worker)
    for seq in before:
        assert [o.kind for o in merger.receive(outbox.bundle_bytes(worker, seq))] == ["duplicate"]
    assert [o.kind for o in merger.receive(outbox.bundle_bytes(worker, last))] == ["applied"]


def concurrent_edit(t: Team, *, worker_sent_first: bool) -> str:
    """A resident of worker A's whose notes the supervisor and A (offline) change at once;
    the supervisor then sends the file down. With ``worker_sent_first`` A's edit reached
    the supervisor before the downward bundle was cut (the supervisor has the conflict too)."""
    RecordService(t.a).set_profile("李娜", "史家社区")
    rid = resident(t.a, "张三", notes="独居")
    upward(t.a, t.sup)
    t.sup.commit([Change("resident", rid, {"notes": "督导：请核实独居情况"})])
    t.a.commit([Change("resident", rid, {"notes": "女儿每周来两次"})])
    if worker_sent_first:
        upward(t.a, t.sup)
        assert merge.conflicts(t.sup) == {rid: ["notes"]}
    for data in cut(t, t.a, [rid]):
        assert [o.kind for o in downward.receive(t.a, data)] == ["applied"]
    return rid


@pytest.mark.parametrize("worker_sent_first", [False, True])
def test_the_worker_reviews_a_conflict_with_the_supervisor_and_both_converge(
    t: Team, worker_sent_first: bool
) -> None:
    rid = concurrent_edit(t, worker_sent_first=worker_sent_first)
    # Recorded as the supervisor's merge records it: the same index, listed the same way.
    assert merge.conflicts(t.a) == {rid: ["notes"]}
    assert supervision.open_conflicts(t.a) == 1
    (conflict,) = supervision.all_conflicts(t.a)
    assert (conflict.record_id, conflict.kind, conflict.field) == (rid, "resident", "notes")
    sides = {s.value: (s.device_id, s.author, s.before) for s in conflict.sides}
    assert sides == {
        "督导：请核实独居情况": (t.sup.device_id, translate("ui.author_supervisor"), "独居"),
        "女儿每周来两次": (t.a.device_id, "李娜", "独居"),
    }
    assert supervision.conflict_title(t.a, conflict) == "张三"

    supervision.resolve(t.a, conflict, "女儿每周来两次；督导请核实")
    assert merge.conflicts(t.a) == {} and supervision.all_conflicts(t.a) == []
    # The resolution is the worker's op, waiting in its outbox for the next bundle.
    pending = {(op.record_id, op.field) for op in outbox.pending_ops(t.a)}
    assert {(rid, "notes"), (rid, "_resolved_notes")} <= pending
    upward(t.a, t.sup)
    assert merge.conflicts(t.sup) == {} and supervision.all_conflicts(t.sup) == []
    assert t.sup.get(rid) == t.a.get(rid)
    assert t.a.get(rid)["notes"] == "女儿每周来两次；督导请核实"  # type: ignore[index]
    # The supervisor sends the file down again: nothing changes, nothing reopens.
    for data in cut(t, t.a, [rid]):
        downward.receive(t.a, data)
    assert merge.conflicts(t.a) == {} and t.sup.get(rid) == t.a.get(rid)


def test_the_supervisor_reads_its_own_side_as_the_supervisor_and_workers_by_enrolment(
    t: Team,
) -> None:
    rid = concurrent_edit(t, worker_sent_first=True)
    (conflict,) = supervision.all_conflicts(t.sup)
    authors = {s.device_id: s.author for s in conflict.sides}
    assert authors == {t.sup.device_id: translate("ui.author_supervisor"), t.a.device_id: "a"}
    assert conflict.record_id == rid


def test_the_supervisors_decision_reaches_the_worker_and_closes_its_review(t: Team) -> None:
    rid = concurrent_edit(t, worker_sent_first=True)
    (conflict,) = supervision.all_conflicts(t.sup)
    supervision.resolve(t.sup, conflict, "女儿每周来两次")
    for data in cut(t, t.a, [rid]):
        assert [o.kind for o in downward.receive(t.a, data)] == ["applied"]
    assert merge.conflicts(t.a) == {} and supervision.open_conflicts(t.a) == 0
    assert t.a.get(rid) == t.sup.get(rid)
