"""Parse and type-check CEL guard expressions without importing a CEL runtime.

Guards run under the Rust-backed ``cel`` package (``common-expression-language``),
but that package has no type checker and costs ~200 ms to import, which is too
slow for ``pathways validate`` on every save.  This package is a small,
standard-library-only replacement for the *static* half of CEL: a tokenizer
(:mod:`.lexer`) and recursive-descent parser (:mod:`.parser`) that follow the
grammar in cel-spec ``langdef.md`` (including the quirks of the reference ANTLR
grammar, so that we accept exactly what CEL accepts) and build a syntax tree
(:mod:`.syntax`), and a checker (:mod:`.checker`) that approximates CEL's type
rules (:mod:`.types`) against a declared environment.  Every problem carries a
1-based line and column inside the expression text so editors can point at the
offending token.
"""

from .checker import check, check_guard
from .parser import ParseError, parse
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
    Prim,
)

__all__ = [
    # types
    "BOOL",
    "BYTES",
    "DOUBLE",
    "DURATION",
    "DYN",
    "INT",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "TYPE",
    "UINT",
    "CelType",
    "ExprProblem",
    "ListType",
    "MapType",
    "ObjectType",
    "Prim",
    # syntax tree
    "Binary",
    "Call",
    "Comprehension",
    "Conditional",
    "Has",
    "Ident",
    "Index",
    "ListLit",
    "Literal",
    "MapLit",
    "MessageLit",
    "Node",
    "Select",
    "Unary",
    # parsing and checking
    "ParseError",
    "check",
    "check_guard",
    "parse",
]
