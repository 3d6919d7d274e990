"""OCDS values from recorded ones: amounts, dates and party identifiers (pure, shared by releases and bids)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo


def org_id(name: str) -> str:
    """A stable party id for an organisation name (the same name gives the same id in every release)."""
    return "org-" + hashlib.sha256(" ".join(name.casefold().split()).encode("utf-8")).hexdigest()[:16]


def amount(value: Any, currency: str) -> dict[str, Any] | None:
    """An OCDS Value from a canonical money string (``"12000.5"``): a JSON number and the city's currency."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return {"amount": int(number) if number == number.to_integral_value() else float(number), "currency": currency}


def day(value: Any, zone: ZoneInfo) -> str | None:
    """A date field as an OCDS date-time: the start of that day in the city's zone (``2026-03-02T00:00:00-06:00``)."""
    try:
        d = dt.date.fromisoformat(str(value))
    except ValueError:
        return None
    return dt.datetime.combine(d, dt.time(0), tzinfo=zone).isoformat()
