"""Faults between a worker and the hub (issue 6): the hub killed mid-upload and
restarted; a hub answering 500s or not at all (timeouts); the connection dropping
between the probe and the upload; an upload repeated after its acknowledgement was
lost. Against a real SeaweedFS, with a small fault-injecting proxy (``tests.faultproxy``)
on 127.0.0.1 in front of it where a fault must hit one particular request.

Afterwards every bundle is on the hub exactly once, byte for byte as it was cut, and
merged exactly once; at every point, a bundle has left the outbox only if the hub has it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest

from fieldapp.errors import HubUnreachable
from fieldapp.store import Vault
from sync import hubsync, outbox, team
from sync.merge import Outcome
from sync.transports.endpoint import Credentials, HubAddress
from sync.transports.s3 import S3Transport
from tests.faultproxy import CUT_BODY, DROP, ERROR, HOLD_ACK, LOSE_ACK, STALL, FaultProxy
from tests.hubfix import Team, edit, state

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]

Cut = dict[int, bytes]  # a device's bundles as cut, by sequence number


# ------------------------------------------------------------------ helpers


@pytest.fixture
def proxy(hub_team: Team) -> Iterator[FaultProxy]:
    with FaultProxy(hub_team.port) as p:
        yield p
    assert p.errors == []


def via(proxy: FaultProxy, t: Team, i: int, **options: object) -> S3Transport:
    """Worker ``i``'s transport, through the proxy (short timeouts, no real backoff)."""
    w = t.workers[i]
    creds = Credentials.from_json(team.device_hub_credentials(w))
    assert creds is not None
    options.setdefault("sleep", lambda s: None)
    options.setdefault("connect_timeout", 1.0)
    options.setdefault("read_timeout", 1.0)
    return S3Transport(
        HubAddress(proxy.endpoint, "fieldapp"),
        creds,
        probe_key=f"inbox/{w.device_id}/.probe",
        **options,  # type: ignore[arg-type]
    )


def sup_of(t: Team) -> S3Transport:
    """The supervisor's transport, one per team (a boto3 client takes a while to make;
    it reconnects by itself after the hub restarts)."""
    cached = getattr(t, "_supervisor_s3", None)
    if cached is None:
        cached = t.supervisor_transport()
        t._supervisor_s3 = cached  # type: ignore[attr-defined]
    return cached


def bundle_key(w: Vault, seq: int) -> str:
    return f"inbox/{w.device_id}/{seq:08d}.fbundle"


def cut_now(w: Vault, cut: Cut) -> list[int]:
    """Cut what is pending (as the next upload would) and remember the bytes."""
    outbox.cut(w)
    new = [seq for seq in outbox.pending_bundles(w) if seq not in cut]
    cut.update({seq: outbox.bundle_bytes(w, seq) for seq in new})
    return new


NAMES = {"inbox/": r"(\d{8})\.fbundle", "archive/": r"(\d{8})(?:-[0-9a-f]+)?\.fbundle"}


def bundle_keys(keys: list[str]) -> list[str]:
    return [k for k in keys if not k.endswith("/.probe")]  # a worker's probe object


def on_hub(t: Team, w: Vault, where: tuple[str, ...] = ("inbox/", "archive/")) -> Cut:
    """``w``'s bundles on the hub: in the inbox, or moved to the archive once merged.
    Each sequence number is archived once at most; a bundle in both places (sent again
    after it was archived) must be the same bytes."""
    sup = sup_of(t)
    found: Cut = {}
    for folder in where:
        prefix = f"{folder}{w.device_id}/"
        seqs = []
        for key in bundle_keys(sup.list(prefix)):
            match = re.fullmatch(NAMES[folder], key[len(prefix) :])
            assert match, key
            seqs.append(int(match[1]))
            data = sup.get(key)
            assert found.setdefault(seqs[-1], data) == data, key
        assert len(seqs) == len(set(seqs)), (folder, sorted(seqs))
    return found


def assert_truthful(t: Team, w: Vault, cut: Cut) -> Cut:
    """Whatever left the outbox is on the hub, byte for byte as cut; the hub holds
    nothing else. Returns what the hub holds."""
    assert sorted(cut) == list(range(1, len(cut) + 1))
    pending = set(outbox.pending_bundles(w))
    assert pending <= set(cut)
    hub = on_hub(t, w)
    assert set(hub) <= set(cut), sorted(set(hub) - set(cut))
    assert set(cut) - pending <= set(hub), sorted(set(cut) - pending - set(hub))
    for seq, data in hub.items():
        assert data == cut[seq], seq
    return hub


def requests_for(proxy: FaultProxy, method: str, key: str) -> list[str]:
    """The actions taken on ``method`` requests for exactly ``key`` (no query)."""
    return [s.action for s in proxy.log if s.method == method and s.target == f"/fieldapp/{key}"]


def settle(
    t: Team,
    cuts: dict[int, Cut],
    earlier: list[Outcome] | None = None,
    duplicates: list[tuple[str, int]] | None = None,
) -> list[Outcome]:
    """Everything delivered: on the hub exactly once, then merged exactly once (together
    with the ``earlier`` passes' outcomes; a bundle received again is only ever one of
    the expected ``duplicates``), and a further pass changes nothing."""
    workers = [t.workers[i] for i in cuts]
    for w, cut in zip(workers, cuts.values(), strict=True):
        assert outbox.status(w).pending_bundles == 0
        assert outbox.status(w).pending_ops == 0
        assert_truthful(t, w, cut)
    summary = hubsync.fetch_and_merge(t.sup, sup_of(t))
    outcomes = [*(earlier or []), *summary.outcomes]
    kinds = [(o.kind, o.seq) for o in outcomes]
    assert {o.kind for o in outcomes} <= {"applied", "duplicate"}, kinds
    applied = [o for o in outcomes if o.kind == "applied"]
    merged = sorted((o.device, o.seq) for o in applied)  # a list: twice would show
    assert merged == sorted((t.workers[i].device_id, s) for i, cut in cuts.items() for s in cut)
    again_received = sorted((o.device, o.seq) for o in outcomes if o.kind == "duplicate")
    assert again_received == sorted(duplicates or [])
    assert sum(o.ops for o in applied) == sum(len(w.all_ops()) for w in workers)
    expected: dict[str, dict[str, object]] = {}
    for w in workers:
        expected.update(state(w))
    assert state(t.sup) == expected
    # The inbox is empty; each bundle sits once in archive/, as it was cut.
    sup = sup_of(t)
    assert bundle_keys(sup.list("inbox/")) == []
    for w, cut in zip(workers, cuts.values(), strict=True):
        assert on_hub(t, w, ("archive/",)) == cut
    again = hubsync.fetch_and_merge(t.sup, sup)
    assert (again.listed, again.fetched, again.outcomes) == (0, 0, [])
    assert state(t.sup) == expected
    return outcomes


@pytest.fixture
def small_bundles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "MAX_OPS_PER_BUNDLE", 10)  # 150 residents → 30 bundles


# ------------------------------------------------------------------ the hub killed


KILL_POINTS = {
    # name: (what the proxy does to the request, which requests count, kill at the n-th)
    "before_the_request": (DROP, ("PUT", ".fbundle"), 4, False),
    "mid_body": (CUT_BODY, ("PUT", ".fbundle"), 13, False),
    "stored_not_acknowledged": (LOSE_ACK, ("PUT", ".fbundle"), 25, False),
    "multipart_mid_part": (CUT_BODY, ("PUT", "partNumber="), 6, True),
    "multipart_completed_not_acknowledged": (LOSE_ACK, ("POST", "uploadId="), 9, True),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_hub_killed_mid_upload_and_restarted(
    hub_team: Team, proxy: FaultProxy, small_bundles: None, point: str
) -> None:
    t = hub_team
    w = t.workers[0]
    action, (method, target), nth, multipart = KILL_POINTS[point]
    options = {"multipart_threshold": 1} if multipart else {}
    edit(w, 150)
    cut: Cut = {}
    cut_now(w, cut)
    assert len(cut) == 30
    hub = t.start_hub()
    proxy.add(action, method=method, target=target, skip=nth - 1, then=hub.kill)
    result = hubsync.upload(w, via(proxy, t, 0, **options))
    assert hub.process.poll() is not None  # it was killed
    assert result.error is not None
    assert result.delivered == list(range(1, nth))
    assert outbox.pending_bundles(w) == list(range(nth, 31))
    assert outbox.status(w).last_error == "hub.unreachable"
    assert w.get_meta(outbox.STATUS)["online"] is False

    t.start_hub()  # same directory, same port
    hub_now = assert_truthful(t, w, cut)
    stored = action == LOSE_ACK  # the hub has the n-th bundle; the worker does not know
    assert sorted(hub_now) == list(range(1, nth + 1 if stored else nth))
    proxy.clear()
    again = hubsync.upload(w, via(proxy, t, 0, **options))
    assert again.error is None and again.cut == 0
    assert again.delivered == list(range(nth, 31))
    if stored:  # create-only: refused, read back, the same bytes: delivered
        assert requests_for(proxy, "GET", bundle_key(w, nth)) == ["pass"]
    settle(t, {0: cut})
    if multipart:  # nothing half-done is left behind on the hub
        listed = sup_of(t).client.list_multipart_uploads(Bucket="fieldapp")
        assert listed.get("Uploads", []) == []


def test_hub_killed_at_arbitrary_moments_while_two_workers_upload(
    hub_team: Team, small_bundles: None
) -> None:
    """No proxy: the hub is SIGKILLed whenever the listing shows enough new bundles,
    while both workers upload in their own threads, three times over."""
    t = hub_team
    cuts: dict[int, Cut] = {0: {}, 1: {}}
    for i, w in enumerate(t.workers):
        edit(w, 150, f"w{i}")
        cut_now(w, cuts[i])
    assert [len(c) for c in cuts.values()] == [30, 30]
    t.start_hub()

    def run(i: int, results: list[object]) -> None:
        try:
            results.append(hubsync.upload(t.workers[i], t.worker_transport(i)))
        except HubUnreachable as exc:  # killed before the probe answered
            results.append(exc)

    watch = sup_of(t)
    for round_ in range(3):
        before = len(bundle_keys(watch.list("inbox/")))
        results: list[object] = []
        threads = [threading.Thread(target=run, args=(i, results)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        while any(th.is_alive() for th in threads):
            if len(bundle_keys(watch.list("inbox/"))) >= before + 6:
                break
            time.sleep(0.002)
        assert t.hub is not None
        t.hub.kill()
        for thread in threads:
            thread.join()
        failed = [r for r in results if isinstance(r, HubUnreachable) or getattr(r, "error", None)]
        if round_ == 0:  # 54 bundles were still to go: the kill came mid-upload
            assert failed
        t.start_hub()
        for i, w in enumerate(t.workers):
            assert_truthful(t, w, cuts[i])
    for i, w in enumerate(t.workers):
        result = hubsync.upload(w, t.worker_transport(i))
        assert result.error is None and result.pending == 0
    settle(t, cuts)


# ------------------------------------------------------------------ 500s and timeouts


def test_500s_are_retried_until_the_hub_answers(hub_team: Team, proxy: FaultProxy) -> None:
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    for n in range(3):
        edit(w, 3, f"r{n}")
        cut_now(w, cut)  # three bundles
    proxy.add(ERROR, method="PUT", target=bundle_key(w, 2), times=2)
    proxy.add(ERROR, method="PUT", target=bundle_key(w, 3), status=503, code="SlowDown")
    result = hubsync.upload(w, via(proxy, t, 0))
    assert result.error is None and result.delivered == [1, 2, 3]
    assert proxy.actions("PUT", bundle_key(w, 2)) == ["error", "error", "pass"]
    assert proxy.actions("PUT", bundle_key(w, 3)) == ["error", "pass"]
    settle(t, {0: cut})


def test_a_hub_answering_500s_keeps_every_bundle_in_the_outbox(
    hub_team: Team, proxy: FaultProxy
) -> None:
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    # A probe answered 500: nothing is cut, nothing is sent.
    edit(w, 4, "a")
    proxy.add(ERROR, target="/.probe", times=1)
    with pytest.raises(HubUnreachable):
        hubsync.upload(w, via(proxy, t, 0))
    assert outbox.status(w).pending_ops == 8 and outbox.status(w).pending_bundles == 0
    assert proxy.actions(target="/.probe") == ["error"]  # asked once: the caller backs off
    assert proxy.actions(target=".fbundle") == []
    # The probe answers, every upload is refused with a 500 from the first bundle on.
    cut_now(w, cut)
    edit(w, 4, "b")
    cut_now(w, cut)
    proxy.add(ERROR, method="PUT", target=".fbundle", skip=1, times=None)
    result = hubsync.upload(w, via(proxy, t, 0))
    assert result.delivered == [1] and result.error is not None and result.pending == 1
    assert proxy.actions("PUT", bundle_key(w, 2)) == ["error"] * 5  # every attempt
    assert sorted(assert_truthful(t, w, cut)) == [1]
    assert outbox.status(w).last_error == "hub.unreachable"
    # More work meanwhile; when the hub recovers everything arrives, in order, once.
    edit(w, 4, "c")
    cut_now(w, cut)
    proxy.clear()
    again = hubsync.upload(w, via(proxy, t, 0))
    assert again.delivered == [2, 3] and again.error is None
    settle(t, {0: cut})


def test_timeouts_are_retried_whether_or_not_the_hub_stored_the_bundle(
    hub_team: Team, proxy: FaultProxy
) -> None:
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    # The hub does not answer the probe: unreachable, nothing cut.
    edit(w, 2, "p")
    proxy.add(STALL, target="/.probe", times=1)
    with pytest.raises(HubUnreachable):
        hubsync.upload(w, via(proxy, t, 0))
    assert outbox.status(w).pending_bundles == 0 and outbox.status(w).pending_ops == 4
    # Bundle 1 never reaches the hub and has no answer; bundle 2 is stored but its
    # answer comes too late. Both are retried; each is on the hub once.
    cut_now(w, cut)
    edit(w, 2, "q")
    cut_now(w, cut)
    proxy.add(STALL, method="PUT", target=bundle_key(w, 1))
    proxy.add(HOLD_ACK, method="PUT", target=bundle_key(w, 2))
    result = hubsync.upload(w, via(proxy, t, 0))
    assert result.error is None and result.delivered == [1, 2]
    assert proxy.actions(target=bundle_key(w, 1)) == ["stall", "pass"]
    assert requests_for(proxy, "PUT", bundle_key(w, 2)) == ["hold_ack", "pass"]
    assert requests_for(proxy, "GET", bundle_key(w, 2)) == ["pass"]  # read back, not rewritten
    settle(t, {0: cut})


# ------------------------------------------------------------------ connection drops


def test_connection_dropping_between_probe_and_upload(hub_team: Team, proxy: FaultProxy) -> None:
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    # Once: the upload is simply retried.
    edit(w, 3, "a")
    cut_now(w, cut)
    proxy.add(DROP, target=".fbundle", times=1)
    result = hubsync.upload(w, via(proxy, t, 0))
    assert result.error is None and result.delivered == [1]
    assert proxy.actions(target=".fbundle") == ["drop", "pass"]
    # For good, just after the probe answered: what was cut waits in the outbox.
    edit(w, 3, "b")
    proxy.clear()
    proxy.add(DROP, skip=1, times=None)  # the probe passes, nothing after it does
    result = hubsync.upload(w, via(proxy, t, 0))
    assert proxy.actions()[-6:] == ["pass", *["drop"] * 5]
    assert result.cut == 1 and result.delivered == [] and result.error is not None
    cut.update({2: outbox.bundle_bytes(w, 2)})
    assert outbox.pending_bundles(w) == [2]
    assert sorted(assert_truthful(t, w, cut)) == [1]
    assert w.get_meta(outbox.STATUS)["online"] is False
    # The connection comes back: everything arrives once.
    edit(w, 3, "c")
    cut_now(w, cut)
    proxy.clear()
    again = hubsync.upload(w, via(proxy, t, 0))
    assert again.delivered == [2, 3] and again.error is None
    assert w.get_meta(outbox.STATUS)["online"] is True
    settle(t, {0: cut})


# ------------------------------------------------------------------ lost acknowledgements


def test_duplicate_upload_after_a_lost_acknowledgement(hub_team: Team, proxy: FaultProxy) -> None:
    t = hub_team
    a, b = t.workers
    t.start_hub()
    cuts: dict[int, Cut] = {0: {}, 1: {}}
    for n in range(3):
        edit(a, 2, f"a{n}")
        cut_now(a, cuts[0])
    edit(b, 5, "b")
    cut_now(b, cuts[1])
    # Bundle 1: its acknowledgement is lost once; the retry finds it there and reads it
    # back. Bundle 2: lost on every attempt, so it stays in the outbox although the hub
    # has it.
    proxy.add(LOSE_ACK, method="PUT", target=bundle_key(a, 1), times=1)
    proxy.add(LOSE_ACK, method="PUT", target=bundle_key(a, 2), times=None)
    result = hubsync.upload(a, via(proxy, t, 0))
    assert result.delivered == [1] and result.error is not None
    assert requests_for(proxy, "PUT", bundle_key(a, 1)) == ["lose_ack", "pass"]
    assert requests_for(proxy, "GET", bundle_key(a, 1)) == ["pass"]  # read back
    assert outbox.pending_bundles(a) == [2, 3]
    assert sorted(assert_truthful(t, a, cuts[0])) == [1, 2]
    # The other worker is unaffected.
    assert hubsync.upload(b, t.worker_transport(1)).delivered == [1]
    # The next pass sends bundle 2 again: refused as existing, read back, delivered.
    proxy.clear()
    again = hubsync.upload(a, via(proxy, t, 0))
    assert again.delivered == [2, 3] and again.error is None
    assert requests_for(proxy, "PUT", bundle_key(a, 2)) == [*["lose_ack"] * 5, "pass"]
    assert requests_for(proxy, "GET", bundle_key(a, 2)) == ["pass"]
    assert requests_for(proxy, "GET", bundle_key(a, 3)) == []  # created at the first try
    settle(t, cuts)


def test_a_lost_acknowledgement_retried_after_the_supervisor_archived_it(
    hub_team: Team, proxy: FaultProxy
) -> None:
    """The supervisor merged and archived bundle 1 before the worker, which never heard
    that the hub had it, sends it again: it lands in the inbox a second time and is not
    merged a second time."""
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    edit(w, 3)
    cut_now(w, cut)
    proxy.add(LOSE_ACK, method="PUT", target=".fbundle", times=None)
    result = hubsync.upload(w, via(proxy, t, 0))
    assert result.delivered == [] and outbox.pending_bundles(w) == [1]
    first = hubsync.fetch_and_merge(t.sup, sup_of(t))
    assert [(o.kind, o.seq) for o in first.outcomes] == [("applied", 1)]
    assert first.archived == 1 and on_hub(t, w, ("inbox/",)) == {}
    proxy.clear()
    again = hubsync.upload(w, via(proxy, t, 0))
    assert again.delivered == [1] and outbox.pending_bundles(w) == []
    assert on_hub(t, w, ("inbox/",)) == cut  # in the inbox again
    edit(w, 2, "more")
    cut_now(w, cut)
    assert hubsync.upload(w, via(proxy, t, 0)).delivered == [2]
    second = hubsync.fetch_and_merge(t.sup, sup_of(t))
    # Received again, bundle 1 is recognised (the same bytes, already merged): a no-op.
    assert sorted((o.kind, o.seq) for o in second.outcomes) == [("applied", 2), ("duplicate", 1)]
    settle(
        t,
        {0: cut},
        earlier=[*first.outcomes, *second.outcomes],
        duplicates=[(w.device_id, 1)],
    )


MULTIPART_LOSSES = {
    "create": ("POST", "?uploads"),
    "part": ("PUT", "partNumber="),
    "complete": ("POST", "uploadId="),
}


def test_lost_acknowledgements_in_a_multipart_upload(hub_team: Team, proxy: FaultProxy) -> None:
    """Every bundle in parts (a threshold of one byte); the answer to creating the
    upload, to a part and to completing it is lost, each for a different bundle."""
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    for n in range(4):
        edit(w, 2, f"m{n}")
        cut_now(w, cut)
    for seq, (method, marker) in enumerate(MULTIPART_LOSSES.values(), 1):
        proxy.add(LOSE_ACK, method=method, target=(f"{bundle_key(w, seq)}?", marker))
    result = hubsync.upload(w, via(proxy, t, 0, multipart_threshold=1))
    assert result.error is None and result.delivered == [1, 2, 3, 4]
    # The created upload was found again and used; the stored part was not sent again;
    # the completed upload was refused as existing, read back (and the new one aborted).
    assert proxy.actions("POST", f"{bundle_key(w, 1)}?uploads") == ["lose_ack"]
    assert proxy.actions("PUT", f"{bundle_key(w, 2)}?") == ["lose_ack"]
    assert proxy.actions("POST", (f"{bundle_key(w, 3)}?", "uploadId=")) == ["lose_ack", "pass"]
    assert requests_for(proxy, "GET", bundle_key(w, 3)) == ["pass"]
    assert requests_for(proxy, "GET", bundle_key(w, 4)) == []
    listed = sup_of(t).client.list_multipart_uploads(Bucket="fieldapp")
    assert listed.get("Uploads", []) == []
    settle(t, {0: cut})


# ------------------------------------------------------------------ the supervisor's side


def test_the_supervisor_pass_survives_drops_and_lost_acknowledgements(
    hub_team: Team, proxy: FaultProxy
) -> None:
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    cut: Cut = {}
    for n in range(3):
        edit(w, 2, f"s{n}")
        cut_now(w, cut)
    assert hubsync.upload(w, t.worker_transport(0)).delivered == [1, 2, 3]
    admin = Credentials.from_json(team.hub_admin(t.sup))
    assert admin is not None
    sup = S3Transport(
        HubAddress(proxy.endpoint, "fieldapp"),
        admin,
        sleep=lambda s: None,
        connect_timeout=1.0,
        read_timeout=1.0,
    )
    # A connection closed without an answer is "unreachable", not a crash.
    proxy.add(DROP, method="HEAD", times=None)
    with pytest.raises(HubUnreachable):
        sup.ensure_bucket()
    proxy.clear()
    # Fetching bundle 2 fails on every attempt: the pass stops, nothing is merged.
    proxy.add(DROP, method="GET", target=bundle_key(w, 2), times=None)
    with pytest.raises(HubUnreachable):
        hubsync.fetch_and_merge(t.sup, sup)
    assert state(t.sup) == {}
    assert on_hub(t, w, ("inbox/",)) == cut
    # Next pass: a dropped GET is retried; the answer to moving bundle 1 to the archive
    # (its delete) is lost, the retried copy finds no source: it was moved.
    proxy.clear()
    proxy.add(DROP, method="GET", target=bundle_key(w, 3), times=1)
    proxy.add(LOSE_ACK, method="DELETE", target=bundle_key(w, 1), times=1)
    summary = hubsync.fetch_and_merge(t.sup, sup)
    assert requests_for(proxy, "DELETE", bundle_key(w, 1)) == ["lose_ack"]
    assert [(o.kind, o.seq) for o in summary.outcomes] == [("applied", n) for n in (1, 2, 3)]
    assert summary.archived == 3 and summary.archive_error is None
    settle(t, {0: cut}, earlier=summary.outcomes)
