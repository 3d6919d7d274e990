"""Which fields are surely set when a guard runs, and which reads are not protected by ``has()``.

A guard that reads a field with no value cannot be evaluated: CEL stops with
"no such key", the guard counts as false and every advance is refused until
someone sets the field. ``validate`` warns of such reads before anyone meets
them. A field is *surely set* in a stage when it is set on every way into the
stage: required at intake, or required (``requires: [name]``) by a transition
on every path from the initial stage. Any other field may be unset, and a
guard may read it only where a ``has()`` protects the read:
``has(proposal.x) && proposal.x > 1``, ``!has(proposal.x) || proposal.x > 1``,
``has(proposal.x) ? proposal.x : 0``.
"""

from __future__ import annotations

from .celcheck.syntax import Binary, Comprehension, Conditional, Has, Ident, Node, Select, Unary
from .model import Pathway, Transition

#: ``proposal`` fields the engine always provides.
ALWAYS = frozenset({"id", "state", "days_in_stage", "actors"})


def surely_set(p: Pathway) -> dict[str, frozenset[str]]:
    """For each reachable stage, the fields set on every path into it (a must-analysis to a fixed point)."""
    every = frozenset(p.fields)
    intake = frozenset(n for n, f in p.fields.items() if f.required)
    known: dict[str, frozenset[str]] = {}
    if p.initial not in p.stages:
        return known
    known[p.initial] = intake
    changed = True
    while changed:
        changed = False
        for t in p.transitions:
            given = frozenset(n for n in t.requires if n in p.fields) | _ensured(t)
            for src in t.sources:
                if src not in known or t.dest not in p.stages:
                    continue
                arriving = known[src] | given
                before = known.get(t.dest, every)
                after = before & arriving  # fields once set stay set, so the initial stage keeps its intake
                if t.dest not in known or after != before:
                    known[t.dest] = after
                    changed = True
    return known


def _ensured(t: Transition) -> frozenset[str]:
    """Fields a transition's guards prove set (``has(proposal.x) && ...``): every guard holds when it fires."""
    from .celcheck.parser import ParseError, parse

    out: set[str] = set()
    for g in t.guards:
        try:
            true, _ = _facts(parse(g.check))
        except ParseError:
            continue
        out |= {name for root, name in true if root in ("proposal", "input")}
    return frozenset(out)


def _facts(node: Node) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """Fields known set when ``node`` is true, and when it is false: ``(root, field)`` pairs."""
    if isinstance(node, Has):
        sel = node.select
        if isinstance(sel.operand, Ident) and not sel.operand.root:
            return frozenset({(sel.operand.name, sel.field)}), frozenset()
        return frozenset(), frozenset()
    if isinstance(node, Unary) and node.op == "!":
        true, false = _facts(node.operand)
        return false, true
    if isinstance(node, Binary) and node.op in ("&&", "||"):
        lt, lf = _facts(node.left)
        rt, rf = _facts(node.right)
        if node.op == "&&":
            return lt | rt, lf & rf
        return lt & rt, lf | rf
    return frozenset(), frozenset()


def unprotected_reads(tree: Node, optional: dict[str, set[str]]) -> list[Select]:
    """``root.field`` selections of a field in ``optional[root]`` that no ``has()`` protects, in text order."""
    found: list[Select] = []

    def walk(n: object, known: frozenset[tuple[str, str]], shadowed: frozenset[str]) -> None:
        if isinstance(n, Has):
            walk(n.select.operand, known, shadowed)
            return
        if isinstance(n, Select) and isinstance(n.operand, Ident) and not n.operand.root:
            root = n.operand.name
            if root not in shadowed and n.field in optional.get(root, ()) and (root, n.field) not in known:
                found.append(n)
            return
        if isinstance(n, Binary) and n.op in ("&&", "||"):
            walk(n.left, known, shadowed)
            true, false = _facts(n.left)
            walk(n.right, known | (true if n.op == "&&" else false), shadowed)
            return
        if isinstance(n, Conditional):
            walk(n.cond, known, shadowed)
            true, false = _facts(n.cond)
            walk(n.then, known | true, shadowed)
            walk(n.otherwise, known | false, shadowed)
            return
        if isinstance(n, Comprehension):
            walk(n.target, known, shadowed)
            for arg in n.args:
                walk(arg, known, shadowed | {n.var})
            return
        if isinstance(n, Node):
            for name in n.__dataclass_fields__:
                walk(getattr(n, name), known, shadowed)
        elif isinstance(n, tuple):
            for x in n:
                walk(x, known, shadowed)

    walk(tree, frozenset(), frozenset())
    return sorted(found, key=lambda s: s.pos)


def optional_fields(p: Pathway, t: Transition, known: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    """The ``proposal`` and ``input`` fields a guard of ``t`` cannot count on being set."""
    sources = [known[s] for s in t.sources if s in known]
    if not sources:  # an unreachable transition: other rules report it
        return {}
    sure = frozenset.intersection(*sources)
    return {
        "proposal": {n for n in p.fields if n not in sure and n not in ALWAYS},
        "input": {n for n in t.updates if n in p.fields and n not in t.requires},
    }
