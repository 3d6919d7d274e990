"""Static checks on a structurally valid definition: one function per rule.

Each ``check_*`` looks at the model and reports problems located by the
definition's positions. Errors make ``load`` refuse the file; warnings are
printed but the pathway may still be published. The rules with legal
meaning (outcomes, deadlines, rationale) exist because a record that cannot
say how a process ended, or why a vendor was declined, fails legal review.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import cost, panels, presence
from .celcheck import check_guard
from .celcheck.lexer import _locate
from .celcheck.parser import ParseError, parse
from .env import guard_env
from .model import ADMIN, CLOCK, KNOWN_KINDS, RESERVED_FIELDS, Pathway
from .structure import hint
from .yamlsource import Document, Path

REQUIRE_WORDS = ("rationale", "attachment")


def _t(i: int, *rest: object) -> Path:
    return ("transitions", i, *rest)


def _clock_triggers(p: Pathway) -> set[tuple[str, str]]:
    """(stage, trigger) pairs the clock fires at a deadline."""
    return {(name, s.deadline.fires) for name, s in p.stages.items() if s.deadline and s.deadline.fires}


def check_references(p: Pathway, doc: Document) -> None:
    """Every stage, role, field and trigger a definition names must exist."""
    stages = list(p.stages)
    if p.initial not in p.stages:
        doc.problem(("initial",), f"initial stage '{p.initial}' is not defined under stages{hint(p.initial, stages)}")
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(p.transitions):
        for j, src in enumerate(t.sources):
            where = _t(i, "from") if len(t.sources) == 1 and isinstance(doc.data["transitions"][i]["from"], str) \
                else _t(i, "from", j)
            if src not in p.stages:
                doc.problem(where, f"transition '{t.trigger}' leaves from '{src}', which is not a stage"
                            f"{hint(src, stages)}")
            if (src, t.trigger) in seen:
                doc.problem(_t(i, "trigger"), f"trigger '{t.trigger}' from '{src}' is already defined by "
                            f"transitions[{seen[(src, t.trigger)]}]; give one of them another name")
            seen[(src, t.trigger)] = i
        if t.dest not in p.stages:
            doc.problem(_t(i, "to"), f"transition '{t.trigger}' goes to '{t.dest}', which is not a stage"
                        f"{hint(t.dest, stages)}")
        for j, role in enumerate(t.roles):
            if role not in p.roles and role != CLOCK:
                doc.problem(_t(i, "roles", j), f"role '{role}' is not declared under roles"
                            f"{hint(role, list(p.roles))}")
        for j, name in enumerate(t.updates):
            if name not in p.fields:
                doc.problem(_t(i, "updates", j), f"'{name}' is not a field of this pathway"
                            f"{hint(name, list(p.fields))}")
        for j, need in enumerate(t.requires):
            if need not in REQUIRE_WORDS and need not in t.updates:
                doc.problem(_t(i, "requires", j), f"requires '{need}': use 'rationale', 'attachment', or a field "
                            f"this transition lists in updates{hint(need, [*REQUIRE_WORDS, *t.updates])}")


def check_fields(p: Pathway, doc: Document) -> None:
    """Field declarations must be usable: enums have values, names are free."""
    for name, f in p.fields.items():
        if name in RESERVED_FIELDS:
            doc.key_problem(("fields", name), f"field name '{name}' is reserved (proposal.{name} is set by "
                            "the engine); rename the field")
        if f.type == "enum" and not f.values:
            doc.problem(("fields", name), f"enum field '{name}' needs 'values: [...]' listing what it may hold")
        if f.values and f.type != "enum":
            doc.problem(("fields", name, "values"), f"'values' only applies to enum fields, and '{name}' is {f.type}")
        if f.max_items is not None and f.type != "list":
            doc.problem(("fields", name, "max_items"), f"'max_items' only applies to list fields, and '{name}' is "
                        f"{f.type}")
        if f.max_length is not None and f.type not in ("string", "text", "list"):
            doc.problem(("fields", name, "max_length"), f"'max_length' only applies to string, text and list "
                        f"fields, and '{name}' is {f.type}")


def check_kind(p: Pathway, doc: Document) -> None:
    """Any lower-case kind is allowed; one a letter or two from a known kind is probably a typo."""
    if p.kind not in KNOWN_KINDS:
        close = hint(p.kind, list(KNOWN_KINDS))
        if close:
            doc.problem(("kind",), f"kind '{p.kind}' is not one of the kinds tools compare against "
                        f"({', '.join(KNOWN_KINDS)}){close}; any other lower-case name is allowed", "warning")


def check_roles(p: Pathway, doc: Document) -> None:
    """Triggers must say who fires them; ``clock`` is built in, not declared."""
    if CLOCK in p.roles:
        doc.key_problem(("roles", CLOCK), "'clock' is a built-in role (it fires deadline transitions); "
                        "do not declare it")
    if ADMIN in p.roles:
        doc.key_problem(("roles", ADMIN), "'admin' is a built-in role (it grants roles to users); "
                        "name the pathway's role for what it does")
    clock = _clock_triggers(p)
    for i, t in enumerate(p.transitions):
        if not t.roles and not t.on_parent and not any((s, t.trigger) in clock for s in t.sources):
            doc.problem(_t(i, "trigger"), f"trigger '{t.trigger}' has no roles: add 'roles: [...]' naming who "
                        "may fire it, or name it in a stage deadline's on_expiry for the clock")
    used = {r for t in p.transitions for r in t.roles} | {
        r for s in p.stages.values() if s.evaluation
        for r in (s.evaluation.evaluators, *s.evaluation.assigned_by, *s.evaluation.consensus_by)}
    for role in p.roles:
        if role not in used:
            doc.key_problem(("roles", role), f"role '{role}' is declared but no transition uses it", "warning")


def check_deadlines(p: Pathway, doc: Document) -> None:
    """A deadline has one measure; its expiry trigger must leave the stage."""
    for name, s in p.stages.items():
        d = s.deadline
        if d is None:
            continue
        path = ("stages", name, "deadline")
        measures = [m for m in (d.business_days, d.calendar_days, d.until) if m is not None]
        if len(measures) != 1:
            doc.problem(path, f"deadline of '{name}' needs exactly one of business_days, calendar_days "
                        "or until")
        if d.until is not None:
            field = p.fields.get(d.until)
            if field is None or field.type != "date":
                dates = [n for n, f in p.fields.items() if f.type == "date"]
                doc.problem(path + ("until",), f"deadline 'until: {d.until}' must name a date field"
                            f"{hint(d.until, dates)}")
        if d.fires and p.transition(name, d.fires) is None:
            here = [t.trigger for t in p.leaving(name)]
            doc.problem(path + ("on_expiry",), f"on_expiry '{d.on_expiry}' is neither escalate, notify nor a "
                        f"trigger leaving '{name}'{hint(d.on_expiry, [*here, 'escalate', 'notify'])}")


def _reachable(p: Pathway) -> set[str]:
    seen, queue = {p.initial}, deque([p.initial])
    while queue:
        for t in p.leaving(queue.popleft()):
            if t.dest not in seen:
                seen.add(t.dest)
                queue.append(t.dest)
    return seen


def check_graph(p: Pathway, doc: Document) -> None:
    """Reachability and ways out: every stage is reachable and can end."""
    if p.initial not in p.stages:
        return
    reachable = _reachable(p)
    clock = _clock_triggers(p)
    for name, s in p.stages.items():
        path = ("stages", name)
        if name not in reachable:
            doc.key_problem(path, f"stage '{name}' cannot be reached from the initial stage '{p.initial}'; "
                            "add a transition into it or remove it")
        out = p.leaving(name)
        if s.final:
            for t in out:
                i = p.transitions.index(t)
                doc.problem(_t(i, "from"), f"final stage '{name}' has an outgoing transition '{t.trigger}'; "
                            "a final stage ends the process (remove 'final: true' or the transition)")
            continue
        if not out:
            doc.key_problem(path, f"stage '{name}' has no way out: add a transition from it, or mark it "
                            "'final: true' with an outcome")
            continue
        exits = [t for t in out if t.dest != name and (t.roles or t.on_parent or (name, t.trigger) in clock)]
        if not exits:
            doc.key_problem(path, f"stage '{name}' cannot be left by a person or by the clock: every transition "
                            "out of it returns to it or has no roles")


def check_outcomes(p: Pathway, doc: Document) -> None:
    """Final stages must say how the process ended (awarded, declined, ...)."""
    for name, s in p.stages.items():
        if s.final and not s.outcome:
            doc.key_problem(("stages", name), f"final stage '{name}' needs an 'outcome' (awarded, declined, "
                            "withdrawn, expired, ...): reports and legal review group by it")
        if s.outcome and not s.final:
            doc.problem(("stages", name, "outcome"), f"'{name}' has an outcome but is not final; add "
                        "'final: true' or use 'decision: true'", "warning")


def check_staff_deadlines(p: Pathway, doc: Document) -> None:
    """Where staff must act, a deadline keeps the city's promise of an answer."""
    for name, s in p.stages.items():
        if not s.final and s.waiting_on == "staff" and s.deadline is None:
            doc.key_problem(("stages", name), f"staff must act in '{name}' but no deadline is set; vendors are "
                            "promised an answer (add deadline: {business_days: N}, or waiting_on: vendor|public)",
                            "warning")


def check_decision_rationale(p: Pathway, doc: Document) -> None:
    """Awards and declines need written reasons on the record (Dir. 2014/24/EU Art. 84)."""
    for i, t in enumerate(p.transitions):
        dest = p.stages.get(t.dest)
        if dest and (dest.decision or (dest.final and dest.outcome)) and "rationale" not in t.requires \
                and not t.on_parent:
            doc.problem(_t(i, "trigger"), f"'{t.trigger}' records a decision ('{t.dest}') but does not require "
                        "a rationale; add 'requires: [rationale]' so the reasons are on the record", "warning")


def _expr_position(doc: Document, path: Path, line: int, col: int) -> tuple[int, int]:
    """Map a position inside a guard expression to the definition file.

    Plain and quoted scalars on one line map by offset. Block scalars map
    line by line (``|``) or through the folding that joined their lines
    with spaces (``>``). Multi-line plain or quoted scalars are folded too;
    for them the line is exact and the column approximate.
    """
    start_line, start_col = doc.at(path)
    style = doc.styles.get(path)
    if style not in ("|", ">"):
        if line == 1:
            return start_line, start_col + col - 1 + (1 if style in ("'", '"') else 0)
        return start_line + line - 1, col
    source = doc.text.splitlines()[start_line:]  # the lines after the indicator
    content = [(n, s) for n, s in enumerate(source, start_line + 1) if s.strip()]
    if not content:
        return start_line, start_col
    indent = len(content[0][1]) - len(content[0][1].lstrip(" "))
    content = list(itertools.takewhile(lambda item: item[1].startswith(" " * indent), content))
    if style == "|":
        return content[0][0] + line - 1, indent + col
    offset = col - 1  # folded text is one line per paragraph; guards are one paragraph
    for number, text in content:
        body = text[indent:]
        if offset <= len(body):
            return number, indent + offset + 1
        offset -= len(body) + 1
    return content[-1][0], indent + 1


def check_guards(p: Pathway, doc: Document, loose: frozenset[str] = frozenset()) -> None:
    """Guards parse, name only known variables and fields, are boolean, and cost at most ``cost.LIMIT``.

    The cost bound is what keeps one advance from holding the database for
    minutes: values are bounded (``max_items``, ``max_length``), so the worst
    case is known here, and holds at run time and in the replay alike.
    """
    for i, t in enumerate(p.transitions):
        env = guard_env(p, t, loose)
        sizes = cost.value_sizes(p, t)
        for j, g in enumerate(t.guards):
            path = _t(i, "when", j, "check")
            problems = check_guard(g.check, env)
            for problem in problems:
                doc.problem_at(_expr_position(doc, path, problem.line, problem.col),
                               f"guard: {problem.message}")
            if problems:
                continue
            worst = cost.guard_cost(g.check, sizes)
            if worst is not None and worst.steps > cost.LIMIT:
                at = _locate(g.check, worst.hot.pos if worst.hot else 0, "")
                doc.problem_at(_expr_position(doc, path, at.line, at.col), cost.too_costly(worst))


def check_optional_reads(p: Pathway, doc: Document, loose: frozenset[str] = frozenset()) -> None:
    """A guard that reads a field that may not be set yet, without ``has()``, refuses every advance until it is."""
    known = presence.surely_set(p)
    for i, t in enumerate(p.transitions):
        optional = presence.optional_fields(p, t, known)
        if not optional:
            continue
        for j, g in enumerate(t.guards):
            try:
                tree = parse(g.check)
            except ParseError:
                continue  # check_guards reports it
            for sel in presence.unprotected_reads(tree, optional):
                root, name = sel.operand.name, sel.field  # type: ignore[attr-defined]
                if name in loose:
                    continue
                if root == "proposal":
                    why = (f"it is optional, and not every way into {_stages(t.sources)} requires it, so it may "
                           "not be set yet")
                else:
                    why = f"'{t.trigger}' does not require it (requires: [{name}]), so it may not be given"
                at = _locate(g.check, sel.pos, "")
                doc.problem_at(_expr_position(doc, _t(i, "when", j, "check"), at.line, at.col),
                               f"guard reads {root}.{name}, but {why}; protect the read with "
                               f"has({root}.{name}) && ... or !has({root}.{name}) || ..., or the guard cannot be "
                               "evaluated and refuses the transition", "warning")


def _stages(names: tuple[str, ...]) -> str:
    return " or ".join(f"'{n}'" for n in names)


_ENUM_COMPARISON = re.compile(
    r"""(?:\b(?:proposal|input)\.(?P<f1>[a-z_][a-z0-9_]*)\s*(?:==|!=)\s*(?P<q1>['"])(?P<v1>[^'"\\]*)(?P=q1))"""
    r"""|(?:(?P<q2>['"])(?P<v2>[^'"\\]*)(?P=q2)\s*(?:==|!=)\s*\b(?:proposal|input)\.(?P<f2>[a-z_][a-z0-9_]*))""")


def check_enum_literals(p: Pathway, doc: Document) -> None:
    """A guard comparing an enum field with a value it can never hold is always true or always false."""
    for i, t in enumerate(p.transitions):
        for j, g in enumerate(t.guards):
            for m in _ENUM_COMPARISON.finditer(g.check):
                name, value = m["f1"] or m["f2"], m["v1"] if m["f1"] else m["v2"]
                field = p.fields.get(name)
                if field is not None and field.type == "enum" and value not in field.values:
                    doc.problem(_t(i, "when", j, "check"), f"guard compares {name} with '{value}', which is not one "
                                f"of its values ({', '.join(field.values)}), so it never matches"
                                f"{hint(value, list(field.values))}", "warning")


RULES: tuple[Callable[[Pathway, Document], None], ...] = (
    check_references,
    check_fields,
    check_roles,
    check_deadlines,
    check_graph,
    check_outcomes,
    check_staff_deadlines,
    check_decision_rationale,
    check_guards,
    check_optional_reads,
    check_enum_literals,
    check_kind,
    *panels.RULES,
)


@dataclass
class Broken:
    """What of a definition is structurally broken, when the rules run on the rest (``load._salvage``)."""

    units: set[tuple[str, str]] = field(default_factory=set)  # (section, name) stood in for
    containers: set[str] = field(default_factory=set)  # whole sections replaced by empty ones
    transitions: bool = False  # some transitions left out
    initial: bool = False
    positions: set[tuple[int, int]] = field(default_factory=set)  # where the stand-ins are: not reported

    @property
    def shape(self) -> bool:
        """Whether the graph is incomplete: rules about reachability, roles and deadlines would cascade."""
        return bool(self.transitions or self.initial or self.containers
                    or any(section in ("stages", "roles") for section, _ in self.units))

    def loose(self) -> frozenset[str]:
        """Field and limit names whose type is unknown (guards see them as dyn)."""
        return frozenset(name for section, name in self.units if section in ("fields", "limits"))


def _errors(doc: Document) -> int:
    return sum(1 for x in doc.problems if x.severity == "error")


def run_all(p: Pathway, doc: Document, broken: Broken | None = None) -> None:
    """Run every rule; problems accumulate on ``doc.problems``.

    The graph rules are skipped when a stage, role or field name is already
    wrong: one misspelt ``to:`` would otherwise also report every stage
    behind it as unreachable, burying the cause under its effects. For the
    same reason, on a partly broken definition (``broken``) the rules that
    judge the whole graph are skipped, and guards see broken fields as dyn.
    """
    skip: set[Callable[[Pathway, Document], None]] = set()
    if broken is not None:
        if broken.shape:
            skip |= {check_graph, check_roles, check_deadlines, check_optional_reads}
        if broken.containers or broken.initial:
            skip.add(check_references)
        if broken.units or broken.containers:
            skip.add(check_enum_literals)
    before = _errors(doc)
    if check_references not in skip:
        check_references(p, doc)
    names_wrong = _errors(doc) > before
    loose = broken.loose() if broken is not None else frozenset()
    for rule in RULES:
        if rule is check_references or rule in skip or (rule is check_graph and names_wrong):
            continue
        if rule is check_guards:
            check_guards(p, doc, loose)
        elif rule is check_optional_reads:
            check_optional_reads(p, doc, loose)
        else:
            rule(p, doc)
