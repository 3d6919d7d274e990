"""Fill a database with realistic proposals, through the engine's public API only.

One generator for every benchmark that needs a populated database (intake at
scale, whole-database verify, reports, analytics), so they all measure the
same kind of data. Run ``python bench/generate.py --db sqlite:///x.db
--proposals 100000 --entries 10``; or call ``generate(url, ...)``.

Why it is built this way:

* **Public API only** (``Engine``: ``add_user``, ``publish``, ``intake``,
  ``advance``, ``tick``). The engine is being rewritten; the generator must
  keep working against the new one, so it reads no tables and imports no
  internals.
* **Real routes** of the shipped pathways, from
  ``pathways.paths.shortest_paths``: the steps, the roles allowed to take
  them and field values their guards accept. Date values are shifted to the
  simulated day of each step, so guards that compare with ``now`` judge them
  as the path finder did.
* **A simulated calendar.** An injected clock is moved by a discrete-event
  loop: proposals arrive spread over ``span_days``, each waits hours to days
  between its steps, and the clock (``Engine.tick``) runs once a simulated
  day, firing the deadline transitions that are due (bids open, submission
  windows close, tests end). The history therefore spans months, as a real
  office's would, which matters to anything that reads dates.
* **Refusals are part of a real trail**: a wrong role, a missing rationale.
  They pad a route shorter than ``entries_per_proposal`` so every proposal
  ends with about that many entries.
* **Deterministic for a seed**: one ``random.Random(seed)``, a fake clock and
  a fixed event order, so two runs give the same entries (ids are whatever
  the engine assigns, which is deterministic too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import Engine, Refused
from pathways import Pathway, load
from pathways.model import CLOCK
from pathways.paths import Route, Step, shortest_paths
from pathways.resources import definitions

#: A Monday: the simulated office opens for business.
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
ADMIN_USER = "admin"
USERS_PER_ROLE = 2
#: How often the simulated cron runs ``Engine.tick``.
TICK_EVERY = dt.timedelta(days=1)
#: Unexpected refusals (a guard the shifted values still miss) before a proposal is left where it is.
MAX_FAILURES = 3
#: Days a proposal may wait for the clock to fire its next step before it is left where it is.
MAX_WAIT_TICKS = 45
RATIONALES = ["reviewed against the checklist", "documents complete", "per the evaluation memo",
              "approved at the weekly meeting", "see the attached file", "as agreed with the department"]


class SimClock:
    """The engine's clock, set by the simulation; strictly increasing like tests' FakeClock.

    Each reading adds a microsecond, so entries written at one simulated
    moment still get distinct, ordered timestamps.
    """

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)
        return self.now

    def set(self, when: dt.datetime) -> None:
        self.now = max(self.now, when)


@dataclass
class Case:
    """One proposal being driven: its route, where it is on it, and the refusals still to make."""

    pid: str
    pathway: Pathway
    route: Route
    pos: int = 0
    refusals: dict[int, int] = field(default_factory=dict)  # step index -> refused attempts before it
    entries: int = 1
    failures: int = 0
    waiting: int = 0  # ticks spent waiting for the clock to fire the next step
    done: bool = False

    @property
    def step(self) -> Step | None:
        return self.route.steps[self.pos] if self.pos < len(self.route.steps) else None


@dataclass
class Summary:
    """What was generated; ``entries`` counts every audit entry written, registry included."""

    url: str
    proposals: int = 0
    entries: int = 0
    registry_entries: int = 0
    transitions: int = 0
    refusals_planned: int = 0
    refusals_unplanned: int = 0
    clock_firings: int = 0
    clock_refusals: int = 0
    left_in_flight: int = 0
    first_at: str = ""
    last_at: str = ""
    seconds: float = 0.0

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "entries_per_second": round(self.entries_per_second, 1)}


def shipped_pathways() -> list[Path]:
    """The shipped definitions, as installed with the package (works from any directory)."""
    folder = definitions()
    return sorted(Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml"))


def shift_dates(pathway: Pathway, values: dict[str, Any], days: int) -> dict[str, Any]:
    """``values`` with every date field moved ``days`` later (the route was solved for START's day)."""
    out = dict(values)
    for name, value in values.items():
        f = pathway.fields.get(name)
        if f is not None and f.type == "date" and isinstance(value, str):
            out[name] = (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return out


def step_gap(rng: random.Random) -> dt.timedelta:
    """Time until a proposal's next step: median a day, from an hour to two weeks (log-normal)."""
    hours = min(max(rng.lognormvariate(math.log(24), 1.0), 1.0), 14 * 24)
    return dt.timedelta(hours=hours)


def retry_gap(rng: random.Random) -> dt.timedelta:
    """After a refusal, someone tries again the same day: ten minutes to six hours."""
    return dt.timedelta(minutes=rng.uniform(10, 360))


class Generator:
    """The discrete-event loop: a heap of (time, order, what) events over one engine."""

    def __init__(self, eng: Engine, clock: SimClock, rng: random.Random, summary: Summary, files: list[Path],
                 log: Callable[[str], None]) -> None:
        self.eng, self.clock, self.rng, self.summary, self.files, self.log = eng, clock, rng, summary, files, log
        self.events: list[tuple[dt.datetime, int, str, Any]] = []
        self.order = 0
        self.cases: dict[str, Case] = {}
        self.waiting: set[str] = set()
        self.users: dict[str, list[str]] = {}

    def at(self, when: dt.datetime, kind: str, what: Any = None) -> None:
        self.order += 1
        heapq.heappush(self.events, (when, self.order, kind, what))

    # --- set-up -----------------------------------------------------------------------------------

    def staff(self, pathways: list[Pathway]) -> None:
        """The first user is the admin (the engine makes them so); the admin grants everyone else."""
        roles = sorted({r for p in pathways for r in p.roles if r != CLOCK})
        self.eng.add_user(ADMIN_USER, ["procurement_officer"])
        self.summary.registry_entries += 1
        for role in roles:
            names = [f"{role}.{i}" for i in range(1, USERS_PER_ROLE + 1)]
            for name in names:
                self.eng.add_user(name, [role], actor=ADMIN_USER)
                self.summary.registry_entries += 1
            self.users[role] = names

    def actor(self, roles: list[str]) -> str:
        return self.rng.choice(self.users[self.rng.choice(roles)])

    # --- proposals -------------------------------------------------------------------------------

    def plan(self, pathway: Pathway, routes: list[Route], k: int) -> tuple[Route, dict[int, int]]:
        """A route that fits in ``k`` entries, and refusals spread over its steps to fill the rest."""
        # Long routes are what offices mostly run; a route longer than k is cut (the proposal stays in
        # flight), and sometimes cut one step shorter still, so that most trails hold a refusal or two.
        cut = [r.steps[:max(k - 1, 0)] for r in routes]
        i = self.rng.choices(range(len(routes)), weights=[len(c) ** 2 + 1 for c in cut])[0]
        steps = cut[i]
        if steps and len(steps) == k - 1 and self.rng.random() < 0.3:
            steps = steps[:-1]
        route = Route(routes[i].final, routes[i].outcome, dict(routes[i].intake), list(steps))
        refusals: dict[int, int] = {}
        refusable = [i for i, s in enumerate(route.steps) if any(r != CLOCK for r in s.roles)]
        for _ in range(k - 1 - len(route.steps)):
            if refusable:
                i = self.rng.choice(refusable)
                refusals[i] = refusals.get(i, 0) + 1
        return route, refusals

    def intake(self, pathway: Pathway, route: Route, refusals: dict[int, int]) -> None:
        days = (self.clock.now.date() - START.date()).days
        data = shift_dates(pathway, route.intake, days)
        intake_roles = [r for r in route.steps[0].roles if r != CLOCK] if route.steps else []
        actor = self.actor(intake_roles) if intake_roles else ADMIN_USER
        pid = self.eng.intake(pathway.id, data, actor=actor)
        case = Case(pid, pathway, route, refusals=refusals)
        self.cases[pid] = case
        self.summary.proposals += 1
        self.summary.entries += 1
        self.summary.first_at = self.summary.first_at or self.clock.now.isoformat()
        self.at(self.clock.now + step_gap(self.rng), "step", pid)

    def values(self, case: Case, step: Step) -> dict[str, Any]:
        return shift_dates(case.pathway, step.values, (self.clock.now.date() - START.date()).days)

    def attach(self, step: Step) -> list[Path]:
        return [self.rng.choice(self.files)] if "attachment" in step.requires else []

    def refuse(self, case: Case, step: Step) -> None:
        """One planned refusal before ``step``: a missing rationale where one is needed, else a wrong role."""
        humans = [r for r in step.roles if r != CLOCK]
        kw: dict[str, Any] = {"updates": self.values(case, step), "attachments": self.attach(step)}
        if "rationale" in step.requires and self.rng.random() < 0.5:
            actor = self.actor(humans)  # the right person forgets to say why
        else:
            others = [r for r in case.pathway.roles if r != CLOCK and r not in step.roles and r in self.users]
            actor = self.actor(others) if others else "admin"
            if "rationale" in step.requires:
                kw["rationale"] = self.rng.choice(RATIONALES)
        try:
            self.eng.advance(case.pid, step.trigger, actor=actor, **kw)
        except Refused:
            self.summary.refusals_planned += 1
        else:  # the wrong-role user happened to hold the role after all: a real step then
            self.summary.transitions += 1
            case.pos += 1
        case.entries += 1
        self.summary.entries += 1

    def fire(self, case: Case) -> None:
        """The proposal's next event: a planned refusal, its next step, or waiting for the clock."""
        step = case.step
        if step is None or case.done:
            case.done = True
            return
        humans = [r for r in step.roles if r != CLOCK]
        if case.refusals.get(case.pos) and humans:
            case.refusals[case.pos] -= 1
            self.refuse(case, step)
            self.at(self.clock.now + retry_gap(self.rng), "step", case.pid)
            return
        if not humans:  # only the clock may take it: the next tick will
            self.waiting.add(case.pid)
            return
        rationale = self.rng.choice(RATIONALES) if "rationale" in step.requires else None
        try:
            self.eng.advance(case.pid, step.trigger, actor=self.actor(humans), rationale=rationale,
                             updates=self.values(case, step), attachments=self.attach(step))
        except Refused:
            self.summary.refusals_unplanned += 1
            case.failures += 1
            case.entries += 1
            self.summary.entries += 1
            if case.failures >= MAX_FAILURES:
                case.done = True
                return
            self.at(self.clock.now + dt.timedelta(days=self.rng.uniform(1, 3)), "step", case.pid)
            return
        case.entries += 1
        self.summary.entries += 1
        self.summary.transitions += 1
        case.pos += 1
        if case.step is not None:
            self.at(self.clock.now + step_gap(self.rng), "step", case.pid)
        else:
            case.done = True

    def tick(self) -> None:
        """The daily cron: fire due deadlines, then put each moved proposal back on its route."""
        for result in self.eng.tick():
            self.summary.entries += 1
            case = self.cases.get(result["id"])
            if result.get("refused"):
                self.summary.clock_refusals += 1
                if case:
                    case.entries += 1
                continue
            self.summary.clock_firings += 1
            if case is None:
                continue
            case.entries += 1
            self.resync(case, result["trigger"], result["to"])
        for pid in list(self.waiting):
            case = self.cases[pid]
            case.waiting += 1
            if case.waiting > MAX_WAIT_TICKS:
                self.waiting.discard(pid)
                case.done = True

    def resync(self, case: Case, trigger: str, dest: str) -> None:
        """After the clock moved a proposal: the step it took, or skip ahead to where the route re-enters
        ``dest``; if the route never goes there the proposal is left where it is (it stays in flight)."""
        self.waiting.discard(case.pid)
        case.waiting = 0
        step = case.step
        if step is not None and step.trigger == trigger:
            case.pos += 1
        else:
            ahead = [i for i in range(case.pos, len(case.route.steps)) if case.route.steps[i].source == dest
                     and (i == 0 or case.route.steps[i - 1].dest == dest)]
            if not ahead:
                case.done = True
                return
            case.pos = ahead[0]
        if case.step is None:
            case.done = True
        else:
            self.at(self.clock.now + step_gap(self.rng), "step", case.pid)

    def run(self, proposals: int, k: int, span_days: float, progress: bool) -> None:
        pathways = [load(p) for p in shipped_pathways()]
        self.staff(pathways)
        for p in pathways:
            self.eng.publish(p, actor=ADMIN_USER)
            self.summary.registry_entries += 1
        routes = {p.id: [r for r in shortest_paths(p, START.date()) if not r.unsolved] for p in pathways}
        # Single cases only: a response (rfp-bid) needs an open opportunity to answer, which this loop does not
        # drive (yet); the opportunity pathways themselves run as single cases with no responses.
        pathways = [p for p in pathways if routes[p.id] and p.responds_to is None]
        spacing = dt.timedelta(days=span_days) / max(proposals, 1)
        for i in range(proposals):
            self.at(START + spacing * i, "intake", i)
        self.at(START + TICK_EVERY, "tick")
        started, mark = time.perf_counter(), max(proposals // 10, 1)
        while self.events:
            when, _, kind, what = heapq.heappop(self.events)
            self.clock.set(when)
            if kind == "intake":
                pathway = pathways[self.rng.randrange(len(pathways))]
                route, refusals = self.plan(pathway, routes[pathway.id], k)
                self.intake(pathway, route, refusals)
                if progress and (what + 1) % mark == 0:
                    rate = self.summary.entries / (time.perf_counter() - started)
                    self.log(f"  {what + 1}/{proposals} proposals, {self.summary.entries} entries, "
                             f"{rate:.0f} entries/s, simulated {self.clock.now:%Y-%m-%d}")
            elif kind == "step":
                self.fire(self.cases[what])
            elif kind == "tick":
                self.tick()
                if any(k != "tick" for _, _, k, _ in self.events) or self.waiting:
                    self.at(when + TICK_EVERY, "tick")
        self.summary.last_at = self.clock.now.isoformat()
        self.summary.left_in_flight = sum(1 for c in self.cases.values() if c.step is not None)


def attachment_files(folder: Path, n: int = 8) -> list[Path]:
    """A few small deterministic documents; the engine stores each content once."""
    out = []
    for i in range(n):
        path = folder / f"document-{i + 1}.pdf"
        path.write_bytes(f"%PDF-1.4\n% generated benchmark document {i + 1}\n".encode() * (i + 1))
        out.append(path)
    return out


def generate(url: str, proposals: int = 1000, entries_per_proposal: int = 10, seed: int = 0,
             synchronous: str = "OFF", span_days: float = 180.0, progress: bool = False,
             log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> Summary:
    """Populate ``url`` (an empty database) with ``proposals`` proposals of about ``entries_per_proposal`` entries.

    ``synchronous`` defaults to OFF: the data is a fixture, not evidence, and
    generating a million entries under FULL would cost an fsync each. It is
    passed to ``Engine`` (SQLite only; PostgreSQL ignores it).
    """
    summary = Summary(url)
    clock = SimClock(START - dt.timedelta(days=7))  # staff and definitions are set up the week before
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-attach-") as tmp, \
            Engine(url, clock=clock, synchronous=synchronous) as eng:
        gen = Generator(eng, clock, random.Random(seed), summary, attachment_files(Path(tmp)), log)
        gen.run(proposals, entries_per_proposal, span_days, progress)
    summary.entries += summary.registry_entries
    summary.seconds = time.perf_counter() - started
    return summary


def pg_schema_url(base: str, schema: str) -> str:
    """Create ``schema`` on the PostgreSQL server ``base`` and return a URL that uses it (as tests/conftest.py)."""
    import sqlalchemy as sa

    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="sqlite:///FILE or postgresql://... (an empty database)")
    parser.add_argument("--schema", help="PostgreSQL: create this schema and generate into it")
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=10, help="about this many audit entries per proposal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synchronous", default="OFF", choices=["OFF", "NORMAL", "FULL"])
    parser.add_argument("--span-days", type=float, default=180.0, help="proposals arrive over this many days")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    url = pg_schema_url(args.db, args.schema) if args.schema else args.db
    summary = generate(url, args.proposals, args.entries, args.seed, args.synchronous, args.span_days,
                       progress=True)
    if args.json:
        import json

        print(json.dumps(summary.as_dict(), indent=2))
    else:
        s = summary
        print(f"generated {s.proposals} proposals, {s.entries} entries ({s.registry_entries} registry) in "
              f"{s.seconds:.1f} s: {s.entries_per_second:.0f} entries/s")
        print(f"  transitions {s.transitions}, refusals planned {s.refusals_planned} / unplanned "
              f"{s.refusals_unplanned}, clock firings {s.clock_firings} / refused {s.clock_refusals}, "
              f"left in flight {s.left_in_flight}; simulated {s.first_at[:10]} .. {s.last_at[:10]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
