"""When a proposal is due out of its stage.

Business days skip Saturdays and Sundays (city holidays are not modelled
yet: a stage due on a holiday shows as due that day, which errs toward
answering early). A deadline ``until`` a date field ends at the end of that
day, UTC. The due time is stored on the proposal so ``list --overdue`` and
the clock (``Engine.tick``) find due proposals with one query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pathways import Pathway

from .audit import timestamp


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """``days`` weekdays after ``start`` (Saturdays and Sundays skipped). All but the last few are taken as
    whole weeks: seven days always hold five weekdays and end on the weekday they started on, so the
    day-by-day count that follows lands where it would have from ``start``."""
    weeks = (days - 1) // 5 if days > 5 else 0
    out, days = start + dt.timedelta(weeks=weeks), days - 5 * weeks
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


def due_at(pathway: Pathway, stage: str, data: dict[str, Any], entered: dt.datetime) -> str | None:
    """The stored due time of ``stage`` entered at ``entered``, or None."""
    deadline = pathway.stages[stage].deadline
    if deadline is None:
        return None
    if deadline.business_days:
        return timestamp(add_business_days(entered, deadline.business_days))
    if deadline.calendar_days:
        return timestamp(entered + dt.timedelta(days=deadline.calendar_days))
    value = data.get(deadline.until or "")
    if not value:
        return None
    day = dt.date.fromisoformat(value) + dt.timedelta(days=1)
    return timestamp(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
