"""Both directions through the real hub (SeaweedFS), in the product's passes: `fieldapp
sync` uploads, then takes ``outbox/<device>/``; `fieldapp merge --from-hub` and the
app's supervisor pass merge, then deliver every downward bundle waiting — each leaves
the supervisor's outbox only once the hub confirmed it (DESIGN §3.7, issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldapp.domain import NoteAction
from fieldapp.services.syncing import HubSync, status_line
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from sync import downward
from sync.merge import QUARANTINE
from sync.transports.s3 import S3Transport
from tests import test_downward
from tests.conftest import PASSPHRASE
from tests.hubfix import Team, edit, hub_team
from tests.test_downward import forge, good_rows, snapshot
from tests.test_hub import run_cli

__all__ = ["hub_team"]

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]


def note_for(t: Team, worker: Vault) -> tuple[str, str]:
    """The supervisor writes a resident and a supervision note on it, cut for ``worker``
    (as the scope code will); returns (resident id, note id)."""
    (rid,) = edit(t.sup, 1, "督")
    note = Workspace(t.sup).write_note(rid, NoteAction.VISIT, "请本周内家访。")
    downward.cut_for(t.sup, worker.device_id, [*t.sup.history(rid), *t.sup.history(note.id)])
    return rid, note.id


def test_cli_sync_and_merge_carry_a_note_down_through_the_hub(
    hub_team: Team, tmp_path: Path
) -> None:
    t = hub_team
    env = {**os.environ, "FIELDAPP_LANG": "en", "FIELDAPP_HOME": str(tmp_path / "home")}
    a_path, b_path, sup_path = t.root / "w0", t.root / "w1", t.root / "sup"
    edit(t.workers[0], 2)
    rid, note_id = note_for(t, t.workers[0])
    t.start_hub()
    for v in [t.sup, *t.workers]:
        v.close(compact=False)

    up = run_cli("--vault", str(a_path), "sync", env=env)
    assert up.returncode == 0, up.stderr
    assert "1 delivered, 0 still waiting" in up.stdout
    assert "Nothing new from the supervisor." in up.stdout  # not delivered yet
    merged = run_cli("--vault", str(sup_path), "merge", "--from-hub", env=env)
    assert merged.returncode == 0, merged.stderr
    assert "Merged 1 bundle(s)" in merged.stdout
    assert "Replies sent: 1 bundle(s) to 1 worker(s), 0 still waiting." in merged.stdout
    down = run_cli("--vault", str(a_path), "sync", env=env)
    assert down.returncode == 0, down.stderr
    assert "0 new bundle(s) cut" in down.stdout
    assert "Received 1 bundle(s) from the supervisor (" in down.stdout
    other = run_cli("--vault", str(b_path), "sync", env=env)
    assert other.returncode == 0 and "Nothing new from the supervisor." in other.stdout

    a, sup = Vault.open(a_path, PASSPHRASE), Vault.open(sup_path, PASSPHRASE)
    try:
        assert downward.recipients(sup) == []
        assert a.get(rid) == sup.get(rid) and a.get(note_id) == sup.get(note_id)
        assert [row.id for row in Workspace(a).today_summary().notes] == [note_id]
    finally:
        a.close(compact=False)
        sup.close(compact=False)
    b = Vault.open(b_path, PASSPHRASE)
    assert b.get(rid) is None
    b.close(compact=False)


def test_the_hub_dying_mid_delivery_keeps_the_rest_for_the_next_pass(hub_team: Team) -> None:
    t = hub_team
    a, b = t.workers
    t.start_hub()
    first, later = edit(t.sup, 2, "送")
    downward.cut_for(t.sup, a.device_id, t.sup.history(first))
    downward.cut_for(t.sup, a.device_id, t.sup.history(later))
    downward.cut_for(t.sup, b.device_id, t.sup.history(first))
    cut = {
        (r.device_id, s): downward.bundle_for(t.sup, r.device_id, s)
        for r in (a, b)
        for s in downward.pending_for(t.sup, r.device_id)
    }
    assert len(cut) == 3
    sync = HubSync(Workspace(t.sup), supervisor=True)
    transport = sync.transport()
    real_put = S3Transport.put
    puts: list[str] = []

    def dies_after_one(self: S3Transport, key: str, data: bytes) -> None:
        real_put(self, key, data)
        if key.startswith(downward.HUB_PREFIX) and not puts:
            t.stop_hub()  # killed once the first downward bundle is on it
        puts.append(key)

    transport.put = dies_after_one.__get__(transport)  # type: ignore[method-assign]
    done = sync.run(manual=True)
    assert done.notice is not None and done.notice.severity == "warning"
    assert "Replies not all sent (2 still waiting" in done.notice.text
    assert "go up when" not in done.notice.text  # told as to the supervisor, not a worker
    left = {(r.device_id, s) for r in (a, b) for s in downward.pending_for(t.sup, r.device_id)}
    assert len(left) == 2 and len(puts) == 1  # the one the hub confirmed
    for recipient, seq in left:  # kept as cut, byte for byte
        assert downward.bundle_for(t.sup, recipient, seq) == cut[(recipient, seq)]

    t.start_hub()
    again = sync.run(manual=True)
    assert again.ok and again.notice is not None
    assert (
        "Replies sent: 2 bundle(s)" in again.notice.text and "0 still waiting" in again.notice.text
    )
    assert downward.recipients(t.sup) == []

    # Each worker's pass takes its own, in order.
    for worker, kinds in ((a, ["applied", "applied"]), (b, ["applied"])):
        got = HubSync(Workspace(worker), supervisor=False).run(manual=True)
        assert got.ok and got.merged and got.notice is not None
        assert f"Received {len(kinds)} bundle(s) from the supervisor" in got.notice.text
    assert a.get(first) == t.sup.get(first) and a.get(later) == t.sup.get(later)
    assert b.get(first) == t.sup.get(first) and b.get(later) is None


def test_a_forged_bundle_on_the_hub_is_refused_reported_and_changes_nothing(
    hub_team: Team, tmp_path: Path
) -> None:
    t = hub_team
    a, b = t.workers
    t.start_hub()
    team_ = test_downward.Team(t.sup, b, a)  # the forgeries go to A
    forged = forge(team_, good_rows(team_), key=Ed25519PrivateKey.generate())
    key = downward.transport_key(downward.HUB_PREFIX, a.device_id, t.sup.device_id, 1)
    t.supervisor_transport().put(key, forged)
    before = snapshot(a)
    for v in [t.sup, *t.workers]:
        v.close(compact=False)
    env = {**os.environ, "FIELDAPP_LANG": "en", "FIELDAPP_HOME": str(tmp_path / "home")}
    refused = run_cli("--vault", str(t.root / "w0"), "sync", env=env)
    assert refused.returncode == 4, refused.stderr
    assert "1 bundle(s) from the supervisor refused and quarantined" in refused.stdout
    assert "  refused " in refused.stdout
    worker = Vault.open(t.root / "w0", PASSPHRASE)
    try:
        assert snapshot(worker) == before and len(worker.meta_keys(QUARANTINE)) == 1
        got = HubSync(Workspace(worker), supervisor=False).run(manual=False)  # the app's pass
        assert got.notice is not None and got.notice.severity == "warning"
        assert "refused and quarantined" in got.notice.text and not got.merged
        assert "1 from the supervisor refused" in status_line(Workspace(worker))
        assert snapshot(worker) == before
    finally:
        worker.close(compact=False)
