"""Release packages and record packages: the envelopes OCDS readers fetch.

A *release package* holds releases (here: every release of the chosen
processes, or those dated at or after ``--since``); a *record package*
holds one record per process: all of its releases, a ``compiledRelease``
(the current state) and a ``versionedRelease`` (every value with the
release that set it), both merged by ``ocdsmerge`` with the shipped 1.1.5
release schema (so it downloads nothing).

Byte-identical output for the same database and options: everything comes
from the entries (no clock is read), ``publishedDate`` is the date of the
latest release included, arrays are in a fixed order and JSON is written
with one fixed layout (:func:`dump`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .bids import BID_EXTENSION
from .validation import schema, validate

OCDS_VERSION = "1.1"
EXTENSION_PATH = "ocds/extension/extension.json"


@dataclass(frozen=True)
class Envelope:
    """The package metadata the city's ``open_data`` settings give."""

    publisher_name: str
    publisher_uri: str | None
    base_uri: str
    license: str

    @property
    def extension_url(self) -> str:
        return f"{self.base_uri}/{EXTENSION_PATH}"

    def publisher(self) -> dict[str, str]:
        out = {"name": self.publisher_name}
        if self.publisher_uri:
            out["uri"] = self.publisher_uri
        return out

    def uri(self, feed: str, ids: Sequence[str], since: str | None) -> str:
        """The package's URI: the feed it is a page of, with the options that chose its contents."""
        query = [("id", i) for i in ids] + ([("since", since)] if since else [])
        return f"{self.base_uri}/ocds/{feed}" + (f"?{urlencode(query)}" if query else "")


@functools.cache
def _merger() -> Any:
    from ocdsmerge import Merger

    return Merger(schema=schema("release"))


def _extensions(envelope: Envelope, releases: Iterable[dict[str, Any]]) -> list[str]:
    out = [envelope.extension_url]
    if any("bids" in r for r in releases):
        out.append(BID_EXTENSION)
    return out


def _published(releases: Iterable[dict[str, Any]]) -> str:
    return max(r["date"] for r in releases)


def release_package(
    envelope: Envelope, releases: list[dict[str, Any]], *, ids: Sequence[str] = (), since: str | None = None
) -> dict[str, Any]:
    """A validated release package of ``releases`` (at least one), oldest first."""
    ordered = sorted(releases, key=lambda r: (r["date"], r["ocid"], r["id"]))
    package = {
        "uri": envelope.uri("releases", ids, since),
        "version": OCDS_VERSION,
        "extensions": _extensions(envelope, ordered),
        "publishedDate": _published(ordered),
        "publisher": envelope.publisher(),
        "license": envelope.license,
        "releases": ordered,
    }
    validate(package, "release-package")
    return package


def record(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """One process's record: its releases, the compiled release and the versioned release."""
    merger = _merger()
    return {
        "ocid": releases[0]["ocid"],
        "releases": releases,
        "compiledRelease": merger.create_compiled_release(releases),
        "versionedRelease": merger.create_versioned_release(releases),
    }


def record_package(
    envelope: Envelope, records: list[dict[str, Any]], *, ids: Sequence[str] = (), since: str | None = None
) -> dict[str, Any]:
    """A validated record package of ``records`` (at least one), by ocid."""
    ordered = sorted(records, key=lambda r: r["ocid"])
    every = [r for rec in ordered for r in rec["releases"]]
    package = {
        "uri": envelope.uri("records", ids, since),
        "version": OCDS_VERSION,
        "extensions": _extensions(envelope, every),
        "publishedDate": _published(every),
        "publisher": envelope.publisher(),
        "license": envelope.license,
        "records": ordered,
    }
    validate(package, "record-package")
    return package


def dump(document: Any) -> bytes:
    """The one layout every file is written in: UTF-8, two-space indent, keys in built order, final newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
