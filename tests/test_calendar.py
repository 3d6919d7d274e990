"""The city calendar: business days skip its holidays and closures, ``until`` days end in its zone, and every
deadline carries the calendar it was counted on, so the replay re-derives it from the entry alone."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DEFINITIONS, MINI, FakeClock
from hypothesis import given
from hypothesis import strategies as st

from engine import Engine, Refused
from engine.deadlines import add_business_days, count_business_days
from pathways import loads
from pathways.calendar import WEEKENDS, Calendar, holidays_version
from pathways.canonical import canonical_bytes
from pathways.city import check, load

CHICAGO = "America/Chicago"
TEXAS = Calendar(CHICAGO, "US", "TX", ("public",))
CLOSURES = Calendar(CHICAGO, "US", "TX", ("public",), added=("2026-12-23", "2026-12-28"))
UTC = dt.UTC


# --- the count --------------------------------------------------------------------------------------


def test_holidays_is_the_pinned_release() -> None:
    assert holidays_version() == "0.108"


@pytest.mark.parametrize(("calendar", "due", "skipped"), [
    (Calendar(CHICAGO), "2027-01-05", []),
    (TEXAS, "2027-01-08", ["2026-12-24", "2026-12-25", "2027-01-01"]),
    (CLOSURES, "2027-01-12", ["2026-12-23", "2026-12-24", "2026-12-25", "2026-12-28", "2027-01-01"]),
], ids=["weekends only", "Texas public holidays", "and two city closures"])
def test_ten_business_days_counted_from_the_day_after_2026_12_22(calendar: Calendar, due: str,
                                                                  skipped: list[str]) -> None:
    start = dt.datetime(2026, 12, 22, 14, 30, tzinfo=ZoneInfo(CHICAGO))
    moment, passed = count_business_days(start, 10, calendar.zone, calendar.closed)
    assert (moment.date().isoformat(), moment.hour, moment.minute, passed) == (due, 14, 30, skipped)


def test_the_texas_holidays_in_that_window() -> None:
    window = [dt.date(2026, 12, 23) + dt.timedelta(days=i) for i in range(17)]
    assert [d.isoformat() for d in window if TEXAS.closed(d)] == ["2026-12-24", "2026-12-25", "2026-12-26",
                                                                 "2027-01-01"]


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)), st.integers(min_value=0, max_value=300))
def test_with_no_holidays_in_utc_the_count_is_the_version_2_count(start: dt.datetime, days: int) -> None:
    assert count_business_days(start, days, WEEKENDS.zone, WEEKENDS.closed) == (add_business_days(start, days), [])


def test_days_are_counted_in_the_city_zone_and_keep_its_local_time_across_a_clock_change() -> None:
    friday_evening = dt.datetime(2027, 3, 13, 2, 0, tzinfo=UTC)  # Friday 20:00 CST in Chicago, Saturday in UTC
    due, _ = count_business_days(friday_evening, 1, TEXAS.zone, TEXAS.closed)
    assert due.astimezone(ZoneInfo(CHICAGO)).isoformat() == "2027-03-15T20:00:00-05:00"  # Monday, CDT since Sunday
    assert due.astimezone(UTC) == dt.datetime(2027, 3, 16, 1, 0, tzinfo=UTC)


# --- the city file ------------------------------------------------------------------------------------------


def _city(calendar: str) -> str:
    return "name: Springfield\ntime_zone: America/Chicago\ncurrency: USD\ncalendar:\n" + calendar


def test_the_shipped_austin_default_observes_texas_with_its_examples() -> None:
    cal = load().calendar
    assert (cal.time_zone, cal.country, cal.subdivision, cal.categories) == (CHICAGO, "US", "TX", ("public",))
    assert not cal.closed(dt.date(2027, 1, 19)) and cal.closed(dt.date(2027, 1, 18))  # Confederate Heroes Day removed
    assert cal.closed(dt.date(2026, 12, 24))


def test_a_calendar_block_is_read_and_its_sha256_follows_every_change() -> None:
    city, problems = check(_city("  country: US\n  subdivision: TX\n  added: [2026-12-28, 2026-12-23]\n"), "c.yaml")
    assert problems == [] and city is not None
    assert city.calendar == CLOSURES  # the dates are kept sorted: their order in the file is not a change
    assert city.calendar.sha256 == hashlib.sha256(canonical_bytes(city.calendar.as_dict())).hexdigest()
    assert len({TEXAS.sha256, CLOSURES.sha256, Calendar(CHICAGO).sha256, WEEKENDS.sha256}) == 4
    madrid = check("name: S\ntime_zone: Europe/Madrid\ncurrency: EUR\n", "c.yaml")[0]
    assert madrid is not None and madrid.calendar == Calendar("Europe/Madrid")  # no block: weekends, in its zone


def test_every_calendar_problem_is_located() -> None:
    text = _city("  country: US\n  subdivision: TZ\n  categories: [public, optional]\n"
                 "  added: [2026-12-23, 2026-13-01, 2026-12-23]\n  remove: []\n")
    problems = check(text, "city.yaml")[1]
    assert [(p.line, p.col, p.message.split(";")[0]) for p in problems] == [
        (6, 16, "'TZ' is not a subdivision of US"),
        (7, 24, "'optional' is not a holiday category of US"),
        (8, 23, "'2026-13-01' is not a date"),
        (8, 35, "2026-12-23 is listed twice in 'added'"),
        (9, 3, "unknown key 'remove' in the calendar (did you mean 'removed'?)")]
    assert [p.message.split(";")[0] for p in check(_city("  country: XX\n"), "c")[1]] == [
        "'XX' is not a country the holidays package (0.108) knows"]
    assert [p.message for p in check(_city("  subdivision: TX\n"), "c")[1]] == [
        "a subdivision needs the country it belongs to (country: US)"]


def test_removing_a_day_that_is_no_holiday_is_an_error_adding_one_already_closed_a_warning() -> None:
    problems = check(_city("  country: US\n  subdivision: TX\n  added: [2026-12-25, 2026-12-26]\n"
                           "  removed: [2027-01-20]\n"), "city.yaml")[1]
    assert [(p.line, p.severity, p.message) for p in problems] == [
        (7, "warning", "2026-12-25 is already a holiday of US"),
        (7, "warning", "2026-12-26 is a Saturday: closed anyway"),
        (8, "error", "2027-01-20 is not a holiday of US-TX (public): there is nothing to remove")]


# --- the language: at ---------------------------------------------------------------------------------------


def test_at_belongs_to_until_and_is_start_or_end() -> None:
    from pathways.errors import DefinitionError

    text = MINI.read_text(encoding="utf-8")
    for deadline, message in (("{business_days: 10, at: start, on_expiry: escalate}", "this deadline has no 'until'"),
                              ("{business_days: 10, at: noon, on_expiry: escalate}", "noon")):
        with pytest.raises(DefinitionError) as raised:
            loads(text.replace("{business_days: 10, on_expiry: escalate}", deadline), "mini.yaml")
        assert any(message in p.message and p.line == 24 for p in raised.value.problems), raised.value.problems


# --- the engine: advance, tick, replay ----------------------------------------------------------------------

#: The mini pathway with a clock-fired business-day deadline in review.
FIRED = MINI.read_text(encoding="utf-8").replace("{calendar_days: 30, on_expiry: expire}",
                                                  "{business_days: 2, on_expiry: expire}")


class Frozen:
    """A clock that stays where it is put (two ticks at the same instant)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _engine(tmp_path: Path, clock: Callable[[], dt.datetime], calendar: Calendar = TEXAS,
            source: str = FIRED) -> Engine:
    eng = Engine(f"sqlite:///{tmp_path / 'city.db'}", clock=clock, calendar=calendar)
    if not eng.users():
        eng.add_user("ana", ["officer", "legal"])
        eng.publish(loads(source, "mini.yaml"), actor="ana")
    return eng


def test_a_deadline_across_a_holiday_and_a_weekend_fires_on_the_first_open_day(tmp_path: Path) -> None:
    clock = Frozen(dt.datetime(2026, 12, 23, 16, 0, tzinfo=UTC))  # Wednesday 10:00 in Austin
    eng = _engine(tmp_path, clock)
    pid = eng.intake("mini", {"vendor": "Acme", "value": "100"}, actor="ana")
    eng.advance(pid, "screen", actor="ana")
    screened = eng.history(pid)[-1]
    # Dec 24 and 25 (Texas holidays), Dec 26-27 (the weekend): the two business days are Mon 28 and Tue 29
    assert screened["due"] == "2026-12-29T16:00:00.000000Z"
    assert screened["calendar"] == {"sha256": TEXAS.sha256, "zone": CHICAGO, "skipped": ["2026-12-24", "2026-12-25"]}
    clock.now = dt.datetime(2026, 12, 29, 15, 59, 59, tzinfo=UTC)
    assert eng.tick() == [] and eng.show(pid)["state"] == "review"
    clock.now = dt.datetime(2026, 12, 29, 16, 0, tzinfo=UTC)
    moved = eng.tick()
    assert [(m["id"], m["trigger"], m["to"]) for m in moved] == [(pid, "expire", "expired")]
    assert eng.tick() == []  # the same instant again: nothing left to fire, nothing recorded
    assert [e["seq"] for e in eng.history(pid)] == [1, 2, 3]
    assert all(r.error is None for r in eng.verify())
    eng.close()


def test_a_refused_firing_is_recorded_once_when_ticked_twice_at_the_same_instant(tmp_path: Path) -> None:
    expire = "  - trigger: expire\n    from: review\n    to: expired\n    requires: [rationale]\n"
    assert FIRED.endswith(expire)
    source = FIRED.replace(expire, expire + "    when:\n      - check: proposal.vendor != 'Acme'\n"
                           "        message: Acme's review is on hold\n")
    clock = Frozen(dt.datetime(2026, 12, 23, 16, 0, tzinfo=UTC))
    eng = _engine(tmp_path, clock, source=source)
    pid = eng.intake("mini", {"vendor": "Acme", "value": "100"}, actor="ana")
    eng.advance(pid, "screen", actor="ana")
    clock.now = dt.datetime(2026, 12, 30, tzinfo=UTC)
    assert [r.get("refused") for r in eng.tick()] == [True]
    assert eng.tick() == []
    refusal = eng.history(pid)[-1]
    assert (len(eng.history(pid)), refusal["kind"]) == (3, "refusal")
    assert refusal["calendar"] == eng.history(pid)[1]["calendar"] and refusal["calendar"]["skipped"]
    assert all(r.error is None for r in eng.verify())
    eng.close()


def test_a_calendar_edited_later_leaves_old_entries_and_their_due_times_as_they_were(tmp_path: Path) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 21, 15, 0, tzinfo=UTC))
    eng = _engine(tmp_path, clock)
    pid = eng.intake("mini", {"vendor": "Acme", "value": "100"}, actor="ana")
    due = eng.show(pid)["due_at"]
    eng.close()
    later = _engine(tmp_path, clock, CLOSURES)  # the city adds two closures afterwards
    assert all(r.error is None for r in later.verify())
    with pytest.raises(Refused):  # recorded: a refusal carries the stage's due time and its calendar over
        later.advance(pid, "approve", actor="ana", rationale="early")
    assert later.show(pid)["due_at"] == due and later.history(pid)[-1]["calendar"]["sha256"] == TEXAS.sha256
    fresh = later.intake("mini", {"vendor": "Acme", "value": "100"}, actor="ana")
    assert later.history(fresh)[0]["calendar"]["sha256"] == CLOSURES.sha256
    assert all(r.error is None for r in later.verify())
    later.close()


def test_a_pilot_ending_on_its_end_date_moves_to_evaluation_at_midnight_in_austin(tmp_path: Path) -> None:
    clock = Frozen(dt.datetime(2027, 3, 1, 15, 0, tzinfo=UTC))
    eng = Engine(f"sqlite:///{tmp_path / 'city.db'}", clock=clock, calendar=load().calendar)
    eng.add_user("priya", ["program_manager"])
    for name, role in (("sofia", "department_sponsor"), ("hannah", "legal"), ("tom", "risk_manager"),
                       ("maria", "procurement_officer")):
        eng.add_user(name, [role], actor="priya")
    eng.publish(DEFINITIONS / "pilot.yaml", actor="priya")
    doc = tmp_path / "signed.pdf"
    doc.write_bytes(b"%PDF-1.4 signed")
    pid = eng.intake("pilot", {"vendor": "BinSense", "title": "Bin sensors", "scope": "120 bins",
                               "department": "Solid Waste", "value": "18500", "start_date": "2027-03-08",
                               "end_date": "2027-03-31", "exclusive": False}, actor="priya")
    eng.advance(pid, "screen", actor="priya")
    eng.advance(pid, "record_screening", actor="sofia", updates={
        "success_criteria": "fewer trips", "data_ownership": "city", "data_handling_terms": "fill levels only"})
    eng.advance(pid, "send_to_legal", actor="sofia", rationale="within the caps")
    eng.advance(pid, "record_legal_review", actor="hannah", updates={
        "agreement_form_approved": True, "performance_standards_included": True,
        "removal_restoration_included": True, "no_purchase_obligation": True})
    eng.advance(pid, "record_insurance", actor="tom", updates={"additional_insured": True,
                                                              "insurance_expires": "2027-12-31"}, attachments=[doc])
    eng.advance(pid, "sign_agreement", actor="maria", updates={"agreement_signed_on": "2027-03-01"},
                rationale="signed", attachments=[doc])
    clock.now = dt.datetime(2027, 3, 8, 15, 0, tzinfo=UTC)
    eng.advance(pid, "start_pilot", actor="sofia")
    # The end of March 31 in Austin (CDT, UTC-5) is 05:00 UTC on April 1, not midnight UTC.
    assert eng.show(pid)["due_at"] == "2027-04-01T05:00:00.000000Z"
    clock.now = dt.datetime(2027, 4, 1, 4, 59, 59, 999999, tzinfo=UTC)
    assert eng.tick() == []
    clock.now = dt.datetime(2027, 4, 1, 5, 0, tzinfo=UTC)
    assert [(m["trigger"], m["to"]) for m in eng.tick()] == [("begin_evaluation", "evaluation")]
    assert eng.tick() == []
    # evaluation: 20 business days from Thursday April 1, 00:00 local; the Austin example keeps San Jacinto Day
    # (April 21, a Texas holiday) open, so none is skipped: April 29 (Texas' own calendar would give April 30)
    evaluation = eng.history(pid)[-1]
    assert (evaluation["due"], evaluation["calendar"]["skipped"]) == ("2027-04-29T05:00:00.000000Z", [])
    assert TEXAS.closed(dt.date(2027, 4, 21)) and not load().calendar.closed(dt.date(2027, 4, 21))
    assert all(r.error is None for r in eng.verify())
    eng.close()


@pytest.mark.parametrize(("at", "due"), [("", "2027-04-01T05:00:00.000000Z"),
                                         ("at: start, ", "2027-03-31T05:00:00.000000Z"),
                                         ("at: end, ", "2027-04-01T05:00:00.000000Z")])
def test_until_falls_due_at_the_start_or_end_of_the_day_in_the_city_zone(tmp_path: Path, at: str, due: str) -> None:
    source = (DEFINITIONS / "pilot.yaml").read_text(encoding="utf-8").replace(
        "deadline: {until: start_date, on_expiry: start_pilot}",
        f"deadline: {{until: end_date, {at}on_expiry: start_pilot}}")
    pathway = loads(source, "pilot.yaml")
    from engine.deadlines import due_at

    found, record = due_at(pathway, "agreement_signed", {"end_date": "2027-03-31"},
                           dt.datetime(2027, 3, 1, tzinfo=UTC), TEXAS)
    assert (found, record) == (due, {"sha256": TEXAS.sha256, "zone": CHICAGO, "skipped": []})


# --- forged due times ---------------------------------------------------------------------------------------


def _reseal(db: Path, chain: str, seq: int, change: Callable[[dict], None]) -> None:
    """Rewrite one entry and re-chain everything after it, as an insider with the file could."""
    conn = sqlite3.connect(db, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    prev = "0" * 64
    for n, body in conn.execute("SELECT seq, body FROM audit_log WHERE chain=? ORDER BY seq", (chain,)).fetchall():
        entry = json.loads(body)
        entry["prev"] = prev
        if n == seq:
            change(entry)
        body = canonical_bytes(entry)
        prev = hashlib.sha256(b"\x00" + body).hexdigest()
        conn.execute("UPDATE audit_log SET body=?, hash=? WHERE chain=? AND seq=?", (body, prev, chain, n))
        if n == seq:
            conn.execute("UPDATE proposals SET due_at=? WHERE id=?", (entry["due"], chain))
    conn.execute("UPDATE proposals SET head=? WHERE id=?", (prev, chain))
    conn.close()


def _update(key: str, **values: object) -> Callable[[dict], None]:
    return lambda e: e[key].update(values)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda e: e.update(due="2026-12-25T16:00:00.000000Z"),  # the due time without the holidays
     "and due 2026-12-25T16:00:00.000000Z, but the replay gives 2026-12-23T16:00:00.000000Z and "
     "2026-12-29T16:00:00.000000Z"),
    (_update("calendar", skipped=["2026-12-24"]),  # a skipped holiday left out of the record
     "and due 2026-12-29T16:00:00.000000Z, but the replay gives 2026-12-23T16:00:00.000000Z and "
     "2026-12-28T16:00:00.000000Z"),
    (_update("calendar", skipped=["2026-12-24", "2026-12-25", "2026-12-26"]),  # a Saturday is not skipped
     "the entry records ['2026-12-24', '2026-12-25', '2026-12-26'] as the closed days its deadline skips, but "
     "counting on them passes over ['2026-12-24', '2026-12-25']"),
    (_update("calendar", zone="Asia/Tokyo"),  # another zone: another local day (Dec 24 began there at 15:00 UTC)
     "but counting on them passes over ['2026-12-25']"),
    (lambda e: e.update(calendar=None), "the entry records a deadline without the calendar it was counted on"),
], ids=["due", "skipped-left-out", "weekend-listed", "zone", "no-calendar"])
def test_the_replay_catches_a_due_time_its_recorded_calendar_does_not_give(tmp_path: Path, change: Callable,
                                                                          reason: str) -> None:
    eng = _engine(tmp_path, Frozen(dt.datetime(2026, 12, 23, 16, 0, tzinfo=UTC)))
    pid = eng.intake("mini", {"vendor": "Acme", "value": "100"}, actor="ana")
    eng.advance(pid, "screen", actor="ana")
    eng.close()
    _reseal(tmp_path / "city.db", pid, 2, change)
    report = next(r for r in Engine(f"sqlite:///{tmp_path / 'city.db'}", create=False).verify(raise_on_failure=False)
                  if r.chain == pid)
    assert report.error is not None and report.error.seq == 2, report
    assert reason in report.error.reason


def test_the_bundle_verifier_re_derives_a_holiday_deadline_and_catches_a_forged_one(tmp_path: Path) -> None:
    from engine.export import export

    eng = _engine(tmp_path, Frozen(dt.datetime(2026, 12, 23, 16, 0, tzinfo=UTC)))
    pid = eng.intake("mini", {"vendor": "Acme", "value": "100"}, actor="ana")
    eng.advance(pid, "screen", actor="ana")
    folder = export(eng, pid, tmp_path / "bundle").folder
    eng.close()
    run = [sys.executable, "-I", str(folder / "verify.py"), str(folder)]
    assert subprocess.run(run, capture_output=True, text=True, cwd=tmp_path).returncode == 0
    lines = (folder / "trail.jsonl").read_bytes().splitlines()
    entries = [json.loads(line) for line in lines]
    entries[1]["due"] = "2026-12-25T16:00:00.000000Z"
    prev, out = "0" * 64, []
    for e in entries:
        e["prev"] = prev
        body = canonical_bytes(e)
        prev = hashlib.sha256(b"\x00" + body).hexdigest()
        out.append(body)
    (folder / "trail.jsonl").write_bytes(b"\n".join(out) + b"\n")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["head"] = prev
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert ("line 2: the entry records the stage entered at 2026-12-23T16:00:00.000000Z and due "
            "2026-12-25T16:00:00.000000Z, but the replay gives 2026-12-23T16:00:00.000000Z and "
            "2026-12-29T16:00:00.000000Z") in result.stderr


def test_the_cli_counts_on_the_city_file_and_verify_does_not_need_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import cli

    city = tmp_path / "city.yaml"
    city.write_text(_city("  country: US\n  subdivision: TX\n  added: [2026-12-23, 2026-12-28]\n"), encoding="utf-8")
    db = ["--city", str(city), "--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    runner = CliRunner()
    assert runner.invoke(cli, [*db, "users", "add", "ana", "--role", "officer"]).exit_code == 0
    assert runner.invoke(cli, [*db, "publish", str(MINI), "--as", "ana"]).exit_code == 0
    data = tmp_path / "p.json"
    data.write_text(json.dumps({"vendor": "Acme", "value": "100"}), encoding="utf-8")
    assert runner.invoke(cli, [*db, "intake", "mini", "--data", str(data), "--as", "ana"]).exit_code == 0
    first = json.loads(runner.invoke(cli, [*db, "history", "mini-0001", "--json"]).stdout)[0]
    assert first["calendar"]["sha256"] == check(city.read_text(encoding="utf-8"), "c")[0].calendar.sha256
    city.write_text("name: [\n", encoding="utf-8")  # a broken city file: verify reads only the entries
    result = runner.invoke(cli, [*db, "verify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*db, "advance", "mini-0001", "screen", "--as", "ana"])
    assert result.exit_code == 1 and "city.yaml:2:1: error: YAML syntax" in result.stderr
    assert "Traceback" not in result.output
