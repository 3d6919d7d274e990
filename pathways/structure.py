"""Structural validation against the committed JSON Schema, with located errors.

``pathway.schema.json`` is the one definition of the language: editors use it
to complete and underline as officers type, and this module walks the same
file to report problems at the offending node's own line. It implements the
small subset of JSON Schema the language uses (type, properties, required,
additionalProperties, propertyNames, enum, pattern, minimum, maximum, minItems,
minLength, minProperties, items, $ref), so that every message can say what
is wrong in the officer's words and suggest a fix ("did you mean ...").
A test checks the shipped schema against the official metaschema and that
``jsonschema`` agrees with this walker on the shipped definitions.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from .yamlsource import Document, Path

_TYPE_NAMES = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


@cache
def schema() -> dict[str, Any]:
    """The language's JSON Schema, read from the installed package."""
    text = resources.files("pathways").joinpath("pathway.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _is(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the text '{value}'"


def where(path: Path) -> str:
    """A path in the officer's words: ``stages.screening.deadline``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the document"


def hint(word: str, choices: list[str]) -> str:
    """A "did you mean" suffix, empty when nothing is close."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Walker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.root = schema()
        self.bad: list[Path] = []  # where each problem is: the parts that cannot be trusted

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        self.bad.append(path)
        (self.doc.key_problem if key else self.doc.problem)(path, message)

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            ref = node["$ref"].removeprefix("#/").split("/")
            node = self.root
            for part in ref:
                node = node[part]
        return node

    def walk(self, value: Any, node: dict[str, Any], path: Path) -> None:
        node = self.resolve(node)
        kinds = node.get("type")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not any(_is(value, k) for k in kinds):
                wanted = " or ".join(_TYPE_NAMES[k] for k in kinds)
                self.problem(path, f"{where(path)} should be {wanted}, not {_describe(value)}")
                return
        if "enum" in node and value not in node["enum"]:
            allowed = ", ".join(map(str, node["enum"]))
            self.problem(path, f"{where(path)} is '{value}', which is not one of: {allowed}"
                             + (hint(value, node["enum"]) if isinstance(value, str) else ""))
        if isinstance(value, str):
            self.string(value, node, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in node and value < node["minimum"]:
                self.problem(path, f"{where(path)} must be at least {node['minimum']}, not {value}")
            if "maximum" in node and value > node["maximum"]:
                self.problem(path, f"{where(path)} must be at most {node['maximum']:,}, not {value:,}")
        elif isinstance(value, list):
            self.array(value, node, path)
        elif isinstance(value, dict):
            self.mapping(value, node, path)

    def string(self, value: str, node: dict[str, Any], path: Path) -> None:
        if len(value.strip()) < node.get("minLength", 0):
            self.problem(path, f"{where(path)} must not be empty")
        if "pattern" in node and not re.search(node["pattern"], value):
            self.problem(path, f"'{value}' is not a valid name for {where(path)}: use lower-case "
                             "letters, digits and '_', starting with a letter")

    def array(self, value: list[Any], node: dict[str, Any], path: Path) -> None:
        if len(value) < node.get("minItems", 0):
            self.problem(path, f"{where(path)} needs at least {node['minItems']} item(s)")
        if "items" in node:
            for i, item in enumerate(value):
                self.walk(item, node["items"], path + (i,))

    def mapping(self, value: dict[str, Any], node: dict[str, Any], path: Path) -> None:
        props: dict[str, Any] = node.get("properties", {})
        if len(value) < node.get("minProperties", 0):
            self.problem(path, f"{where(path)} needs at least {node['minProperties']} entry")
        for key in node.get("required", []):
            if key not in value:
                self.problem(path, f"{where(path)} is missing the required key '{key}'")
                self.bad[-1] = path + (key,)
        names = node.get("propertyNames", {}).get("pattern")
        extra = node.get("additionalProperties", True)
        for key, item in value.items():
            sub = path + (key,)
            if key in props:
                self.walk(item, props[key], sub)
                continue
            if extra is False:
                allowed = ", ".join(props)
                self.problem(sub, f"unknown key '{key}' in {where(path)}{hint(key, list(props))}; "
                             f"allowed: {allowed}", key=True)
                continue
            if names and not re.search(names, key):
                self.problem(sub, f"'{key}' is not a valid name in {where(path)}: use lower-case "
                             "letters, digits and '_', starting with a letter", key=True)
            if isinstance(extra, dict):
                self.walk(item, extra, sub)


def validate_structure(doc: Document) -> list[Path]:
    """Append to ``doc.problems`` every place where the data breaks the schema; return their paths."""
    walker = _Walker(doc)
    walker.walk(doc.data, schema(), ())
    return walker.bad
