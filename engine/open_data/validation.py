"""Validate OCDS packages against the official 1.1.5 schemas, offline.

The schemas ship inside the package (``schema/``, with their Apache-2.0
notice): no library on PyPI bundles them, and ``ocdsmerge``, ``libcoveocds``
and ``ocdskit`` try to download them otherwise. The package schemas ``$ref``
the release and versioned-release schemas by their ``id`` URLs
(``https://standard.open-contracting.org/schema/1__1__5/...``); a
``referencing`` registry maps those URLs to the local files, so nothing is
fetched. OCDS 1.1 is written in JSON Schema Draft 4, hence ``Draft4Validator``
(about 7 ms a package here, DESIGN.md).

Formats (``date-time``, ``uri``) are not checked, as in the standard's own
tooling by default; the builder writes RFC 3339 times and absolute URLs.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from ..errors import InvalidOpenData

VERSION = "1.1.5"
#: The schema files, by what they describe.
FILES = {
    "release": "release-schema-1.1.5.json",
    "release-package": "release-package-schema-1.1.5.json",
    "record-package": "record-package-schema-1.1.5.json",
    "versioned-release": "versioned-release-validation-schema-1.1.5.json",
}


def schema(name: str) -> dict[str, Any]:
    """One of the shipped schemas, parsed (``release``, ``release-package``, ``record-package``, ...)."""
    return json.loads(_text(FILES[name]))


@functools.cache
def _text(filename: str) -> str:
    return resources.files("engine.open_data").joinpath("schema", filename).read_text(encoding="utf-8")


@functools.cache
def _validator(name: str) -> Any:
    """A Draft 4 validator for ``name`` whose ``$ref`` URLs resolve to the shipped files (built once)."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    resources_ = [Resource.from_contents(schema(n), default_specification=DRAFT4) for n in FILES]
    registry = Registry().with_resources((r.contents["id"], r) for r in resources_)
    return Draft4Validator(schema(name), registry=registry)


def problems(document: Any, name: str) -> list[str]:
    """Every schema error of ``document`` against schema ``name``, each as ``/json/path: message``."""
    out = []
    for error in sorted(_validator(name).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        out.append(f"{path}: {error.message}")
    return out


def validate(document: Any, name: str) -> None:
    """Raise :class:`InvalidOpenData` naming every failing path, or return quietly."""
    found = problems(document, name)
    if found:
        raise InvalidOpenData(
            f"the {name.replace('-', ' ')}",
            found[:20] + ([f"... and {len(found) - 20} more"] if len(found) > 20 else []),
        )
