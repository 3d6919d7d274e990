"""The city's own settings, in one file: ``city.yaml`` (name, time zone, currency, calendar).

Settings that belong to the city and not to a pathway live here, read and
validated like a definition (located problems, the same safe YAML reader),
so that every face shows the same local times and amounts. Which file:
``--city FILE`` or ``$PATHWAYS_CITY``, else ``city.yaml`` in the current
folder (beside the definitions), else the shipped default (the demo's Austin);
``pathways validate`` checks a ``city.yaml`` it finds in a folder as a city
file, not as a pathway. ``open_data`` (optional) makes the city an
OCDS publisher: publisher name and URI, base URI, licence and ocid prefix
(:class:`OpenData`). The optional ``calendar:`` block (holidays and city
closures, ``pathways/calendar.py``) decides deadlines: its own sha256 is
recorded with each deadline it sets. Later blocks (the transparency log's
origin, the mail sender) are added here as they are built; a value from this
file that decides something on the record has a sha256 recorded with it, as
pathways have theirs.

The chain and every ``--json`` shape keep canonical strings and UTC; only
text for people is localised (``display.py``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import calendar as _calendar
from .calendar import Calendar
from .canonical import canonical_bytes, sha256_hex
from .errors import DefinitionError, Problem, UsageError
from .structure import hint
from .yamlsource import read

FILE_NAME = "city.yaml"
DEFAULT = "city.default.yaml"  # shipped with the package (the demo's Austin)
ENV = "PATHWAYS_CITY"
KEYS = ("name", "time_zone", "currency")
OPTIONAL = ("open_data", "calendar")
OPEN_DATA_KEYS = ("publisher", "base_uri", "license", "ocid_prefix")
PUBLISHER_KEYS = ("name", "uri")
_CURRENCY = re.compile(r"[A-Z]{3}")
#: An OCDS ocid prefix: ``ocds-`` and the six characters the Open Contracting Partnership assigns
#: (lower-case letters and digits; standard.open-contracting.org, "Identifiers", ocid prefixes).
OCID_PREFIX = re.compile(r"ocds-[a-z0-9]{6}")
_URL = re.compile(r"https?://[^\s/?#]+(?:/[^\s?#]*)?(?:\?[^\s#]*)?")


@dataclass(frozen=True)
class OpenData:
    """The city as a publisher of open contracting data (``pathways ocds``).

    ``base_uri`` is where the city serves what ``pathways ocds -o DIR`` writes
    (``DIR`` at ``{base_uri}/ocds/``): package URIs and the extension's URL are
    built from it. ``ocid_prefix`` is the prefix the Open Contracting Partnership
    registered for the city; every process is ``{prefix}-{proposal id}``.
    """

    publisher_name: str
    publisher_uri: str | None
    base_uri: str
    license: str
    ocid_prefix: str


@dataclass(frozen=True)
class City:
    """A validated city configuration."""

    name: str
    time_zone: str
    currency: str
    sha256: str
    path: str
    #: The ``open_data`` block, or None when the file has none (``pathways ocds`` then says what to add).
    open_data: OpenData | None = None
    #: Holidays and closures for business days; without a ``calendar:`` block, weekends only (in the city's zone).
    calendar: Calendar = _calendar.WEEKENDS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def check(text: str, path: str) -> tuple[City | None, list[Problem]]:
    """Every problem of a city file, located; the City when there are no errors."""
    doc = read(text, path)
    data = doc.data
    if doc.problems and any(p.severity == "error" for p in doc.problems):
        return None, sorted(doc.problems)
    if not isinstance(data, dict):
        doc.problem((), "a city file is a mapping: name, time_zone, currency")
        return None, sorted(doc.problems)
    for key in data:
        if key not in KEYS + OPTIONAL:
            doc.key_problem((key,), f"unknown key '{key}' in the city file{hint(str(key), [*KEYS, *OPTIONAL])}; "
                            f"known keys: {', '.join(KEYS + OPTIONAL)}")
    for key in KEYS:
        if key not in data:
            doc.problem((), f"'{key}' is required (e.g. name: City of Austin, time_zone: America/Chicago, "
                        "currency: USD)")
        elif not isinstance(data[key], str) or not data[key].strip():
            doc.problem((key,), f"'{key}' must be text")
    zone = data.get("time_zone")
    if isinstance(zone, str) and zone.strip():
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            doc.problem(("time_zone",), f"'{zone}' is not a time zone name; write an IANA name such as "
                        "America/Chicago or Europe/Madrid")
    currency = data.get("currency")
    if isinstance(currency, str) and not _CURRENCY.fullmatch(currency):
        doc.problem(("currency",), f"'{currency}' is not an ISO 4217 code; write three capital letters, e.g. USD")
    open_data = _open_data(doc, data["open_data"]) if "open_data" in data else None
    zoned = isinstance(zone, str) and not any(p.severity == "error" for p in doc.problems)
    calendar = _calendar.Calendar(zone) if zoned else None
    if "calendar" in data:
        calendar = _calendar.check(doc, data["calendar"], zone if zoned else "UTC")
    problems = sorted(doc.problems)
    if any(p.severity == "error" for p in problems) or calendar is None:
        return None, problems
    return City(data["name"], data["time_zone"], data["currency"], sha256_hex(canonical_bytes(data)), path,
                open_data, calendar), problems


def _url(doc: Any, path: tuple[str, ...], value: Any, example: str) -> str | None:
    """An absolute http(s) URL, or a located problem."""
    where = ".".join(path)
    if not isinstance(value, str) or not value.strip():
        doc.problem(path, f"'{where}' must be text: an absolute URL such as {example}")
        return None
    if not _URL.fullmatch(value):
        doc.problem(path, f"'{where}': '{value}' is not an absolute http(s) URL; write one such as {example}")
        return None
    return value


def _open_data(doc: Any, block: Any) -> OpenData | None:
    """The ``open_data`` block checked key by key (every problem located); None when it has errors."""
    top = ("open_data",)
    if not isinstance(block, dict):
        doc.problem(top, "'open_data' is a mapping: publisher, base_uri, license, ocid_prefix")
        return None
    before = len(doc.problems)
    for key in block:
        if key not in OPEN_DATA_KEYS:
            doc.key_problem((*top, key), f"unknown key '{key}' in open_data{hint(str(key), list(OPEN_DATA_KEYS))}; "
                            f"known keys: {', '.join(OPEN_DATA_KEYS)}")
    for key in OPEN_DATA_KEYS:
        if key not in block:
            doc.problem(top, f"'open_data.{key}' is required (e.g. publisher: {{name: City of Austin}}, "
                        "base_uri: https://data.example.gov/procurement, "
                        "license: https://creativecommons.org/publicdomain/zero/1.0/, ocid_prefix: ocds-abc123)")
    publisher = block.get("publisher")
    name = uri = None
    if "publisher" in block:
        if not isinstance(publisher, dict):
            doc.problem((*top, "publisher"), "'open_data.publisher' is a mapping: name, and optionally uri")
        else:
            for key in publisher:
                if key not in PUBLISHER_KEYS:
                    doc.key_problem((*top, "publisher", key), f"unknown key '{key}' in open_data.publisher"
                                    f"{hint(str(key), list(PUBLISHER_KEYS))}; known keys: name, uri")
            name = publisher.get("name")
            if not isinstance(name, str) or not name.strip():
                doc.problem((*top, "publisher") + (("name",) if "name" in publisher else ()),
                            "'open_data.publisher.name' is required text: the organisation that publishes the data")
            if "uri" in publisher:
                uri = _url(doc, (*top, "publisher", "uri"), publisher["uri"], "https://www.example.gov")
    base = _url(doc, (*top, "base_uri"), block["base_uri"], "https://data.example.gov/procurement") \
        if "base_uri" in block else None
    if base is not None and ("?" in base or "#" in base):
        doc.problem((*top, "base_uri"), f"'open_data.base_uri': '{base}' has a query or fragment; "
                    "package URIs are built under it, so give a plain path")
    licence = _url(doc, (*top, "license"), block["license"], "https://creativecommons.org/publicdomain/zero/1.0/") \
        if "license" in block else None
    prefix = block.get("ocid_prefix")
    if "ocid_prefix" in block and not (isinstance(prefix, str) and OCID_PREFIX.fullmatch(prefix)):
        doc.problem((*top, "ocid_prefix"), f"'open_data.ocid_prefix': '{prefix}' is not an ocid prefix; write "
                    "'ocds-' and the six lower-case letters or digits the Open Contracting Partnership "
                    "assigned to the city, e.g. ocds-abc123")
    if len(doc.problems) > before:
        return None
    return OpenData(name, uri, base.rstrip("/"), licence, prefix)  # type: ignore[arg-type]


def load(path: str | os.PathLike[str] | None = None) -> City:
    """The city configuration in force (see the module docstring for which file)."""
    chosen = path or os.environ.get(ENV) or (FILE_NAME if Path(FILE_NAME).is_file() else None)
    if chosen is None:
        text = resources.files("pathways").joinpath(DEFAULT).read_text(encoding="utf-8")
        where = f"<shipped {FILE_NAME}>"
    else:
        try:
            text, where = Path(chosen).read_text(encoding="utf-8"), str(chosen)
        except OSError as exc:
            raise UsageError(f"--city {chosen}: cannot read ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise UsageError(f"--city {chosen}: not UTF-8 text") from None
    city, problems = check(text, where)
    if city is None:
        raise DefinitionError(problems)
    return city
