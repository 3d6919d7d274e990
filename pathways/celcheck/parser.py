"""The recursive-descent CEL parser: tokens to a syntax tree, or a located ParseError.

It follows the grammar in cel-spec ``langdef.md``, including the quirks of the
reference ANTLR grammar, so that we accept exactly what CEL accepts; macros
(``has``, ``all``, ``exists``, ``exists_one``, ``filter``, ``map``) are expanded
into their own nodes here.
"""

from __future__ import annotations

from collections.abc import Callable

from .lexer import _RESERVED, _Fail, _locate, _Tok, _tokenize
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
from .types import BOOL, BYTES, DOUBLE, INT, NULL, STRING, UINT, ExprProblem


class ParseError(ValueError):
    """Raised by :func:`parse`; ``problem`` locates the first syntax error."""

    def __init__(self, problem: ExprProblem) -> None:
        super().__init__(f"{problem.line}:{problem.col}: {problem.message}")
        self.problem = problem


_BINARY_LEVELS = (("||",), ("&&",), ("<", "<=", ">", ">=", "==", "!=", "in"), ("+", "-"), ("*", "/", "%"))
_MACROS = {"all": (2,), "exists": (2,), "exists_one": (2,), "filter": (2,), "map": (2, 3)}
_MAX_NESTING = 40  # keeps the recursive parser far from Python's recursion limit
_INT64_MAX, _UINT64_MAX = 2**63 - 1, 2**64 - 1


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
