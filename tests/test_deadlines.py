"""Business days skip weekends: the week-at-a-time count lands where a day-by-day count does."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from engine.deadlines import add_business_days


def _day_by_day(start: dt.datetime, days: int) -> dt.datetime:
    out = start
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)).map(
    lambda d: d.replace(tzinfo=dt.UTC)), st.integers(min_value=0, max_value=400))
def test_business_days_equal_a_day_by_day_count(start: dt.datetime, days: int) -> None:
    assert add_business_days(start, days) == _day_by_day(start, days)


def test_ten_business_days_from_a_friday_cross_two_weekends() -> None:
    friday = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    assert add_business_days(friday, 10) == dt.datetime(2026, 12, 18, 9, 0, tzinfo=dt.UTC)
