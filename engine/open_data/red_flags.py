"""Red flags: the integrity indicators watchdogs run on OCDS, computed before the city publishes.

Our own code, written to the definitions of the Open Contracting
Partnership's Cardinal library (github.com/open-contracting/cardinal-rs,
``docs/cli/indicators/R/``; its PyPI package exposes none of them to
Python). Each runs on a process's compiled release, as Cardinal does, and
gives staff a warning, never a refusal: a flag is a reason to look, and the
data is published either way.

- **R003 Short submission period** (Cardinal R003): the bid period
  ``tender/tenderPeriod/endDate - startDate`` is under 15 days (Cardinal's
  default threshold), counted in calendar days. Excluded when the method is not ``open`` or the period
  is not set. Applies to rfp (first notice to bid opening), challenge
  (opens_on to closes_on) and the Swiss challenge of an unsolicited proposal
  (notice to close). The shipped guards already hold those periods to at
  least 15 days (§252.041(a): first notice before the 14th day before
  opening), 30 (the challenge's min_open_days) and 45 (Virginia PPEA), so on
  the shipped rules a flag means data recorded under amended rules. Pilots
  and sandboxes are ``direct``:
  excluded.
- **R018 Single bid received** (Cardinal R018): the number of tenderers is 1
  and the method is competitive (``open`` or ``selective``). Applies to rfp
  and challenge, whose ``numberOfTenderers`` is the count of their responses
  (rfp-bid and challenge-entry cases, ``bids.py``; a withdrawn bid was still
  submitted and counts), and to the Swiss challenge (the proponent plus
  ``challengers_received``: no challenger is a single bid). A direct pilot,
  sandbox or sole source has one tenderer by design: excluded.
- **R030 Late bid won** (Cardinal R030): a valid bid received after the
  tender period's end date whose tenderer is a supplier of an active award.
  Computed from the responses: each bid's ``date`` is its case's intake.
  It can happen on the shipped rules: a response is taken in only while its
  opportunity is open (rfp ``published``, challenge ``published``), but the
  call stays open until the opening (``open_bids``, ``close_submissions``)
  fires, at the earliest on the closing date and by the clock at the end of
  that day (UTC), or later by staff, while the published ``tenderPeriod``
  ends at the start of that date in the city's zone (``values.day``). A bid
  received in that gap that wins is flagged, as a watchdog running Cardinal
  on the published data would flag it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Cardinal's default R003 threshold, in days.
SHORT_PERIOD_DAYS = 15
COMPETITIVE = ("open", "selective")
CARDINAL = "Open Contracting Partnership, Cardinal indicators"


@dataclass(frozen=True)
class Flag:
    """One indicator raised on one process."""

    code: str
    ocid: str
    title: str
    detail: str

    @property
    def cite(self) -> str:
        return f"{CARDINAL} {self.code}"

    def __str__(self) -> str:
        return f"{self.ocid}: {self.code} {self.title}: {self.detail} ({self.cite})"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "ocid": self.ocid, "title": self.title, "detail": self.detail, "cite": self.cite}


def _time(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def short_submission_period(release: Mapping[str, Any], threshold: int = SHORT_PERIOD_DAYS) -> Flag | None:
    """R003."""
    tender = release.get("tender") or {}
    period = tender.get("tenderPeriod") or {}
    start, end = _time(period.get("startDate")), _time(period.get("endDate"))
    if tender.get("procurementMethod") != "open" or start is None or end is None:
        return None
    # Calendar days between the dates as written, each in its own offset: a period across a daylight-saving
    # change is still whole days (23 or 25 hours once), as the notice counts them.
    days = (end.date() - start.date()).days
    if days >= threshold:
        return None
    return Flag(
        "R003", release["ocid"], "short submission period", f"the tender period is {days:g} days, under {threshold}"
    )


def single_bid(release: Mapping[str, Any]) -> Flag | None:
    """R018."""
    tender = release.get("tender") or {}
    if tender.get("procurementMethod") not in COMPETITIVE or tender.get("numberOfTenderers") != 1:
        return None
    return Flag(
        "R018",
        release["ocid"],
        "single bid received",
        f"one tenderer in a competitive ({tender['procurementMethod']}) procedure",
    )


def late_bid_won(release: Mapping[str, Any]) -> Flag | None:
    """R030."""
    end = _time(((release.get("tender") or {}).get("tenderPeriod") or {}).get("endDate"))
    details = (release.get("bids") or {}).get("details") or []
    if end is None or not details:
        return None
    winners = {
        s.get("id")
        for a in release.get("awards") or []
        if a.get("status") == "active"
        for s in a.get("suppliers") or []
    }
    for bid in details:
        received = _time(bid.get("date"))
        if (
            bid.get("status") == "valid"
            and received is not None
            and received > end
            and any(t.get("id") in winners for t in bid.get("tenderers") or [])
        ):
            return Flag(
                "R030",
                release["ocid"],
                "late bid won",
                f"bid {bid.get('id')} was received {bid.get('date')}, after the submission deadline, "
                "and its tenderer holds an active award",
            )
    return None


INDICATORS = (short_submission_period, single_bid, late_bid_won)


def flags(compiled: Mapping[str, Any]) -> list[Flag]:
    """Every indicator raised on one compiled release, in code order."""
    return [f for f in (indicator(compiled) for indicator in INDICATORS) if f is not None]
