"""What open data costs: ``pathways ocds --all`` against ``verify`` of the same database, in one run.

Publishing verifies every chain first (the releases rest on verified
entries), then replays each proposal's entries into releases, merges each
record with ocdsmerge, validates both packages against the 1.1.5 schemas and
runs the disclosure check on every file. The baseline is that verification
alone, measured in the same run and interleaved with the contenders (the
order rotates every round), so the ratio says what the open-data work adds.
The parts are timed too: building the releases and records (no validation),
validating the two packages, and, for comparison, the disclosure check done
the quadratic way publish avoids (both whole files against every proposal's
needles; publish checks each process's part against its own).

The database is the demo's (every shipped pathway, 8 proposals, about 100
entries), made fresh in a temporary folder.

    python bench/bench_ocds.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine import Engine
from engine.demo import run_demo
from engine.disclosure import check
from engine.open_data import RECORDS_FILE, RELEASES_FILE, publish
from engine.open_data.packages import dump, record
from engine.open_data.releases import Builder, Publisher
from engine.open_data.validation import problems
from engine.report import report_needles
from pathways.city import load as load_city


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_demo(Path(tmp) / "demo", echo=lambda _: None)
        eng = Engine(f"sqlite:///{Path(tmp) / 'demo' / 'demo.db'}", create=False)
        city = load_city()
        done = publish(eng, city, every=True)
        ids = [p["id"] for p in eng.list()]
        entries = sum(len(eng.entries(i)) for i in ids)
        publisher = Publisher(city.name, city.currency, city.zone)

        def build() -> None:
            for pid in ids:
                rec = eng.record(pid)
                record(Builder(rec.pathway, f"ocds-demo00-{pid}", publisher).releases(rec.entries))

        def validate() -> None:
            assert problems(done.release_package, "release-package") == []
            assert problems(done.record_package, "record-package") == []

        files = {RELEASES_FILE: dump(done.release_package), RECORDS_FILE: dump(done.record_package)}
        needles = []
        for pid in ids:  # the needles publish searches for: every kept value and salt of every proposal
            rec = eng.record(pid)
            needles += report_needles(
                rec.pathway, rec.secrets, [json.loads(r.body) for r in rec.entries], rec.shown["data"]
            )
        contenders: dict[str, Callable[[], object]] = {
            "verify (baseline)": lambda: eng.verify(workers=1),
            "ocds --all": lambda: publish(eng, city, every=True),
            "  build releases+records": build,
            "  validate both packages": validate,
            "  (disclosure: whole files x all needles)": lambda: check(files, needles),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for run in contenders.values():  # warm-up: imports, compiled rules, validators
            run()
        names = list(contenders)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                gc.collect()
                start = time.perf_counter()
                contenders[name]()
                times[name].append(time.perf_counter() - start)
        eng.close()
    base = statistics.median(times["verify (baseline)"])
    size = sum(len(v) for v in files.values())
    print(
        f"demo database: {len(ids)} proposals, {entries} entries; {done.releases} releases, "
        f"{done.processes} records, {size / 1024:.0f} KiB of packages, {len(needles)} needles; "
        f"{args.rounds} rounds, medians"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:42s} {median * 1000:8.1f} ms   {median / base:5.2f}x verify")
    print(json.dumps({n: round(statistics.median(v) * 1000, 2) for n, v in times.items()}))


if __name__ == "__main__":
    main()
