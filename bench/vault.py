"""Vault benchmark: save latency, unlock + open time and memory at 1k / 10k / 50k records,
each beside plain TinyDB (JSONStorage) doing the same work in the same run.

    python bench/vault.py                # 1 000, 10 000, 50 000 records
    python bench/vault.py --sizes 1000   # quicker

Budgets (DESIGN §4): save p50 ≤ 2 ms and flat in N; unlock + open of 50 000 records
≤ 1.0 s including the KDF; resident memory ≤ 300 MB. Figures are medians; the machine
is noisy, so compare ratios, not single runs. No test asserts any of this.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "benchmark passphrase"
SAVES = 300
BASELINE_CAP_SECONDS = 4.0


def resident_fields(i: int) -> dict[str, object]:
    """A realistic ~1 KB resident file (JSON), as a form would save it."""
    from fieldapp.domain import Resident
    from fieldapp.domain.idcard import make_id_number

    born = dt.date(1940 + i % 60, 1 + i % 12, 1 + i % 28)
    r = Resident(
        name=f"{'王李张刘陈杨赵黄'[i % 8]}{'秀英 桂兰 建国 志强 淑珍 玉兰'.split()[i % 6]}{i}",
        gender="female" if i % 2 else "male",
        birth_date=born,
        id_number=make_id_number("110101", born, i),
        phones=[f"138{i:08d}"[:11]],
        address=f"史家胡同{i % 120}号{i % 6 + 1}单元",
        community=["史家社区", "演乐社区", "西总布社区", "冲赛康社区"][i % 4],
        tags=["elderly_alone"] if i % 3 == 0 else ["low_income"],
        consent={"status": "given", "on": "2025-03-01"},
        cadence=[{"activity": "home_visit", "every_days": 30}],
        household=[{"name": "家属" + str(i), "relation": "子女", "phone": "13900000000"}],
        notes="老人精神状态良好，冰箱有存粮，药品按时服用。屋内较冷，暖气不热，已联系物业。" * 4,
    )
    return r.to_fields()


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_vault(path: Path, n: int) -> None:
    from fieldapp.domain.ids import new_id
    from fieldapp.store import Change, Vault

    template = resident_fields(0)
    vault, _ = Vault.create(path, PASSPHRASE)  # calibrated KDF, as a user gets
    batch: list[Change] = []
    for i in range(n):
        fields = dict(template, name=f"居民{i}", address=f"史家胡同{i}号")
        batch.append(Change("resident", new_id(), fields))
        if len(batch) == 1000:
            vault.commit(batch)
            batch = []
    if batch:
        vault.commit(batch)
    vault.close()  # compacts: the next open reads one snapshot


def child_open(path: str) -> None:
    """Run in a fresh process: time unlock + open, measure memory."""
    import fieldapp.services.records  # noqa: F401 — what the app imports anyway
    from fieldapp.store import Vault

    before = rss_mb()
    start = time.perf_counter()
    vault = Vault.open(Path(path), PASSPHRASE)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "open_s": elapsed,
                "rss_mb": rss_mb(),
                "rss_before_mb": before,
                "records": vault.count(),
            }
        )
    )
    vault.close(compact=False)


def child_baseline_open(path: str) -> None:
    from tinydb import TinyDB

    before = rss_mb()
    start = time.perf_counter()
    db = TinyDB(path)
    n = len(db.table("resident"))
    elapsed = time.perf_counter() - start
    print(
        json.dumps({"open_s": elapsed, "rss_mb": rss_mb(), "rss_before_mb": before, "records": n})
    )
    db.close()


def measure_open(kind: str, path: Path, runs: int = 3) -> dict[str, float]:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, kind, str(path)], capture_output=True, text=True, check=True
        )
        results.append(json.loads(out.stdout))
    return {
        "open_s": statistics.median(r["open_s"] for r in results),
        "rss_mb": statistics.median(r["rss_mb"] for r in results),
        "rss_before_mb": statistics.median(r["rss_before_mb"] for r in results),
        "records": results[0]["records"],
    }


def save_latencies(path: Path) -> list[float]:
    """Save one resident form (validate + ops + encrypt + append + fsync) SAVES times."""
    from fieldapp.domain import Resident
    from fieldapp.domain.validation import validate
    from fieldapp.services.records import RecordService
    from fieldapp.store import Vault

    vault = Vault.open(path, PASSPHRASE)
    service = RecordService(vault)
    ids = [rid for rid, _ in vault.iter_records("resident")][:SAVES]
    times = []
    for n, rid in enumerate(ids):
        form = dict(
            vault.get(rid) or {}, notes=f"第{n}次家访：情况稳定。" * 10, address=f"新地址{n}"
        )
        start = time.perf_counter()
        service.save(validate(Resident, {**form, "id": rid}))
        times.append(time.perf_counter() - start)
    vault.close(compact=False)
    return times


def build_baseline(path: Path, n: int) -> None:
    """Plain TinyDB with its default JSONStorage holding the same records."""
    template = resident_fields(0)
    table = {str(i + 1): dict(template, name=f"居民{i}") for i in range(n)}
    path.write_text(json.dumps({"resident": table}))


def baseline_latencies(path: Path) -> list[float]:
    from tinydb import TinyDB

    db = TinyDB(path)  # JSONStorage: rewrites the whole file per write
    table = db.table("resident")
    template = resident_fields(1)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < SAVES and time.perf_counter() - started < BASELINE_CAP_SECONDS:
        start = time.perf_counter()
        table.insert(dict(template, notes=f"第{len(times)}次"))
        # JSONStorage flushes but never fsyncs: add the fsync a durable save needs.
        db.storage._handle.flush()
        os.fsync(db.storage._handle.fileno())
        times.append(time.perf_counter() - start)
    db.close()
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    args = parser.parse_args()
    print(
        f"{'records':>8} | {'save p50':>9} {'p95':>8} | {'TinyDB p50':>10} {'p95':>8} "
        f"{'(n)':>5} | {'open':>7} {'TinyDB':>7} | {'RSS MB':>7} {'TinyDB':>7}"
    )
    print("-" * 96)
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            vault_path = Path(tmp) / "vault"
            build_vault(vault_path, n)
            saves = save_latencies(vault_path)
            opened = measure_open("--child-open", vault_path)
            base_path = Path(tmp) / "baseline.json"
            build_baseline(base_path, n)
            base_open = measure_open("--child-baseline-open", base_path)
            base = baseline_latencies(base_path)
        assert opened["records"] == n and base_open["records"] == n
        print(
            f"{n:>8} | {pct(saves, 50) * 1e3:>7.2f}ms {pct(saves, 95) * 1e3:>6.2f}ms | "
            f"{pct(base, 50) * 1e3:>8.1f}ms {pct(base, 95) * 1e3:>6.1f}ms {len(base):>5} | "
            f"{opened['open_s']:>6.3f}s {base_open['open_s']:>6.3f}s | "
            f"{opened['rss_mb']:>7.0f} {base_open['rss_mb']:>7.0f}"
        )
    print(
        "\nsave = validate a resident form + ops + AES-GCM + append + fdatasync ×2 (journal,"
        " state);\nTinyDB = insert into JSONStorage + fsync (whole file rewritten; run capped at"
        f" {BASELINE_CAP_SECONDS:.0f}s, n = saves measured).\nopen = fresh process, unlock"
        " (Argon2id, calibrated) + load; TinyDB open = parse the JSON file (no KDF)."
        "\nRSS = whole process after open, incl. Python + libraries."
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child-open":
        child_open(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--child-baseline-open":
        child_baseline_open(sys.argv[2])
    else:
        main()
