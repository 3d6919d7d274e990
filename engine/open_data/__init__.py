"""Open data: proposals published as Open Contracting Data Standard 1.1.5 releases and records.

One contracting process per proposal (``ocid`` = ``{prefix}-{proposal id}``),
one release per publicly visible change, each tied to the audit entry it
derives from (``auditEntry``: chain, seq, hash; the extension shipped in
``extension/``). :func:`publish` reads each chosen proposal in one snapshot
(``Engine.record``), after verifying its chain, builds its releases from the
entries (:mod:`.releases`, mapped by :mod:`.profiles`), merges its record
(:mod:`.packages`, ``ocdsmerge``), validates both packages against the shipped
1.1.5 schemas (:mod:`.validation`), runs the one disclosure check
(``engine.disclosure``) on every file (each process's part of it against that
proposal's confidential values and salts, the rest against all), and computes the red flags
(:mod:`.red_flags`). Nothing is written to the database: open data is a
rendering of the chains, like a report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pathways.city import OCID_PREFIX, City
from pathways.errors import PathwaysError, UsageError

from ..audit import timestamp
from ..disclosure import Needle, check
from ..report import report_needles
from .bids import TENDERER_FIELDS, Response, response_from_record
from .packages import Envelope, dump, record, record_package, release_package
from .red_flags import Flag, flags
from .releases import Builder, Publisher

if TYPE_CHECKING:
    from ..runtime import Engine

__all__ = ["Publication", "publish", "write"]

RELEASES_FILE = "release-package.json"
RECORDS_FILE = "record-package.json"
EXTENSION_FILES = ("extension.json", "release-schema.json", "README.md")
NO_SETTINGS = (
    "the city file has no open_data block: add publisher, base_uri, license and ocid_prefix "
    "(see README, 'Open data'), or pass --city FILE"
)


@dataclass(frozen=True)
class Publication:
    """What ``pathways ocds`` writes, and what it tells staff."""

    release_package: dict[str, Any]
    record_package: dict[str, Any]
    #: Every file by relative path, as written (each passed the disclosure check).
    files: dict[str, bytes]
    flags: list[Flag] = field(default_factory=list)

    @property
    def processes(self) -> int:
        return len(self.record_package["records"])

    @property
    def releases(self) -> int:
        return len(self.release_package["releases"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "releases": self.releases,
            "publishedDate": self.release_package["publishedDate"],
            "files": sorted(self.files),
            "flags": [f.as_dict() for f in self.flags],
        }


def since_time(text: str | None) -> str | None:
    """``--since``: an ISO date (UTC midnight) or a date-time, as an entry timestamp to compare with."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text}: not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return timestamp(moment.astimezone(dt.UTC))


def _envelope(city: City, prefix: str | None) -> tuple[Envelope, str]:
    settings = city.open_data
    if settings is None:
        raise UsageError(NO_SETTINGS)
    chosen = prefix or settings.ocid_prefix
    if not OCID_PREFIX.fullmatch(chosen):
        raise UsageError(
            f"--prefix {chosen}: not an ocid prefix; write 'ocds-' and six lower-case letters or "
            "digits, e.g. ocds-abc123"
        )
    return Envelope(settings.publisher_name, settings.publisher_uri, settings.base_uri, settings.license), chosen


def extension_files(base_uri: str) -> dict[str, bytes]:
    """The shipped extension, its documentation URL under the city's base URI (``extension/`` in the output)."""
    folder = resources.files("engine.open_data").joinpath("extension")
    out = {}
    for name in EXTENSION_FILES:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        out[f"extension/{name}"] = text.replace("{base_uri}", base_uri).encode("utf-8")
    return out


def _check(files: dict[str, bytes], needles: list[Needle]) -> None:
    """The one disclosure check (``engine.disclosure``), worded for open data."""
    check(
        files,
        needles,
        what="open data",
        advice="Open data carries only public fields; a confidential value in one means it was also written "
        "into public text (a title, a description): correct that field with a transition",
    )


def _response_needles(case: Any) -> list[Needle]:
    """A response's confidential values (a bid's pricing details), held to its opportunity's files: its bid is
    published there. A field only sealed (a bid's price) is public once opened, read aloud at the opening (Tex.
    Loc. Gov't Code §252.043), and may rightly equal a public value (the award amount is the winning price);
    before the opening ``Engine.record`` withholds it from everyone, this check included. Open data never reads
    either kind (both count as confidential for the release builder)."""
    pathway = case.pathway
    sealed_only = {n for n in pathway.sealed if not pathway.fields[n].confidential}
    secrets = [s for s in case.secrets if s["field"] not in sealed_only]
    return report_needles(pathway, secrets, [json.loads(e.body) for e in case.entries], case.shown["data"])


def publish(
    engine: Engine,
    city: City,
    ids: Sequence[str] = (),
    *,
    every: bool = False,
    prefix: str | None = None,
    since: str | None = None,
    responses: dict[str, list[Response]] | None = None,
) -> Publication:
    """Build, validate and check the packages for ``ids`` (or every proposal with ``every``).

    ``responses`` maps an opportunity's id to its responses (``bids.py``); by default each opportunity's
    own responses are read, and a response is not published as a process of its own.
    """
    if bool(ids) == every:
        raise UsageError("name the proposals to publish (ID...) or pass --all, not both")
    envelope, chosen = _envelope(city, prefix)
    cutoff = since_time(since)
    # A response (a bid, an entry) is published inside its opportunity's process, as one of its bids.
    chosen_ids = sorted(dict.fromkeys(ids)) if ids else [p["id"] for p in engine.list() if "parent" not in p]
    if not chosen_ids:
        raise PathwaysError("nothing to publish: the database has no proposals")
    engine.verify(list(ids))  # every chain (and the registry) with --all; the releases rest on verified entries
    publisher = Publisher(city.name, city.currency, city.zone)
    releases: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    needles: list[Needle] = []
    for pid in chosen_ids:
        rec = engine.record(pid)
        own = report_needles(rec.pathway, rec.secrets, [json.loads(r.body) for r in rec.entries], rec.shown["data"])
        answers = (responses or {}).get(pid)
        if answers is None and rec.pathway.responses is not None:
            answers = []
            for r in rec.shown.get("responses", []):
                case = engine.record(r["id"])
                answers.append(response_from_record(case, tenderer_field=TENDERER_FIELDS))
                own += _response_needles(case)
        builder = Builder(rec.pathway, f"{chosen}-{pid}", publisher, answers)
        made = builder.releases(rec.entries)
        recent = [r for r in made if cutoff is None or r["date"] >= cutoff]
        if not recent:
            continue
        merged = record(made)
        # A process's part of each file, as it is written there (only the indentation differs), against its own
        # confidential values: linear in the proposals, where every file against every proposal's values would
        # be quadratic (bench/bench_ocds.py). The needles are the ones a public bundle of the proposal is held to.
        _check(
            {f"{RELEASES_FILE} ({pid}'s releases)": dump(recent), f"{RECORDS_FILE} ({pid}'s record)": dump(merged)}, own
        )
        releases += recent
        records.append(merged)
        needles += own
    if not releases:
        raise PathwaysError(
            f"nothing to publish: no release since {since}"
            if since
            else "nothing to publish: the proposals have no public change yet"
        )
    shown_ids = chosen_ids if ids else []
    package = release_package(envelope, releases, ids=shown_ids, since=cutoff)
    records_package = record_package(envelope, records, ids=shown_ids, since=cutoff)
    files = {RELEASES_FILE: dump(package), RECORDS_FILE: dump(records_package), **extension_files(envelope.base_uri)}
    # What each file holds besides the processes' parts (the envelope from the city's settings, the extension)
    # against every proposal's values.
    envelopes = {
        name: dump({k: v for k, v in doc.items() if k not in ("releases", "records")})
        for name, doc in ((RELEASES_FILE, package), (RECORDS_FILE, records_package))
    }
    _check({**envelopes, **{n: c for n, c in files.items() if n.startswith("extension/")}}, needles)
    raised = [f for rec_ in records_package["records"] for f in flags(rec_["compiledRelease"])]
    return Publication(package, records_package, files, raised)


def write(publication: Publication, folder: str | os.PathLike[str]) -> list[Path]:
    """Write every file under ``folder`` (created if missing), each replaced whole (write, then rename),
    so a reader serving the folder never sees half a package. Returns the paths written."""
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise UsageError(f"-o {folder}: exists and is not a folder")
    written = []
    try:
        for name, content in sorted(publication.files.items()):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            staging = path.with_name(f".{path.name}.tmp")
            staging.write_bytes(content)
            os.replace(staging, path)
            written.append(path)
    except OSError as exc:
        raise UsageError(f"-o {folder}: cannot write ({exc.strerror})") from None
    return written
