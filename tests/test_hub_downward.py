"""Downward bundles through the real hub (SeaweedFS): ``outbox/<device-id>/*`` is written
by the supervisor and readable (and listable) only by that device."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from fieldapp.store import Change
from sync import downward
from tests.hubfix import Team, edit, hub_team, state
from tests.test_hub import code_of, creds, raw_client

__all__ = ["hub_team"]

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]


def test_the_supervisor_sends_down_and_only_that_device_can_read_it(hub_team: Team) -> None:
    t = hub_team
    a, b = t.workers
    t.start_hub()
    rids = edit(t.sup, 2, "督")
    t.sup.commit([Change("resident", rids[0], {"notes": "督导意见：下周回访"})])
    downward.cut_for(t.sup, a.device_id, [op for rid in rids for op in t.sup.history(rid)])
    sent = downward.deliver(t.sup, t.supervisor_transport(), downward.HUB_PREFIX)
    assert (sent.delivered, sent.pending, sent.failure) == ([(a.device_id, 1)], 0, None)
    assert downward.recipients(t.sup) == []  # left the outbox once the hub confirmed it
    key = downward.transport_key(downward.HUB_PREFIX, a.device_id, t.sup.device_id, 1)

    # A takes it: the supervisor's residents, as the supervisor has them.
    summary = downward.fetch(a, t.worker_transport(0), downward.HUB_PREFIX)
    assert [(o.kind, o.ops) for o in summary.outcomes] == [("applied", 5)]
    assert state(a) == state(t.sup)
    # Fetched again: nothing re-read (below A's high-water mark), nothing changes.
    assert downward.fetch(a, t.worker_transport(0), downward.HUB_PREFIX).outcomes == []
    # B finds nothing for itself, and its credentials cannot reach A's.
    assert downward.fetch(b, t.worker_transport(1), downward.HUB_PREFIX).outcomes == []
    assert state(b) == {}
    s3b = raw_client(t, *creds(b))
    s3a = raw_client(t, *creds(a))
    denied = []
    for name, call in [
        ("B reads A's", lambda: s3b.get_object(Bucket="fieldapp", Key=key)),
        (
            "B lists A's",
            lambda: s3b.list_objects_v2(Bucket="fieldapp", Prefix=f"outbox/{a.device_id}/"),
        ),
        ("B lists outbox", lambda: s3b.list_objects_v2(Bucket="fieldapp", Prefix="outbox/")),
        ("A overwrites", lambda: s3a.put_object(Bucket="fieldapp", Key=key, Body=b"forged")),
        (
            "A writes its own outbox",
            lambda: s3a.put_object(
                Bucket="fieldapp", Key=f"outbox/{a.device_id}/x/00000002.fbundle", Body=b"x"
            ),
        ),
        ("A deletes", lambda: s3a.delete_object(Bucket="fieldapp", Key=key)),
        (
            "prefix trick",
            lambda: s3a.list_objects_v2(Bucket="fieldapp", Prefix=f"outbox/{a.device_id}0/"),
        ),
    ]:
        with pytest.raises(ClientError) as refused:
            call()
        denied.append((name, code_of(refused.value)))
    assert all(code in ("AccessDenied", "403") for _, code in denied), denied
    assert s3a.get_object(Bucket="fieldapp", Key=key)["Body"].read() == (
        t.supervisor_transport().get(key)
    )


def test_a_downward_bundle_for_another_device_on_the_hub_is_refused(hub_team: Team) -> None:
    """Even put under A's prefix by the supervisor, B's bundle is not A's to apply."""
    t = hub_team
    a, b = t.workers
    t.start_hub()
    rid = edit(t.sup, 1)[0]
    downward.cut_for(t.sup, b.device_id, t.sup.history(rid))
    data = downward.bundle_for(t.sup, b.device_id, 1)
    wrong = downward.transport_key(downward.HUB_PREFIX, a.device_id, t.sup.device_id, 1)
    t.supervisor_transport().put(wrong, data)
    (outcome,) = downward.fetch(a, t.worker_transport(0), downward.HUB_PREFIX).outcomes
    assert outcome.kind == "quarantined" and outcome.reason is not None
    assert outcome.reason.msg_id == "bundle.wrong_recipient"
    assert state(a) == {}
