"""Opportunities that take responses, evaluation panels and sealed bids (issue 12), from the outside.

An rfp opens, three sealed bids come in, the bids are opened on time, a panel
declares and scores (one recusal, one refused undeclared scorer), the award
names one bid; the replay checks each chain and the links between them.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from engine import Engine, Refused
from engine.audit import seal
from engine.errors import VerificationFailed
from pathways import load
from pathways.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
DEFS = ROOT / "definitions"

STAFF = {"maria": ["procurement_officer"], "david": ["purchasing_director"], "hannah": ["legal"],
         "clerk": ["bid_clerk"], "li": ["evaluator"], "raj": ["evaluator"], "kwame": ["evaluator"],
         "nina": ["evaluator"], "chair": ["panel_chair"], "sofia": ["department_sponsor"],
         "robert": ["city_manager"]}

BIDS = [("Acme Transit Software LLC", "410000.00", "Cloud dispatch in 90 days", "unit price 41.00"),
        ("Zenith Mobility Partners", "385000", "On-premise, 120 days", "unit price 38.50"),
        ("Orbital Works Inc.", "455000", "Hybrid, phased", "unit price 45.50")]


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)
        return self.now

    def days(self, n: float) -> None:
        self.now += dt.timedelta(days=n)


@pytest.fixture
def world(tmp_path: Path):
    clock = Clock()
    path = tmp_path / "opp.db"
    e = Engine(f"sqlite:///{path}", clock=clock)
    e.add_user("admin", ["admin"])
    for name, roles in STAFF.items():
        e.add_user(name, roles, actor="admin")
    e.publish_all([load(DEFS / "rfp.yaml"), load(DEFS / "rfp-bid.yaml")], actor="admin")
    yield e, clock, path
    e.close()


def published_rfp(e: Engine, clock: Clock) -> str:
    rid = e.intake("rfp", {"title": "Transit dispatch software", "department": "Transportation",
                           "estimated_value": "450000", "method": "competitive_sealed_proposals"}, actor="sofia")
    e.advance(rid, "submit_for_review", actor="maria")
    e.advance(rid, "approve_solicitation", actor="hannah", rationale="documents approved",
              updates={"legal_approved": "true"})
    opening = (clock.now + dt.timedelta(days=20)).date()
    e.advance(rid, "publish", actor="maria", updates={
        "solicitation_number": "RFP 8100 ABC", "authorized_contact_name": "Marcus Lee",
        "notice_first_published": clock.now.date().isoformat(), "bid_opening": opening.isoformat()})
    clock.days(7)
    e.advance(rid, "record_second_notice", actor="maria",
              updates={"notice_second_published": clock.now.date().isoformat()})
    return rid


def submit(e: Engine, rid: str, i: int) -> str:
    vendor, price, tech, details = BIDS[i]
    return e.intake("rfp-bid", {"vendor": vendor, "price": price, "technical_proposal": tech,
                                "pricing_details": details}, actor="clerk", parent=rid)


def opened(e: Engine, clock: Clock):
    rid = published_rfp(e, clock)
    bids = [submit(e, rid, i) for i in range(3)]
    clock.days(14)
    moved = e.advance(rid, "open_bids", actor="maria")
    return rid, bids, moved


def score_all(e: Engine, bid: str, sheets: dict[str, tuple[str, str, str]]) -> None:
    for who, (tech, exp, price) in sheets.items():
        e.declare(bid, actor=who, conflict=False)
        e.score(bid, {"technical": tech, "experience": exp, "price": price}, actor=who)


def test_opening_moves_every_bid_on_both_chains(world) -> None:
    e, clock, _ = world
    rid, bids, moved = opened(e, clock)
    assert [m["id"] for m in moved["responses"]] == bids
    assert all(m["to"] == "under_evaluation" for m in moved["responses"])
    opening = e.history(rid)[-1]
    assert opening["responses"]["received"] == 3
    assert [r["id"] for r in opening["responses"]["at"]] == bids
    follow = e.history(bids[0])[-1]
    assert follow["parent"] == {"id": rid, "seq": opening["seq"], "head": opening["hash"], "trigger": "open_bids",
                                "named": None}
    assert all(r.error is None for r in e.verify())


def test_a_response_cannot_be_submitted_once_the_opportunity_has_closed(world) -> None:
    e, clock, _ = world
    rid, _, _ = opened(e, clock)
    with pytest.raises(Refused) as refused:
        submit(e, rid, 0)
    assert "not taking responses" in refused.value.reasons[0] and "'evaluation'" in refused.value.reasons[0]
    last = e.history("registry")[-1]
    assert (last["kind"], last["trigger"], last["input"]["parent"]["id"]) == ("refusal", "respond", rid)
    assert all(r.error is None for r in e.verify())


def test_a_response_needs_its_opportunity(world) -> None:
    e, clock, _ = world
    with pytest.raises(UsageError, match="give --parent"):
        e.intake("rfp-bid", {"vendor": "A", "price": "1"}, actor="clerk")
    rid = published_rfp(e, clock)
    with pytest.raises(UsageError, match="answer no opportunity"):
        e.intake("rfp", {"title": "x", "department": "y", "estimated_value": "1", "method":
                         "competitive_sealed_bids"}, actor="sofia", parent=rid)


def test_sealed_fields_are_absent_from_every_output_before_opening_and_present_after(world, tmp_path) -> None:
    e, clock, _ = world
    rid = published_rfp(e, clock)
    bid = submit(e, rid, 1)
    secret_price, secret_text = "385000", "On-premise, 120 days"
    shown = e.show(bid)
    assert shown["data"]["price"] == {"sealed_until": "open_bids"} and "technical_proposal" not in json.dumps(
        shown["data"]).replace('"technical_proposal": {"sealed_until": "open_bids"}', "")
    record = e.record(bid)
    every = json.dumps(record.shown) + json.dumps(record.secrets) + json.dumps(e.history(bid))
    assert secret_price not in every and secret_text not in every
    from engine.export import export

    with pytest.raises(Exception, match="sealed"):
        export(e, bid, tmp_path / "private", public=False)
    clock.days(21)
    e.advance(rid, "open_bids", actor="maria")
    after = e.show(bid)
    assert after["data"]["price"] == "385000" and after["data"]["technical_proposal"] == secret_text
    assert any(s["value"] == secret_text for s in e.record(bid).secrets)


def test_an_undeclared_evaluator_cannot_score_and_the_refusal_is_recorded(world) -> None:
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    e.assign(bids[0], ["li", "raj"], actor="maria")
    with pytest.raises(Refused) as refused:
        e.score(bids[0], {"technical": "80"}, actor="li")
    assert "has not declared" in refused.value.reasons[0]
    last = e.history(bids[0])[-1]
    assert (last["kind"], last["action"], last["actor"]) == ("refusal", "score", "li")
    assert all(r.error is None for r in e.verify())


def test_a_recused_evaluator_cannot_score_and_is_excluded_from_every_total(world) -> None:
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    bid = bids[0]
    e.assign(bid, ["li", "raj", "kwame"], actor="maria")
    score_all(e, bid, {"li": ("80", "70", "90"), "raj": ("60", "70", "90")})
    e.declare(bid, actor="kwame", conflict=True, statement="my brother-in-law works for the bidder")
    with pytest.raises(Refused, match="recused"):
        e.score(bid, {"technical": "100", "experience": "100", "price": "100"}, actor="kwame")
    sheet = e.evaluation(bid)
    panel = sheet["panels"]["under_evaluation"]
    assert panel["recused"] == ["kwame"] and sorted(panel["complete"]) == ["li", "raj"]
    # li: (0.4*80 + 0.2*70 + 0.4*90) = 82.0; raj: (0.4*60 + 0.2*70 + 0.4*90) = 74.0; mean 78.0
    assert panel["totals"] == {"li": 82.0, "raj": 74.0} and panel["summary"]["weighted_mean"] == 78.0
    assert panel["spread"]["technical"] == 0.2 and not panel["flagged"]


def test_revised_scores_keep_every_version_on_the_record(world) -> None:
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    e.assign(bids[0], ["li"], actor="maria")
    e.declare(bids[0], actor="li", conflict=False)
    e.score(bids[0], {"technical": "50"}, actor="li")
    e.score(bids[0], {"technical": "65", "experience": "70", "price": "80"}, actor="li", comment="revised")
    scores = [h["input"]["scores"] for h in e.history(bids[0]) if h["kind"] == "score"]
    assert scores == [{"technical": "50"}, {"technical": "65", "experience": "70", "price": "80"}]
    assert e.evaluation(bids[0])["panels"]["under_evaluation"]["sheets"]["li"]["technical"] == "65"


def test_scores_outside_the_scale_or_unknown_criteria_are_refused(world) -> None:
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    e.assign(bids[0], ["li"], actor="maria")
    e.declare(bids[0], actor="li", conflict=False)
    for bad, why in (({"technical": "101"}, "from 0 to 100"), ({"technical": "1e2"}, "from 0 to 100"),
                     ({"colour": "5"}, "no criterion 'colour'"), ({"technical": "70.555"}, "two decimals")):
        with pytest.raises(Refused, match=why):
            e.score(bids[0], bad, actor="li")


def test_a_guard_needing_complete_evaluations_refuses_at_one_and_passes_at_two(world) -> None:
    e, clock, _ = world
    rid, bids, _ = opened(e, clock)
    for bid in bids[:2]:
        e.assign(bid, ["li", "raj"], actor="maria")
    score_all(e, bids[0], {"li": ("80", "70", "90"), "raj": ("70", "70", "80")})
    score_all(e, bids[1], {"li": ("60", "70", "90")})
    recommend = {"recommended_response": bids[0], "award_amount": "410000"}
    with pytest.raises(Refused, match="not enough bids have a complete evaluation"):
        e.advance(rid, "recommend_award", actor="david", rationale="best value", updates=recommend)
    assert e.history(rid)[-1]["responses"]["evaluated"] == 1
    e.declare(bids[1], actor="raj", conflict=False)
    e.score(bids[1], {"technical": "65", "experience": "60", "price": "95"}, actor="raj")
    done = e.advance(rid, "recommend_award", actor="david", rationale="best value", updates=recommend)
    assert {m["id"]: m["to"] for m in done["responses"]} == {
        bids[0]: "recommended", bids[1]: "not_recommended", bids[2]: "not_recommended"}
    assert all(r.error is None for r in e.verify())


def test_the_award_names_a_response_of_its_own_opportunity(world) -> None:
    e, clock, _ = world
    rid, bids, _ = opened(e, clock)
    for bid in bids[:2]:
        e.assign(bid, ["li", "raj"], actor="maria")
        score_all(e, bid, {"li": ("80", "70", "90"), "raj": ("70", "70", "80")})
    with pytest.raises(Refused, match="not a response to this opportunity"):
        e.advance(rid, "recommend_award", actor="david", rationale="x",
                  updates={"recommended_response": "rfp-bid-0099", "award_amount": "1"})
    assert e.history(rid)[-1]["refused_inputs"] == ["recommended_response"]
    assert all(r.error is None for r in e.verify())


def test_consensus_needs_a_complete_evaluation_and_its_rationale(world) -> None:
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    bid = bids[0]
    e.assign(bid, ["li", "raj"], actor="maria")
    full = {"technical": "75", "experience": "70", "price": "85"}
    with pytest.raises(Refused, match="not complete"):
        e.consensus(bid, full, actor="chair", rationale="agreed")
    score_all(e, bid, {"li": ("90", "70", "90"), "raj": ("50", "70", "80")})
    sheet = e.evaluation(bid)["panels"]["under_evaluation"]
    assert sheet["flagged"] == ["technical"]  # 40 points apart on a 100 scale: 0.4 >= 0.3
    with pytest.raises(Refused, match="panel_chair"):
        e.consensus(bid, full, actor="maria", rationale="agreed")
    e.consensus(bid, full, actor="chair", rationale="agreed at the consensus meeting")
    summary = e.evaluation(bid)["panels"]["under_evaluation"]["summary"]
    assert summary["has_consensus"] and summary["consensus"] == 78.0  # 0.4*75 + 0.2*70 + 0.4*85


def test_blind_panels_hide_others_scores_until_an_evaluator_has_submitted(world) -> None:
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    e.assign(bids[0], ["li", "raj"], actor="maria")
    score_all(e, bids[0], {"li": ("80", "70", "90")})
    e.declare(bids[0], actor="raj", conflict=False)
    view = e.evaluation(bids[0], viewer="raj")["panels"]["under_evaluation"]
    assert set(view["sheets"]) == set() and view["hidden"]
    e.score(bids[0], {"technical": "70", "experience": "70", "price": "70"}, actor="raj")
    view = e.evaluation(bids[0], viewer="raj")["panels"]["under_evaluation"]
    assert set(view["sheets"]) == {"li", "raj"}


def test_the_replay_catches_a_score_by_a_recused_evaluator_inserted_into_the_database(world) -> None:
    e, clock, path = world
    _, bids, _ = opened(e, clock)
    bid = bids[0]
    e.assign(bid, ["li", "kwame"], actor="maria")
    e.declare(bid, actor="kwame", conflict=True, statement="former employee of the bidder")
    last = e.history(bid)[-1]
    forged = {k: v for k, v in last.items() if k != "hash"}
    forged.update(kind="score", seq=last["seq"] + 1, prev=last["hash"], actor="kwame", role="evaluator",
                  to=last["from"], input={"scores": {"technical": "100", "experience": "100", "price": "100"}},
                  at=(dt.datetime.fromisoformat(last["at"][:-1]) + dt.timedelta(seconds=1)).strftime(
                      "%Y-%m-%dT%H:%M:%S.%fZ"))
    body, digest = seal(forged)
    c = sqlite3.connect(path)
    c.execute("insert into audit_log (chain, seq, hash, body) values (?, ?, ?, ?)",
              (bid, forged["seq"], digest, body))
    c.execute("update proposals set seq=?, head=? where id=?", (forged["seq"], digest, bid))
    c.commit()
    c.close()
    failed = [r for r in e.verify(raise_on_failure=False) if r.error]
    assert [(r.chain, r.error.seq) for r in failed] == [(bid, forged["seq"])]
    assert "recused" in failed[0].error.reason


def test_the_replay_catches_a_response_whose_opportunity_link_was_moved(world) -> None:
    e, clock, path = world
    rid, bids, _ = opened(e, clock)
    c = sqlite3.connect(path)
    c.execute("update responses set parent=? where child=?", ("rfp-0099", bids[1]))
    c.commit()
    c.close()
    failed = [r for r in e.verify(raise_on_failure=False) if r.error]
    assert [r.chain for r in failed] == [bids[1]] and "responses table" in failed[0].error.reason
    with pytest.raises(VerificationFailed):
        e.verify()


PANEL = ROOT / "tests" / "data" / "panel.yaml"


@pytest.fixture
def scored(tmp_path: Path):
    e = Engine(f"sqlite:///{tmp_path / 'panel.db'}", clock=Clock())
    e.add_user("admin", ["admin"])
    for name, roles in {"ofe": ["officer"], "a": ["evaluator"], "b": ["evaluator"], "c": ["evaluator"],
                        "d": ["evaluator"], "ch": ["chair"]}.items():
        e.add_user(name, roles, actor="admin")
    e.publish(PANEL, actor="admin")
    pid = e.intake("panel", {"vendor": "Acme"}, actor="ofe")
    e.assign(pid, ["a", "b", "c", "d"], actor="ofe")
    yield e, pid
    e.close()


def test_a_guard_needing_three_complete_evaluations_refuses_at_two_and_passes_at_three(scored) -> None:
    e, pid = scored
    for who in ("a", "b"):
        e.declare(pid, actor=who, conflict=False)
        e.score(pid, {"merit": "8", "cost": "4"}, actor=who)  # (3 * 0.8 + 1 * 0.8) / 4 = 80
    with pytest.raises(Refused, match="three complete evaluations"):
        e.advance(pid, "shortlist", actor="ofe")
    e.declare(pid, actor="d", conflict=True, statement="I advised the vendor last year")
    e.declare(pid, actor="c", conflict=False)
    e.score(pid, {"merit": "7"}, actor="c")  # incomplete: one criterion missing
    with pytest.raises(Refused, match="three complete evaluations"):
        e.advance(pid, "shortlist", actor="ofe")
    e.score(pid, {"cost": "3"}, actor="c")  # now complete: (3 * 0.7 + 1 * 0.6) / 4 = 67.5
    assert e.advance(pid, "shortlist", actor="ofe")["to"] == "shortlisted"
    conditions = e.history(pid)[-1]["conditions"]
    assert [c["result"] for c in conditions] == [True, True]
    assert e.advance(pid, "accept", actor="ofe", rationale="meets the bar")["to"] == "accepted"
    assert all(r.error is None for r in e.verify())


def test_the_replay_catches_a_forged_shortlist_whose_panel_was_not_complete(scored, tmp_path: Path) -> None:
    e, pid = scored
    e.declare(pid, actor="a", conflict=False)
    e.score(pid, {"merit": "9", "cost": "5"}, actor="a")
    last = e.history(pid)[-1]
    forged = {k: v for k, v in last.items() if k not in ("hash", "stage")}
    forged.update(kind="transition", seq=last["seq"] + 1, prev=last["hash"], actor="ofe", role="officer",
                  trigger="shortlist", to="shortlisted", input={},
                  conditions=[{"check": "evaluations.complete >= 3 && evaluations.weighted_mean >= 70.0",
                               "result": True, "cite": "FAR 15.305(a)"},
                              {"check": "evaluations.lowest.merit >= 5.0 && evaluations.recusals <= 1",
                               "result": True, "cite": ""}])
    body, digest = seal(forged)
    c = sqlite3.connect(tmp_path / "panel.db")
    c.execute("insert into audit_log (chain, seq, hash, body) values (?, ?, ?, ?)", (pid, forged["seq"], digest, body))
    c.execute("update proposals set seq=?, head=?, state='shortlisted' where id=?", (forged["seq"], digest, pid))
    c.commit()
    c.close()
    failed = [r for r in e.verify(raise_on_failure=False) if r.error]
    assert [(r.chain, r.error.seq) for r in failed] == [(pid, forged["seq"])]
    assert "recorded rule results are not what the rules give" in failed[0].error.reason


def test_bundles_of_an_opportunity_and_its_bids_verify_on_their_own(world, tmp_path: Path) -> None:
    import subprocess
    import sys

    from engine.export import export

    e, clock, _ = world
    rid, bids, _ = opened(e, clock)
    e.assign(rid, ["li", "kwame"], actor="maria")
    score_all(e, bids[0], {"li": ("80", "70", "90")})
    e.declare(bids[0], actor="kwame", conflict=True, statement="consulted for the bidder")
    for pid, public in ((rid, True), (bids[0], False), (bids[0], True)):
        bundle = export(e, pid, tmp_path / f"{pid}-{public}", public=public)
        done = subprocess.run([sys.executable, "-I", str(bundle.folder / "verify.py"), str(bundle.folder)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"ok: {pid}:" in done.stdout
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / f"{bids[0]}-True").rglob("*")
                   if p.is_file())
    assert "unit price 41.00" not in text and "410000" not in text  # sealed then, confidential still: withheld
