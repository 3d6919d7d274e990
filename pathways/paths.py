"""How a proposal can end: a shortest route to each final stage, with the data it needs.

Routes are found by breadth-first search over the transitions (ignoring
guards), then made concrete: for each step, values are *tried* against the
real guards (evaluated with CEL, as the engine does) until every guard
holds. Candidate values come from the field types and from the numbers,
strings and limits the guards mention. Values a proposal must carry are
given at intake, or through a transition that records them in its stage
(a self-loop with ``updates``), which is how staff would do it. When no
values are found the route still prints, naming what could not be solved,
rather than pretending.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .evaluation import CompiledGuards, guard_context
from .fields import FieldProblem, coerce
from .model import Field, Pathway, Transition

_REF = re.compile(r"\b(proposal|input)\.([a-z_][a-z0-9_]*)")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
_STRING = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")
_MAX_TRIES = 4096
_MAX_ROUTES = 200


@dataclass
class Step:
    source: str
    trigger: str
    dest: str
    roles: list[str]
    requires: list[str]
    values: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.source, "trigger": self.trigger, "to": self.dest, "roles": self.roles,
                "requires": self.requires, "set": self.values}


@dataclass
class Route:
    final: str
    outcome: str | None
    intake: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    unsolved: list[str] = field(default_factory=list)
    relied: set[str] = field(default_factory=set, repr=False)  # fields earlier guards depended on

    def as_dict(self) -> dict[str, Any]:
        return {"final": self.final, "outcome": self.outcome, "intake": self.intake,
                "steps": [s.as_dict() for s in self.steps], "unsolved": self.unsolved}


def _simple_paths(p: Pathway, final: str, limit: int = _MAX_ROUTES) -> Iterator[list[tuple[str, Transition]]]:
    """Paths from the initial stage to ``final`` without repeated stages, shortest first.

    Breadth-first over partial paths, so the first one yielded is a shortest
    route; later ones let a route go round a stage whose guards need data
    that only a longer route records (a pilot's evaluation, say).
    """
    queue: deque[tuple[str, list[tuple[str, Transition]]]] = deque([(p.initial, [])])
    found = 0
    while queue and found < limit:
        stage, hops = queue.popleft()
        visited = {p.initial, *(t.dest for _, t in hops)}
        for t in p.leaving(stage):
            if t.dest == final:
                found += 1
                yield [*hops, (stage, t)]
            elif t.dest not in visited and not p.stages[t.dest].final:
                queue.append((t.dest, [*hops, (stage, t)]))


def _candidates(f: Field, hints: list[Any], limits: list[float], today: dt.date) -> list[Any]:
    """Plausible stored values for ``f``, valid for the field, most typical first."""
    if f.type == "boolean":
        raw: list[Any] = [True, False]
    elif f.type == "enum":
        raw = list(f.values)
    elif f.type in ("string", "text"):
        raw = [f"example {f.name}"] + [h for h in hints if isinstance(h, str)]
    elif f.type == "list":  # sizes from the numbers guards mention (size(x) >= limit)
        sizes = sorted({int(n) for n in [*hints, *limits] if isinstance(n, (int, float)) and 0 < n <= 50})
        raw = [[f"{f.name} {i + 1}" for i in range(n)] for n in [1, *[s for s in sizes if s > 1]]] + [[]]
    elif f.type == "date":  # recorded dates are mostly in the past; plans in the future
        raw = [(today + dt.timedelta(days=d)).isoformat() for d in (-30, 0, 30, -400, 200, 400, 800)]
    else:
        numbers = sorted({float(n) for n in [*hints, *limits] if isinstance(n, (int, float))})
        raw = [1000, 1]
        for n in numbers:
            raw += [n, n + 1, max(n - 1, 0)]
        raw = [int(x) if f.type == "integer" or float(x).is_integer() else x for x in raw]
    out = []
    for value in raw:
        try:
            stored = coerce(f, value)
        except FieldProblem:
            continue
        if stored not in out:
            out.append(stored)
    return out or [None]


def _hints(t: Transition, data: dict[str, Any]) -> list[Any]:
    """Literals the guards mention, and current text values (for equality checks)."""
    text = " ".join(g.check for g in t.guards)
    nums: list[Any] = [float(n) for n in _NUMBER.findall(text)]
    strings = [a or b for a, b in _STRING.findall(text)]
    return nums + strings + [v for v in data.values() if isinstance(v, str)]


class _Solver:
    def __init__(self, p: Pathway, today: dt.date) -> None:
        self.p = p
        self.today = today
        self.guards = CompiledGuards(p)
        self.limits = [float(v) for v in p.limits.values()]
        self.now = dt.datetime(today.year, today.month, today.day, 12, tzinfo=dt.UTC)

    def candidates(self, name: str, hints: list[Any]) -> list[Any]:
        return _candidates(self.p.fields[name], hints, self.limits, self.today)

    def holds(self, t: Transition, stage: str, data: dict[str, Any], inputs: dict[str, Any],
              upto: int | None = None) -> bool:
        """Whether the first ``upto`` guards of ``t`` (all by default) hold."""
        ctx = guard_context(self.p, data, proposal_id="P-1", state=stage, days_in_stage=0, inputs=inputs,
                            rationale="rationale", actor="walker", roles=list(t.roles), now=self.now)
        return all(r.result for r in self.guards.run(t, ctx)[:upto])

    def recorder(self, stage: str, name: str) -> Transition | None:
        """A transition that stays in ``stage`` and records field ``name``."""
        return next((t for t in self.p.leaving(stage) if t.dest == stage and name in t.updates and t.roles), None)

    def recorder_on_route(self, route: Route, stage: str, name: str) -> tuple[str, Transition] | None:
        """Where on the route so far ``name`` can be recorded: this stage, else the latest earlier one."""
        visited = [stage, *reversed([s.source for s in route.steps if s.dest != s.source])]
        for where in dict.fromkeys(visited):
            loop = self.recorder(where, name)
            if loop is not None:
                return where, loop
        return None

    def plan(self, route: Route, data: dict[str, Any], stage: str, changed: dict[str, Any],
             nested: bool) -> tuple[dict[str, Any], list[Step]] | None:
        """How to give the proposal ``changed`` values: at intake, or by recording steps.

        A recording step may belong to an earlier stage of the route (monitoring
        reports recorded while a pilot was active); it is placed there.
        """
        intake: dict[str, Any] = {}
        by_loop: dict[tuple[str, str], dict[str, Any]] = {}
        for name, value in changed.items():
            found = None if nested else self.recorder_on_route(route, stage, name)
            if name not in route.relied and self.p.given_at_intake(name) and (found is None or name in route.intake):
                intake[name] = value
            elif found is not None:
                by_loop.setdefault((found[0], found[1].trigger), {})[name] = value
            else:
                return None
        steps = []
        scratch = {**data, **intake}
        for (where, trigger), values in by_loop.items():
            loop = self.p.transition(where, trigger)
            assert loop is not None
            got = self.solve(route, scratch, where, loop, preset=values, nested=True)
            if got is None:
                return None
            steps.append(Step(where, loop.trigger, where, list(loop.roles), list(loop.requires), got))
        return intake, steps

    def _changeable(self, route: Route, t: Transition, stage: str, kind: str, name: str, nested: bool) -> bool:
        if kind == "input":
            return name in t.updates
        if not nested and self.recorder_on_route(route, stage, name) is not None:
            return True  # staff can record it on the way, before this transition
        return self.p.given_at_intake(name) and name not in route.relied

    def _search(self, t: Transition, stage: str, trial: dict[str, Any], inputs: dict[str, Any],
                free: list[tuple[str, str]], upto: int) -> bool:
        """Try combinations of candidate values for ``free`` until the first ``upto`` guards hold."""
        hints = _hints(t, trial)
        choices = []
        for kind, name in free:
            now = (inputs if kind == "input" else trial).get(name)
            optional = [None] if kind == "proposal" and not self.p.fields[name].required else []
            choices.append(list(dict.fromkeys(map(_key, [now, *optional, *self.candidates(name, hints)]))))
        for combo in itertools.islice(itertools.product(*choices), _MAX_TRIES):
            for (kind, name), value in zip(free, combo, strict=True):
                target = inputs if kind == "input" else trial
                target.pop(name, None)
                if value is not None:
                    target[name] = _unkey(value)
            if self.holds(t, stage, trial, inputs, upto=upto):
                return True
        return False

    def solve(self, route: Route, data: dict[str, Any], stage: str, t: Transition,
              preset: dict[str, Any] | None = None, nested: bool = False) -> dict[str, Any] | None:
        """Values that make every guard of ``t`` hold: the step's inputs, or None.

        Guards are satisfied one at a time, varying only the values each one
        mentions and keeping the earlier ones true, so the search stays small.
        Proposal values found on the way go to ``route.intake``, or to a
        recording step inserted before ``t``; ``data`` is updated in place.
        """
        trial, inputs = dict(data), dict(preset or {})
        for name in t.updates:
            if name in t.requires and name not in inputs:
                inputs[name] = self.candidates(name, _hints(t, data))[0]
        preset_keys = {("input", n) for n in preset or {}}
        locked = set(preset_keys)
        for i, guard in enumerate(t.guards):
            refs = list(dict.fromkeys((k, n) for k, n in _REF.findall(guard.check) if n in self.p.fields))
            changeable = [r for r in refs if r not in preset_keys and self._changeable(route, t, stage, *r, nested)]
            # First vary only what earlier guards left open; then, if that fails, revisit their choices too.
            for free in ([r for r in changeable if r not in locked], changeable):
                if self._search(t, stage, trial, inputs, free, upto=i + 1):
                    locked.update(free)
                    break
            else:
                return None
        changed = {n: v for n, v in trial.items() if data.get(n) != v}
        plan = self.plan(route, data, stage, changed, nested)
        if plan is None:
            return None
        intake, loops = plan
        route.intake.update(intake)
        data.update(intake)
        for step in loops:
            exits = [i for i, s in enumerate(route.steps) if s.source == step.source and s.dest != s.source]
            route.steps.insert(exits[-1] if exits else len(route.steps), step)  # before leaving its stage
            data.update(step.values)
        route.relied.update(n for _, n in _REF.findall(" ".join(g.check for g in t.guards)))
        route.relied.update(inputs)  # recorded by a transition: a fact from now on
        data.update(inputs)
        return inputs


def _key(value: Any) -> Any:
    """Lists are not hashable; candidates are deduplicated through this."""
    return tuple(value) if isinstance(value, list) else value


def _unkey(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _walk(p: Pathway, solver: _Solver, final: str, hops: list[tuple[str, Transition]]) -> Route:
    """Make one path concrete: intake data and each step's values, or what could not be solved."""
    route = Route(final, p.stages[final].outcome)
    route.intake = {n: solver.candidates(n, [])[0] for n, f in p.fields.items() if f.required}
    data: dict[str, Any] = dict(route.intake)
    for src, t in hops:
        inputs = solver.solve(route, data, src, t)
        if inputs is None:
            inputs = {}
            route.unsolved.append(f"{src} --{t.trigger}-->: " + "; ".join(g.check for g in t.guards))
        route.steps.append(Step(src, t.trigger, t.dest, list(p.roles_for(src, t)), list(t.requires), inputs))
    return route


def shortest_paths(p: Pathway, today: dt.date | None = None) -> list[Route]:
    """One route per reachable final stage: the shortest whose guards can all be satisfied.

    Paths are tried shortest first; when none of the first few hundred can
    be solved, the shortest is returned with what could not be solved named.
    ``today`` anchors the dates tried (default: today, UTC), so the values
    suit guards that compare dates with ``now`` when the route is walked.
    """
    solver = _Solver(p, today or dt.datetime.now(dt.UTC).date())
    routes = []
    for final in p.finals:
        first: Route | None = None
        for hops in _simple_paths(p, final):
            route = _walk(p, solver, final, hops)
            if not route.unsolved:
                routes.append(route)
                break
            first = first or route
        else:
            if first is not None:
                routes.append(first)
    return routes
