"""A team whose hub is a SeaweedFS cluster (docs/hub.md, "A cluster for a district or
a city"): master with replication 001, two volume servers, filer with the S3 gateway.
One volume server is killed with SIGKILL in the middle of a worker's upload: what was
stored before is still readable from the other copy, the bundle waits in the outbox
while writes cannot be placed, and once the server is back the next pass completes the
upload; the supervisor fetches and merges every op and the outbox ends empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.errors import FieldappError, HubUnreachable
from sync import hubsync, outbox, team
from sync.transports.endpoint import Credentials, HubAddress
from sync.transports.s3 import S3Transport
from tests.clusterfix import Cluster, start_cluster
from tests.hubfix import Team, bundle_keys, edit, make_team, state

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]
BUCKET = "fieldapp"
KILL_AT = 2  # the bundle of the pass whose request finds a volume server killed


def _answers(endpoint: str, admin: Credentials) -> bool:
    """Whether the S3 gateway lets the supervisor look into the team's bucket."""
    probe = S3Transport(HubAddress(endpoint, BUCKET), admin, attempts=1, connect_timeout=1)
    try:
        probe.probe()
    except FieldappError:
        return False
    return True


@pytest.fixture
def cluster_team(tmp_path: Path) -> Iterator[tuple[Team, Cluster]]:
    """One enrolled worker; the team card points at the cluster, which runs with the
    supervisor's identities (as ``fieldapp hub`` writes them for ``weed mini``)."""
    t = make_team(tmp_path, workers=1)
    admin = Credentials.from_json(team.hub_admin(t.sup))
    assert admin is not None
    identities = team.hub_identities(t.sup, BUCKET)
    cluster = start_cluster(
        tmp_path / "cluster", identities, BUCKET, lambda ep: _answers(ep, admin)
    )
    try:
        # `fieldapp team hub URL` on the supervisor, `fieldapp team join` again on the worker.
        secrets = team.set_hub(t.sup, {"endpoint": cluster.endpoint, "bucket": BUCKET})
        team.join(t.workers[0], secrets.code(), t.names[0], accept_change=True)
        yield t, cluster
    finally:
        cluster.close()
        for v in [t.sup, *t.workers]:
            v.close(compact=False)


def test_volume_server_killed_mid_upload_loses_nothing(
    cluster_team: tuple[Team, Cluster],
) -> None:
    t, cluster = cluster_team
    worker = t.workers[0]
    sup = t.supervisor_transport()
    assert sup.address.endpoint == cluster.endpoint

    # Before the kill: one bundle delivered, kept aside to read back later.
    edit(worker, 50, "前")
    outbox.cut(worker)
    before = {seq: outbox.bundle_bytes(worker, seq) for seq in outbox.pending_bundles(worker)}
    first = hubsync.upload(worker, t.worker_transport(0))
    assert first.delivered == list(before) and first.pending == 0

    # Replication 001 as the master keeps it: every volume on both servers.
    assert cluster.replication(BUCKET) == {"001"}
    held = cluster.volume_ids()
    assert len(held) == 2 and len(set(held.values())) == 1 and "" not in held.values()

    # Three more bundles waiting, and a volume server killed as the second one goes up.
    for tag in ("甲", "乙", "丙"):
        edit(worker, 300, tag)
        outbox.cut(worker)
    waiting = outbox.pending_bundles(worker)
    assert len(waiting) == 3
    sent = {seq: outbox.bundle_bytes(worker, seq) for seq in waiting}
    # Short timeouts: while it cannot place a write the filer holds a request ~20 s.
    transport = t.worker_transport(0, attempts=2, read_timeout=3)
    puts: list[str] = []

    def kill_midway(params: dict[str, object], **_: object) -> None:
        if str(params["Key"]).endswith(".fbundle"):
            puts.append(str(params["Key"]))
            if len(puts) == KILL_AT:
                cluster.kill_volume(1)

    transport.client.meta.events.register("before-parameter-build.s3.PutObject", kill_midway)
    during = hubsync.upload(worker, transport)
    assert cluster.killed is not None
    # Two servers and 001: with one gone no write can be placed, so the pass stops, and
    # what it had not confirmed stays in the outbox.
    assert isinstance(during.failure, HubUnreachable)
    assert during.delivered == waiting[: KILL_AT - 1]
    assert outbox.pending_bundles(worker) == waiting[KILL_AT - 1 :]
    before.update({seq: sent[seq] for seq in during.delivered})

    # What was stored before the kill is read from the copy on the other server.
    for seq, data in before.items():
        assert sup.get(f"inbox/{worker.device_id}/{seq:08d}.fbundle") == data

    # The server comes back with its copies; the app's next pass delivers the rest.
    assert cluster.writable(BUCKET) == []
    cluster.restart_volume(1)
    cluster.wait_until(
        "copies back", lambda: cluster.volume_ids() == held and bool(cluster.writable(BUCKET))
    )
    after = hubsync.upload(worker, transport)
    assert after.failure is None and after.delivered == waiting[KILL_AT - 1 :]
    assert outbox.pending_bundles(worker) == [] and outbox.pending_ops(worker) == []
    for seq, data in sent.items():
        assert sup.get(f"inbox/{worker.device_id}/{seq:08d}.fbundle") == data

    # The supervisor fetches every bundle and merges every op.
    assert len(bundle_keys(sup)) == 4
    fetched = hubsync.fetch_and_merge(t.sup, sup)
    assert fetched.count("applied") == 4 and fetched.ops == len(worker.all_ops())
    assert state(t.sup) == state(worker) and len(state(t.sup)) == 950
