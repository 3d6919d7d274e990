"""Parse and type-check CEL guard expressions without importing a CEL runtime.

Guards run under the Rust-backed ``cel`` package, but that package has no type
checker and costs ~200 ms to import, which is too slow for ``pathways
validate`` on every save.  This module is a small, standard-library-only
replacement for the *static* half of CEL: a tokenizer and recursive-descent
parser that follow the grammar in cel-spec ``langdef.md`` (including the quirks
of the reference ANTLR grammar, so that we accept exactly what CEL accepts),
and a checker that approximates CEL's type rules against a declared
environment.  Every problem carries a 1-based line and column inside the
expression text so editors can point at the offending token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class CelType:
    """Base class of the static types the checker reasons about."""


@dataclass(frozen=True)
class Prim(CelType):
    """A primitive (non-parameterised) CEL type such as int or timestamp."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ListType(CelType):
    elem: CelType

    def __str__(self) -> str:
        return f"list({self.elem})"


@dataclass(frozen=True)
class MapType(CelType):
    key: CelType
    value: CelType

    def __str__(self) -> str:
        return f"map({self.key}, {self.value})"


@dataclass(frozen=True)
class ObjectType(CelType):
    """A closed record: selecting a field it does not declare is an error.

    ``fields`` may be given as any mapping; it is stored as a tuple of
    ``(name, type)`` pairs so the type stays hashable and comparable.
    """

    name: str
    fields: Mapping[str, CelType] | tuple[tuple[str, CelType], ...]  # always the tuple after __init__

    def __post_init__(self) -> None:
        pairs = self.fields.items() if isinstance(self.fields, Mapping) else self.fields
        object.__setattr__(self, "fields", tuple((str(k), v) for k, v in pairs))

    def field(self, name: str) -> CelType | None:
        """Type of field ``name``, or None when the record does not declare it."""
        return next((t for k, t in self.fields if k == name), None)  # type: ignore[misc]

    def __str__(self) -> str:
        return self.name


INT, UINT, DOUBLE = Prim("int"), Prim("uint"), Prim("double")
STRING, BYTES, BOOL, NULL = Prim("string"), Prim("bytes"), Prim("bool"), Prim("null")
TIMESTAMP, DURATION, DYN = Prim("timestamp"), Prim("duration"), Prim("dyn")
TYPE = Prim("type")  # the type of type values such as `int` or `type(x)`

_NUMERIC = frozenset({INT, UINT, DOUBLE})
_ORDERED = _NUMERIC | {STRING, BYTES, BOOL, TIMESTAMP, DURATION}
_MAP_KEYS = frozenset({INT, UINT, STRING, BOOL})
# CEL predeclares these identifiers as type values (so `type(x) == int` checks).
_TYPE_NAMES = frozenset(
    "int uint double string bytes bool list map null_type type".split()
)


@dataclass(frozen=True)
class ExprProblem:
    line: int
    col: int
    message: str


# ---------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Node:
    """Base of the syntax tree; ``pos`` is the 0-based offset problems are reported at
    (the operator for operators, the name for identifiers, fields and calls)."""

    pos: int


@dataclass(frozen=True)
class Literal(Node):
    value: object
    type: CelType


@dataclass(frozen=True)
class Ident(Node):
    name: str
    root: bool = False  # written with a leading dot: `.name`


@dataclass(frozen=True)
class Select(Node):
    operand: Node
    field: str


@dataclass(frozen=True)
class Call(Node):
    function: str
    target: Node | None  # receiver for `x.f()`, None for `f(x)`
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Index(Node):
    operand: Node
    index: Node


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    cond: Node
    then: Node
    otherwise: Node
    colon_pos: int


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapLit(Node):
    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class MessageLit(Node):
    type_name: str
    fields: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Has(Node):
    select: Select


@dataclass(frozen=True)
class Comprehension(Node):
    """An expanded macro: all, exists, exists_one, filter or map."""

    macro: str
    target: Node
    var: str
    args: tuple[Node, ...]


class ParseError(ValueError):
    """Raised by :func:`parse`; ``problem`` locates the first syntax error."""

    def __init__(self, problem: ExprProblem) -> None:
        super().__init__(f"{problem.line}:{problem.col}: {problem.message}")
        self.problem = problem


class _Fail(Exception):
    """Internal: a syntax error at a text offset, converted to ParseError at the top."""

    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos, self.message = pos, message


def _locate(text: str, pos: int, message: str) -> ExprProblem:
    line_start = text.rfind("\n", 0, pos) + 1
    return ExprProblem(text.count("\n", 0, pos) + 1, pos - line_start + 1, message)


# ------------------------------------------------------------------------ tokenizer

_RESERVED = frozenset(
    "as break const continue else for function if import let loop package "
    "namespace return var void while".split()
)
_KEYWORDS = frozenset({"true", "false", "null", "in"})
_IDENT_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_NUMBER_RE = re.compile(
    r"0x[0-9a-fA-F]+[uU]?"
    r"|[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|[0-9]+[uU]?"
)
_PUNCT2 = frozenset({"==", "!=", "<=", ">=", "&&", "||"})
_PUNCT1 = frozenset("<>!+-*/%?:.,()[]{}")
_MISTYPED = {
    "=": "'=' is not an operator in CEL; use '==' to compare values",
    "&": "'&' is not an operator in CEL; use '&&' for 'and'",
    "|": "'|' is not an operator in CEL; use '||' for 'or'",
}
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    '"': '"', "'": "'", "\\": "\\", "?": "?", "`": "`",
}
_DIGITS = frozenset("0123456789")
_HEX = _DIGITS | frozenset("abcdefABCDEF")
_INT64_MAX, _UINT64_MAX = 2**63 - 1, 2**64 - 1


class _Tok:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind: str, text: str, pos: int, value: object = None) -> None:
        self.kind, self.text, self.pos, self.value = kind, text, pos, value


def _tokenize(text: str) -> list[_Tok]:
    """Split text into tokens. A lexical error becomes a final 'error' token so the
    parser reports whichever problem comes first in the text."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while True:
        while i < n:
            if text[i] in " \t\r\n\f":
                i += 1
            elif text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
            else:
                break
        if i >= n:
            toks.append(_Tok("eof", "", n))
            return toks
        try:
            tok, i = _lex_one(text, i)
        except _Fail as e:
            toks.append(_Tok("error", e.message, e.pos))
            return toks
        toks.append(tok)


def _lex_one(text: str, i: int) -> tuple[_Tok, int]:
    c = text[i]
    if c in _DIGITS or (c == "." and text[i + 1 : i + 2] in _DIGITS):
        m = _NUMBER_RE.match(text, i)
        assert m is not None
        word = m.group()
        if word.startswith("0x"):
            kind = "uint" if word[-1] in "uU" else "int"
            value: object = int(word[2:].rstrip("uU"), 16)
        elif any(ch in word for ch in ".eE"):
            kind, value = "double", float(word)
        else:
            kind = "uint" if word[-1] in "uU" else "int"
            value = int(word.rstrip("uU"), 10)
        return _Tok(kind, word, i, value), m.end()
    m = _IDENT_RE.match(text, i)
    if m:
        word, end = m.group(), m.end()
        if end < len(text) and text[end] in "'\"" and word.lower() in ("r", "b", "br"):
            return _lex_string(text, i, end, raw="r" in word.lower(), is_bytes="b" in word.lower())
        return _Tok(word if word in _KEYWORDS else "ident", word, i), end
    if c in "'\"":
        return _lex_string(text, i, i, raw=False, is_bytes=False)
    if text[i : i + 2] in _PUNCT2:
        return _Tok(text[i : i + 2], text[i : i + 2], i), i + 2
    if c in _PUNCT1:
        return _Tok(c, c, i), i + 1
    if c in _MISTYPED:
        raise _Fail(i, _MISTYPED[c])
    if c.isalpha():
        raise _Fail(i, f"unexpected character {c!r}; CEL names may only use ASCII letters, digits and '_'")
    raise _Fail(i, f"unexpected character {c!r}; remove it")


def _lex_string(text: str, start: int, q: int, raw: bool, is_bytes: bool) -> tuple[_Tok, int]:
    """Read a (raw/bytes/triple-quoted) string literal whose quote is at ``q``."""
    quote = text[q]
    delim = quote * 3 if text.startswith(quote * 3, q) else quote
    out = bytearray()
    i, n = q + len(delim), len(text)
    while True:
        if i >= n:
            raise _Fail(start, f"this string is never closed; add the closing {delim}")
        if text.startswith(delim, i):
            i += len(delim)
            break
        c = text[i]
        if len(delim) == 1 and c in "\r\n":
            raise _Fail(start, "this string is not closed before the end of the line; close it, "
                        "or use triple quotes (''' or \"\"\") for text over several lines")
        if c == "\\" and not raw:
            i = _lex_escape(text, i, is_bytes, out)
        else:
            out += c.encode("utf-8", "surrogatepass")
            i += 1
    kind = "bytes" if is_bytes else "string"
    value = bytes(out) if is_bytes else out.decode("utf-8", "surrogatepass")
    return _Tok(kind, text[start:i], start, value), i


def _lex_escape(text: str, i: int, is_bytes: bool, out: bytearray) -> int:
    """Decode the escape sequence at ``text[i] == '\\\\'`` into ``out``; return the next offset."""
    c = text[i + 1 : i + 2]
    if c and c in _SIMPLE_ESCAPES:
        out += _SIMPLE_ESCAPES[c].encode()
        return i + 2
    width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(c)
    if width:
        digits = text[i + 2 : i + 2 + width]
        if len(digits) == width and all(d in _HEX for d in digits):
            code = int(digits, 16)
            if width == 2:
                out += bytes([code]) if is_bytes else chr(code).encode()
                return i + 2 + width
            if is_bytes:
                raise _Fail(i, f"'\\{c}' escapes are not allowed in bytes literals; write bytes as '\\xHH'")
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise _Fail(i, f"'\\{c}{digits}' is not a Unicode character; surrogates and values over 10FFFF are not")
            out += chr(code).encode()
            return i + 2 + width
        raise _Fail(i, f"'\\{c}' must be followed by {width} hex digits")
    octal = text[i + 1 : i + 4]
    if len(octal) == 3 and octal[0] in "0123" and all(d in "01234567" for d in octal[1:]):
        code = int(octal, 8)
        out += bytes([code]) if is_bytes else chr(code).encode()
        return i + 4
    shown = c if c and c not in "\r\n" else ""
    raise _Fail(i, f"unknown escape '\\{shown}' in string; write '\\\\' for a backslash, or use a raw string r'...'")


# --------------------------------------------------------------------------- parser

_BINARY_LEVELS = (("||",), ("&&",), ("<", "<=", ">", ">=", "==", "!=", "in"), ("+", "-"), ("*", "/", "%"))
_MACROS = {"all": (2,), "exists": (2,), "exists_one": (2,), "filter": (2,), "map": (2, 3)}
_MAX_NESTING = 40  # keeps the recursive parser far from Python's recursion limit


def _describe(tok: _Tok) -> str:
    if tok.kind == "eof":
        return "the end of the expression"
    if tok.kind == "ident":
        return f"name '{tok.text}'"
    if tok.kind in ("int", "uint", "double"):
        return f"number {tok.text}"
    if tok.kind in ("string", "bytes"):
        return f"{tok.kind} {tok.text}"
    return f"'{tok.text}'"


class _Parser:
    """Recursive descent over the CEL grammar; one method per precedence level."""

    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def fail(self, expected: str, hint: str = "") -> _Fail:
        tok = self.tok
        if tok.kind == "error":
            return _Fail(tok.pos, tok.text)
        return _Fail(tok.pos, f"expected {expected} but found {_describe(tok)}{hint}")

    def expect(self, kind: str, expected: str, hint: str = "") -> _Tok:
        if self.tok.kind != kind:
            raise self.fail(expected, hint)
        return self.next()

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "eof":
            if self.tok.kind == "error":
                raise self.fail("")
            hint = (" (only names can be called, like size(x) or x.size())" if self.tok.kind == "("
                    else "; join the parts with an operator such as '&&' or '||'")
            raise _Fail(self.tok.pos, f"unexpected {_describe(self.tok)} after a complete expression{hint}")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise _Fail(self.tok.pos, f"expression nests more than {_MAX_NESTING} levels deep; split it up")
        node = self.binary(0)
        if self.tok.kind == "?":
            q = self.next()
            then = self.binary(0)
            hint = "; wrap a conditional inside the middle branch in parentheses" if self.tok.kind == "?" else ""
            colon = self.expect(":", "':' (the else branch of 'condition ? a : b')", hint)
            node = Conditional(q.pos, node, then, self.expr(), colon.pos)
        self.depth -= 1
        return node

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        ops = _BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while self.tok.kind in ops:
            op = self.next()
            left = Binary(op.pos, op.kind, left, self.binary(level + 1))
        return left

    def unary(self) -> Node:
        # CEL: a run of '!' or a run of '-' applies to a member expression; a single '-'
        # directly before a number is part of the literal (that is how -9223372036854775808 fits).
        kind = self.tok.kind
        if kind == "!" or (kind == "-" and self.peek().kind not in ("int", "double")):
            ops = []
            while self.tok.kind == kind:
                ops.append(self.next())
            node = self.member()
            for op in reversed(ops):
                node = Unary(op.pos, op.kind, node)
            return node
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.tok.kind == ".":
                self.next()
                if self.tok.kind == "?":
                    raise _Fail(self.tok.pos, "optional selection '.?' is not supported in guards; test with has(x.f)")
                name = self.expect("ident", "a field name after '.'")
                if self.tok.kind == "(":
                    node = self.call(name, node)
                else:
                    node = Select(name.pos, node, name.text)
            elif self.tok.kind == "[":
                bracket = self.next()
                index = self.expr()
                self.expect("]", "']' to close the index")
                node = Index(bracket.pos, node, index)
            else:
                return node

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "-" and self.peek().kind in ("int", "double"):  # a signed number literal
            self.next()
            return self.number(self.next(), negative=True, pos=tok.pos)
        if tok.kind in ("int", "uint", "double"):
            return self.number(self.next(), negative=False, pos=tok.pos)
        if tok.kind in ("string", "bytes"):
            self.next()
            return Literal(tok.pos, tok.value, STRING if tok.kind == "string" else BYTES)
        if tok.kind in ("true", "false"):
            self.next()
            return Literal(tok.pos, tok.kind == "true", BOOL)
        if tok.kind == "null":
            self.next()
            return Literal(tok.pos, None, NULL)
        if tok.kind == "(":
            self.next()
            node = self.expr()
            self.expect(")", "')' to close the '('")
            return node
        if tok.kind == "[":
            self.next()
            items = self.sequence("]", self.expr, "list")
            return ListLit(tok.pos, tuple(items))
        if tok.kind == "{":
            self.next()
            return MapLit(tok.pos, tuple(self.sequence("}", self.map_entry, "map")))
        root = tok.kind == "." and self.peek().kind == "ident"
        if root:
            self.next()
        if self.tok.kind == "ident":
            if self.is_message():
                return self.message()
            name = self.next()
            if name.text in _RESERVED:
                raise _Fail(name.pos, f"'{name.text}' is a reserved word in CEL and cannot be a name; rename it")
            if self.tok.kind == "(":
                return self.call(name, None)
            return Ident(name.pos, name.text, root)
        hint = ""
        if tok.kind == "-":
            hint = "; put a negation after '!' in parentheses, like !(-x)"
        elif tok.kind == "!":
            hint = "; put a negation after '-' in parentheses, like -(!x)"
        elif tok.kind == ")" and self.toks[self.i - 1].kind == ",":
            hint = "; remove the trailing ','"
        raise self.fail("a value (a name, number, string, '(', '[' or '{')", hint)

    def number(self, tok: _Tok, negative: bool, pos: int) -> Literal:
        value = tok.value
        assert isinstance(value, (int, float))
        if tok.kind == "double":
            if value == float("inf"):
                raise _Fail(tok.pos, f"number {tok.text} is too large for a double")
            return Literal(pos, -value if negative else value, DOUBLE)
        if tok.kind == "uint":
            if value > _UINT64_MAX:
                raise _Fail(tok.pos, f"number {tok.text} does not fit in a 64-bit uint; use a smaller value")
            return Literal(pos, value, UINT)
        value = -value if negative else value
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise _Fail(tok.pos, f"number {tok.text} does not fit in a 64-bit int; use a smaller value or {tok.text}.0")
        return Literal(pos, value, INT)

    def sequence(self, close: str, item: Callable[[], object], what: str) -> list:
        """Items separated by ',' up to ``close``; CEL allows one trailing (even lone) ','."""
        items = []
        while self.tok.kind not in (close, ","):
            items.append(item())
            if self.tok.kind != ",":
                break
            self.next()
        if self.tok.kind == "," and not items:
            self.next()
        self.expect(close, f"',' or '{close}'", f"; close the {what} with '{close}'" if self.tok.kind == "eof" else "")
        return items

    def map_entry(self) -> tuple[Node, Node]:
        if self.tok.kind == "?":
            raise _Fail(self.tok.pos, "optional map entries '?key' are not supported in guards")
        key = self.expr()
        self.expect(":", "':' between a map key and its value")
        return key, self.expr()

    def is_message(self) -> bool:
        k = 0
        while self.peek(k + 1).kind == "." and self.peek(k + 2).kind == "ident":
            k += 2
        return self.peek(k + 1).kind == "{"

    def message(self) -> Node:
        first = self.next()
        parts = [first.text]
        while self.tok.kind == ".":
            self.next()
            parts.append(self.next().text)
        self.next()  # '{'

        def field_init() -> tuple[str, Node]:
            if self.tok.kind == "?":
                raise _Fail(self.tok.pos, "optional fields '?name' are not supported in guards")
            name = self.expect("ident", "a field name")
            self.expect(":", "':' after the field name")
            return name.text, self.expr()

        fields = self.sequence("}", field_init, "message")
        return MessageLit(first.pos, ".".join(parts), tuple(fields))

    def call(self, name: _Tok, target: Node | None) -> Node:
        self.next()  # '('
        args: list[Node] = []
        if self.tok.kind != ")":
            args.append(self.expr())
            while self.tok.kind == ",":
                self.next()
                args.append(self.expr())
        self.expect(")", "',' or ')' in the argument list")
        fn = name.text
        if target is None and fn == "has" and len(args) == 1:
            if not isinstance(args[0], Select):
                raise _Fail(_start(args[0]), "has() needs a field selection, like has(proposal.vendor)")
            return Has(name.pos, args[0])
        if target is not None and len(args) in _MACROS.get(fn, ()):
            if not isinstance(args[0], Ident):
                raise _Fail(_start(args[0]), f"{fn}() needs a plain variable name first, like list.{fn}(x, ...)")
            return Comprehension(name.pos, fn, target, args[0].name, tuple(args[1:]))
        return Call(name.pos, fn, target, tuple(args))


def parse(text: str) -> Node:
    """Parse a CEL expression into a syntax tree, raising ParseError at the first syntax error."""
    try:
        return _Parser(text).parse()
    except _Fail as e:
        raise ParseError(_locate(text, e.pos, e.message)) from None


# -------------------------------------------------------------------------- checker

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


def _start(node: Node) -> int:
    """Offset of the leftmost token of ``node``, for problems about a whole expression."""
    if isinstance(node, Unary):
        return node.pos
    for attr in ("left", "operand", "target", "cond"):
        child = getattr(node, attr, None)
        if isinstance(child, Node):
            return _start(child)
    return node.pos


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
