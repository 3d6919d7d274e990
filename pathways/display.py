"""Values as people read them: amounts with their currency, times in the city's zone to the minute.

The record keeps canonical strings (``12000.5``, ``2026-12-01T15:16:21.799988Z``);
reports and the command line's text output show ``$12,000.50`` and
``2026-12-01 09:16 CST``. Only text for people goes through here: ``--json``
and the chain are never localised.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

#: Currencies shown with a symbol; any other shows its ISO code after the amount.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "MXN": "MX$", "CAD": "CA$"}


def money(value: object, currency: str = "USD") -> str:
    """``12000.5`` -> ``$12,000.50``; text that is not an amount is returned as it is."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    text = f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def local_time(at: str | None, zone: ZoneInfo) -> str:
    """A stored UTC time as ``YYYY-MM-DD HH:MM ZZZ`` in ``zone``; anything else is returned as it is."""
    if not at:
        return ""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    if moment.tzinfo is None:
        return at
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
