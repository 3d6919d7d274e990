"""The city's own settings, in one file: ``city.yaml`` (name, time zone, currency, calendar).

Settings that belong to the city and not to a pathway live here, read and
validated like a definition (located problems, the same safe YAML reader),
so that every face shows the same local times and amounts. Which file:
``--city FILE`` or ``$PATHWAYS_CITY``, else ``city.yaml`` in the current
folder (beside the definitions), else the shipped default (the demo's Austin);
``pathways validate`` checks a ``city.yaml`` it finds in a folder as a city
file, not as a pathway. The optional ``calendar:`` block (holidays and city
closures, ``pathways/calendar.py``) decides deadlines: its own sha256 is
recorded with each deadline it sets. Later blocks (open data, the
transparency log's origin, the mail sender) are added here as they are built;
a value from this file that decides something on the record has a sha256
recorded with it, as pathways have theirs.

The chain and every ``--json`` shape keep canonical strings and UTC; only
text for people is localised (``display.py``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
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
OPTIONAL = ("calendar",)
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class City:
    """A validated city configuration."""

    name: str
    time_zone: str
    currency: str
    sha256: str
    path: str
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
    zoned = isinstance(zone, str) and not any(p.severity == "error" for p in doc.problems)
    calendar = _calendar.Calendar(zone) if zoned else None
    if "calendar" in data:
        calendar = _calendar.check(doc, data["calendar"], zone if zoned else "UTC")
    problems = sorted(doc.problems)
    if any(p.severity == "error" for p in problems) or calendar is None:
        return None, problems
    return City(data["name"], data["time_zone"], data["currency"], sha256_hex(canonical_bytes(data)), path,
                calendar), problems


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
