"""Reading pathway definitions: from a file to a validated ``Pathway``.

``check_file`` returns every problem (for ``pathways validate``);
``load`` returns the model or raises ``DefinitionError`` with all of them.
Both run the same stages, in order: YAML (located, safe), structure against
the JSON Schema, then the static rules of ``checks``. A document with
structural errors still gets the rules, on the parts that are structurally
valid (:func:`_salvage`): a broken transition does not hide a guard error in
another one. Parts that are broken are left out or stood in for, and the
rules that would report their absence (reachability, roles, deadlines) are
skipped, so no message cascades from a typo.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import checks
from .canonical import canonical_bytes, sha256_hex
from .errors import DefinitionError, NotFound, Problem, UsageError
from .model import Pathway, build
from .structure import validate_structure
from .yamlsource import Document, read
from .yamlsource import Path as DocPath

SUFFIXES = (".yaml", ".yml")
#: The city's settings file, beside the definitions: not a pathway (see ``city.py``).
CITY_FILE = "city.yaml"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder; give a .yaml file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None


def canonical_form(pathway: Pathway) -> bytes:
    """The bytes a pathway's sha256 is taken over: RFC 8785 JSON of its parsed definition.

    Exported with every bundle (``pathway.json``), so a reviewer with nothing
    but Python can tie the rules to the sha256 each audit entry names.
    """
    return canonical_bytes(read(pathway.source, pathway.path).data)


_PLACEHOLDERS: dict[str, Any] = {"id": "x", "version": 1, "title": "x", "kind": "x", "summary": "x",
                                  "legal_basis": [], "roles": {}, "fields": {}, "stages": {}, "transitions": []}
_UNIT_STAND_INS: dict[str, Any] = {"roles": "", "fields": {"type": "string"}, "stages": {}, "limits": 0}


def _salvage(doc: Document, bad: list[DocPath]) -> tuple[Document, checks.Broken] | None:
    """The structurally valid parts of ``doc`` as a document the rules can run on, or None.

    Broken top-level values get placeholders; a broken role, field, stage or
    limit a stand-in (so names still resolve: one broken stage is not also
    "not a stage" everywhere it is named); a broken transition is left out.
    Positions are re-keyed so every rule's problem still lands on its line.
    """
    data = copy.deepcopy(doc.data)
    broken = checks.Broken()
    dropped: set[int] = set()
    for path in bad:
        if not path:
            return None
        top = path[0]
        if top in _PLACEHOLDERS and len(path) == 1 or top in ("id", "version", "title", "kind", "summary",
                                                                  "legal_basis"):
            data[top] = copy.deepcopy(_PLACEHOLDERS[top])
            if top in ("roles", "fields", "stages", "transitions"):
                broken.containers.add(top)
        elif top == "limits" and len(path) == 1:
            data[top] = {}
            broken.containers.add(top)
        elif top == "initial":
            broken.initial = True
        elif top in _UNIT_STAND_INS:
            data[top][path[1]] = copy.deepcopy(_UNIT_STAND_INS[top])
            broken.units.add((top, path[1]))
        elif top == "transitions" and isinstance(path[1], int):
            dropped.add(path[1])
        else:  # a key the language does not have
            data.pop(top, None)
    if broken.initial or not isinstance(data.get("initial"), str):
        broken.initial = True
        data["initial"] = next(iter(data.get("stages") or {}), "")
    for key, value in _PLACEHOLDERS.items():
        data.setdefault(key, copy.deepcopy(value))
    if dropped and "transitions" not in broken.containers:
        broken.transitions = True
        data["transitions"] = [t for i, t in enumerate(data["transitions"]) if i not in dropped]
    original = doc.data.get("transitions")
    count = len(original) if isinstance(original, list) else 0
    new_index = {old: new for new, old in enumerate(i for i in range(count) if i not in dropped)}

    def rekey(table: dict[DocPath, Any]) -> dict[DocPath, Any]:
        out = {}
        for key, value in table.items():
            if len(key) >= 2 and key[0] == "transitions" and isinstance(key[1], int):
                if key[1] not in new_index:
                    continue
                key = ("transitions", new_index[key[1]], *key[2:])
            out[key] = value
        return out

    view = Document(doc.path, doc.text, data, rekey(doc.values), rekey(doc.keys), rekey(doc.styles))
    check = Document(doc.path, doc.text, data)
    validate_structure(check)
    if check.problems:  # the stand-ins did not make it valid: report the structure alone
        return None
    broken.positions = {pos for table in (doc.values, doc.keys) for key, pos in table.items()
                        if len(key) >= 2 and (key[0], key[1]) in broken.units}
    return view, broken


def analyse(text: str, path: str) -> tuple[Pathway | None, list[Problem]]:
    """Run every check on definition text; the model comes back only if error-free."""
    doc: Document = read(text, path)
    bad: list[DocPath] = []
    if doc.data is not None and not any(p.severity == "error" for p in doc.problems):
        if not isinstance(doc.data, dict):
            doc.problem((), "a pathway definition is a mapping (id: ..., stages: ...), not a list or a value")
        else:
            bad = validate_structure(doc)
    if any(p.severity == "error" for p in doc.problems) or not isinstance(doc.data, dict):
        salvaged = _salvage(doc, bad) if bad and isinstance(doc.data, dict) else None
        if salvaged is not None:
            view, broken = salvaged
            partial = build(view.data, "", source=text, path=path)
            checks.run_all(partial, view, broken)
            doc.problems.extend(p for p in view.problems if (p.line, p.col) not in broken.positions)
        return None, sorted(set(doc.problems))
    sha = sha256_hex(canonical_bytes(doc.data))
    pathway = build(doc.data, sha, source=text, path=path)
    checks.run_all(pathway, doc)
    problems = sorted(set(doc.problems))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return pathway, problems


def check_file(path: str | os.PathLike[str]) -> tuple[Pathway | None, list[Problem]]:
    """Read and check one file; unreadable files raise ``UsageError``."""
    return analyse(_read_text(Path(path)), str(path))


def load(path: str | os.PathLike[str]) -> Pathway:
    """Load a definition, or raise ``DefinitionError`` listing every error."""
    pathway, problems = check_file(path)
    if pathway is None:
        raise DefinitionError(problems)
    return pathway


def loads(text: str, path: str = "<text>") -> Pathway:
    """Like ``load`` for definition text already in memory (stored versions)."""
    pathway, problems = analyse(text, path)
    if pathway is None:
        raise DefinitionError(problems)
    return pathway


def expand(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files and folders (searched recursively for *.yaml, *.yml) as files."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file() and f.name != CITY_FILE)
            if not found:
                raise UsageError(f"{p}: no .yaml files in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise NotFound(f"{p}: no such file or folder")
    return out
