"""kill -9 of the WORKER while it saves, cuts and uploads to the real hub: after every
kill, each bundle is on the hub or still in the outbox (byte-identical when both), no
op is lost or in two bundles; at the end everything arrives and merges exactly once."""

from __future__ import annotations

import os
import random

import pytest

from fieldapp.store import Vault
from sync import hubsync, outbox
from sync.bundle import Chain, domain_validator, open_bundle
from sync.team import enrolled_keys, team_secrets
from tests.conftest import PASSPHRASE, kill_child_at_random
from tests.hubfix import Team, bundle_keys, state

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]
KILLS = int(os.environ.get("FIELDAPP_HUB_KILLS", "25"))


def check(t: Team, worker_path: object) -> dict[int, bytes]:
    sup = t.supervisor_transport()
    with Vault.open(worker_path, PASSPHRASE) as v:  # type: ignore[arg-type]
        device = v.device_id
        pending = {s: outbox.bundle_bytes(v, s) for s in outbox.pending_bundles(v)}
        next_seq = outbox._state(v).next_seq
        mine = {op.op_id for op in v.all_ops() if op.device_id == device}
        not_cut = {op.op_id for op in outbox.pending_ops(v)}
        v.close(compact=False)
    on_hub = {int(k.rsplit("/", 1)[1][:8]): sup.get(k) for k in bundle_keys(sup)}
    # Sequences 1..n, none missing: each on the hub, or still waiting, or both.
    assert set(on_hub) | set(pending) == set(range(1, next_seq))
    for seq in set(on_hub) & set(pending):  # delivered, the kill came before forgetting it
        assert on_hub[seq] == pending[seq]
    # Every op of the device is in exactly one bundle or not cut yet.
    secrets = team_secrets(t.sup)
    assert secrets is not None
    seen: list[str] = []
    chain = Chain()  # opened in order, as the supervisor will: the hash chain holds
    for seq in range(1, next_seq):
        data = on_hub.get(seq) or pending[seq]
        opened = open_bundle(
            data,
            team_id=secrets.team_id,
            team_key=secrets.enc_key,
            devices=enrolled_keys(t.sup),
            chain=lambda d, c=chain: c,  # type: ignore[misc]
            validate_op=domain_validator(),
        )
        chain = Chain(opened.header.seq, opened.digest)
        seen += [op.op_id for op in opened.ops]
    assert len(seen) == len(set(seen))
    assert set(seen) | not_cut == mine and not set(seen) & not_cut
    return on_hub


@pytest.mark.slow
def test_kill_9_of_the_worker_while_it_uploads_loses_and_duplicates_nothing(
    hub_team: Team,
) -> None:
    t = hub_team
    t.start_hub()
    worker = t.workers[0]
    worker_path = worker.path
    worker.close(compact=False)
    rng = random.Random(6)
    for round_no in range(KILLS):
        child_args = [str(worker_path), PASSPHRASE, str(round_no)]
        kill_child_at_random("hub_child.py", child_args, rng.uniform(0, 0.15))
        check(t, worker_path)
    with Vault.open(worker_path, PASSPHRASE) as v:
        result = hubsync.upload(v, hubsync.worker_transport(v))
        assert result.failure is None and result.pending == 0
        expected = state(v)
        v.close(compact=False)
    on_hub = check(t, worker_path)
    assert on_hub, "the kills never let a bundle through: the test proved nothing"
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert [o.kind for o in summary.outcomes] == ["applied"] * len(on_hub)
    assert sorted(o.seq for o in summary.outcomes) == sorted(on_hub)
    assert state(t.sup) == expected
    t.workers[0] = Vault.open(worker_path, PASSPHRASE)  # for the fixture's teardown
