"""Entry timestamps: always UTC, microseconds and a Z, whatever the zone of the moment or of the machine."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from engine.audit import timestamp


def test_a_timestamp_is_utc_with_microseconds_and_a_z(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # the machine's zone must not leak in
    time.tzset()
    try:
        moment = dt.datetime(2026, 3, 2, 4, 41, 40, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        assert timestamp(moment) == "2026-03-02T09:41:40.123456Z"
        assert timestamp(dt.datetime(2026, 11, 25, 8, 1, 2, 3, tzinfo=dt.UTC)) == "2026-11-25T08:01:02.000003Z"
    finally:
        monkeypatch.undo()
        time.tzset()
