"""Supervisor merge benchmark: N devices × 500 ops, bundles made beforehand, merged
(verify + decrypt + validate + apply, one durable commit per bundle) into an empty
supervisor vault and into one already holding 50 000 records.

    python bench/merge.py                    # 50, 200, 800 devices
    python bench/merge.py --devices 200 --no-big

Budget (DESIGN §4): 200 devices × 500 ops ≤ 3 s.

Then a USB stick of 200 devices' bundles merged by ``fieldapp merge``'s own scanner,
alone and beside 1 000 junk files (what anyone holding the stick can add): merge time
and the vault's size on disk after it, each beside the good-only stick.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPS_PER_DEVICE = 500


def make_bundles(
    devices: int, team_id: str, team_key: object
) -> tuple[list[bytes], dict[str, object]]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldapp.domain.ids import new_id
    from fieldapp.domain.ops import Op, make_op_id
    from sync.bundle import seal
    from sync.cards import b64, raw_public

    bundles, enrolled = [], {}
    for n in range(devices):
        key = Ed25519PrivateKey.generate()
        device = f"{n:016x}"
        enrolled[device] = {
            "name": f"社工{n}",
            "sign_pub": b64(raw_public(key.public_key())),
            "enrolled": "2026-11-29",
            "revoked": None,
        }
        ops, hlc = [], (int(time.time() * 1000) - 86_400_000) << 16
        while len(ops) < OPS_PER_DEVICE:
            rid = new_id()
            for field, value in (
                ("name", f"居民{len(ops)}"),
                ("community", "史家社区"),
                ("address", f"史家胡同{n}号"),
                ("tags", ["elderly_alone"]),
                ("notes", "老人精神状态良好，冰箱有存粮。"),
            ):
                hlc += 1
                ops.append(
                    Op(make_op_id(hlc, device), "resident", rid, field, value, hlc, device, None)
                )
        bundles.append(
            seal(
                ops[:OPS_PER_DEVICE],
                team_id=team_id,
                team_key=team_key,
                device_id=device,
                sign_key=key,
                seq=1,
                prev="",
            )
        )
    return bundles, enrolled


def supervisor(path: Path, secrets: object, enrolled: dict[str, object], preload: int) -> object:
    from fieldapp.domain.ids import new_id
    from fieldapp.store import Change, KdfParams, Vault
    from sync import team

    vault, _ = Vault.create(path, "bench passphrase", kdf=KdfParams(1024, 1, 1))
    vault.commit((), kv={team.TEAM_SECRETS: secrets.to_json(), team.TEAM_DEVICES: enrolled})  # type: ignore[attr-defined]
    batch = []
    for i in range(preload):
        batch.append(
            Change(
                "resident",
                new_id(),
                {"name": f"已有{i}", "community": "演乐社区", "notes": "已合并的档案"},
            )
        )
        if len(batch) == 2000:
            vault.commit(batch)
            batch = []
    if batch:
        vault.commit(batch)
    if preload:
        vault.close()
        vault = Vault.open(path, "bench passphrase")
    return vault


def run(devices: int, preload: int) -> tuple[float, int]:
    from sync.cards import TeamSecrets
    from sync.merge import Merger

    secrets = TeamSecrets.generate("team0001", "督导")
    bundles, enrolled = make_bundles(devices, secrets.team_id, secrets.enc_key.public_key())
    with tempfile.TemporaryDirectory() as tmp:
        vault = supervisor(Path(tmp) / "sup", secrets, enrolled, preload)
        start = time.perf_counter()
        merger = Merger(vault)  # type: ignore[arg-type]
        applied = sum(merger.receive(data)[0].ops for data in bundles)
        elapsed = time.perf_counter() - start
        vault.close(compact=False)  # type: ignore[attr-defined]
    assert applied == devices * OPS_PER_DEVICE
    return elapsed, applied


def run_stick(devices: int, junk: int, junk_size: int) -> tuple[float, int, int]:
    """Merge a stick (a folder) of ``devices`` bundles and ``junk`` files of random
    bytes; returns seconds, bytes of the vault on disk after closing, quarantined."""
    import os

    from sync.cards import TeamSecrets
    from sync.sources import merge_sources

    secrets = TeamSecrets.generate("team0001", "督导")
    bundles, enrolled = make_bundles(devices, secrets.team_id, secrets.enc_key.public_key())
    with tempfile.TemporaryDirectory() as tmp:
        stick = Path(tmp) / "stick" / "fieldapp"
        stick.mkdir(parents=True)
        for i, data in enumerate(bundles):
            (stick / f"{i:016x}-00000001.fbundle").write_bytes(data)
        for i in range(junk):
            (stick / f"junk-{i:04d}.fbundle").write_bytes(os.urandom(junk_size))
        vault = supervisor(Path(tmp) / "sup", secrets, enrolled, 0)
        start = time.perf_counter()
        summary = merge_sources(vault, [stick.parent])  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        vault.close()  # type: ignore[attr-defined]
        size = sum(f.stat().st_size for f in (Path(tmp) / "sup").iterdir())
    assert summary.count("applied") == devices
    return elapsed, size, summary.count("quarantined")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[50, 200, 800])
    parser.add_argument("--no-big", action="store_true", help="skip the 50 000-record vault")
    parser.add_argument("--junk", type=int, default=1000, help="junk files on the stick (0: skip)")
    args = parser.parse_args()
    head = f"{'devices':>8} {'ops':>8} | {'empty vault':>12} {'ops/s':>9}"
    print(head + f" | {'50k vault':>10} {'ops/s':>9}")
    for n in args.devices:
        t_empty, ops = run(n, 0)
        line = f"{n:>8} {ops:>8} | {t_empty:>10.2f} s {ops / t_empty:>9,.0f} |"
        if not args.no_big:
            t_big, _ = run(n, 50_000)
            line += f" {t_big:>8.2f} s {ops / t_big:>9,.0f}"
        print(line + ("   budget ≤ 3 s" if n == 200 else ""))
    print(
        "\nEach bundle: verify signature, check sequence, HPKE-decrypt, inflate, validate every"
        " op against the domain model, then apply all ops + high-water mark in one fdatasync'd"
        " commit."
    )
    if args.junk:
        size = 256 * 1024
        print(
            f"\nA stick of 200 devices' bundles, with and without {args.junk} junk files of"
            f" {size // 1024} KiB ({args.junk * size // 2**20} MiB of junk)"
        )
        good_t, good_size, _ = run_stick(200, 0, size)
        junk_t, junk_size, refused = run_stick(200, args.junk, size)
        print(f"  good bundles only:   {good_t:6.2f} s   vault {good_size / 2**20:7.2f} MiB")
        print(
            f"  with the junk:       {junk_t:6.2f} s   vault {junk_size / 2**20:7.2f} MiB"
            f"   ({refused} quarantined; ×{junk_t / good_t:.2f} time,"
            f" +{(junk_size - good_size) / 2**20:.2f} MiB)"
        )


if __name__ == "__main__":
    main()
