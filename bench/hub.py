"""Hub upload benchmark: a worker's outbox of pending bundles uploaded to a local
``fieldapp hub`` (SeaweedFS started here), beside a plain boto3 ``put_object`` loop of
the same bytes in the same run.

    python bench/hub.py                  # 100 typical bundles and 20 large ones, 5 runs
    python bench/hub.py --runs 3

Figures (medians of the runs):
- "reachable → outbox empty": ``hubsync.upload`` — probe, then each bundle put
  create-only and forgotten by the vault in a durable commit — for 100 pending bundles.
- bundles/s and MB/s of that, and of the plain boto3 loop (no create-only check, no
  vault commit) over the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "bench passphrase"


def make_worker(root: Path, sup: object, n_bundles: int, ops_per_bundle: int, big: bool) -> Path:
    """A joined, enrolled worker vault with ``n_bundles`` cut and waiting in its outbox."""
    import random

    from fieldapp.domain.ids import new_id
    from fieldapp.store import Change, KdfParams, Vault
    from sync import outbox, team

    path = root / ("worker-big" if big else "worker")
    worker, _ = Vault.create(path, PASSPHRASE, kdf=KdfParams(1024, 1, 1))
    _, code = team.join(worker, team.team_secrets(sup).code(), "李娜")  # type: ignore[arg-type,union-attr]
    team.enrol(sup, code)  # type: ignore[arg-type]
    rng = random.Random(7)
    residents = n_bundles * ops_per_bundle // 4
    changes = []
    for i in range(residents):
        if big:  # incompressible text: random CJK
            notes = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(2000))
        else:
            notes = "独居老人，精神状态良好，冰箱有存粮。每周电话回访一次。"
        changes.append(
            Change(
                "resident",
                new_id(),
                {
                    "name": f"居民{i}",
                    "community": "史家社区",
                    "address": f"史家胡同{i}号",
                    "notes": notes,
                },
            )
        )
        if len(changes) == 500:
            worker.commit(changes)
            changes = []
    if changes:
        worker.commit(changes)
    saved = outbox.MAX_OPS_PER_BUNDLE
    outbox.MAX_OPS_PER_BUNDLE = ops_per_bundle
    try:
        outbox.cut(worker)
    finally:
        outbox.MAX_OPS_PER_BUNDLE = saved
    worker.close(compact=False)
    return path


def bench_case(
    label: str, root: Path, worker_path: Path, hub: object, admin: object, runs: int
) -> None:
    import boto3
    from botocore.config import Config

    from fieldapp.store import Vault
    from sync import hubsync, outbox
    from sync.transports.s3 import INBOX

    probe = Vault.open(worker_path, PASSPHRASE)
    seqs = outbox.pending_bundles(probe)
    payloads = [outbox.bundle_bytes(probe, s) for s in seqs]
    device = probe.device_id
    probe.close(compact=False)
    total = sum(len(p) for p in payloads)
    raw = boto3.session.Session().client(
        "s3",
        endpoint_url=hub.endpoint,  # type: ignore[attr-defined]
        region_name="us-east-1",
        aws_access_key_id=admin.access_key,  # type: ignore[attr-defined]
        aws_secret_access_key=admin.secret_key,  # type: ignore[attr-defined]
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )

    def clear() -> None:
        listed = raw.list_objects_v2(Bucket="fieldapp", Prefix=f"{INBOX}{device}/")
        for obj in listed.get("Contents", []):
            raw.delete_object(Bucket="fieldapp", Key=obj["Key"])

    ours, plain = [], []
    for run in range(runs):
        clear()
        copy = root / f"run-{label}-{run}"
        shutil.copytree(worker_path, copy)
        vault = Vault.open(copy, PASSPHRASE)
        transport = hubsync.worker_transport(vault)
        transport.client  # noqa: B018 - client set-up is not part of the figure
        start = time.perf_counter()
        result = hubsync.upload(vault, transport)
        ours.append(time.perf_counter() - start)
        assert result.error is None and result.pending == 0, result
        assert len(result.delivered) == len(payloads)
        vault.close(compact=False)
        clear()
        start = time.perf_counter()
        for seq, data in zip(seqs, payloads, strict=True):
            raw.put_object(Bucket="fieldapp", Key=f"{INBOX}{device}/{seq:08d}.fbundle", Body=data)
        plain.append(time.perf_counter() - start)
    clear()
    n, mb = len(payloads), total / 1e6
    t_ours, t_plain = statistics.median(ours), statistics.median(plain)
    print(f"\n{label}: {n} bundles, {mb:.2f} MB ({total / n / 1024:.1f} KiB each), {runs} runs")
    print(f"  {'':34} {'median s':>9} {'bundles/s':>10} {'MB/s':>8}")
    print(
        f"  {'fieldapp: reachable → outbox empty':34} {t_ours:9.3f} {n / t_ours:10.0f}"
        f" {mb / t_ours:8.1f}"
    )
    name = "plain boto3 put loop (baseline)"
    print(f"  {name:34} {t_plain:9.3f} {n / t_plain:10.0f} {mb / t_plain:8.1f}")
    print(f"  ratio fieldapp / plain: {t_ours / t_plain:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from fieldapp.store import KdfParams, Vault
    from sync import hub as hubmod
    from sync import team
    from sync.transports.endpoint import Credentials

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sup, _ = Vault.create(root / "sup", PASSPHRASE, kdf=KdfParams(1024, 1, 1))
        port = 18000 + (int(time.time()) % 1000)
        while not hubmod.port_free("127.0.0.1", port):
            port += 1
        team.create_team(
            sup, "督导", {"endpoint": f"http://127.0.0.1:{port}", "bucket": "fieldapp"}
        )
        typical = make_worker(root, sup, 100, 500, big=False)
        large = make_worker(root, sup, 20, 800, big=True)
        hub = hubmod.start_for(sup, root / "hub", port=port)
        admin = Credentials.from_json(team.hub_admin(sup))
        sup.close(compact=False)
        try:
            bench_case("typical", root, typical, hub, admin, args.runs)
            bench_case("large", root, large, hub, admin, args.runs)
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
