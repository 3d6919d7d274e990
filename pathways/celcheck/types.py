"""The static types of CEL values, as the guard checker reasons about them.

These are the checker's own small, hashable descriptions of CEL types (not the
run-time values the ``cel`` package evaluates), plus :class:`ExprProblem`, the
located problem that the parser and checker report.  They live apart from the
parser and checker because they are the vocabulary both share, and the one the
declared guard environment (``pathways.env``) is written in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


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


@dataclass(frozen=True)
class ExprProblem:
    line: int
    col: int
    message: str
