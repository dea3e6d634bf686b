"""TUI benchmark on a 50 000-record vault: unlock → first usable Today screen, and
search-as-you-type latency per keystroke (Chinese, pinyin, ASCII), each beside a naive
full scan measured in the same run.

    python bench/tui.py               # 50 000 records (≈ 9 000 residents + needs, visits …)
    python bench/tui.py --records 5000
    python bench/tui.py --keep /tmp/v # build the vault once, reuse it on the next runs

Budgets (DESIGN §4, issue 13): the first usable Today screen — its tables filled and that
frame painted — ≤ 0.8 s from the start of the unlock, beside the bare unlock (Argon2id +
load) of the same processes; search p95 ≤ 30 ms per keystroke, beside a naive scan.
Medians and percentiles of one run; compare ratios, not single runs.

2026-12-02, 2 shared cores (other work running, load ≈ 1.3), median of 7 fresh processes
each, alternating with the commit before (11feb60) in the same minutes: first usable Today,
painted, 1.52 s → 1.29 s (CPU 1.63 s → 1.31 s); filled (the old criterion: rows in the
tables, not yet painted) 1.45 s → 1.14 s; the unlock alone 0.59–0.69 s; an empty vault's
first screen 0.40 s. Still over budget: the summary's scans (≈ 0.2 s alone, 0.4 s beside
Textual's start on the GIL) are most of what is left.
Later the same day, the machine as quiet as it got, median of 3: Enter on the unlock screen →
Today painted 1.176 s (an empty vault 0.414 s), a cold start 1.115 s (open alone 0.581 s):
still over budget. The quietest run (load 0.6): 0.874 s from Enter (empty vault 0.325 s), 0.861 s
cold (open alone 0.484 s). From Enter: Argon2id 0.20 s, load 0.33 s, the summary 0.20–0.28 s (worked
out in the unlock's worker since), Textual's screen switch and paint ≈ 0.2 s.
2026-12-02 later, with Today's index kept between sessions (an encrypted derived file of the
vault, docs/vault-format.md, "Derived files"), the snapshot read in place and one restyle
before the first paint; machine quiet but slower than that quietest run (an empty vault
0.36–0.40 s from Enter against 0.325 s then), three runs of 3 processes each: from Enter
0.767 / 0.766 / 0.827 s with the index kept (the usual start: the app closed, or Today
shown since the last save), 1.03–1.16 s with nothing kept (a first start, or a save after
Today was last shown, then a crash); cold start 0.85–0.90 s. Breakdown with the index kept:
Argon2id 0.19 s, load 0.31 s, Today's summary from the index 0.06–0.09 s (was 0.20–0.33 s
from the records), Textual's switch and paint 0.14–0.22 s. At the budget, not under it
with a margin.
2026-12-02, the next session: Today drawn from what the last session kept (its index and
its inbox) once the passphrase is right, before the records are read (``Vault.open``'s
peek); median of 7 fresh processes alternating with 40b5049: from Enter, Today drawn
0.353 s (40b5049 painted it in 0.631 s), answering keys 0.782 s (the keys pressed on the
preview are held until then). Under the budget with a margin for the first, not the second.
Before: the summary was read twice (mount and resume) and shown twice, the tables were
measured only when idle (first frame at the headings' widths, one line high), and the
search index started before that frame and held it back.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "benchmark passphrase"
TODAY = dt.date(2026, 11, 29)
QUERIES = {
    "chinese": ["王", "王秀", "王秀英"],
    "pinyin-full": list("wangxiuying"),
    "pinyin-initials": list("wxy"),
    "ascii-address": list("13"),
}
NAIVE_CAP_SECONDS = 20.0


def clock():  # type: ignore[no-untyped-def]
    """The benchmark's one clock: the morning of TODAY, for every step."""
    from fieldapp.domain.clock import FixedClock

    return FixedClock(dt.datetime.combine(TODAY, dt.time(10, 30)))


def build(path: Path, records: int) -> int:
    from fieldapp.services.demo import build_demo
    from fieldapp.services.records import RecordService
    from fieldapp.store import Vault

    vault, _ = Vault.create(path, PASSPHRASE, clock=clock())
    service = RecordService(vault)
    # The demo makes ≈ 5.6 records per resident (needs, interviews, visits, plans).
    build_demo(service, TODAY, residents=max(50, int(records / 5.6)))
    total = vault.count()
    vault.close()
    return total


def build_empty(path: Path) -> None:
    """A vault with nothing in it, with the same key derivation: the app's own floor."""
    from fieldapp.store import Vault

    vault, _ = Vault.create(path, PASSPHRASE, clock=clock())
    vault.close()


def first_screen(path: Path, mode: str = "--child") -> dict[str, float]:
    """One fresh process's figures for the vault at ``path`` (``--child``: the app started
    on an open vault; ``--child-enter``: Enter pressed on the unlock screen)."""
    out = subprocess.run(
        [sys.executable, __file__, mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def count(path: Path) -> int:
    """How many records a kept vault holds."""
    from fieldapp.store import Vault

    vault = Vault.open(path, PASSPHRASE, clock=clock())
    total = vault.count()
    vault.close(compact=False)
    return total


def stamp_first_paint(preview: list[float] | None = None) -> list[float]:
    """Note when Today's first frame with its tables filled has been painted: the moment it
    tells the app to start the search index (``_first_shown`` runs after that refresh).
    Timed from inside the app, since a polling loop would be held back by that index's
    thread and report a later moment than the worker sees. ``preview``: where to note when
    Today's preview (drawn from what the last session kept, before the records are read)
    was painted."""
    from fieldapp.tui.screens.today import TodayPreview, TodayScreen

    painted: list[float] = []
    first_shown = TodayScreen._first_shown
    preview_shown = TodayPreview._first_shown

    def noted(self: TodayScreen) -> None:
        painted.append(time.perf_counter())
        painted.append(time.process_time())
        first_shown(self)

    def noted_preview(self: TodayPreview) -> None:
        if preview is not None:
            preview.append(time.perf_counter())
        preview_shown(self)

    TodayScreen._first_shown = noted  # type: ignore[method-assign]
    TodayPreview._first_shown = noted_preview  # type: ignore[method-assign]
    return painted


async def until_painted(app: Any, pilot: Any, painted: list[float]) -> None:
    """Wait until Today shows its tables and that frame is painted (``painted`` stamped)."""
    from textual.widgets import DataTable

    from fieldapp.tui.screens.today import TodayPreview, TodayScreen

    while True:
        screen = app.screen
        if (
            isinstance(screen, TodayScreen)
            and not isinstance(screen, TodayPreview)
            and screen.summary is not None
            and (screen.query_one("#due", DataTable).row_count or not screen.summary.due)
        ):
            break
        await pilot.pause(0.005)
    await screen.wait_for_refresh()  # and painted: the frame the worker sees
    while not painted:
        await pilot.pause(0.005)


def child_first_screen(path: str) -> None:
    """Fresh process: unlock, start the app, wait until Today shows its tables and that frame
    is painted."""

    from fieldapp.config import Config
    from fieldapp.services.workspace import Workspace
    from fieldapp.store import Vault
    from fieldapp.tui.app import FieldApp

    painted = stamp_first_paint()

    async def run() -> dict[str, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        vault = Vault.open(Path(path), PASSPHRASE, clock=clock())
        opened = time.perf_counter()
        app = FieldApp(
            config=Config(language="zh_CN"),
            workspace=Workspace(vault),
            save_settings=False,
            # No hub here; its first try (1 s after start) is not part of the first screen,
            # and its status-line worker racing the exit below can fail on a torn-down screen.
            auto_sync=False,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await until_painted(app, pilot, painted)
            usable, cpu_usable = painted
            await app.workers.wait_for_complete()
            indexed = time.perf_counter()
        vault.close(compact=False)
        return {
            "unlock_s": opened - start,
            "first_screen_s": usable - start,
            "first_screen_cpu_s": cpu_usable - cpu_start,
            "index_ready_s": indexed - start,
        }

    print(json.dumps(asyncio.run(run())))


def child_from_enter(path: str) -> None:
    """Fresh process, as a worker meets it: the app on its unlock screen, the passphrase
    typed; from Enter until Today shows its tables and that frame is painted — drawn from
    what the last session kept, while the records are read (``drawn_s``), and Today once
    the vault is open, answering keys (``from_enter_s``)."""
    from textual.widgets import Input

    from fieldapp.config import Config
    from fieldapp.tui.app import FieldApp

    preview: list[float] = []
    painted = stamp_first_paint(preview)

    async def run() -> dict[str, float]:
        app = FieldApp(
            config=Config(language="zh_CN"),
            vault_path=Path(path),
            save_settings=False,
            clock=clock(),
            auto_sync=False,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            while not app.screen.query("#passphrase"):
                await pilot.pause(0.01)
            app.screen.query_one("#passphrase", Input).value = PASSPHRASE
            await pilot.pause(0.2)  # the unlock screen idle, as when a worker types
            start, cpu_start = time.perf_counter(), time.process_time()
            await pilot.press("enter")
            await until_painted(app, pilot, painted)
            usable, cpu_usable = painted
            await app.workers.wait_for_complete()
            app.close_vault()
        return {
            "drawn_s": (preview[0] if preview else usable) - start,
            "from_enter_s": usable - start,
            "from_enter_cpu_s": cpu_usable - cpu_start,
        }

    print(json.dumps(asyncio.run(run())))


def search_latencies(path: Path) -> tuple[dict[str, list[float]], dict[str, list[float]], float]:
    from fieldapp.services.search import naive_search
    from fieldapp.services.workspace import Workspace
    from fieldapp.store import Vault

    vault = Vault.open(path, PASSPHRASE, clock=clock())
    ws = Workspace(vault)
    t0 = time.perf_counter()
    ws.build_index()
    index_s = time.perf_counter() - t0
    residents = list(vault.iter_records("resident"))
    ours: dict[str, list[float]] = {}
    naive: dict[str, list[float]] = {}
    spent = 0.0
    for kind, keystrokes in QUERIES.items():
        for _round in range(5):
            typed = ""
            for key in keystrokes:
                typed = key if kind == "chinese" else typed + key
                start = time.perf_counter()
                ws.find_residents(typed, limit=200)  # what the search worker does per key
                ours.setdefault(kind, []).append(time.perf_counter() - start)
                if spent < NAIVE_CAP_SECONDS and _round == 0:
                    start = time.perf_counter()
                    naive_search(residents, typed)
                    took = time.perf_counter() - start
                    spent += took
                    naive.setdefault(kind, []).append(took)
            ws.index.search("")  # a new query: no narrowing from the last one
    vault.close(compact=False)
    return ours, naive, index_s


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the vault in DIR once and reuse it on later runs (same --records)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / f"vault-{args.records}"
        started = time.perf_counter()
        if args.keep and path.exists():
            total = count(path)
            print(f"vault: {total} records (kept in {path})\n")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            total = build(path, args.records)
            print(f"vault: {total} records (built in {time.perf_counter() - started:.0f} s)\n")
        empty = Path(tmp) / "empty"
        build_empty(empty)
        runs, floor, enter, enter_floor, forgot = [], [], [], [], []
        kept = path / "derived-today.fv"
        first_screen(path, "--child-enter")  # a session that closed: Today's index kept
        for _ in range(3):
            enter.append(first_screen(path, "--child-enter"))
            runs.append(first_screen(path))
            floor.append(first_screen(empty))
            enter_floor.append(first_screen(empty, "--child-enter"))
            # As on a first start, or a save since the index was kept: worked out again.
            kept.unlink(missing_ok=True)
            forgot.append(first_screen(path, "--child-enter"))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        base = statistics.median(r["first_screen_s"] for r in floor)
        warm = {k: statistics.median(r[k] for r in enter) for k in enter[0]}
        warm_base = statistics.median(r["from_enter_s"] for r in enter_floor)
        print(
            "Enter on the unlock screen → Today painted (median of 3 processes; the last"
            " session closed, so Today's index and inbox were kept)"
        )
        print(f"  Today drawn               {warm['drawn_s']:.3f} s   budget 0.8 s")
        print(f"    an empty vault's        {warm_base:.3f} s   (the baseline: the unlock alone)")
        print(f"  Today answering keys      {warm['from_enter_s']:.3f} s   (the records read)")
        lost = statistics.median(r["from_enter_s"] for r in forgot)
        print(f"    nothing kept            {lost:.3f} s   (Today's index worked out again)")
        print(f"    CPU (every thread)      {warm['from_enter_cpu_s']:.3f} s")
        print("a cold start on an open vault: open, start the app, Today painted (same runs)")
        print(f"  unlock (Argon2id + load)  {med['unlock_s']:.3f} s   (the baseline: open alone)")
        print(f"  first usable Today        {med['first_screen_s']:.3f} s")
        print(f"    an empty vault's        {base:.3f} s   (the baseline: the app itself)")
        print(f"    of which after unlock   {med['first_screen_s'] - med['unlock_s']:.3f} s")
        print(f"    CPU (every thread)      {med['first_screen_cpu_s']:.3f} s")
        print(f"  search index ready        {med['index_ready_s']:.3f} s   (background)\n")
        ours, naive, index_s = search_latencies(path)
        print(f"search per keystroke (index built once in {index_s:.3f} s)")
        print(f"  {'query':<16} {'p50':>8} {'p95':>8} | {'naive p50':>10} {'p95':>8} {'(n)':>4}")
        for kind in QUERIES:
            o, n = ours[kind], naive.get(kind, [])
            naive_text = (
                f"{pct(n, 50) * 1e3:>8.1f}ms {pct(n, 95) * 1e3:>6.1f}ms {len(n):>4}"
                if n
                else f"{'—':>10} {'—':>8} {0:>4}"
            )
            print(
                f"  {kind:<16} {pct(o, 50) * 1e3:>6.2f}ms {pct(o, 95) * 1e3:>6.2f}ms | {naive_text}"
            )
        every = [x for v in ours.values() for x in v]
        print(
            f"  {'all':<16} {pct(every, 50) * 1e3:>6.2f}ms {pct(every, 95) * 1e3:>6.2f}ms"
            "   budget p95 30 ms"
        )
        print(
            "\nnaive = build each resident's text incl. pypinyin per keystroke, substring match"
            f" (first round only, capped at {NAIVE_CAP_SECONDS:.0f} s in all)."
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child_first_screen(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--child-enter":
        child_from_enter(sys.argv[2])
    else:
        main()
