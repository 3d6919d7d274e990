"""The worst-case cost of a guard, known before the definition is published.

The evaluator has no step limit or timeout, and it holds the GIL (and the
engine the database's write lock) while it runs; a time budget could not be
replayed, because a slower machine would judge the same entry differently.
So the bound comes from the values instead: every list field has a maximum
number of items (``max_items``) and every text value a maximum length
(``max_length``; rationales and names ``fields.MAX_FREE_TEXT`` and
``fields.MAX_NAME``), enforced on every value at intake and on every
``--set``. From those bounds and the expression tree, :func:`guard_cost`
computes an upper bound of the work one evaluation can do, and ``validate``
refuses a guard above :data:`LIMIT`. The same bound then holds at run time
and in the replay, whatever the machine.

The cost model, in *steps*:

* evaluating any node (a literal, a variable, a field selection, ``has()``,
  an index, an operator, ``size()``, a timestamp getter) is one step, plus the
  cost of its operands; ``&&``, ``||`` and ``? :`` count both sides (the
  worst case, nothing short-circuits);
* a comparison (``==``, ``<``, ...) is one step whatever its operands' length
  (one native memory comparison); ``x in list`` is one step per item of the
  list's maximum length;
* a string function (``contains``, ``startsWith``, ``endsWith``), a conversion
  (``int(s)``, ``string(x)``, ``timestamp(s)``, ...) and ``+`` on strings
  cost one step per 16 characters of their operands' maximum length
  (:data:`CHARS_PER_STEP`: measured, scanning text costs about 0.3-10 ns a
  character against about 130 ns for a node, so 16 keeps a wide margin);
  ``matches`` costs the string's length times the pattern's, over 16 (the
  regular expression engine's worst case is their product); ``+`` on lists
  costs one step per item;
* a comprehension (``all``, ``exists``, ``exists_one``, ``filter``, ``map``)
  costs its range, plus its range's maximum length times the cost of its body
  (plus one step per item): nesting multiplies, so four nested ``all()`` over
  50-item lists cost more than 50^4 = 6,250,000 steps.

Lengths propagate: a field's bound comes from its declaration, a literal's
from its text, ``filter`` keeps its range's bound, ``map`` gives one item per
item of its range, ``+`` adds lengths. One step is roughly a microsecond or
less of evaluation, so the limit of 100,000 steps keeps a guard well under a
tenth of a second, while leaving room for any check over one or two lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .celcheck.parser import ParseError, parse
from .celcheck.syntax import (
    Binary,
    Call,
    Comprehension,
    Conditional,
    Has,
    Ident,
    Index,
    ListLit,
    Literal,
    MapLit,
    MessageLit,
    Node,
    Select,
    Unary,
)
from .env import PANEL_FIELDS
from .fields import MAX_FREE_TEXT, MAX_NAME
from .model import ADMIN, CLOCK, MAX_ACTORS, Pathway, Transition

#: The most steps one evaluation of a guard may take (see the module docstring).
LIMIT = 100_000
#: Characters of text scanned per step (see the module docstring).
CHARS_PER_STEP = 16

#: Bound on the text of values that are not fields: a proposal id the engine assigns
#: (``pilot-0001``) and the text ``string(x)`` makes of a number, date or duration.
_ID_LENGTH = 64
_SCALAR_TEXT = 40
_STRING_FUNCTIONS = {"contains", "startsWith", "endsWith"}
_CONVERSIONS = {"int", "uint", "double", "string", "bytes", "timestamp", "duration"}


@dataclass(frozen=True)
class Size:
    """Upper bound of a value: characters of a string, items of a list or entries of a map
    (``n``), and the bound of each item (``elem``); scalars are ``Size()``."""

    n: int = 1
    elem: Size | None = None
    fields: dict[str, Size] | None = field(default=None, compare=False, hash=False)  # objects: proposal, ...


def _scan(chars: int) -> int:
    """Steps to scan ``chars`` characters of text."""
    return -(-chars // CHARS_PER_STEP)


def _join(sizes: list[Size]) -> Size:
    """A bound covering each of ``sizes`` (the branches of ``? :``, the items of a literal)."""
    if not sizes:
        return Size(0)
    elems = [s.elem for s in sizes if s.elem is not None]
    return Size(max(s.n for s in sizes), _join(elems) if elems else None)


@dataclass(frozen=True)
class Hot:
    """The most expensive part of an expression, to say in the message which part to change."""

    pos: int
    steps: int
    loops: tuple[tuple[str, int], ...] = ()  # enclosing comprehensions, outermost first: (label, range length)
    leaf: str = ""  # a string function at the heart of it: "proposal.notes.contains(...) over 10,000 characters"

    def describe(self) -> str:
        parts = []
        if self.loops:
            label, ns = self.loops[0][0], [n for _, n in self.loops]
            total = 1
            for n in ns:
                total *= n
            if len(ns) == 1:
                parts.append(f"{label} runs up to {ns[0]:,} times")
            else:
                product = f"{ns[0]:,}^{len(ns)}" if len(set(ns)) == 1 else " × ".join(f"{n:,}" for n in ns)
                others = [lb for lb, _ in self.loops[1:] if lb != label]
                inner = f" (then {', '.join(dict.fromkeys(others))})" if others else ""
                parts.append(f"{label} nested {len(ns)} deep{inner}: up to {product} = {total:,} iterations")
        if self.leaf:
            parts.append(("each running " if self.loops else "") + self.leaf)
        return ", ".join(parts) or "this expression"


def _hottest(*hots: Hot | None) -> Hot | None:
    found = [h for h in hots if h is not None]
    return max(found, key=lambda h: h.steps) if found else None


@dataclass(frozen=True)
class Cost:
    """The worst-case ``steps`` of a (sub)expression, the bound of its value, and its hottest part."""

    steps: int
    size: Size = Size()
    hot: Hot | None = None


def label(node: Node) -> str:
    """A short spelling of an expression for messages: ``proposal.items.all(...)``."""
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Select):
        return f"{label(node.operand)}.{node.field}"
    if isinstance(node, Comprehension):
        return f"{label(node.target)}.{node.macro}(...)"
    if isinstance(node, Call):
        return f"{label(node.target)}.{node.function}(...)" if node.target is not None else f"{node.function}(...)"
    if isinstance(node, Index):
        return f"{label(node.operand)}[...]"
    if isinstance(node, ListLit):
        return "[...]"
    return "the value"


class _Coster:
    def __init__(self, env: dict[str, Size]) -> None:
        self.env = env

    def cost(self, node: Node, scope: dict[str, Size]) -> Cost:
        return getattr(self, "c_" + type(node).__name__)(node, scope)

    def c_Literal(self, node: Literal, scope: dict[str, Size]) -> Cost:
        value = node.value
        return Cost(1, Size(len(value)) if isinstance(value, (str, bytes)) else Size())

    def c_Ident(self, node: Ident, scope: dict[str, Size]) -> Cost:
        if node.name in scope and not node.root:
            return Cost(1, scope[node.name])
        return Cost(1, self.env.get(node.name, Size()))

    def c_Select(self, node: Select, scope: dict[str, Size]) -> Cost:
        inner = self.cost(node.operand, scope)
        found = (inner.size.fields or {}).get(node.field)
        if found is None:  # a map value: as large as the map's items
            found = inner.size.elem or Size()
        return Cost(inner.steps + 1, found, inner.hot)

    def c_Has(self, node: Has, scope: dict[str, Size]) -> Cost:
        inner = self.cost(node.select.operand, scope)
        return Cost(inner.steps + 1, Size(), inner.hot)

    def c_Index(self, node: Index, scope: dict[str, Size]) -> Cost:
        a, b = self.cost(node.operand, scope), self.cost(node.index, scope)
        return Cost(a.steps + b.steps + 1, a.size.elem or Size(), _hottest(a.hot, b.hot))

    def c_Unary(self, node: Unary, scope: dict[str, Size]) -> Cost:
        inner = self.cost(node.operand, scope)
        return Cost(inner.steps + 1, Size(), inner.hot)

    def c_Binary(self, node: Binary, scope: dict[str, Size]) -> Cost:
        a, b = self.cost(node.left, scope), self.cost(node.right, scope)
        steps, size, hot = a.steps + b.steps + 1, Size(), _hottest(a.hot, b.hot)
        if node.op == "in":
            steps += b.size.n
        elif node.op == "+" and (a.size.n > 1 or b.size.n > 1 or a.size.elem or b.size.elem):
            lists = a.size.elem is not None or b.size.elem is not None
            steps += a.size.n + b.size.n if lists else _scan(a.size.n + b.size.n)
            elems = [s for s in (a.size.elem, b.size.elem) if s is not None]
            size = Size(a.size.n + b.size.n, _join(elems) if elems else None)
        return Cost(steps, size, hot)

    def c_Conditional(self, node: Conditional, scope: dict[str, Size]) -> Cost:
        c, t, e = (self.cost(n, scope) for n in (node.cond, node.then, node.otherwise))
        return Cost(c.steps + max(t.steps, e.steps) + 1, _join([t.size, e.size]), _hottest(c.hot, t.hot, e.hot))

    def c_ListLit(self, node: ListLit, scope: dict[str, Size]) -> Cost:
        items = [self.cost(n, scope) for n in node.items]
        return Cost(sum(i.steps for i in items) + 1, Size(len(items), _join([i.size for i in items])),
                    _hottest(*(i.hot for i in items)))

    def c_MapLit(self, node: MapLit, scope: dict[str, Size]) -> Cost:
        parts = [self.cost(n, scope) for pair in node.entries for n in pair]
        keys = [p.size for p in parts[::2]] + [p.size for p in parts[1::2]]
        return Cost(sum(p.steps for p in parts) + 1, Size(len(node.entries), _join(keys)),
                    _hottest(*(p.hot for p in parts)))

    def c_MessageLit(self, node: MessageLit, scope: dict[str, Size]) -> Cost:
        parts = [self.cost(n, scope) for _, n in node.fields]
        return Cost(sum(p.steps for p in parts) + 1, Size(), _hottest(*(p.hot for p in parts)))

    def c_Comprehension(self, node: Comprehension, scope: dict[str, Size]) -> Cost:
        target = self.cost(node.target, scope)
        n = target.size.n
        inner = {**scope, node.var: target.size.elem or Size()}
        body = [self.cost(arg, inner) for arg in node.args]
        per_item = sum(b.steps for b in body) + 1
        steps = target.steps + n * per_item + 1
        hot_body = _hottest(*(b.hot for b in body))
        me = label(node)
        if hot_body is not None:
            hot = Hot(node.pos, steps, ((me, n), *hot_body.loops), hot_body.leaf)
        else:
            hot = Hot(node.pos, steps, ((me, n),))
        hot = _hottest(target.hot, hot)
        if node.macro == "filter":
            size = target.size
        elif node.macro == "map":
            size = Size(n, body[-1].size)
        else:
            size = Size()
        return Cost(steps, size, hot)

    def c_Call(self, node: Call, scope: dict[str, Size]) -> Cost:
        recv = self.cost(node.target, scope) if node.target is not None else None
        args = [self.cost(a, scope) for a in node.args]
        parts = ([recv] if recv else []) + args
        steps = sum(p.steps for p in parts) + 1
        hot = _hottest(*(p.hot for p in parts))
        name = node.function
        size = Size()
        scan = 0
        if name in _STRING_FUNCTIONS and recv is not None and args:
            scan = recv.size.n + args[0].size.n
        elif name == "matches" and len(parts) == 2:
            text, pattern = parts
            scan = text.size.n * max(pattern.size.n, 1)
        elif name in _CONVERSIONS and len(args) == 1:
            scan = args[0].size.n
            if name in ("string", "bytes"):
                size = args[0].size if args[0].size.n > 1 else Size(_SCALAR_TEXT)
        elif name == "dyn" and len(args) == 1:
            size = args[0].size
        if scan:
            steps += _scan(scan)
            whose = label(node.target if node.target is not None else node.args[0])
            shown = f"{label(node)} over {whose}" if node.target is None else label(node)
            leaf = Hot(node.pos, _scan(scan), (), f"{shown} on up to {scan:,} characters")
            hot = _hottest(hot, leaf)
        return Cost(steps, size, hot)


def _object(fields: dict[str, Size]) -> Size:
    return Size(len(fields), None, fields)


def value_sizes(pathway: Pathway, transition: Transition) -> dict[str, Size]:
    """The bound of every variable a guard of ``transition`` sees (the sizes beside ``env.guard_env``'s types)."""
    def of(name: str) -> Size:
        f = pathway.fields[name]
        if f.type == "list":
            return Size(f.item_limit, Size(f.length_limit or MAX_NAME))
        limit = f.length_limit
        return Size(limit) if limit is not None else Size()

    fields = {name: of(name) for name in pathway.fields}
    state = max((len(s) for s in pathway.stages), default=1)
    actors = _object({t: Size(MAX_ACTORS, Size(MAX_NAME)) for t in pathway.triggers()})
    proposal = _object({**fields, "id": Size(_ID_LENGTH), "state": Size(state), "days_in_stage": Size(),
                        "actors": actors})
    inputs = _object({**{n: fields[n] for n in transition.updates if n in fields}, "rationale": Size(MAX_FREE_TEXT)})
    roles = [*pathway.roles, ADMIN, CLOCK, "publisher"]
    actor = _object({"name": Size(MAX_NAME), "roles": Size(len(roles), Size(max(map(len, roles))))})
    limits = _object({k: Size() for k in pathway.limits})
    out = {
        "proposal": proposal,
        "pathway": _object({"id": Size(len(pathway.id)), "version": Size(), "limits": limits}),
        "input": inputs,
        "actor": actor,
        "now": Size(),
    }
    if pathway.evaluated_in:  # numbers only: summaries of a panel, never lists
        def panel(stage: str) -> Size:
            ev = pathway.evaluation(stage)
            per = _object({c.name: Size() for c in ev.criteria}) if ev else _object({})
            return _object({**{k: Size() for k in PANEL_FIELDS}, "mean": per, "lowest": per})
        here = next((s for s in transition.sources if pathway.evaluation(s)), None)
        current = {k: v for k, v in panel(here).fields.items()} if here else {}  # type: ignore[union-attr]
        out["evaluations"] = _object({**current, **{s: panel(s) for s in pathway.evaluated_in}})
    if pathway.responses:
        out["responses"] = _object({"received": Size(), "evaluated": Size(), "best_score": Size()})
    return out


def guard_cost(check: str, sizes: dict[str, Size]) -> Cost | None:
    """The worst-case cost of one guard, or None when it does not parse (the checker reports that)."""
    try:
        tree = parse(check)
    except ParseError:
        return None
    try:
        return _Coster(sizes).cost(tree, {})
    except RecursionError:  # the parser's nesting limit keeps this far away; never let it escape validate
        return None


def too_costly(cost: Cost) -> str:
    """The message for a guard above the limit: what it may cost, and which part."""
    why = cost.hot.describe() if cost.hot else "this expression"
    return (f"guard too expensive to run: {why}; up to {cost.steps:,} steps in all, and the limit is {LIMIT:,}. "
            "Lower the fields' max_items or max_length, or check less inside the loops")
