"""The city's calendar: which days its offices are closed, for business-day deadlines.

A city is closed on weekends, on the public holidays of its country and
state (from the ``holidays`` package, pinned in ``pyproject.toml`` because a
new release may move or add a date), on the days it adds (city closures),
and open on the holidays it removes (Texas' ``public`` category includes
optional state holidays a city may not observe). The block lives in
``city.yaml``::

    calendar:
      country: US            # ISO 3166-1 code the holidays package knows
      subdivision: TX        # its state or province code (optional)
      categories: [public]   # the package's holiday categories (default: public)
      added: [2026-12-23]    # city closures
      removed: [2027-01-19]  # holidays the city does not observe

A calendar's ``sha256`` (over its canonical form, the city's time zone and
the holidays version) is recorded with each deadline, together with the
closed days a count passed over, so a deadline can be re-derived from its
entry alone: a calendar edited later does not change what old entries say.

``holidays`` is imported only when a calendar names a country (it costs about
0.1 s), so a city without one, and ``pathways --help``, do not pay for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any
from zoneinfo import ZoneInfo

from .canonical import canonical_bytes, sha256_hex
from .structure import hint
from .yamlsource import Document

KEYS = ("country", "subdivision", "categories", "added", "removed")
#: The category every country has; the default.
PUBLIC = "public"


def _holidays() -> Any:
    import holidays

    return holidays


@cache
def holidays_version() -> str:
    """The installed holidays package's version (part of every calendar's sha256)."""
    return str(_holidays().__version__)


@dataclass(frozen=True)
class Calendar:
    """A validated calendar: the city's zone, its holidays' source and its own changes.

    Attributes:
        time_zone: the city's IANA zone; days are counted, and ``until`` days end, in it.
        country, subdivision, categories: what the holidays package is asked for (no country: weekends only).
        added, removed: ISO dates the city closes, or keeps open, whatever the package says.
    """

    time_zone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    categories: tuple[str, ...] = (PUBLIC,)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    _years: dict[int, frozenset[dt.date]] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def as_dict(self) -> dict[str, Any]:
        """The canonical form the sha256 is taken over (the holidays version only when the package is used)."""
        return {
            "time_zone": self.time_zone,
            "country": self.country,
            "subdivision": self.subdivision,
            "categories": list(self.categories),
            "added": list(self.added),
            "removed": list(self.removed),
            "holidays": holidays_version() if self.country else None,
        }

    @cached_property
    def sha256(self) -> str:
        return sha256_hex(canonical_bytes(self.as_dict()))

    def closed_in(self, year: int) -> frozenset[dt.date]:
        """The weekdays and weekend days the city is closed in ``year`` (holidays, closures), built once a year."""
        found = self._years.get(year)
        if found is None:
            days: set[dt.date] = set()
            if self.country:
                days |= set(
                    _holidays().country_holidays(
                        self.country, subdiv=self.subdivision, years=year, categories=self.categories
                    )
                )
            days -= {dt.date.fromisoformat(d) for d in self.removed}
            days |= {dt.date.fromisoformat(d) for d in self.added}
            found = self._years[year] = frozenset(d for d in days if d.year == year)
        return found

    def closed(self, day: dt.date) -> bool:
        """Whether ``day`` is a holiday or a city closure (weekends are the deadline count's concern)."""
        return day in self.closed_in(day.year)


#: Weekends only, counted in UTC: what an engine given no city calendar uses.
WEEKENDS = Calendar()


def check(doc: Document, raw: Any, time_zone: str) -> Calendar | None:
    """The ``calendar:`` block of a city file, every problem recorded in ``doc`` at its line."""
    where = ("calendar",)
    if not isinstance(raw, dict):
        doc.problem(where, "'calendar' is a mapping: country, subdivision, categories, added, removed")
        return None
    before = len([p for p in doc.problems if p.severity == "error"])
    for key in raw:
        if key not in KEYS:
            doc.key_problem(
                (*where, key),
                f"unknown key '{key}' in the calendar{hint(str(key), list(KEYS))}; known keys: {', '.join(KEYS)}",
            )
    country, subdivision = raw.get("country"), raw.get("subdivision")
    categories = raw.get("categories", [PUBLIC])
    known: Any = None
    if country is not None:
        supported = _holidays().list_supported_countries(include_aliases=False)
        if not isinstance(country, str) or country not in supported:
            doc.problem(
                (*where, "country"),
                f"'{country}' is not a country the holidays package "
                f"({holidays_version()}) knows{hint(str(country), list(supported))}; write its ISO 3166-1 "
                "code, e.g. US, CA, ES",
            )
            country = None
        else:
            known = _holidays().country_holidays(country)
    if subdivision is not None:
        if country is None and raw.get("country") is None:
            doc.problem((*where, "subdivision"), "a subdivision needs the country it belongs to (country: US)")
        elif known is not None and (not isinstance(subdivision, str) or subdivision not in known.subdivisions):
            doc.problem(
                (*where, "subdivision"),
                f"'{subdivision}' is not a subdivision of {country}"
                f"{hint(str(subdivision), list(known.subdivisions))}; e.g. "
                f"{', '.join(list(known.subdivisions)[:4])}",
            )
    if not isinstance(categories, list) or not categories or not all(isinstance(c, str) for c in categories):
        doc.problem((*where, "categories"), "'categories' is a list of holiday categories, e.g. [public]")
        categories = [PUBLIC]
    elif known is not None:
        for i, c in enumerate(categories):
            if c not in known.supported_categories:
                doc.problem(
                    (*where, "categories", i),
                    f"'{c}' is not a holiday category of {country}"
                    f"{hint(c, list(known.supported_categories))}; "
                    f"it has: {', '.join(known.supported_categories)}",
                )
    added = _dates(doc, raw, "added")
    removed = _dates(doc, raw, "removed")
    if len([p for p in doc.problems if p.severity == "error"]) > before:
        return None
    cal = Calendar(time_zone, country, subdivision if country else None, tuple(categories), added, removed)
    _check_changes(doc, cal, raw)
    return cal


def _dates(doc: Document, raw: dict[str, Any], key: str) -> tuple[str, ...]:
    """A list of ISO dates, each once; returned sorted (the calendar's canonical form)."""
    value = raw.get(key, [])
    if not isinstance(value, list):
        doc.problem(("calendar", key), f"'{key}' is a list of dates (YYYY-MM-DD), e.g. [2026-12-23]")
        return ()
    out: set[str] = set()
    for i, item in enumerate(value):
        try:
            day = dt.date.fromisoformat(item) if isinstance(item, str) and len(item) == 10 else None
        except ValueError:
            day = None
        if day is None:
            doc.problem(("calendar", key, i), f"'{item}' is not a date; write YYYY-MM-DD, e.g. 2026-12-23")
        elif item in out:
            doc.problem(("calendar", key, i), f"{item} is listed twice in '{key}'")
        else:
            out.add(item)
    return tuple(sorted(out))


def _check_changes(doc: Document, cal: Calendar, raw: dict[str, Any]) -> None:
    """A removed date must be one of the package's holidays (else it is a typo); adding one already closed
    or on a weekend changes nothing, which is worth a warning."""
    source = Calendar(cal.time_zone, cal.country, cal.subdivision, cal.categories)
    for i, item in enumerate(raw.get("removed", [])):
        if isinstance(item, str) and item in cal.removed and not source.closed(dt.date.fromisoformat(item)):
            doc.problem(
                ("calendar", "removed", i),
                f"{item} is not a holiday of "
                f"{cal.country or 'this calendar'}{'-' + cal.subdivision if cal.subdivision else ''} "
                f"({', '.join(cal.categories)}): there is nothing to remove",
            )
        if isinstance(item, str) and item in cal.added:
            doc.problem(("calendar", "removed", i), f"{item} is both added and removed")
    for i, item in enumerate(raw.get("added", [])):
        if not (isinstance(item, str) and item in cal.added):
            continue
        day = dt.date.fromisoformat(item)
        if day.weekday() >= 5:
            doc.problem(("calendar", "added", i), f"{item} is a {day:%A}: closed anyway", "warning")
        elif source.closed(day):
            doc.problem(("calendar", "added", i), f"{item} is already a holiday of {cal.country}", "warning")
