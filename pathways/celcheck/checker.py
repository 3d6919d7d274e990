"""The CEL type checker: function tables, type rules, and the public check functions.

It approximates CEL's type rules against a declared environment of variables,
collecting every problem (not just the first) with a 1-based line and column
inside the expression text, so editors can point at the offending token.  The
function tables list only what the run-time evaluator implements, so a guard
that checks here does not fail as "undefined function" when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .lexer import _locate
from .parser import _MACROS, ParseError, parse
from .syntax import (
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
    _start,
)
from .types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    TYPE,
    UINT,
    CelType,
    ExprProblem,
    ListType,
    MapType,
    ObjectType,
)

# Groups of types the rules below refer to.
_NUMERIC = frozenset({INT, UINT, DOUBLE})
_ORDERED = _NUMERIC | {STRING, BYTES, BOOL, TIMESTAMP, DURATION}
_MAP_KEYS = frozenset({INT, UINT, STRING, BOOL})
# CEL predeclares these identifiers as type values (so `type(x) == int` checks).
_TYPE_NAMES = frozenset(
    "int uint double string bytes bool list map null_type type".split()
)


# Only what the run-time evaluator (common-expression-language 0.10) implements:
# a guard that type-checks here must not fail as "undefined function" later.
# Not available there: bool(), int(timestamp), global matches(), lowerAscii,
# upperAscii, trim, and the time-zone argument of timestamp getters.
_CONVERSIONS = {
    "int": (frozenset({INT, UINT, DOUBLE, STRING}), INT),
    "uint": (frozenset({INT, UINT, DOUBLE, STRING}), UINT),
    "double": (frozenset({INT, UINT, DOUBLE, STRING}), DOUBLE),
    "string": (frozenset({INT, UINT, DOUBLE, STRING, BYTES, BOOL, TIMESTAMP, DURATION}), STRING),
    "bytes": (frozenset({STRING, BYTES}), BYTES),
    "timestamp": (frozenset({STRING, TIMESTAMP}), TIMESTAMP),
    "duration": (frozenset({STRING, DURATION}), DURATION),
}
_TS_GETTERS = ("getFullYear getMonth getDate getDayOfMonth getDayOfWeek getDayOfYear "
               "getHours getMinutes getSeconds getMilliseconds").split()
# method -> (receiver, parameter types, result) signatures
_METHODS: dict[str, list[tuple[CelType, tuple[CelType, ...], CelType]]] = {}
for _name in ("contains", "startsWith", "endsWith", "matches"):
    _METHODS[_name] = [(STRING, (STRING,), BOOL)]
for _name in _TS_GETTERS:
    _METHODS[_name] = [(TIMESTAMP, (), INT)]
for _name in ("getHours", "getMinutes", "getSeconds", "getMilliseconds"):
    _METHODS[_name].append((DURATION, (), INT))
_GLOBALS = {*_CONVERSIONS, "size", "dyn", "type", "has"}
_ALL_FUNCTIONS = sorted(_GLOBALS | set(_METHODS) | set(_MACROS))

_ARITH: dict[str, dict[tuple[CelType, CelType], CelType]] = {
    op: {(t, t): t for t in (INT, UINT, DOUBLE)} for op in "+-*/"
}
_ARITH["%"] = {(INT, INT): INT, (UINT, UINT): UINT}
_ARITH["+"].update({(STRING, STRING): STRING, (BYTES, BYTES): BYTES, (DURATION, DURATION): DURATION,
                    (TIMESTAMP, DURATION): TIMESTAMP, (DURATION, TIMESTAMP): TIMESTAMP})
_ARITH["-"].update({(TIMESTAMP, TIMESTAMP): DURATION, (TIMESTAMP, DURATION): TIMESTAMP,
                    (DURATION, DURATION): DURATION})

# Patterns, not compiled regexes: they are rarely needed, so re compiles (and caches) them on first use.
_DURATION = r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|µs|ms|s|m|h))+|[-+]?0"
_TIMESTAMP = (r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
              r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})")


def _loose(t: CelType | None) -> bool:
    """DYN and 'unknown because of an earlier error' (None) silence further errors."""
    return t is None or t == DYN


def _same(a: CelType | None, b: CelType | None) -> bool:
    if _loose(a) or _loose(b):
        return True
    if isinstance(a, ListType) and isinstance(b, ListType):
        return _same(a.elem, b.elem)
    if isinstance(a, MapType) and isinstance(b, MapType):
        return _same(a.key, b.key) and _same(a.value, b.value)
    return a == b


def _equatable(a: CelType | None, b: CelType | None) -> bool:
    return _same(a, b) or NULL in (a, b) or (a in _NUMERIC and b in _NUMERIC)


def _join(types: list[CelType | None]) -> CelType:
    """Common type of list/map literal parts; mixed parts give dyn (as CEL does)."""
    known = [t for t in types if t is not None]
    if known and all(t == known[0] for t in known):
        return known[0]
    return DYN


def _suggest(name: str, candidates: Iterable[str]) -> str:
    import difflib  # lazy: only needed when there is a problem to explain

    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _arity(name: str, expected: str, given: int) -> str:
    noun = "argument" if expected == "1" else "arguments"
    return f"{name}() takes {expected} {noun}, but {given} {'was' if given == 1 else 'were'} given"


class _Checker:
    def __init__(self, text: str, env: Mapping[str, CelType]) -> None:
        self.text, self.env = text, env
        self.problems: list[ExprProblem] = []

    def report(self, pos: int, message: str) -> None:
        self.problems.append(_locate(self.text, pos, message))

    def visit(self, node: Node, scope: dict[str, CelType]) -> CelType | None:
        return getattr(self, "visit_" + type(node).__name__)(node, scope)

    def want_bool(self, t: CelType | None, pos: int, what: str) -> None:
        if not _loose(t) and t != BOOL:
            self.report(pos, f"{what} must be true or false, but it gives {t}; compare it, e.g. '> 0' or '== \"x\"'")

    def visit_Literal(self, node: Literal, scope: dict[str, CelType]) -> CelType | None:
        return node.type

    def visit_Ident(self, node: Ident, scope: dict[str, CelType]) -> CelType | None:
        if node.name in scope and not node.root:
            return scope[node.name]
        if node.name in self.env:
            return self.env[node.name]
        if node.name in _TYPE_NAMES:
            return TYPE
        hint = _suggest(node.name, {*self.env, *scope})
        self.report(node.pos, f"unknown variable '{node.name}'{hint}; guards can use: {', '.join(sorted(self.env))}")
        return None

    def field_of(self, t: CelType | None, field: str, pos: int, verb: str) -> CelType | None:
        if _loose(t):
            return t
        if isinstance(t, ObjectType):
            found = t.field(field)
            if found is None:
                names = [k for k, _ in t.fields]
                hint = _suggest(field, names) or f"; its fields are: {', '.join(sorted(names))}"
                self.report(pos, f"{t.name} has no field '{field}'{hint}")
            return found
        if isinstance(t, MapType) and t.key in (STRING, DYN):
            return t.value
        self.report(pos, f"cannot {verb} field '{field}' from {t}; only objects and maps with string keys have fields")
        return None

    def visit_Select(self, node: Select, scope: dict[str, CelType]) -> CelType | None:
        return self.field_of(self.visit(node.operand, scope), node.field, node.pos, "select")

    def visit_Has(self, node: Has, scope: dict[str, CelType]) -> CelType | None:
        sel = node.select
        self.field_of(self.visit(sel.operand, scope), sel.field, sel.pos, "test (has) for")
        return BOOL

    def visit_Index(self, node: Index, scope: dict[str, CelType]) -> CelType | None:
        t, i = self.visit(node.operand, scope), self.visit(node.index, scope)
        if _loose(t):
            return t
        if isinstance(t, ListType):
            if not _loose(i) and i not in (INT, UINT):
                self.report(node.pos, f"a list index must be an int, not {i}")
            return t.elem
        if isinstance(t, MapType):
            if not _equatable(t.key, i):
                self.report(node.pos, f"this map has {t.key} keys, so it cannot be indexed with {i}")
            return t.value
        hint = f"use {t}.field to read a field" if isinstance(t, ObjectType) else "only lists and maps can be indexed"
        self.report(node.pos, f"cannot index into {t} with [...]; {hint}")
        return None

    def visit_Unary(self, node: Unary, scope: dict[str, CelType]) -> CelType | None:
        t = self.visit(node.operand, scope)
        if node.op == "!":
            self.want_bool(t, node.pos, "the operand of '!'")
            return BOOL
        if _loose(t) or t in (INT, DOUBLE):
            return t
        hint = "; convert it with int(...) first" if t == UINT else ""
        self.report(node.pos, f"'-' cannot negate {t}; only int and double values can be negated{hint}")
        return None

    def visit_Binary(self, node: Binary, scope: dict[str, CelType]) -> CelType | None:
        left, right = self.visit(node.left, scope), self.visit(node.right, scope)
        op = node.op
        if op in ("&&", "||"):
            self.want_bool(left, node.pos, f"the left side of '{op}'")
            self.want_bool(right, node.pos, f"the right side of '{op}'")
            return BOOL
        if op in ("==", "!="):
            if not _equatable(left, right):
                always = "false" if op == "==" else "true"
                self.report(node.pos, f"'{op}' compares {left} with {right}; this is always {always} — "
                                      "convert one side so both have the same type, e.g. with string(...) or int(...)")
            return BOOL
        if op in ("<", "<=", ">", ">="):
            self.compare(node, left, right)
            return BOOL
        if op == "in":
            self.membership(node, left, right)
            return BOOL
        return self.arithmetic(node, left, right)

    def compare(self, node: Binary, left: CelType | None, right: CelType | None) -> None:
        for t in (left, right):
            if not _loose(t) and t not in _ORDERED:
                self.report(node.pos, f"'{node.op}' cannot order {t} values; only numbers, strings, bytes, bools, "
                                      "timestamps and durations can be compared this way")
                return
        if _loose(left) or _loose(right) or left == right or (left in _NUMERIC and right in _NUMERIC):
            return
        self.report(node.pos, f"'{node.op}' compares {left} with {right}; both sides must have the same type "
                              "(numbers may be mixed) — convert one side, e.g. with double(...) or timestamp(...)")

    def membership(self, node: Binary, left: CelType | None, right: CelType | None) -> None:
        if _loose(right):
            return
        if isinstance(right, ListType):
            if not _equatable(left, right.elem):
                self.report(node.pos, f"'in' looks for {left} in {right}; the types differ, so this is always false — "
                                      "convert one side so they match")
        elif isinstance(right, MapType):
            if not _equatable(left, right.key):
                self.report(node.pos, f"'in' looks for a {left} key in {right}; the types differ so it is always false")
        else:
            hint = "; to search text use .contains(...)" if right == STRING else ""
            self.report(node.pos, f"'in' needs a list or map on its right side, not {right}{hint}")

    def arithmetic(self, node: Binary, left: CelType | None, right: CelType | None) -> CelType | None:
        op, table = node.op, _ARITH[node.op]
        if left is None or right is None:
            return None
        if op == "+" and isinstance(left, ListType) and isinstance(right, ListType):
            return ListType(_join([left.elem, right.elem]))
        if left == DYN or right == DYN:
            other, side = (right, 1) if left == DYN else (left, 0)
            if other == DYN or (op == "+" and isinstance(other, ListType)):
                return other
            results = {res for pair, res in table.items() if pair[side] == other}
            if results:
                return results.pop() if len(results) == 1 else DYN
            self.report(node.pos, f"'{op}' cannot be applied to {other}")
            return None
        if (left, right) in table:
            return table[(left, right)]
        self.report(node.pos, self.arith_message(op, left, right))
        return None

    @staticmethod
    def arith_message(op: str, left: CelType, right: CelType) -> str:
        if left in _NUMERIC and right in _NUMERIC:
            if left == right:  # only '%' on doubles gets here
                return f"'{op}' works only on int and uint, not {left}"
            if DOUBLE in (left, right):
                return (f"'{op}' mixes {left} and {right}; CEL does not convert between them — "
                        "write 2.0 instead of 2, or use double(...)")
            return (f"'{op}' mixes {left} and {right}; CEL does not convert between them — "
                    "write 2u instead of 2, or use int(...) or uint(...)")
        if {left, right} & {TIMESTAMP, DURATION}:
            return (f"'{op}' cannot combine {left} and {right}; timestamps and durations combine only with "
                    "durations (e.g. now - duration('24h')) or, for '-', with another timestamp")
        if left == right:
            return f"'{op}' cannot be applied to {left} values"
        return (f"'{op}' cannot combine {left} and {right}; both sides must have the same type — "
                "convert one side, e.g. with string(...), int(...) or double(...)")

    def visit_Conditional(self, node: Conditional, scope: dict[str, CelType]) -> CelType | None:
        self.want_bool(self.visit(node.cond, scope), node.pos, "the condition before '?'")
        a, b = self.visit(node.then, scope), self.visit(node.otherwise, scope)
        if a is None or b is None:
            return None
        if a == NULL or b == NULL:
            return b if a == NULL else a
        if a == DYN or b == DYN:
            return DYN
        if _same(a, b):
            return a
        self.report(node.colon_pos, f"the branches of '? :' give {a} and {b}; make both branches the same type")
        return DYN

    def visit_ListLit(self, node: ListLit, scope: dict[str, CelType]) -> CelType | None:
        return ListType(_join([self.visit(item, scope) for item in node.items]))

    def visit_MapLit(self, node: MapLit, scope: dict[str, CelType]) -> CelType | None:
        keys, values = [], []
        for key, value in node.entries:
            k = self.visit(key, scope)
            if not _loose(k) and k not in _MAP_KEYS:
                self.report(_start(key), f"map keys must be int, uint, string or bool, not {k}")
            keys.append(k)
            values.append(self.visit(value, scope))
        return MapType(_join(keys), _join(values))

    def visit_MessageLit(self, node: MessageLit, scope: dict[str, CelType]) -> CelType | None:
        for _, value in node.fields:
            self.visit(value, scope)
        self.report(node.pos, f"message construction ({node.type_name}{{...}}) is not supported in guards; "
                              "use a map literal like {'field': value} instead")
        return None

    def visit_Comprehension(self, node: Comprehension, scope: dict[str, CelType]) -> CelType | None:
        t = self.visit(node.target, scope)
        if isinstance(t, ListType):
            var_type: CelType = t.elem
        elif isinstance(t, MapType):
            var_type = t.key
        else:
            if not _loose(t):
                self.report(node.pos, f"{node.macro}() works on lists and maps, not {t}")
            var_type = DYN
        inner = {**scope, node.var: var_type}
        types = [self.visit(arg, inner) for arg in node.args]
        if node.macro == "map":
            if len(types) == 2:  # map(x, filter, transform)
                self.want_bool(types[0], _start(node.args[0]), "the filter of map()")
            return ListType(types[-1] or DYN)
        self.want_bool(types[0], _start(node.args[0]), f"the condition of {node.macro}()")
        return ListType(var_type) if node.macro == "filter" else BOOL

    def visit_Call(self, node: Call, scope: dict[str, CelType]) -> CelType | None:
        recv = self.visit(node.target, scope) if node.target is not None else None
        args = [self.visit(a, scope) for a in node.args]
        name = node.function
        if name not in _GLOBALS and name not in _METHODS and name not in _MACROS:
            hint = _suggest(name, _ALL_FUNCTIONS)
            more = "; guards can call size, contains, startsWith, endsWith, matches, int, double, timestamp..."
            self.report(node.pos, f"unknown function '{name}'{hint or more}")
            return None
        if name in _MACROS or name == "has":
            usage = "has(x.field)" if name == "has" else f"list.{name}(x, condition)"
            self.report(node.pos, f"{name}() is not used correctly; write it as {usage}")
            return DYN if name == "map" else BOOL
        if name == "size":
            if node.target is not None and args:
                self.report(node.pos, _arity("x.size", "no", len(args)))
                return INT
            return self.check_size(node, [recv] if node.target is not None else args)
        if node.target is None:
            if name not in _GLOBALS:
                self.report(node.pos, f"{name}() must be called on a value, like x.{name}(...)")
                return _METHODS[name][0][2]
            return self.global_call(node, args)
        if name not in _METHODS:
            self.report(node.pos, f"{name}() is a function, not a method; call it as {name}(x) instead of x.{name}()")
            return _CONVERSIONS[name][1] if name in _CONVERSIONS else DYN
        return self.method_call(node, recv, args)

    def check_size(self, node: Call, args: list[CelType | None]) -> CelType | None:
        if len(args) != 1:
            self.report(node.pos, _arity("size", "1", len(args)))
        elif not _loose(args[0]) and args[0] not in (STRING, BYTES) and not isinstance(args[0], (ListType, MapType)):
            self.report(node.pos, f"size() cannot be applied to {args[0]}; it works on string, bytes, list and map")
        return INT

    def global_call(self, node: Call, args: list[CelType | None]) -> CelType | None:
        name = node.function
        arity = 2 if name == "matches" else 1
        if len(args) != arity:
            self.report(node.pos, _arity(name, str(arity), len(args)))
            return BOOL if name == "matches" else _CONVERSIONS.get(name, (None, DYN))[1]
        if name == "matches":
            for t in args:
                if not _loose(t) and t != STRING:
                    self.report(node.pos, f"matches() expects two strings, but was given {t}")
            return BOOL
        if name in ("dyn", "type"):
            return DYN if name == "dyn" else TYPE
        allowed, result = _CONVERSIONS[name]
        if not _loose(args[0]) and args[0] not in allowed:
            kinds = ", ".join(sorted(str(t) for t in allowed))
            self.report(node.pos, f"{name}() cannot convert {args[0]}; it accepts {kinds}")
        arg = node.args[0]
        if isinstance(arg, Literal) and isinstance(arg.value, str):
            self.check_time_literal(name, arg)
        return result

    def check_time_literal(self, name: str, arg: Literal) -> None:
        """Catch malformed constant timestamps/durations now instead of when the guard runs."""
        text = str(arg.value)
        if name == "duration" and not re.fullmatch(_DURATION, text):
            self.report(arg.pos, f"'{text}' is not a valid duration; use a number with a unit "
                                 "h, m, s, ms, us or ns, like '24h', '90m' or '1h30m'")
        if name == "timestamp":
            m = re.fullmatch(_TIMESTAMP, text)
            ok = m is not None
            if m:
                _, month, day, hour, minute, sec = (int(g) for g in m.groups())
                ok = 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and sec < 61
            if not ok:
                self.report(arg.pos, f"'{text}' is not an RFC 3339 timestamp; write it like '2024-01-31T00:00:00Z'")

    def method_call(self, node: Call, recv: CelType | None, args: list[CelType | None]) -> CelType | None:
        name, sigs = node.function, _METHODS[node.function]
        candidates = sigs if _loose(recv) else [s for s in sigs if s[0] == recv]
        if not candidates:
            kinds = " and ".join(sorted({str(s[0]) for s in sigs}))
            self.report(node.pos, f"{name}() is not available on {recv}; it works on {kinds}")
            return None
        by_arity = [s for s in candidates if len(s[1]) == len(args)]
        if not by_arity:
            counts = " or ".join(sorted({str(len(s[1])) for s in candidates}))
            self.report(node.pos, _arity(name, counts, len(args)))
            return candidates[0][2]
        for _, params, result in by_arity:
            if all(_same(p, a) for p, a in zip(params, args, strict=True)):
                return result
        wanted = ", ".join(str(p) for p in by_arity[0][1])
        given = ", ".join(str(a) for a in args)
        self.report(node.pos, f"{name}() expects ({wanted}) but was given ({given})")
        return by_arity[0][2]


def _check(text: str, env: Mapping[str, CelType], guard: bool) -> tuple[CelType | None, list[ExprProblem]]:
    try:
        node = parse(text)
    except ParseError as e:
        return None, [e.problem]
    checker = _Checker(text, env)
    try:
        result = checker.visit(node, {})
        if guard and not _loose(result) and result != BOOL:
            checker.report(_start(node), f"guard must be true or false, this expression gives {result}; "
                                         "compare it with something, e.g. '> 0' or '== \"x\"'")
    except RecursionError:
        return None, [_locate(text, 0, "expression is too long or deeply nested to check; split it into simpler parts")]
    return result, sorted(checker.problems, key=lambda p: (p.line, p.col))


def check(text: str, env: Mapping[str, CelType]) -> tuple[CelType | None, list[ExprProblem]]:
    """Parse and type-check `text` against the variables in env. Returns the result type (None if it
    could not be determined) and every problem found (parse errors stop at the first syntax error;
    type errors are all collected)."""
    return _check(text, env, guard=False)


def check_guard(text: str, env: Mapping[str, CelType]) -> list[ExprProblem]:
    """check(), plus: the result type must be BOOL (or DYN), because a guard decides yes or no."""
    return _check(text, env, guard=True)[1]
