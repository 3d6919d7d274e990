"""When a proposal is due out of its stage, and the record that lets the replay re-derive it.

Business days are counted on the city's calendar (``pathways.calendar``), in
the city's zone: Saturdays, Sundays and the days it is closed are skipped, and
the due time keeps the local time of day the stage was entered at. A deadline
``until`` a date field falls due at the start (``at: start``) or the end
(``at: end``, the default) of that day in the city's zone. The due time is
stored on the proposal so ``list --overdue`` and the clock (``Engine.tick``)
find due proposals with one query.

Each entry (format version 3) records with its due time the calendar it was
counted on: ``{"sha256", "zone", "skipped"}``, the closed weekdays the count
passed over. The replay re-derives the due time from that record alone, so a
calendar edited later (a closure added next year) leaves old entries as they
were, while a due time that the recorded calendar does not give, or a list of
skipped days the count does not pass over, is a finding.

Version 2 entries were counted in UTC on weekends only and end ``until`` days
at midnight UTC; ``legacy_due_at`` keeps computing them that way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pathways import Pathway
from pathways.calendar import Calendar

from .audit import timestamp

_DAY = dt.timedelta(days=1)
_HEX64 = re.compile(r"[0-9a-f]{64}")


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """``days`` weekdays after ``start`` (Saturdays and Sundays skipped; entry version 2). All but the last few
    are taken as whole weeks: seven days always hold five weekdays and end on the weekday they started on, so
    the day-by-day count that follows lands where it would have from ``start``."""
    weeks = (days - 1) // 5 if days > 5 else 0
    out, days = start + dt.timedelta(weeks=weeks), days - 5 * weeks
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


def count_business_days(
    start: dt.datetime, days: int, zone: ZoneInfo, closed: Callable[[dt.date], bool]
) -> tuple[dt.datetime, list[str]]:
    """``days`` open weekdays after ``start``, counted on local dates in ``zone``; returns the due moment (the
    same local time of day) and the closed weekdays passed over, in order. Day by day: a deadline is a few
    weeks at most, and each holiday has to be looked at anyway."""
    local = start.astimezone(zone)
    day, left, skipped = local.date(), days, []
    while left > 0:
        day += _DAY
        if day.weekday() >= 5:
            continue
        if closed(day):
            skipped.append(day.isoformat())
        else:
            left -= 1
    return local + dt.timedelta(days=(day - local.date()).days), skipped


def _until(value: Any, at: str, zone: dt.tzinfo) -> str | None:
    if not value:
        return None
    day = dt.date.fromisoformat(value) + (_DAY if at == "end" else dt.timedelta(0))
    return timestamp(dt.datetime(day.year, day.month, day.day, tzinfo=zone))


def _due(
    pathway: Pathway,
    stage: str,
    data: dict[str, Any],
    entered: dt.datetime,
    zone: ZoneInfo,
    closed: Callable[[dt.date], bool],
) -> tuple[str | None, list[str]]:
    deadline = pathway.stages[stage].deadline
    if deadline is None:
        return None, []
    if deadline.business_days:
        due, skipped = count_business_days(entered, deadline.business_days, zone, closed)
        return timestamp(due), skipped
    if deadline.calendar_days:
        return timestamp(entered + dt.timedelta(days=deadline.calendar_days)), []
    return _until(data.get(deadline.until or ""), deadline.at, zone), []


def due_at(
    pathway: Pathway, stage: str, data: dict[str, Any], entered: dt.datetime, calendar: Calendar
) -> tuple[str | None, dict[str, Any] | None]:
    """The stored due time of ``stage`` entered at ``entered`` on ``calendar``, and the record an entry keeps
    of it (None for both when the stage has no deadline, or its date is not set)."""
    due, skipped = _due(pathway, stage, data, entered, calendar.zone, calendar.closed)
    if due is None:
        return None, None
    return due, {"sha256": calendar.sha256, "zone": calendar.time_zone, "skipped": skipped}


def legacy_due_at(pathway: Pathway, stage: str, data: dict[str, Any], entered: dt.datetime) -> str | None:
    """The due time as entry version 2 computed it: weekends only, in UTC; ``until`` days end at midnight UTC."""
    deadline = pathway.stages[stage].deadline
    if deadline is None:
        return None
    if deadline.business_days:
        return timestamp(add_business_days(entered, deadline.business_days))
    if deadline.calendar_days:
        return timestamp(entered + dt.timedelta(days=deadline.calendar_days))
    return _until(data.get(deadline.until or ""), "end", dt.UTC)


def record_problem(record: Any) -> str | None:
    """Why an entry's calendar record is not one the engine writes (None: it is, or there is none)."""
    if record is None:
        return None
    if not isinstance(record, dict) or set(record) != {"sha256", "zone", "skipped"}:
        return "'calendar' is not {sha256, zone, skipped}"
    if not isinstance(record["sha256"], str) or not _HEX64.fullmatch(record["sha256"]):
        return "the calendar's sha256 is not 64 hex digits"
    skipped = record["skipped"]
    if not isinstance(skipped, list) or not all(isinstance(d, str) and len(d) == 10 for d in skipped):
        return "the calendar's skipped days are not a list of dates"
    try:
        days = [dt.date.fromisoformat(d) for d in skipped]
        ZoneInfo(record["zone"]) if isinstance(record["zone"], str) else None
    except (ValueError, ZoneInfoNotFoundError):
        return "the calendar names a date or a time zone that is not one"
    if not isinstance(record["zone"], str) or days != sorted(set(days)):
        return "the calendar's zone is not a name, or its skipped days are not in order, each once"
    return None


def replayed_due(
    pathway: Pathway, stage: str, data: dict[str, Any], entered: dt.datetime, record: dict[str, Any] | None
) -> tuple[str | None, str | None]:
    """The due time the entry's own calendar record gives (entry version 3), and why the record cannot have
    given the entry's due (None: it can). The record's skipped days must be exactly those the count passes
    over; its shape is ``record_problem``'s to judge first."""
    if record is None:
        plain, _ = _due(pathway, stage, data, entered, ZoneInfo("UTC"), lambda day: False)
        return None, None if plain is None else "the entry records a deadline without the calendar it was counted on"
    skipped = frozenset(dt.date.fromisoformat(d) for d in record["skipped"])
    due, passed = _due(pathway, stage, data, entered, ZoneInfo(record["zone"]), skipped.__contains__)
    if due is None:
        return None, "the entry records a calendar for a stage that has no due time"
    if passed != record["skipped"]:
        return due, (
            f"the entry records {record['skipped']} as the closed days its deadline skips, but counting "
            f"on them passes over {passed}"
        )
    return due, None
