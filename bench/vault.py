"""Vault benchmark: save latency, unlock + open time and memory at 1k / 10k / 50k records,
each beside two baselines doing the same work in the same run: SQLCipher 4 (the encrypted
SQLite store CommCare keeps on the device; WAL, synchronous=FULL) and plain TinyDB
(JSONStorage).

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import apsw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "benchmark passphrase"
SAVES = 300
BASELINE_CAP_SECONDS = 4.0
# SQLCipher 4's defaults (PBKDF2-HMAC-SHA512, 256 000 iterations, HMAC per page), spelled
# out for SQLite3 Multiple Ciphers; then the journal a durable phone store uses.
SQLCIPHER_PRAGMAS = (
    "pragma cipher='sqlcipher'",
    "pragma legacy=4",
    "pragma kdf_iter=256000",
    "pragma key='{}'".format(PASSPHRASE.replace("'", "''")),
    "pragma journal_mode=WAL",
    "pragma synchronous=FULL",
)


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


def sqlcipher_connect(path: Path) -> apsw.Connection:
    """An apsw connection to the SQLCipher 4 database at ``path``, keyed."""
    import apsw

    db = apsw.Connection(str(path))
    for pragma in SQLCIPHER_PRAGMAS:
        db.execute(pragma).fetchall()
    return db


def child_sqlcipher_open(path: str) -> None:
    """Fresh process: key the database and read every record into memory, as the vault
    holds them (decoded documents by id)."""
    import orjson

    import fieldapp.services.records  # noqa: F401 — the same app around it, for RSS

    before = rss_mb()
    start = time.perf_counter()
    db = sqlcipher_connect(Path(path))
    records = {rid: orjson.loads(doc) for rid, doc in db.execute("select id, fields from record")}
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "open_s": elapsed,
                "rss_mb": rss_mb(),
                "rss_before_mb": before,
                "records": len(records),
            }
        )
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


def build_sqlcipher(path: Path, n: int) -> None:
    """The same records as :func:`build_vault` in a SQLCipher 4 table, 1 000 a transaction."""
    import orjson

    from fieldapp.domain.ids import new_id

    template = resident_fields(0)
    db = sqlcipher_connect(path)
    db.execute(
        "create table record (id text primary key, kind text not null, fields blob not null)"
    )
    for first in range(0, n, 1000):
        db.execute("begin")
        db.executemany(
            "insert into record values (?, 'resident', ?)",
            (
                (new_id(), orjson.dumps(dict(template, name=f"居民{i}", address=f"史家胡同{i}号")))
                for i in range(first, min(n, first + 1000))
            ),
        )
        db.execute("commit")
    db.close()


def sqlcipher_latencies(path: Path) -> tuple[list[float], list[float]]:
    """The saves of :func:`save_latencies` into SQLCipher: validate the same form, then
    one UPDATE in its own committed transaction (WAL + fsync). Also returns the time of
    validation alone, which both stores pay."""
    import orjson

    from fieldapp.domain import Resident
    from fieldapp.domain.validation import validate

    db = sqlcipher_connect(path)
    rows = db.execute("select id, fields from record limit ?", (SAVES,)).fetchall()
    times, validation = [], []
    for n, (rid, doc) in enumerate(rows):
        assert isinstance(doc, bytes)
        form = dict(orjson.loads(doc), notes=f"第{n}次家访：情况稳定。" * 10, address=f"新地址{n}")
        start = time.perf_counter()
        record = validate(Resident, {**form, "id": rid})
        validated = time.perf_counter()
        db.execute("begin immediate")
        db.execute(
            "update record set fields = ? where id = ?", (orjson.dumps(record.to_fields()), rid)
        )
        db.execute("commit")
        times.append(time.perf_counter() - start)
        validation.append(validated - start)
    # Encrypted at rest: no page header, no name or address in the file or its WAL.
    files = [path, path.with_name(path.name + "-wal")]
    data = b"".join(f.read_bytes() for f in files if f.exists())
    assert not path.read_bytes().startswith(b"SQLite format 3"), "SQLCipher file not encrypted"
    for plain in ("居民1", "新地址", "史家胡同", "老人精神状态良好", "resident"):
        assert plain.encode() not in data, f"{plain!r} in plaintext in the SQLCipher file"
    db.close()
    return times, validation


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def ms(values: list[float]) -> str:
    """p50 / p95 in milliseconds."""
    return f"{pct(values, 50) * 1e3:.2f} / {pct(values, 95) * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        print(f"measuring {n} records …", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            vault_path = Path(tmp) / "vault"
            build_vault(vault_path, n)
            saves = save_latencies(vault_path)
            opened = measure_open("--child-open", vault_path)
            sqlc_path = Path(tmp) / "sqlcipher.db"
            build_sqlcipher(sqlc_path, n)
            sqlc, validation = sqlcipher_latencies(sqlc_path)
            sqlc_open = measure_open("--child-sqlcipher-open", sqlc_path)
            base_path = Path(tmp) / "baseline.json"
            build_baseline(base_path, n)
            base_open = measure_open("--child-baseline-open", base_path)
            base = baseline_latencies(base_path)
        assert opened["records"] == sqlc_open["records"] == base_open["records"] == n
        rows.append((n, saves, opened, sqlc, validation, sqlc_open, base, base_open))

    print("\nsave one resident form, p50 / p95 (each save one committed, synced transaction)")
    print(
        f"{'records':>8} | {'fieldapp':>17} | {'SQLCipher 4':>17} {'ratio':>6} | "
        f"{'(validation)':>12} | {'TinyDB + fsync':>19} {'(n)':>5}"
    )
    for n, saves, _, sqlc, validation, _, base, _ in rows:
        ratio = pct(saves, 50) / pct(sqlc, 50)
        print(
            f"{n:>8} | {ms(saves):>17} | {ms(sqlc):>17} {ratio:>5.2f}× | "
            f"{pct(validation, 50) * 1e3:>9.2f} ms | "
            f"{pct(base, 50) * 1e3:>7.1f} / {pct(base, 95) * 1e3:.1f} ms {len(base):>5}"
        )
    print("\nunlock + open, fresh process (median of 3) · RSS after open")
    print(
        f"{'records':>8} | {'fieldapp':>8} | {'SQLCipher 4':>11} {'ratio':>6} | {'TinyDB':>7} | "
        f"{'RSS MB':>6} {'SQLCipher':>9} {'TinyDB':>6}"
    )
    for n, _, opened, _, _, sqlc_open, _, base_open in rows:
        ratio = opened["open_s"] / sqlc_open["open_s"]
        print(
            f"{n:>8} | {opened['open_s']:>7.3f}s | {sqlc_open['open_s']:>10.3f}s {ratio:>5.2f}× | "
            f"{base_open['open_s']:>6.3f}s | {opened['rss_mb']:>6.0f} "
            f"{sqlc_open['rss_mb']:>9.0f} {base_open['rss_mb']:>6.0f}"
        )
    print(
        "\nratio = fieldapp ÷ SQLCipher 4 (p50; below 1 is faster than SQLCipher)."
        "\nsave = validate a resident form + ops + AES-GCM + append + fdatasync (journal);"
        "\nSQLCipher 4 = validate the same form + UPDATE of its JSON row in BEGIN IMMEDIATE …"
        " COMMIT\n  (apsw-sqlite3mc: PBKDF2-SHA512 × 256 000, AES-256-CBC + HMAC-SHA512 per"
        " page, WAL, synchronous=FULL);\n  (validation) = the part of either save spent"
        " validating the form."
        "\nTinyDB = insert into JSONStorage + fsync (whole file rewritten; run capped at"
        f" {BASELINE_CAP_SECONDS:.0f}s, n = saves measured)."
        "\nopen = fresh process, unlock (Argon2id, calibrated) + load every record;"
        " SQLCipher 4 = key (PBKDF2)\n  + read and decode every row; TinyDB = parse the"
        " JSON file (no KDF)."
        "\nRSS = whole process after open, incl. Python + libraries."
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child-open":
        child_open(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--child-sqlcipher-open":
        child_sqlcipher_open(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--child-baseline-open":
        child_baseline_open(sys.argv[2])
    else:
        main()
