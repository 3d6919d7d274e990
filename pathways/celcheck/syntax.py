"""The syntax tree that :func:`pathways.celcheck.parser.parse` builds and the checker walks.

Frozen dataclasses, one per kind of CEL expression, each carrying the text
offset that problems about it are reported at; kept in their own module so the
parser and the checker share one definition of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import CelType


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


def _start(node: Node) -> int:
    """Offset of the leftmost token of ``node``, for problems about a whole expression."""
    if isinstance(node, Unary):
        return node.pos
    for attr in ("left", "operand", "target", "cond"):
        child = getattr(node, attr, None)
        if isinstance(child, Node):
            return _start(child)
    return node.pos


def fields_read(node: Node, root: str) -> set[str] | None:
    """The fields of variable ``root`` an expression selects (``proposal.value`` -> {"value"}), or None when
    it uses the variable whole (passes it, indexes it), so a caller must give all of it.

    The evaluator converts every value it is handed into CEL values first:
    handing a guard only the fields it reads is what keeps evaluation at a
    few microseconds on a proposal with many fields.
    """
    found: set[str] = set()

    def walk(n: object) -> bool:
        if isinstance(n, Select) and isinstance(n.operand, Ident) and n.operand.name == root:
            found.add(n.field)
            return True
        if isinstance(n, Ident):
            return n.name != root
        if isinstance(n, Node):
            return all(walk(getattr(n, f)) for f in n.__dataclass_fields__)
        if isinstance(n, tuple):
            return all(walk(x) for x in n)
        return True

    return found if walk(node) else None
