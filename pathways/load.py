"""Reading pathway definitions: from a file to a validated ``Pathway``.

``check_file`` returns every problem (for ``pathways validate``);
``load`` returns the model or raises ``DefinitionError`` with all of them.
Both run the same stages, in order: YAML (located, safe), structure against
the JSON Schema, then the static rules of ``checks``. Rules run only on a
structurally valid document, so their messages never cascade from a typo.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from . import checks
from .canonical import canonical_bytes, sha256_hex
from .errors import DefinitionError, NotFound, Problem, UsageError
from .model import Pathway, build
from .structure import validate_structure
from .yamlsource import Document, read

SUFFIXES = (".yaml", ".yml")


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


def analyse(text: str, path: str) -> tuple[Pathway | None, list[Problem]]:
    """Run every check on definition text; the model comes back only if error-free."""
    doc: Document = read(text, path)
    if doc.data is not None and not any(p.severity == "error" for p in doc.problems):
        if not isinstance(doc.data, dict):
            doc.problem((), "a pathway definition is a mapping (id: ..., stages: ...), not a list or a value")
        else:
            validate_structure(doc)
    if any(p.severity == "error" for p in doc.problems) or not isinstance(doc.data, dict):
        return None, sorted(doc.problems)
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
            found = sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file())
            if not found:
                raise UsageError(f"{p}: no .yaml files in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise NotFound(f"{p}: no such file or folder")
    return out
