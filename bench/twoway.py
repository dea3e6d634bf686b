"""Two-way sync benchmark (issue 14): what the supervisor sends down, beside what the
workers send up, in the same run on the same data.

    python bench/twoway.py                   # 50 workers × 200 residents (issue 14's team)
    python bench/twoway.py --quick           # 10 workers × 50 residents
    python bench/twoway.py --workers 20 --residents 100 --reps 5

Every vault is made with fast KDF parameters (Argon2id 1 MiB, 1 pass, 1 lane, as
tests/conftest.py's FAST_KDF): unlocking is not what is measured here.

The team: each worker's device registers its caseload with the demo generator
(``fieldapp.services.demo.build_demo``: residents with their needs, interviews, visits,
plans — whole files, about 54 ops a resident), cuts it upward (``sync.outbox.cut``) and
the supervisor merges every bundle (``sync.merge.Merger``): the **upward** path, the
baseline. Then the supervisor assigns each worker the caseload registered by the next
worker (a handover: one commit of the assignment records) and the scope cut
(``sync.scope.cut``) seals each worker its 200 whole files: the **downward** path, the
same ops the other way. Figures:

- the first assignment's cut (all workers) beside the upward cuts + merge of those ops;
- a worker applying its downward bundles (``sync.downward.receive_all``; median over the
  workers) beside the supervisor merging one worker's upward bundles (median);
- bytes per worker: downward bundle bytes ÷ the raw JSON of the ops they carry (budget
  DESIGN §4: ≤ 0.3×), beside the same ratio of the upward bundles;
- a steady day: 100 edits by the supervisor across the team's files, then the cut (and a
  cut with nothing new), beside 100 edits by the workers cut upward and merged;
- a stick round trip: each worker syncs to a stick folder (``fieldapp sync --to-folder``'s
  ``syncing.sync_to_folder``: its upward bundle of 2 edits), the supervisor merges the
  stick (``merge_sources``, with its scope cut) after 1 edit on each worker's files and
  leaves the replies (``deliver_to_stick``), each worker takes its replies (a second
  ``sync_to_folder``). Each half, up and down, is timed on its own.

The cuts (the first assignment's, the steady day's, each worker's first upward cut) are
medians of ``--reps`` repetitions, each but the last on a copy of the vault, thrown away;
the merges, the applies and the stick round trip change the state and run once, their
per-worker figures medians over the workers. The only checks are on counts (every bundle
applied); nothing here asserts on a time.

Measured 2026-12-02, 50 workers × 200 residents (539 213 demo ops), 2 cores shared with
other jobs, whole run 255 s (see README "Performance"):

- first assignment: the assignment records' commit 0.46 s; the scope cut 16.1 s for all
  50 workers (150 bundles, 579 213 ops: the files + 40 000 assignment ops, 36 000 ops/s;
  it includes loading the supervisor's op log once, for the files' histories) — beside
  the upward cuts + merge of the same files, 28.6 s (6.1 + 22.5; 18 800 ops/s): 0.56×;
- a worker applying its bundles: 0.346 s (11 562 ops in 3 bundles), beside the
  supervisor merging one worker's upward bundles, 0.411 s (10 762 ops): 0.84×;
- bytes per worker: 163 KiB down for 2 633 KiB of raw JSON = 0.062× (worst 0.063×;
  budget ≤ 0.3×), beside 0.060× up;
- a steady day: the supervisor's 100 edits then the cut 0.214 s (45 bundles: the workers
  whose files were edited), a cut with nothing new 0.038 s — beside the workers' 100
  edits up, 3.09 s (2.97 s of 50 cuts: each reads its device's whole op log once after
  opening, ≈ 60 ms; 0.12 s to merge the 50 bundles). Before that merge the supervisor's
  first ``history`` after opening loads its op log: 9.0 s at 580 000 ops (a merge's
  conflict check is the first to ask; the next bundles take ≈ 3 ms each);
- the stick round trip, 50 workers: up 10.4 s (the workers' syncs 3.0 s, 38 ms each; the
  supervisor's op log load 7.2 s, then its merge + cut 0.18 s), down 1.1 s (replies
  left 0.07 s, 50 bundles; the workers taking them 1.0 s, 21 ms each).

An earlier run the same day, quieter: cut 13.5 s vs upward 22.9 s (0.59×), apply 0.355 s
vs 0.331 s, 0.062×. ``--quick`` (10 × 50): whole run 13 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "bench passphrase"
TODAY = dt.date(2026, 11, 29)
FIELDS = ("op_id", "kind", "record_id", "field", "value", "hlc", "device_id", "base")


def raw_json(ops: list[Any]) -> int:
    """Bytes of the ops as JSON objects with their eight fields (bench/bundles.py's raw)."""
    return sum(len(orjson.dumps(dict(zip(FIELDS, op.to_row(), strict=True)))) for op in ops)


@dataclass
class Team:
    """The supervisor's vault and the workers' vaults on disk (closed between steps)."""

    tmp: Path
    sup: Path
    workers: list[Path] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    residents: list[list[str]] = field(default_factory=list)  # registered by each worker


def kdf() -> Any:
    """Fast KDF parameters (tests/conftest.py FAST_KDF)."""
    from fieldapp.store import KdfParams

    return KdfParams(memory_kib=1024, iterations=1, lanes=1)


def open_(path: Path) -> Any:
    """A vault of the team, opened."""
    from fieldapp.store import Vault

    return Vault.open(path, PASSPHRASE)


def make_team(tmp: Path, workers: int, residents: int) -> Team:
    """A supervisor and ``workers`` enrolled workers, each with ``residents`` demo files."""
    from fieldapp.services.demo import build_demo
    from fieldapp.services.records import RecordService
    from fieldapp.store import Vault
    from sync import team

    sup, _ = Vault.create(tmp / "sup", PASSPHRASE, kdf=kdf())
    secrets = team.create_team(sup, "史家社区督导")
    out = Team(tmp, tmp / "sup")
    for n in range(workers):
        path = tmp / f"w{n:03d}"
        vault, _ = Vault.create(path, PASSPHRASE, kdf=kdf())
        _, code = team.join(vault, secrets.code(), f"社工{n}")
        team.enrol(sup, code)
        build_demo(RecordService(vault), TODAY, residents=residents, seed=100 + n)
        out.workers.append(path)
        out.ids.append(vault.device_id)
        out.residents.append([rid for rid, _ in vault.iter_records("resident")])
        vault.close(compact=False)
    sup.close(compact=False)
    return out


@dataclass
class Upward:
    """The upward path: seconds per worker's cut, per worker's merge, bytes and raw JSON."""

    cut: list[float] = field(default_factory=list)
    merge: list[float] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)


def upward(t: Team, reps: int) -> Upward:
    """Each worker cuts its outbox (median of ``reps`` on copies), the supervisor merges all."""
    from sync import outbox
    from sync.merge import Merger

    up = Upward()
    bundles: list[list[bytes]] = []
    for path in t.workers:
        times = []
        for _ in range(reps - 1):  # a cut on a copy, thrown away: the vault stays uncut
            copy = path.with_name(path.name + "-copy")
            shutil.copytree(path, copy)
            vault = open_(copy)
            start = time.perf_counter()
            outbox.cut(vault)
            times.append(time.perf_counter() - start)
            vault.close(compact=False)
            shutil.rmtree(copy)
        vault = open_(path)
        ops = outbox.pending_ops(vault)
        start = time.perf_counter()
        outbox.cut(vault)
        times.append(time.perf_counter() - start)
        mine = [outbox.bundle_bytes(vault, seq) for seq in outbox.pending_bundles(vault)]
        for seq in outbox.pending_bundles(vault):  # as if delivered: out of the outbox
            vault.commit((), kv={f"{outbox.BUNDLE_PREFIX}{seq:08d}": None})
        vault.close(compact=False)
        bundles.append(mine)
        up.cut.append(statistics.median(times))
        up.ops.append(len(ops))
        up.size.append(sum(map(len, mine)))
        up.raw.append(raw_json(ops))
    sup = open_(t.sup)
    merger = Merger(sup)
    for mine in bundles:
        start = time.perf_counter()
        applied = sum(o.ops for data in mine for o in merger.receive(data) if o.kind == "applied")
        up.merge.append(time.perf_counter() - start)
        assert applied == up.ops[len(up.merge) - 1], "an upward bundle was not applied"
    sup.close(compact=False)
    return up


def assign_handover(t: Team) -> float:
    """Each worker is assigned the caseload the next worker registered (one commit of the
    assignment records, as ``assignments._save`` builds each); seconds of the commit."""
    from fieldapp.domain import RecordKind, validate
    from fieldapp.domain.models import Assignment, assignment_id
    from fieldapp.store import Change

    sup = open_(t.sup)
    stamp = sup.clock.now().replace(microsecond=0)
    changes = []
    for n, device in enumerate(t.ids):
        for rid in t.residents[(n + 1) % len(t.ids)]:
            assignment = validate(
                Assignment,
                {
                    "id": assignment_id(rid),
                    "resident_id": rid,
                    "worker": device,
                    "shared_with": [],
                    "assigned_at": stamp,
                },
                today=stamp.date(),
            )
            changes.append(
                Change(RecordKind.ASSIGNMENT.value, assignment.id, assignment.to_fields())
            )
    start = time.perf_counter()
    sup.commit(changes)
    elapsed = time.perf_counter() - start
    sup.close(compact=False)
    return elapsed


def timed_cut(t: Team, reps: int) -> tuple[float, Any]:
    """The scope cut on the supervisor's vault: median of ``reps`` (all but the last on a
    copy, thrown away); the last one's ScopeCut."""
    from sync import scope

    times = []
    for _ in range(reps - 1):
        copy = t.sup.with_name("sup-copy")
        shutil.copytree(t.sup, copy)
        vault = open_(copy)
        start = time.perf_counter()
        scope.cut(vault)
        times.append(time.perf_counter() - start)
        vault.close(compact=False)
        shutil.rmtree(copy)
    vault = open_(t.sup)
    start = time.perf_counter()
    result = scope.cut(vault)
    times.append(time.perf_counter() - start)
    vault.close(compact=False)
    return statistics.median(times), result


@dataclass
class Downward:
    """Per worker: seconds to apply its bundles, bundles, ops, bytes, raw JSON."""

    apply: list[float] = field(default_factory=list)
    bundles: list[int] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)


def apply_down(t: Team) -> Downward:
    """Each worker applies what the supervisor cut for it; the bundles leave the outbox."""
    from sync import downward

    down = Downward()
    sup = open_(t.sup)
    for path, device in zip(t.workers, t.ids, strict=True):
        seqs = downward.pending_for(sup, device)
        data = [downward.bundle_for(sup, device, seq) for seq in seqs]
        vault = open_(path)
        start = time.perf_counter()
        summary = downward.receive_all(vault, [(d, "bench") for d in data])
        down.apply.append(time.perf_counter() - start)
        assert summary.count("applied") == len(data), "a downward bundle was not applied"
        carried = [op for op in vault.all_ops() if op.device_id != vault.device_id]
        vault.close(compact=False)
        for seq in seqs:
            downward.confirm(sup, device, seq)
        down.bundles.append(len(data))
        down.ops.append(summary.ops)
        down.size.append(sum(map(len, data)))
        down.raw.append(raw_json(carried))
    sup.close(compact=False)
    return down


def edit(path: Path, residents: list[str], text: str) -> None:
    """One save of a resident's notes per resident given."""
    from fieldapp.store import Change

    vault = open_(path)
    for rid in residents:
        vault.commit([Change("resident", rid, {"notes": text})])
    vault.close(compact=False)


def load_history(vault: Any, record_id: str) -> float:
    """Seconds of the vault's first ``history`` call after opening: it reads, decrypts and
    indexes the whole op log once (a merge's conflict check is the first to ask)."""
    start = time.perf_counter()
    vault.history(record_id)
    return time.perf_counter() - start


def steady_up(t: Team, per_worker: int, rng: random.Random) -> tuple[float, float, float, int]:
    """Workers edit files of their scope, cut upward, the supervisor merges: seconds of
    all the cuts, of loading the supervisor's history once, of the merge, and ops applied."""
    from sync import outbox
    from sync.merge import Merger

    cut_s, bundles = 0.0, []
    for n, path in enumerate(t.workers):
        held = t.residents[(n + 1) % len(t.workers)]
        edit(path, rng.sample(held, per_worker), f"上门回访，情况稳定。({n})")
        vault = open_(path)
        start = time.perf_counter()
        outbox.cut(vault)
        cut_s += time.perf_counter() - start
        for seq in outbox.pending_bundles(vault):
            bundles.append(outbox.bundle_bytes(vault, seq))
            vault.commit((), kv={f"{outbox.BUNDLE_PREFIX}{seq:08d}": None})
        vault.close(compact=False)
    sup = open_(t.sup)
    load_s = load_history(sup, t.residents[0][0])
    merger = Merger(sup)
    start = time.perf_counter()
    applied = sum(o.ops for data in bundles for o in merger.receive(data) if o.kind == "applied")
    merge_s = time.perf_counter() - start
    sup.close(compact=False)
    return cut_s, load_s, merge_s, applied


def steady_down(t: Team, edits: int, rng: random.Random, reps: int) -> tuple[float, float, Any]:
    """The supervisor makes ``edits`` edits across the team's files, then cuts (median of
    ``reps``); then a cut with nothing new. Seconds of both, the first cut's ScopeCut."""
    from sync import scope

    everyone = [rid for caseload in t.residents for rid in caseload]
    edit(t.sup, rng.sample(everyone, edits), "督导：请核实低保材料，下周电话回访。")
    seconds, result = timed_cut(t, reps)
    vault = open_(t.sup)
    start = time.perf_counter()
    scope.cut(vault)
    idle = time.perf_counter() - start
    vault.close(compact=False)
    return seconds, idle, result


@dataclass
class Stick:
    """The stick round trip, each half timed."""

    up: list[float] = field(default_factory=list)  # per worker: sync_to_folder, first pass
    load: float = 0.0  # the supervisor's history, loaded once after opening
    merge: float = 0.0  # merge_sources (with its scope cut)
    deliver: float = 0.0  # deliver_to_stick
    down: list[float] = field(default_factory=list)  # per worker: taking its replies
    received: int = 0  # bundles the workers took
    files: int = 0  # bundles on the stick after the supervisor's pass


def stick_round(t: Team, rng: random.Random) -> Stick:
    """Workers sync 2 edits each to the stick; the supervisor edits 1 file of each worker,
    merges the stick and leaves the replies; the workers take them."""
    from fieldapp.services import syncing
    from sync.sources import merge_sources

    out = Stick()
    stick = t.tmp / "stick"
    stick.mkdir()
    for n, path in enumerate(t.workers):
        held = t.residents[(n + 1) % len(t.workers)]
        edit(path, rng.sample(held, 2), f"电话回访，已联系家属。({n})")
        vault = open_(path)
        start = time.perf_counter()
        syncing.sync_to_folder(vault, stick, name=f"社工{n}")
        out.up.append(time.perf_counter() - start)
        vault.close(compact=False)
    edit(
        t.sup,
        [rng.choice(t.residents[(n + 1) % len(t.workers)]) for n in range(len(t.workers))],
        "督导：本周内请上门一次。",
    )
    sup = open_(t.sup)
    out.load = load_history(sup, t.residents[0][0])
    start = time.perf_counter()
    summary = merge_sources(sup, [stick])
    out.merge = time.perf_counter() - start
    assert summary.count("applied") == len(t.workers), "a stick bundle was not applied"
    start = time.perf_counter()
    syncing.deliver_to_stick(sup, stick)
    out.deliver = time.perf_counter() - start
    sup.close(compact=False)
    out.files = sum(1 for _ in (stick / "fieldapp" / "to").rglob("*.fbundle"))
    for n, path in enumerate(t.workers):
        vault = open_(path)
        start = time.perf_counter()
        done = syncing.sync_to_folder(vault, stick, name=f"社工{n}")
        out.down.append(time.perf_counter() - start)
        out.received += done.received.applied
        vault.close(compact=False)
    return out


def med(values: Sequence[float]) -> float:
    """The median."""
    return statistics.median(values)


def main() -> None:
    """Run every step on one team and print each figure beside its upward baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--residents", type=int, default=200, help="per worker")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the cuts")
    parser.add_argument("--edits", type=int, default=100, help="the steady day's edits")
    parser.add_argument("--quick", action="store_true", help="10 workers × 50 residents")
    args = parser.parse_args()
    if args.quick:
        args.workers, args.residents = 10, 50
    rng = random.Random(14)
    w, r = args.workers, args.residents
    total = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        t = make_team(Path(tmp), w, r)
        print(
            f"{w} workers × {r} residents (whole demo files), fast KDF;"
            f" set up in {time.perf_counter() - start:.1f} s"
        )

        up = upward(t, args.reps)
        assign_s = assign_handover(t)
        cut_s, first = timed_cut(t, args.reps)
        down = apply_down(t)

        print(
            f"\nFirst assignment ({w * r} residents, handover: each worker gets the next"
            " one's caseload)"
        )
        print(f"  assignment records, one commit:     {assign_s:8.2f} s")
        print(
            f"  scope cut, all workers:             {cut_s:8.2f} s   {first.total} bundles,"
            f" {sum(first.ops.values()):,} ops, {sum(first.ops.values()) / cut_s:,.0f} ops/s"
        )
        up_total = sum(up.cut) + sum(up.merge)
        print(
            f"  upward baseline, cuts + merge:      {up_total:8.2f} s   ({sum(up.cut):.2f} +"
            f" {sum(up.merge):.2f}) {sum(up.ops):,} ops, {sum(up.ops) / up_total:,.0f} ops/s"
            f"   → cut ÷ upward: {cut_s / up_total:.2f}×"
        )

        print("\nPer worker (median over the workers)")
        print(
            f"  applying its downward bundles:      {med(down.apply):8.3f} s   {med(down.ops):,.0f}"
            f" ops in {med(down.bundles):.0f} bundle(s)"
        )
        print(
            f"  baseline: merging its upward ones:  {med(up.merge):8.3f} s   {med(up.ops):,.0f} ops"
            f"   → ÷ {med(down.apply) / med(up.merge):.2f}×"
        )
        d_ratio = [s / raw for s, raw in zip(down.size, down.raw, strict=True)]
        u_ratio = [s / raw for s, raw in zip(up.size, up.raw, strict=True)]
        print(
            f"  downward bytes:  {med(down.size) / 1024:8.1f} KiB of {med(down.raw) / 1024:,.0f}"
            f" KiB raw JSON = {med(d_ratio):.3f}× (budget ≤ 0.3×; worst {max(d_ratio):.3f}×)"
        )
        print(
            f"  upward bytes:    {med(up.size) / 1024:8.1f} KiB of {med(up.raw) / 1024:,.0f}"
            f" KiB raw JSON = {med(u_ratio):.3f}×"
        )

        up_cut, up_load, up_merge, up_ops = steady_up(t, max(1, args.edits // w), rng)
        day_s, idle_s, day = steady_down(t, args.edits, rng, args.reps)
        print(f"\nA steady day ({args.edits} edits across the team)")
        print(
            f"  supervisor's edits, then the cut:   {day_s:8.3f} s   {day.total} bundles,"
            f" {sum(day.ops.values())} ops"
        )
        print(f"  a cut with nothing new:             {idle_s:8.3f} s")
        print(
            f"  baseline: workers' edits up:        {up_cut + up_merge:8.3f} s   ({up_cut:.3f}"
            f" cuts + {up_merge:.3f} merge, {up_ops} ops)"
        )
        print(
            f"    and before it, the supervisor's op log loaded once after opening: {up_load:.2f} s"
        )
        apply_down(t)

        s = stick_round(t, rng)
        print(f"\nStick round trip, {w} workers")
        print(
            f"  up:   each worker's sync to the stick   median {med(s.up):.3f} s,"
            f" all {sum(s.up):.2f} s"
        )
        print(f"        (the supervisor's op log loaded   {s.load:8.2f} s, once after opening)")
        print(f"        the supervisor's merge + cut      {s.merge:8.2f} s")
        print(
            f"  down: the supervisor leaves replies     {s.deliver:8.2f} s   ({s.files} bundles,"
            f" {s.received} applied by the workers)"
        )
        print(
            f"        each worker takes its replies     median {med(s.down):.3f} s,"
            f" all {sum(s.down):.2f} s"
        )
        round_s = sum(s.up) + s.load + s.merge + s.deliver + sum(s.down)
        print(
            f"  whole round trip: {round_s:.2f} s (up {sum(s.up) + s.load + s.merge:.2f} s"
            f" with the op log's load,"
            f" down {s.deliver + sum(s.down):.2f} s)"
        )
    print(f"\n(whole run {time.perf_counter() - total:.0f} s)")


if __name__ == "__main__":
    main()
