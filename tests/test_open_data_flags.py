"""Red flags (Cardinal's R003, R018, R030, our code), bids from responses, and the engine's own schema check."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import test_opportunities
from click.testing import CliRunner
from conftest import DEFINITIONS

from cli import cli
from engine import Engine
from engine.errors import InvalidOpenData
from engine.open_data import publish
from engine.open_data.bids import BID_EXTENSION, Response, bids_block, response_from_record
from engine.open_data.red_flags import flags, late_bid_won, short_submission_period, single_bid
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


def _rfp_world(db: str) -> tuple[Engine, test_opportunities.Clock]:
    """An engine on ``db`` with the rfp family published and its staff (test_opportunities' walkers)."""
    clock = test_opportunities.Clock()
    eng = Engine(db, clock=clock)
    eng.add_user("admin", ["admin"])
    for name, roles in test_opportunities.STAFF.items():
        eng.add_user(name, roles, actor="admin")
    eng.publish_all([load(DEFINITIONS / "rfp.yaml"), load(DEFINITIONS / "rfp-bid.yaml")], actor="admin")
    return eng, clock


def _single_bid_rfp(db: str) -> None:
    """An rfp that received one real bid and opened it (it cannot recommend an award: min_bids is 2)."""
    eng, clock = _rfp_world(db)
    try:
        rid = test_opportunities.published_rfp(eng, clock)
        test_opportunities.submit(eng, rid, 0)
        clock.days(14)
        eng.advance(rid, "open_bids", actor="maria")
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
    assert [f["code"] for f in shown["flags"]] == ["R018"] and shown["processes"] == 1  # the bid is no process
    package = json.loads((tmp_path / "od" / "release-package.json").read_text(encoding="utf-8"))
    last = package["releases"][-1]
    assert last["tender"]["numberOfTenderers"] == 1 and len(last["bids"]["details"]) == 1
    assert last["tag"] == ["tenderUpdate"]


def test_two_bids_raise_no_single_bid_flag(tmp_path: Path) -> None:
    """R018 counts the responses themselves: a second real bid clears it."""
    db = f"sqlite:///{tmp_path / 'rfp.db'}"
    eng, clock = _rfp_world(db)
    try:
        rid = test_opportunities.published_rfp(eng, clock)
        for i in range(2):
            test_opportunities.submit(eng, rid, i)
        clock.days(14)
        eng.advance(rid, "open_bids", actor="maria")
        done = publish(eng, load_city(), [rid])
    finally:
        eng.close()
    assert done.flags == []
    assert done.record_package["records"][0]["compiledRelease"]["tender"]["numberOfTenderers"] == 2


def test_responses_become_bids_counted_from_the_time_each_was_received(tmp_path: Path) -> None:
    """Real bids give the bids block, the tenderer parties and numberOfTenderers release by release, each bid
    counted from its receipt and with the status its case had at that release (replayed, like the release);
    a sealed price is never published, before the opening or after it; the bid extension is then named."""
    db = f"sqlite:///{tmp_path / 'rfp.db'}"
    eng, clock = _rfp_world(db)
    try:
        rid = test_opportunities.published_rfp(eng, clock)
        first = test_opportunities.submit(eng, rid, 0)
        clock.days(1)
        second = test_opportunities.submit(eng, rid, 1)
        clock.days(1)
        eng.advance(rid, "issue_addendum", actor="maria", rationale="questions answered", updates={"addenda_issued": 1})
        doc = tmp_path / "withdrawal.txt"
        doc.write_text("we withdraw our bid", encoding="utf-8")
        eng.advance(second, "withdraw", actor="clerk", rationale="withdrawn in writing", attachments=[doc])
        clock.days(12)
        eng.advance(rid, "open_bids", actor="maria")
        received = json.loads(eng.record(first).entries[0].body)["at"]
        as_case = response_from_record(eng.record(first), tenderer_field="vendor")
        hashes = [h["hash"] for h in eng.history(first)]
        done = publish(eng, load_city(), [rid])
    finally:
        eng.close()
    made = done.release_package["releases"]
    before = [r for r in made if r["date"] < received]
    assert before and all(r["tender"].get("numberOfTenderers", 0) == 0 and "bids" not in r for r in before)
    assert before[-1]["tender"]["numberOfTenderers"] == 0  # published, no bid yet
    by_entry = {(r["auditEntry"]["chain"], r["auditEntry"]["seq"]): r for r in made}
    # Each receipt and the withdrawal are releases of their own, tied to the bid's entry; the addendum changes
    # nothing public and makes none.
    got_first, got_second, withdrawal = by_entry[(first, 1)], by_entry[(second, 1)], by_entry[(second, 2)]
    assert [r["auditEntry"]["chain"] for r in made[-4:]] == [first, second, second, rid]
    assert got_first["tender"]["numberOfTenderers"] == 1 and got_second["tender"]["numberOfTenderers"] == 2
    assert [(b["id"], b["status"]) for b in got_second["bids"]["details"]] == [(first, "pending"), (second, "pending")]
    assert [(b["id"], b["status"]) for b in withdrawal["bids"]["details"]] == [
        (first, "pending"),
        (second, "withdrawn"),
    ]
    opening = made[-1]
    assert opening["tender"]["numberOfTenderers"] == 2  # a withdrawn bid was still submitted
    assert all("value" not in b for r in made for b in (r.get("bids") or {}).get("details", []))
    assert {p["name"] for p in opening["parties"] if "tenderer" in p["roles"]} == {
        "Acme Transit Software LLC",
        "Zenith Mobility Partners",
    }
    assert dataclasses.replace(as_case, moments=()) == Response(
        first, "Acme Transit Software LLC", received, "pending", None, ((received, "pending"),)
    )
    assert [(seq, digest) for _, seq, digest in as_case.moments] == [(1, hashes[0]), (2, hashes[1])]
    assert done.release_package["extensions"][-1] == BID_EXTENSION
    assert bids_block([as_case], "2020-01-01T00:00:00.000000Z", "USD") is None
    constructed = Response("resp-1", "Early Signals LLC", received, "valid", "58000.5")
    assert bids_block([constructed], received, "USD")["details"][0]["value"] == {"amount": 58000.5, "currency": "USD"}


def test_a_late_bid_that_wins_is_flagged_r030(tmp_path: Path) -> None:
    """R030 can happen on the shipped rules: a bid is taken in while the rfp is 'published', and it stays
    published until open_bids fires, at the earliest on the opening date (the clock fires it at the end of
    that day, UTC, or staff later), while the published tender period ends at the start of the opening date
    in the city's zone. A bid received in that gap that wins is what a watchdog running Cardinal will flag."""
    db = f"sqlite:///{tmp_path / 'rfp.db'}"
    eng, clock = _rfp_world(db)
    try:
        rid = test_opportunities.published_rfp(eng, clock)
        early = test_opportunities.submit(eng, rid, 0)
        clock.days(13)  # 15:00 UTC on the opening date: after the period's end (00:00 in Austin)
        late = test_opportunities.submit(eng, rid, 1)
        eng.advance(rid, "open_bids", actor="maria")
        for bid in (early, late):
            eng.assign(bid, ["li", "raj"], actor="maria")
            test_opportunities.score_all(eng, bid, {"li": ("80", "70", "90"), "raj": ("70", "75", "85")})
        eng.advance(
            rid,
            "recommend_award",
            actor="david",
            rationale="best value",
            updates={"recommended_response": late, "award_amount": "385000"},
        )
        doc = tmp_path / "intent.txt"
        doc.write_text("notice of intent", encoding="utf-8")
        eng.advance(
            rid,
            "announce_intent",
            actor="maria",
            attachments=[doc],
            updates={"intent_announced_on": clock.now.date().isoformat()},
        )
        pending = publish(eng, load_city(), [rid])  # announced, not yet awarded: no active award, no R030
        clock.days(11)
        eng.advance(rid, "close_protest_window", actor="maria")
        eng.advance(
            rid,
            "award",
            actor="robert",
            rationale="as noticed",
            updates={"awarded_response": late, "award_amount": "385000"},
        )
        done = publish(eng, load_city(), [rid])
    finally:
        eng.close()
    assert [f.code for f in pending.flags] == []
    assert [f.code for f in done.flags] == ["R030"]
    assert late in done.flags[0].detail
    compiled = done.record_package["records"][0]["compiledRelease"]
    assert compiled["awards"][0]["suppliers"][0]["name"] == "Zenith Mobility Partners"


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
