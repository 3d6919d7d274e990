"""Whether an intake costs the same with 100,000 proposals in the database as with none.

Run ``python bench/bench_intake.py`` (``--proposals 20000`` for a shorter run).

Every intake of ``--proposals`` on one pathway is timed, in one database
with ``synchronous=FULL`` (production's setting: each intake pays its
fsync). The figure is the median of the first 200 against the median of the
last 200, and their ratio (target <= 1.1). Anything in the intake path that
is linear in the number of proposals (counting them to number the next one,
say) shows up as a ratio well above 1. Medians over 200, not single times:
the machine is shared, and one fsync can stall for milliseconds.

Only the public API is used (``Engine``: ``add_user``, ``publish``,
``intake``), so the script measures whichever engine is installed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import SimClock, shipped_pathways  # noqa: E402 - bench/ is not a package

from engine import Engine  # noqa: E402
from pathways import load  # noqa: E402
from pathways.paths import shortest_paths  # noqa: E402

WINDOW = 200
TARGET = 1.1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=100_000, help="intakes to time (default 100,000)")
    parser.add_argument("--pathway", default="pilot", help="the shipped pathway to take them in (default pilot)")
    parser.add_argument("--db", help="an EMPTY database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--dir", type=Path, help="where the temporary SQLite file goes (a real disk, not tmpfs)")
    parser.add_argument("--synchronous", default="FULL", choices=["OFF", "NORMAL", "FULL"])
    args = parser.parse_args(argv)
    if args.proposals < 2 * WINDOW:
        parser.error(f"--proposals must be at least {2 * WINDOW}")

    workdir = None if args.db else Path(tempfile.mkdtemp(prefix="bench-intake-", dir=args.dir))
    url = args.db or f"sqlite:///{workdir / 'intake.db'}"
    try:
        return run(url, args.proposals, args.pathway, args.synchronous)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run(url: str, n: int, pathway_id: str, synchronous: str) -> int:
    source = next((p for p in shipped_pathways() if load(p).id == pathway_id), None)
    if source is None:
        raise SystemExit(f"no shipped pathway '{pathway_id}'")
    pathway = load(source)
    clock = SimClock(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))
    data = shortest_paths(pathway, clock.now.date())[0].intake  # values the pathway's fields accept
    times: list[int] = []
    started = time.perf_counter()
    with Engine(url, clock=clock, synchronous=synchronous) as eng:
        eng.add_user("admin", ["procurement_officer"])
        eng.publish(pathway, actor="admin")
        for _ in range(20):  # warm the caches (pathway, compiled machine, statements) before timing
            eng.intake(pathway.id, data, actor="admin")
        gc.collect()
        tick = time.perf_counter_ns
        mark = max(n // 10, 1)
        for i in range(n):
            clock.now += dt.timedelta(minutes=3)
            t0 = tick()
            eng.intake(pathway.id, data, actor="admin")
            times.append(tick() - t0)
            if (i + 1) % mark == 0:
                print(f"\r  {i + 1}/{n}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    first = statistics.median(times[:WINDOW]) / 1000
    last = statistics.median(times[-WINDOW:]) / 1000
    ratio = last / first
    print(f"bench_intake: {n} intakes on '{pathway.id}', {url.split('?')[0]}, synchronous={synchronous}")
    print(f"  median µs, first {WINDOW}: {first:8.1f}")
    print(f"  median µs, last  {WINDOW}: {last:8.1f}")
    print(f"  last / first: {ratio:.2f}  target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'}")
    tenth = max(n // 10, 1)
    blocks = [statistics.median(times[i:i + tenth]) / 1000 for i in range(0, n - tenth + 1, tenth)]
    print("  median µs per tenth of the run: " + " ".join(f"{b:.0f}" for b in blocks))
    print(f"  wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
