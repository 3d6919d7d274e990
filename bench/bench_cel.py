"""Why guards are evaluated by ``common-expression-language`` and checked by our own parser.

Measures, in one run: import time of each CEL package (whole process, median
of several), the time to evaluate a typical guard with each, and the time
our stdlib checker (``pathways.celcheck``) needs to parse and type-check one.

    python bench/bench_cel.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import timeit

GUARD = "proposal.value <= pathway.limits.max_value && proposal.end_date > proposal.start_date"


def process_seconds(code: str, runs: int = 7) -> float:
    """Median wall time of a fresh interpreter running ``code``."""
    times = []
    for _ in range(runs):
        start = timeit.default_timer()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(timeit.default_timer() - start)
    return statistics.median(times)


def per_call_us(fn, number: int) -> float:  # noqa: ANN001 - any callable
    return statistics.median(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    import datetime as dt

    import cel
    import celpy

    from pathways import celcheck

    day = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    context = {"proposal": {"value": 12000.0, "start_date": day, "end_date": day + dt.timedelta(days=90)},
               "pathway": {"limits": {"max_value": 25000}}}
    program = cel.compile(GUARD)
    assert program.execute(context) is True

    env = celpy.Environment()
    activation = {"proposal": celpy.json_to_cel({"value": 12000.0, "start_date": day.isoformat(),
                                                 "end_date": (day + dt.timedelta(days=90)).isoformat()}),
                  "pathway": celpy.json_to_cel({"limits": {"max_value": 25000}})}
    simple = "proposal.value <= pathway.limits.max_value"
    celpy_simple = env.program(env.compile(simple))

    type_env = {"proposal": celcheck.ObjectType("proposal", {"value": celcheck.DOUBLE, "start_date": celcheck.TIMESTAMP,
                                                            "end_date": celcheck.TIMESTAMP}),
                "pathway": celcheck.ObjectType("pathway", {"limits": celcheck.ObjectType("limits",
                                                                                      {"max_value": celcheck.INT})})}
    assert celcheck.check_guard(GUARD, type_env) == []

    base = process_seconds("pass")
    print(f"python {sys.version.split()[0]}; whole-process medians, interpreter start ({base * 1000:.0f} ms) removed")
    for label, code in (("import cel (common-expression-language)", "import cel"),
                        ("import celpy (cel-python)", "import celpy"),
                        ("import celpy + build its parser", "import celpy; celpy.Environment().compile('1 < 2')"),
                        ("import pathways.celcheck (ours)", "import pathways.celcheck")):
        print(f"  {label:<42} {(process_seconds(code) - base) * 1000:7.1f} ms")
    print("per guard:")
    cel_us = per_call_us(lambda: program.execute(context), 20000)
    print(f"  cel: evaluate compiled guard                {cel_us:8.1f} µs")
    print(f"  celpy: evaluate (simple guard; no tz dates) "
          f"{per_call_us(lambda: celpy_simple.evaluate(activation), 2000):8.1f} µs")
    print(f"  celpy: parse a guard                        {per_call_us(lambda: env.compile(GUARD), 200):8.1f} µs")
    print(f"  ours: parse + type-check a guard            "
          f"{per_call_us(lambda: celcheck.check_guard(GUARD, type_env), 2000):8.1f} µs")


if __name__ == "__main__":
    main()
