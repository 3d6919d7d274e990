"""Safe YAML reading that remembers where every value came from.

PyYAML's ``safe_load`` loses positions, accepts duplicate keys silently (the
last one wins: a later ``roles:`` would quietly replace an earlier one) and
reads YAML 1.1 words such as ``no`` and ``on`` as booleans. A procurement
officer editing a definition needs each of those pointed at by line, so we
*compose* the node graph (which never runs code and keeps marks) and build
plain Python values from it ourselves:

* only the JSON-like core tags are accepted; ``!!python/...`` or any other
  tag is refused at its line and never constructed;
* duplicate keys are errors at the second key;
* ``yes/no/on/off`` are kept as strings and flagged, because YAML 1.1 tools
  read them as booleans (python-statemachine's reader does the same);
* timestamps stay strings (dates are validated by the field types);
* aliases are expanded with a node budget, so a "billion laughs" document is
  refused in milliseconds instead of exhausting memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Problem

#: Largest number of values a document may expand to, aliases included.
MAX_NODES = 50_000

Path = tuple[Any, ...]

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_TRUE_FALSE = {"true": True, "false": False}
#: Plain-words fixes for the YAML parser's most common complaints.
_SYNTAX_HINTS = (
    ("'\\t'", ": YAML does not allow tabs for indentation; indent with spaces"),
    ("expected <block end>", ": check this line's indentation against the lines above it"),
    ("mapping values are not allowed here", ": a value containing ': ' must be quoted"),
    ("could not find expected ':'", ": a key needs ': ' after it (or quote the text)"),
    ("expected ',' or ']'", ": a [list] is not closed; add the ']'"),
    ("expected ',' or '}'", ": a {mapping} is not closed; add the '}'"),
)


@dataclass
class Document:
    """Plain data plus the 1-based (line, col) of every key and value."""

    path: str
    text: str
    data: Any = None
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    styles: dict[Path, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def at(self, path: Path) -> tuple[int, int]:
        """Position of the value at ``path``, or of its nearest located parent."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key_at(self, path: Path) -> tuple[int, int]:
        """Position of the key naming ``path`` (falls back to the value)."""
        return self.keys.get(path) or self.at(path)

    def problem(self, path: Path, message: str, severity: str = "error") -> None:
        """Record a problem at the value found at ``path``."""
        self.problem_at(self.at(path), message, severity)

    def problem_at(self, pos: tuple[int, int], message: str, severity: str = "error") -> None:
        """Record a problem at an explicit 1-based (line, col)."""
        self.problems.append(Problem(self.path, pos[0], pos[1], severity, message))

    def key_problem(self, path: Path, message: str, severity: str = "error") -> None:
        """Record a problem at the key naming ``path`` (unknown or misspelt keys)."""
        self.problem_at(self.key_at(path), message, severity)


class _TooBig(Exception):
    pass


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns a composed node graph into plain values, recording positions."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.budget = MAX_NODES
        self.scalars = SafeConstructor()

    def build(self, node: Node, path: Path) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooBig
        self.doc.values.setdefault(path, _pos(node))
        if node.tag not in _ALLOWED_TAGS:
            self.doc.problem_at(_pos(node), f"tag {node.tag.replace(_CORE, '!!')} is not allowed; "
                             "definitions hold plain values only (remove the tag)")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        return self.mapping(node, path)

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        self.doc.styles[path] = node.style
        tag, value = node.tag, node.value
        if tag == _CORE + "bool":
            if value.lower() in _TRUE_FALSE:
                return _TRUE_FALSE[value.lower()]
            self.doc.problem_at(_pos(node), f"'{value}' is a YAML 1.1 boolean to some tools and a string "
                             f"to others; write true/false, or quote it (\"{value}\") if you meant text",
                             "warning")
            return value
        if tag == _CORE + "int":
            return self.scalars.construct_yaml_int(node)
        if tag == _CORE + "float":
            return self.scalars.construct_yaml_float(node)
        if tag == _CORE + "null":
            return None
        if node.style is None and value.lower() in _YAML11_BOOLS:
            self.doc.problem_at(_pos(node), f"'{value}' is read as a boolean by YAML 1.1 tools; "
                             f"quote it (\"{value}\") if you meant text", "warning")
        return value

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _CORE + "null":
                self.doc.problem_at(_pos(key_node), "keys must be plain names")
                continue
            if key_node.value == "<<":
                self.doc.problem_at(_pos(key_node), "merge keys (<<) are not supported; write the keys out")
                continue
            key = key_node.value
            if key in out:
                first = self.doc.keys[path + (key,)]
                self.doc.problem_at(_pos(key_node), f"duplicate key '{key}' (first at line {first[0]}); "
                                 "YAML would silently keep only the last one — remove or rename one")
                continue
            self.doc.keys[path + (key,)] = _pos(key_node)
            out[key] = self.build(value_node, path + (key,))
        return out


def read(text: str, path: str) -> Document:
    """Parse one YAML document into a :class:`Document`; never raises for bad YAML."""
    doc = Document(path=path, text=text)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        ctx = exc.context_mark
        if ctx is not None and exc.problem_mark is not None and ctx.line != exc.problem_mark.line:
            what += f" (it started at line {ctx.line + 1}, column {ctx.column + 1})"
        what += next((fix for cause, fix in _SYNTAX_HINTS if cause in what), "")
        doc.problem_at((line, col), f"YAML syntax: {what}")
        return doc
    except yaml.YAMLError as exc:  # e.g. multiple documents
        doc.problem_at((1, 1), f"YAML: {str(exc).splitlines()[0]}")
        return doc
    except RecursionError:
        doc.problem_at((1, 1), "YAML nesting is too deep")
        return doc
    if root is None:
        doc.problem_at((1, 1), "the file is empty; a pathway definition is a mapping with id, version, stages ...")
        return doc
    try:
        doc.data = _Builder(doc).build(root, ())
    except _TooBig:
        doc.data = None
        doc.problem_at((1, 1), f"the document expands to more than {MAX_NODES} values "
                    "(aliases repeated too often?); refusing to read it")
    except RecursionError:
        doc.data = None
        doc.problem_at((1, 1), "YAML nesting is too deep (or an alias refers to itself)")
    return doc


def read_mapping(text: str, path: str) -> dict[str, Any]:
    """Proposal data from a YAML or JSON text: a mapping, or ``UsageError`` at the first problem.

    Read like a definition, so a duplicate key in a data file is refused at
    its line instead of silently keeping the last value.
    """
    from .errors import UsageError

    if not text.strip():
        return {}
    doc = read(text, path)
    errors = [p for p in doc.problems if p.severity == "error"]
    if errors:
        raise UsageError(str(errors[0]))
    if not isinstance(doc.data, dict):
        raise UsageError(f"{path}: expected a mapping of field: value")
    return doc.data
