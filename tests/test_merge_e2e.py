"""`fieldapp merge` end to end: bundles from real workers' vaults over a USB folder,
every refusal quarantined with its reason and nothing applied; kill -9 mid-merge.

The supervisor is the real command in a subprocess, on the machine's clock, so every
party here reads the machine's clock too (shifted, when a test needs a laptop whose
clock is wrong)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from fieldapp.domain.clock import SystemClock
from fieldapp.domain.ids import new_id
from fieldapp.store import Change, Vault
from sync import merge, outbox, team
from sync.bundle import read_header
from sync.transports.folder import FolderTransport
from tests.conftest import FAST_KDF, PASSPHRASE, ROOT, kill_child_at_random, python

KILLS = int(os.environ.get("FIELDAPP_MERGE_KILLS", "25"))


def cli(vault: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python(), "-m", "fieldapp", "--lang", "en", "--vault", str(vault), *args],
        input=PASSPHRASE + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def setup(tmp_path: Path, workers: int = 2, enrol: bool = True) -> tuple[Path, list[Path]]:
    sup = tmp_path / "sup"
    s, _ = Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)
    code = team.create_team(s, "督导").code()
    paths = []
    for n in range(workers):
        path = tmp_path / f"worker{n}"
        w, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
        _, device_code = team.join(w, code, f"社工{n}")
        if enrol:
            team.enrol(s, device_code)
        w.close()
        paths.append(path)
    s.close()
    return sup, paths


def work(worker: Path, stick: Path, records: int, per_bundle: int = 0) -> list[str]:
    ids = []
    with Vault.open(worker, PASSPHRASE) as w:
        for i in range(records):
            rid = new_id()
            w.commit([Change("resident", rid, {"name": f"居民{i}", "community": "史家社区"})])
            ids.append(rid)
            if per_bundle and (i + 1) % per_bundle == 0:
                outbox.cut(w)
        outbox.sync_to(w, FolderTransport(stick))
    return ids


def test_merge_from_a_stick(tmp_path: Path) -> None:
    sup, workers = setup(tmp_path)
    stick = tmp_path / "stick"
    ids = work(workers[0], stick, 5) + work(workers[1], stick, 3)
    run = cli(sup, "merge", str(stick))
    assert run.returncode == 0, run.stderr
    assert "Merged 2 bundle(s) (16 changes)" in run.stdout
    with Vault.open(sup, PASSPHRASE) as s:
        assert {rid for rid, _ in s.iter_records("resident")} == set(ids)
    again = cli(sup, "merge", str(stick))
    assert "Merged 0 bundle(s)" in again.stdout and "2 already received" in again.stdout


def _one_bundle(stick: Path) -> Path:
    return next((stick / "fieldapp").rglob("*.fbundle"))


@pytest.mark.parametrize("damage", ["flip", "truncate", "unknown", "revoked"])
def test_refused_bundles_are_quarantined_and_nothing_applied(tmp_path: Path, damage: str) -> None:
    sup, workers = setup(tmp_path, enrol=damage != "unknown")
    stick = tmp_path / "stick"
    work(workers[0], stick, 4)
    bundle = _one_bundle(stick)
    data = bundle.read_bytes()
    if damage == "flip":
        bundle.write_bytes(data[:200] + bytes([data[200] ^ 0x10]) + data[201:])
    elif damage == "truncate":
        bundle.write_bytes(data[: len(data) // 2])
    elif damage == "revoked":
        with Vault.open(sup, PASSPHRASE) as s:
            team.revoke(s, read_header(data)[0].device)
    run = cli(sup, "merge", str(stick))
    assert run.returncode == 4, run.stdout + run.stderr
    assert "1 refused and quarantined" in run.stdout
    reason = {
        "flip": "signature",
        "truncate": "not a complete",
        "unknown": "not enrolled",
        "revoked": "revoked",
    }[damage]
    assert reason in run.stdout
    with Vault.open(sup, PASSPHRASE) as s:
        assert s.count("resident") == 0
        assert len(s.meta_keys(merge.QUARANTINE)) == 1
        assert not s.meta_keys(merge.CHAIN)


def test_a_gap_is_held_until_filled(tmp_path: Path) -> None:
    sup, workers = setup(tmp_path, workers=1)
    stick = tmp_path / "stick"
    ids = work(workers[0], stick, 6, per_bundle=2)  # three bundles
    bundles = sorted((stick / "fieldapp").rglob("*.fbundle"))
    assert len(bundles) == 3
    aside = tmp_path / "aside"
    aside.mkdir()
    shutil.move(bundles[0], aside / bundles[0].name)
    run = cli(sup, "merge", str(stick))
    assert "2 held until a missing bundle arrives" in run.stdout
    assert "is missing bundle 1" in run.stdout
    with Vault.open(sup, PASSPHRASE) as s:
        assert s.count("resident") == 0
    run = cli(sup, "merge", str(aside))
    assert "Merged 3 bundle(s)" in run.stdout, run.stdout
    with Vault.open(sup, PASSPHRASE) as s:
        assert {rid for rid, _ in s.iter_records("resident")} == set(ids)
        assert not s.meta_keys(merge.HELD)


def test_a_clock_days_ahead_is_refused(tmp_path: Path) -> None:
    sup, workers = setup(tmp_path, workers=1)
    stick = tmp_path / "stick"
    five_days_ahead = SystemClock(offset=5 * 86_400)
    with Vault.open(workers[0], PASSPHRASE, clock=five_days_ahead) as w:
        w.commit([Change("resident", new_id(), {"name": "未来", "community": "史家社区"})])
        outbox.sync_to(w, FolderTransport(stick))
    run = cli(sup, "merge", str(stick))
    assert run.returncode == 4 and "in the future" in run.stdout
    with Vault.open(sup, PASSPHRASE) as s:
        assert s.count("resident") == 0


@pytest.mark.slow
def test_kill_9_during_a_merge_applies_each_bundle_whole_or_not_at_all(tmp_path: Path) -> None:
    sup, workers = setup(tmp_path, workers=3)
    stick = tmp_path / "stick"
    for w in workers:
        work(w, stick, 60, per_bundle=3)  # 20 bundles each
    bundles = {}
    for path in (stick / "fieldapp").rglob("*.fbundle"):
        header = read_header(path.read_bytes())[0]
        bundles[(header.device, header.seq)] = path
    opened = {}
    with Vault.open(sup, PASSPHRASE) as s:
        secrets = team.team_secrets(s)
        assert secrets is not None
        from sync.bundle import Chain, domain_validator, open_bundle

        for (device, seq), path in bundles.items():
            data = path.read_bytes()
            prev = read_header(data)[0].prev
            result = open_bundle(
                data,
                team_id=secrets.team_id,
                team_key=secrets.enc_key,
                devices=team.enrolled_keys(s),
                chain=lambda d, q=seq, p=prev: Chain(q - 1, p),
                validate_op=domain_validator(),
            )
            opened[(device, seq)] = {op.op_id for op in result.ops}
        s.close(compact=False)
    rng = random.Random(5)
    for _ in range(KILLS):
        args = [str(sup), PASSPHRASE, str(stick)]
        kill_child_at_random("merge_child.py", args, rng.uniform(0, 0.15), may_finish=True)
        with Vault.open(sup, PASSPHRASE) as s:
            present = {op.op_id for op in s.all_ops()}
            for (device, seq), ops in opened.items():
                hwm = merge.chain_of(s, device).last_seq
                if seq <= hwm:
                    assert ops <= present, (device, seq, hwm)
                else:
                    assert not ops & present, (device, seq, hwm)
            s.close(compact=False)
    assert cli(sup, "merge", str(stick)).returncode == 0
    with Vault.open(sup, PASSPHRASE) as s:
        assert s.count("resident") == 180


def test_replay_same_sequence_and_other_team_through_merge(tmp_path: Path) -> None:
    sup, workers = setup(tmp_path, workers=1)
    stick = tmp_path / "stick"
    work(workers[0], stick, 2)
    assert cli(sup, "merge", str(stick)).returncode == 0
    replay = cli(sup, "merge", str(stick))
    assert "1 already received" in replay.stdout and replay.returncode == 0
    # The same device sends a different bundle numbered 1: an alarm, quarantined.
    rogue = tmp_path / "rogue"
    with Vault.open(workers[0], PASSPHRASE) as w:
        w.commit([Change("resident", new_id(), {"name": "另一个", "community": "史家社区"})])
        card = team.team_card(w)
        assert card is not None
        from sync.bundle import seal

        ops = (
            outbox.pending_ops(w) or [op for op in w.all_ops() if op.device_id == w.device_id][-2:]
        )
        data = seal(
            ops,
            team_id=card.team_id,
            team_key=card.encryption_key(),
            device_id=w.device_id,
            sign_key=team.device_key(w),
            seq=1,
            prev="",
        )
    rogue.mkdir()
    (rogue / "1.fbundle").write_bytes(data)
    run = cli(sup, "merge", str(rogue))
    assert run.returncode == 4 and "ALARM" in run.stdout
    # A bundle for another team.
    _, other_workers = setup(tmp_path / "other", workers=1)
    other_stick = tmp_path / "other-stick"
    work(other_workers[0], other_stick, 1)
    run = cli(sup, "merge", str(other_stick))
    assert run.returncode == 4 and "another team" in run.stdout
    with Vault.open(sup, PASSPHRASE) as s:
        assert s.count("resident") == 2


def test_export_a_residents_complete_file(tmp_path: Path) -> None:
    import orjson

    sup, workers = setup(tmp_path, workers=1)
    stick = tmp_path / "stick"
    ids = work(workers[0], stick, 2)
    cli(sup, "merge", str(stick))
    target = tmp_path / "out" / "file.json"
    target.parent.mkdir()
    run = cli(sup, "export", "resident", ids[0], "--to", str(target))
    assert run.returncode == 0, run.stderr
    data = orjson.loads(target.read_bytes())
    assert data["resident"]["id"] == ids[0] and data["history"]
    run = cli(sup, "export", "resident", "--to", str(target))
    assert run.returncode == 2
    run = cli(sup, "export", "summary", "--to", str(tmp_path / "out" / "team.csv"))
    assert run.returncode == 0 and (tmp_path / "out" / "team.csv").read_bytes().startswith(
        b"\xef\xbb\xbf"
    )
