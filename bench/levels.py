"""Levels benchmark (DESIGN §3.8): a district holding ~200 000 records forwarded by its
streets. Four workers' vaults of demo data (residents, needs, interviews, visits, plans)
reach two street offices; each street forwards its team's records to the district.

Printed, each beside its baseline measured in the same run:

- the street's cut of its level bundles (reading its op log, sealing with the roster)
  beside the workers' own cuts of the same ops;
- the district's merge of the level bundles beside the streets' merge of the workers'
  bundles (the same ops: verify, decrypt, validate, apply);
- the district's vault opened at the end (Argon2id + load), beside a street's.

    python bench/levels.py                 # ≈ 200 000 records at the district
    python bench/levels.py --records 20000

Medians of one run (each step runs once: building the data is what takes longest); the
ratios are what to compare.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "benchmark passphrase"
TODAY = dt.date(2026, 11, 29)


def line(what: str, ours: float, base: str, baseline: float) -> None:
    """One figure beside its baseline, and their ratio."""
    print(f"  {what:<30} {ours:7.2f} s   {base:<17} {baseline:7.2f} s   ({ours / baseline:.2f}×)")


def main() -> None:
    from fieldapp.domain.clock import FixedClock
    from fieldapp.services.demo import build_demo
    from fieldapp.services.records import RecordService
    from fieldapp.store import Vault
    from sync import levels, outbox, team
    from sync.merge import Merger

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    clock = FixedClock(dt.datetime.combine(TODAY, dt.time(10, 30)))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def vault(name: str) -> Vault:
            return Vault.create(root / name, PASSPHRASE, clock=clock)[0]

        district = vault("district")
        district_team = team.create_team(district, "城关区")
        streets, workers = [], []
        started = time.perf_counter()
        for s in range(2):
            street = vault(f"street{s}")
            secrets = team.create_team(street, f"街道{s}")
            for w in range(2):
                worker = vault(f"worker{s}{w}")
                _, code = team.join(worker, secrets.code(), f"社工{s}{w}")
                team.enrol(street, code)
                # The demo makes ≈ 5.6 records per resident.
                build_demo(
                    RecordService(worker),
                    TODAY,
                    residents=int(args.records / 4 / 5.6),
                    seed=s * 2 + w,
                )
                workers.append((worker, street))
            _, code = levels.join_upper(street, district_team.code(), f"街道{s}")
            team.enrol(district, code, team.RECORDS)
            streets.append(street)
        built = sum(w.count() for w, _ in workers)
        print(f"built {built} records in {time.perf_counter() - started:.0f} s\n")

        worker_cut = street_merge = 0.0
        for worker, street in workers:
            t0 = time.perf_counter()
            outbox.cut(worker)
            t1 = time.perf_counter()
            merger = Merger(street)
            for seq in outbox.pending_bundles(worker):
                merger.receive(outbox.bundle_bytes(worker, seq))
            t2 = time.perf_counter()
            worker_cut += t1 - t0
            street_merge += t2 - t1
        street_cut = district_merge = 0.0
        forwarded = 0
        for street in streets:
            t0 = time.perf_counter()
            levels.cut(street)
            t1 = time.perf_counter()
            merger = Merger(district)
            for seq in levels.pending(street):
                data = base64.b64decode(street.get_meta(f"{levels.UP_BUNDLE}{seq:08d}")["data"])
                got = merger.receive(data)
                forwarded += sum(o.ops for o in got if o.kind == "applied")
            forwarded += sum(o.ops for o in merger.settle() if o.kind == "applied")
            t2 = time.perf_counter()
            street_cut += t1 - t0
            district_merge += t2 - t1
        held = district.count()
        print(f"district: {held} records, {forwarded} ops forwarded by 2 streets")
        line("streets' cut of level bundles", street_cut, "workers' own cuts", worker_cut)
        line("district's merge", district_merge, "streets' merge", street_merge)
        for v in [district, *streets, *(w for w, _ in workers)]:
            v.close()
        t0 = time.perf_counter()
        Vault.open(root / "district", PASSPHRASE, clock=clock).close(compact=False)
        t1 = time.perf_counter()
        Vault.open(root / "street0", PASSPHRASE, clock=clock).close(compact=False)
        t2 = time.perf_counter()
        line("district vault opened", t1 - t0, "a street's", t2 - t1)


if __name__ == "__main__":
    main()
