"""Red flags (Cardinal's R003, R018, R030, our code), bids from responses, and the engine's own schema check."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DEFINITIONS, FakeClock

from cli import cli
from engine import Engine
from engine.errors import InvalidOpenData
from engine.open_data.bids import BID_EXTENSION, Response, bids_block, response_from_record
from engine.open_data.packages import Envelope, release_package
from engine.open_data.red_flags import flags, late_bid_won, short_submission_period, single_bid
from engine.open_data.releases import Builder, Publisher
from engine.open_data.validation import validate
from engine.open_data.values import org_id
from pathways import load
from pathways.city import load as load_city


def compiled(
    method: str = "open",
    start: str = "2026-03-02T00:00:00-06:00",
    end: str = "2026-03-17T00:00:00-05:00",
    tenderers: int | None = 3,
    **extra: Any,
) -> dict[str, Any]:
    tender: dict[str, Any] = {
        "id": "t",
        "procurementMethod": method,
        "tenderPeriod": {"startDate": start, "endDate": end},
    }
    if tenderers is not None:
        tender["numberOfTenderers"] = tenderers
    return {"ocid": "ocds-abc123-rfp-0001", "tender": tender, **extra}


def test_r003_counts_calendar_days_across_a_daylight_saving_change() -> None:
    """15 days from 2 March to 17 March (the clocks go forward on 8 March): not short; 14 days is."""
    assert short_submission_period(compiled()) is None
    flag = short_submission_period(compiled(end="2026-03-16T00:00:00-05:00"))
    assert flag is not None and flag.code == "R003" and "14 days, under 15" in flag.detail
    assert "Cardinal" in str(flag) and flag.cite.endswith("R003")


@pytest.mark.parametrize("method", ["direct", "limited", "selective"])
def test_r003_excludes_other_methods_and_missing_periods(method: str) -> None:
    assert short_submission_period(compiled(method=method, end="2026-03-03T00:00:00-06:00")) is None
    no_period = compiled(end="2026-03-03T00:00:00-06:00")
    del no_period["tender"]["tenderPeriod"]["startDate"]
    assert short_submission_period(no_period) is None


@pytest.mark.parametrize(
    ("method", "count", "raised"),
    [
        ("open", 1, True),
        ("selective", 1, True),
        ("open", 2, False),
        ("direct", 1, False),
        ("limited", 1, False),
        ("open", None, False),
    ],
)
def test_r018_single_bid_in_a_competitive_procedure(method: str, count: int | None, raised: bool) -> None:
    assert (single_bid(compiled(method=method, tenderers=count)) is not None) is raised


def _bids(*bids: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "details": [
            {"id": f"b{i}", "date": d, "status": s, "tenderers": [{"id": org_id(n), "name": n}]}
            for i, (n, d, s) in enumerate(bids)
        ]
    }


def test_r030_late_bid_won_needs_a_valid_late_bid_by_an_active_supplier() -> None:
    award = [{"id": "a", "status": "active", "suppliers": [{"id": org_id("Late Co"), "name": "Late Co"}]}]
    late = ("Late Co", "2026-03-18T10:00:00Z", "valid")
    assert late_bid_won(compiled(awards=award, bids=_bids(late))).code == "R030"
    assert late_bid_won(compiled(awards=award, bids=_bids(("Late Co", "2026-03-16T10:00:00Z", "valid")))) is None
    assert late_bid_won(compiled(awards=award, bids=_bids(("Late Co", "2026-03-18T10:00:00Z", "disqualified")))) is None
    pending = [{**award[0], "status": "pending"}]
    assert late_bid_won(compiled(awards=pending, bids=_bids(late))) is None
    assert late_bid_won(compiled(awards=award)) is None  # counts only: not computable, not reported
    assert [f.code for f in flags(compiled(tenderers=1, awards=award, bids=_bids(late)))] == ["R018", "R030"]


def _single_bid_rfp(db: str) -> None:
    clock = FakeClock(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC))
    eng = Engine(db, clock=clock)
    try:
        eng.add_user("ana", roles=list(load(DEFINITIONS / "rfp.yaml").roles))
        eng.publish(DEFINITIONS / "rfp.yaml", actor="ana")
        pid = eng.intake(
            "rfp",
            {
                "title": "Signal timing study",
                "department": "Transportation",
                "estimated_value": "60000",
                "method": "competitive_sealed_proposals",
            },
            actor="ana",
        )
        eng.advance(pid, "submit_for_review", actor="ana")
        eng.advance(
            pid, "approve_solicitation", actor="ana", rationale="documents approved", updates={"legal_approved": True}
        )
        eng.advance(
            pid,
            "publish",
            actor="ana",
            updates={
                "solicitation_number": "RFP 8100 SIG",
                "authorized_contact_name": "Marcus Lee",
                "notice_first_published": "2026-03-02",
                "bid_opening": "2026-03-20",
            },
        )
        clock.advance(days=19)
        eng.advance(pid, "open_bids", actor="ana")
        eng.advance(pid, "record_bids", actor="ana", updates={"bids_received": 1})
    finally:
        eng.close()


def test_a_single_bid_is_a_warning_for_staff_not_a_refusal(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rfp.db'}"
    _single_bid_rfp(db)
    result = CliRunner().invoke(cli, ["--db", db, "ocds", "rfp-0001", "-o", str(tmp_path / "od"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "warning: ocds-demo00-rfp-0001: R018 single bid received: one tenderer in a "
        "competitive (open) procedure (Open Contracting Partnership, Cardinal indicators "
        "R018)\n"
    )
    shown = json.loads(result.stdout)
    assert [f["code"] for f in shown["flags"]] == ["R018"] and shown["processes"] == 1
    package = json.loads((tmp_path / "od" / "release-package.json").read_text(encoding="utf-8"))
    assert package["releases"][-1]["tender"]["numberOfTenderers"] == 1
    assert package["releases"][-1]["tag"] == ["tenderUpdate"]


def test_responses_become_bids_counted_from_the_time_each_was_received(tmp_path: Path) -> None:
    """The seam for opportunities: responses (here: constructed, and one read from a real case) give the bids
    block, the tenderer parties and numberOfTenderers, release by release; the bid extension is then named."""
    db = f"sqlite:///{tmp_path / 'rfp.db'}"
    _single_bid_rfp(db)
    eng = Engine(db)
    try:
        record = eng.record("rfp-0001")
        city = load_city()
        first_at = json.loads(record.entries[0].body)["at"]
        responses = [
            Response("resp-1", "Early Signals LLC", first_at, "valid", "58000.5"),
            Response("resp-2", "Late Signals Inc", "2026-03-21T15:00:00.000000Z", "pending"),
        ]
        builder = Builder(
            record.pathway, "ocds-demo00-rfp-0001", Publisher(city.name, city.currency, city.zone), responses
        )
        made = builder.releases(record.entries)
        as_case = response_from_record(record, tenderer_field="department")
    finally:
        eng.close()
    assert made[0]["tender"]["numberOfTenderers"] == 1 and made[-1]["tender"]["numberOfTenderers"] == 2
    assert made[-1]["bids"]["details"][0]["value"] == {"amount": 58000.5, "currency": "USD"}
    assert "value" not in made[-1]["bids"]["details"][1]
    assert {p["name"] for p in made[-1]["parties"] if "tenderer" in p["roles"]} == {
        "Early Signals LLC",
        "Late Signals Inc",
    }
    assert as_case == Response("rfp-0001", "Transportation", first_at, "pending", None)
    envelope = Envelope("City of Austin", None, "https://data.example.gov", "https://example.gov/licence")
    package = release_package(envelope, made)
    assert package["extensions"] == ["https://data.example.gov/ocds/extension/extension.json", BID_EXTENSION]
    assert bids_block(responses, "2020-01-01T00:00:00.000000Z", "USD") is None


def test_the_engine_refuses_to_publish_a_package_that_does_not_validate() -> None:
    bad = {
        "uri": "https://x.example/ocds/releases",
        "version": "1.1",
        "publishedDate": "2026-01-01T00:00:00Z",
        "publisher": {"name": "X"},
        "releases": [
            {"ocid": "ocds-abc123-1", "id": "1", "date": "2026-01-01", "tag": ["bogus"], "initiationType": "tender"}
        ],
    }
    with pytest.raises(InvalidOpenData) as refused:
        validate(bad, "release-package")
    assert refused.value.exit_code == 1
    assert "/releases/0/tag/0: 'bogus' is not one of" in str(refused.value)
