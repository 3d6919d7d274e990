"""Opportunities and their responses walked together to every final stage, with real bids and panels.

``test_walk`` walks each single-case pathway from its route search; an
opportunity cannot reach its award without responses that were evaluated, so
the families are walked here, by hand, each walk ending with ``verify``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_opportunities import STAFF, Clock, opened, published_rfp, score_all, submit

from engine import Engine, Refused
from pathways import load

DEFS = Path(__file__).resolve().parent.parent / "definitions"

#: Every final stage of every shipped family pathway, and the walk below that reaches it.
FAMILY_FINALS = [
    ("rfp", "cancelled"), ("rfp", "closed"), ("rfp", "unsuccessful"),
    ("rfp-bid", "awarded"), ("rfp-bid", "cancelled"), ("rfp-bid", "rejected"), ("rfp-bid", "unsuccessful"),
    ("rfp-bid", "withdrawn"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def e(request: pytest.FixtureRequest, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'family.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = Engine(url, clock=Clock())
    eng.add_user("admin", ["admin"])
    for name, roles in STAFF.items():
        eng.add_user(name, roles, actor="admin")
    eng.publish_all([load(DEFS / "rfp.yaml"), load(DEFS / "rfp-bid.yaml")], actor="admin")
    yield eng
    eng.close()


def states(e: Engine, ids: list[str]) -> list[str]:
    return [e.show(i)["state"] for i in ids]


def evaluate(e: Engine, bids: list[str]) -> None:
    for bid in bids:
        e.assign(bid, ["li", "raj"], actor="maria")
        score_all(e, bid, {"li": ("80", "70", "90"), "raj": ("70", "75", "85")})


def test_rfp_to_closed_awards_one_bid_rejects_one_and_the_other_loses(e: Engine) -> None:
    rid, bids, _ = opened(e, e.clock)
    e.advance(bids[2], "reject_nonresponsive", actor="maria", rationale="no bid bond",
              updates={"rejection_reason": "The bid bond required by section 4 is missing."})
    evaluate(e, bids[:2])
    e.advance(rid, "recommend_award", actor="david", rationale="best value",
              updates={"recommended_response": bids[0], "award_amount": "410000"})
    e.advance(rid, "announce_intent", actor="maria", updates={"intent_announced_on": e.clock.now.date().isoformat()},
              attachments=[_doc(e)])
    e.clock.days(11)
    e.advance(rid, "close_protest_window", actor="maria")
    award = {"awarded_response": bids[0], "award_amount": "410000"}
    with pytest.raises(Refused, match="separation of duties"):  # david recommended it
        e.advance(rid, "award", actor="david", rationale="as noticed", updates=award)
    e.advance(rid, "award", actor="robert", rationale="as noticed", updates=award)
    e.advance(rid, "sign_contract", actor="david", attachments=[_doc(e)],
              updates={"contract_number": "CT-1", "contract_signed_on": e.clock.now.date().isoformat()})
    e.advance(rid, "close_out", actor="maria", rationale="file complete")
    assert e.show(rid)["state"] == "closed"
    assert states(e, bids) == ["awarded", "unsuccessful", "rejected"]
    assert all(r.error is None for r in e.verify())


def test_rfp_declared_unsuccessful_closes_every_bid_unsuccessful(e: Engine) -> None:
    rid, bids, _ = opened(e, e.clock)
    e.advance(rid, "declare_unsuccessful", actor="david", rationale="every price is over the budget")
    assert e.show(rid)["state"] == "unsuccessful" and states(e, bids) == ["unsuccessful"] * 3
    assert all(r.error is None for r in e.verify())


def test_rfp_cancelled_cancels_its_bids_and_a_withdrawn_bid_stays_withdrawn(e: Engine) -> None:
    rid = published_rfp(e, e.clock)
    bids = [submit(e, rid, i) for i in range(2)]
    e.advance(bids[1], "withdraw", actor="clerk", rationale="withdrawn in writing", attachments=[_doc(e)])
    e.advance(rid, "cancel", actor="david", rationale="the department's budget was withdrawn")
    assert e.show(rid)["state"] == "cancelled" and states(e, bids) == ["cancelled", "withdrawn"]
    assert all(r.error is None for r in e.verify())


def test_a_withdrawn_recommendation_reopens_the_panels(e: Engine) -> None:
    rid, bids, _ = opened(e, e.clock)
    evaluate(e, bids[:2])
    e.advance(rid, "recommend_award", actor="david", rationale="best value",
              updates={"recommended_response": bids[1], "award_amount": "385000"})
    e.advance(rid, "withdraw_recommendation", actor="david", rationale="price scoring error found")
    assert states(e, bids) == ["under_evaluation"] * 3
    e.score(bids[1], {"price": "60"}, actor="li")  # the panel is open again: a revision is recorded
    assert all(r.error is None for r in e.verify())


def _doc(e: Engine) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / f"doc-{dt.datetime.now().timestamp()}.txt"
    path.write_text("a signed document\n", encoding="utf-8")
    return path


def test_bids_racing_the_opening_are_either_opened_with_the_rest_or_refused(e: Engine) -> None:
    """Bids submitted while the opening fires: each lands before it (and is opened with the others) or after
    it (refused, recorded); none is left sealed in 'received', and the whole database verifies."""
    import threading

    rid = published_rfp(e, e.clock)
    e.clock.days(14)
    results: list[str] = []
    lock = threading.Lock()

    def bidder(i: int) -> None:
        try:
            bid = e.intake("rfp-bid", {"vendor": f"Racer {i} LLC", "price": str(1000 + i)}, actor="clerk",
                           parent=rid)
        except Refused:
            bid = "refused"
        with lock:
            results.append(bid)

    threads = [threading.Thread(target=bidder, args=(i,)) for i in range(8)]
    for t in threads[:4]:
        t.start()
    e.advance(rid, "open_bids", actor="maria")
    for t in threads[4:]:
        t.start()
    for t in threads:
        t.join()
    taken = [b for b in results if b != "refused"]
    assert len(results) == 8 and len(taken) + results.count("refused") == 8
    assert all(e.show(b)["state"] == "under_evaluation" for b in taken)
    assert sorted(r["id"] for r in e.show(rid)["responses"]) == sorted(taken)
    assert all(r.error is None for r in e.verify())
