"""How long ``validate`` takes to refuse the slow guard of issue 10, and what that guard would cost.

The guard is four nested ``.all()`` over four 120-item lists: it passed
``validate`` in 0.1 s, then one ``advance`` held SQLite's write lock for 68 s.
Now ``validate`` refuses it from the bounds alone (``pathways.cost``), without
running it. This prints the median time of ``analyse`` on the definition (the
whole of ``validate`` for one file), the refusal, and the time the cost
estimate itself takes; and, for scale, one evaluation of a *three*-deep guard
on 50-item lists (the smallest nesting the default bounds refuse).

    python bench/bench_validate_cost.py
"""

from __future__ import annotations

import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_guard_cost import LISTS, SLOW, with_guard  # noqa: E402

from pathways.cost import guard_cost, value_sizes  # noqa: E402
from pathways.load import analyse  # noqa: E402


def median_ms(fn, runs: int = 21) -> float:  # noqa: ANN001 - any callable
    times = []
    for _ in range(runs):
        start = timeit.default_timer()
        fn()
        times.append(timeit.default_timer() - start)
    return statistics.median(times) * 1000


def main() -> None:
    text = with_guard(SLOW, LISTS)
    _, problems = analyse(text, "slow.yaml")
    refused = [p for p in problems if p.severity == "error"]
    print(f"validate (analyse) on the slow-guard definition: {median_ms(lambda: analyse(text, 'slow.yaml')):.1f} ms "
          "median of 21")
    for p in refused:
        print(f"  {p}")
    pathway, _ = analyse(with_guard("proposal.value <= pathway.limits.max_value", LISTS), "lists.yaml")
    assert pathway is not None
    t = pathway.transitions[1]
    sizes = value_sizes(pathway, t)
    print(f"cost estimate of the slow guard alone: {median_ms(lambda: guard_cost(SLOW, sizes), 201) * 1000:.0f} µs")

    import cel

    three = "proposal.a.exists(x, proposal.b.exists(y, proposal.c.exists(z, z == 'never')))"
    program = cel.compile(three)
    items = [f"item {i:03d}" for i in range(50)]
    context = {"proposal": {"a": items, "b": items, "c": items}}
    print(f"one evaluation of a 3-deep exists() over 50-item lists (refused by default bounds): "
          f"{median_ms(lambda: program.execute(context), 5):.0f} ms")


if __name__ == "__main__":
    main()
