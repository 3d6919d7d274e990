"""A prize challenge takes entries as cases of their own (challenge v2, challenge-entry), from the outside.

The challenge publishes; entries come in sealed; the clock's close of the
call unseals them all; legal screens each; judges assigned on the challenge
declare and score (a judge with a tie to a team is recused from that entry);
the selection of winners names the first-place entry. Each walk ends with
every chain, and the links between them, verified.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from test_opportunities import Clock  # one simulated clock for the opportunity tests

from engine import Engine, Refused
from pathways import load

ROOT = Path(__file__).resolve().parent.parent
DEFS = ROOT / "definitions"

STAFF = {"priya": ["program_manager"], "hannah": ["legal"], "maria": ["procurement_officer"],
         "marcus": ["authorized_contact"], "robert": ["city_manager"],
         "li": ["judge"], "raj": ["judge"], "nina": ["judge"], "ana": ["judge"]}
JUDGES = ["ana", "li", "nina", "raj"]

ENTRIES = [("HydroPulse Labs", "Ultrasonic stage sensor on a breakaway mast", "$2,150 per crossing"),
           ("StreamWatch", "Pressure transducer in the culvert", "$2,900 per crossing"),
           ("Gauge & Beacon", "Radar gauge on existing sign posts", "$1,780 per crossing")]
CRITERIA = ("effectiveness", "cost", "durability", "ease_of_adoption")

#: The final stages the walks below reach (test_walk counts these as walked here).
FAMILY_FINALS = {"challenge": ("archived", "no_award", "cancelled"),
                 "challenge-entry": ("winner", "not_selected", "ineligible", "no_award", "withdrawn", "cancelled")}



@pytest.fixture
def world(tmp_path: Path):
    clock = Clock()
    e = Engine(f"sqlite:///{tmp_path / 'challenge.db'}", clock=clock)
    e.add_user("admin", ["admin"])
    for name, roles in STAFF.items():
        e.add_user(name, roles, actor="admin")
    e.publish_all([load(DEFS / "challenge.yaml"), load(DEFS / "challenge-entry.yaml")], actor="admin")
    yield e, clock, tmp_path
    e.close()


def published(e: Engine, clock: Clock, tmp_path: Path) -> str:
    cid = e.intake("challenge", {
        "title": "Flash Flood Early Warning Challenge", "problem_statement": "Warn drivers before the water.",
        "subject": "Water-level sensors and beacons", "eligibility_rules": "US teams; no city employees.",
        "registration_process": "Register, then submit by the closing date.", "total_prize": "150000",
        "prize_structure": "75,000 / 45,000 / 30,000", "selection_basis": "Effectiveness 40, cost 30, "
        "durability 20, ease of adoption 10", "city_takes_ip_interest": False}, actor="priya")
    e.advance(cid, "submit_for_review", actor="priya")
    e.advance(cid, "approve", actor="hannah", rationale="rules approved")
    notice = tmp_path / "notice.txt"
    notice.write_text("notice", encoding="utf-8")
    opens = clock.now.date()
    e.advance(cid, "publish", actor="priya", attachments=[notice], updates={
        "notice_url": "https://www.challenge.gov/x", "opens_on": opens.isoformat(),
        "closes_on": (opens + dt.timedelta(days=45)).isoformat()})
    return cid


def enter(e: Engine, cid: str, i: int) -> str:
    team, solution, costs = ENTRIES[i]
    return e.intake("challenge-entry", {"team": team, "solution": solution, "cost_sheet": costs},
                    actor="marcus", parent=cid)


def closed(e: Engine, clock: Clock, tmp_path: Path) -> tuple[str, list[str]]:
    cid = published(e, clock, tmp_path)
    entries = [enter(e, cid, i) for i in range(len(ENTRIES))]
    clock.days(46)
    e.advance(cid, "close_submissions", actor="priya")
    return cid, entries


def judging(e: Engine, clock: Clock, tmp_path: Path) -> tuple[str, list[str]]:
    """Closed, screened (every entry eligible), judges assigned on the challenge, judging begun."""
    cid, entries = closed(e, clock, tmp_path)
    e.advance(cid, "begin_screening", actor="priya")
    for entry in entries:
        e.advance(entry, "find_eligible", actor="hannah", rationale="eligible")
    e.assign(cid, JUDGES, actor="priya")
    e.advance(cid, "begin_judging", actor="priya")
    return cid, entries


def sheet(*values: str) -> dict[str, str]:
    return dict(zip(CRITERIA, values, strict=True))


def score(e: Engine, entry: str, judges: list[str], values: tuple[str, ...] = ("8", "7", "7", "9")) -> None:
    for who in judges:
        e.declare(entry, actor=who, conflict=False)
        e.score(entry, sheet(*values), actor=who)


def attached(tmp_path: Path) -> list[Path]:
    report = tmp_path / "judging-report.txt"
    report.write_text("judging report", encoding="utf-8")
    return [report]


def verified(e: Engine) -> bool:
    return all(r.error is None for r in e.verify())


def test_an_entry_after_the_call_closed_is_refused_and_the_refusal_recorded(world) -> None:
    e, clock, tmp = world
    cid, _ = closed(e, clock, tmp)
    with pytest.raises(Refused) as refused:
        enter(e, cid, 0)
    assert "not taking responses" in refused.value.reasons[0] and "'submissions_closed'" in refused.value.reasons[0]
    assert "15 U.S.C. 3719(f)" in refused.value.reasons[0]
    last = e.history("registry")[-1]
    assert (last["kind"], last["trigger"], last["input"]["parent"]["id"]) == ("refusal", "respond", cid)
    assert verified(e)


def test_the_solution_is_sealed_until_the_call_closes_and_shown_after(world) -> None:
    e, clock, tmp = world
    cid = published(e, clock, tmp)
    entry = enter(e, cid, 1)
    solution, costs = ENTRIES[1][1], ENTRIES[1][2]
    shown = e.show(entry)
    assert shown["data"]["solution"] == {"sealed_until": "close_submissions"}
    assert shown["data"]["team"] == "StreamWatch"  # not sealed: the team is on the public register
    record = e.record(entry)
    every = json.dumps(shown) + json.dumps(record.shown) + json.dumps(record.secrets) + json.dumps(e.history(entry))
    assert solution not in every and costs not in every
    clock.days(46)
    e.advance(cid, "close_submissions", actor="priya")
    after = e.show(entry)
    assert after["state"] == "screening" and after["data"]["solution"] == solution
    assert any(s["value"] == solution for s in e.record(entry).secrets)
    opened = e.history(entry)[-1]
    assert (opened["trigger"], opened["parent"]["trigger"]) == ("open", "close_submissions")
    assert verified(e)


def test_eligibility_is_screened_by_legal_or_the_program_manager_with_the_reasons(world) -> None:
    e, clock, tmp = world
    cid, entries = closed(e, clock, tmp)
    with pytest.raises(Refused, match="needs one of"):
        e.advance(entries[0], "find_eligible", actor="li", rationale="looks fine")
    with pytest.raises(Refused, match="rationale"):
        e.advance(entries[0], "find_eligible", actor="hannah")
    e.advance(entries[0], "find_ineligible", actor="hannah", rationale="a member is a city employee",
              updates={"ineligibility_reason": "Team includes a city employee"})
    e.advance(entries[1], "find_eligible", actor="priya", rationale="registered on time")
    assert [e.show(x)["state"] for x in entries] == ["ineligible", "eligible", "screening"]
    assert verified(e)


def test_judges_assigned_on_the_challenge_skip_entries_that_are_closed(world) -> None:
    """An ineligible (final) entry has no panel to join; assigning on the challenge must not refuse them all."""
    e, clock, tmp = world
    cid, entries = closed(e, clock, tmp)
    e.advance(entries[2], "find_ineligible", actor="hannah", rationale="late registration",
              updates={"ineligibility_reason": "Registered after the deadline"})
    done = e.assign(cid, JUDGES, actor="priya")
    assert sorted(d["id"] for d in done) == entries[:2]
    assert not [h for h in e.history(entries[2]) if h["kind"] in ("assign", "refusal")]
    assert verified(e)


def test_a_judge_with_a_declared_conflict_cannot_score_and_is_excluded(world) -> None:
    e, clock, tmp = world
    _, entries = judging(e, clock, tmp)
    entry = entries[2]
    score(e, entry, ["ana", "li"], ("8", "7", "7", "9"))
    e.declare(entry, actor="raj", conflict=True, statement="Sam Whitaker of the team is my brother-in-law")
    with pytest.raises(Refused, match="recused") as refused:
        e.score(entry, sheet("10", "10", "10", "10"), actor="raj")
    assert "15 U.S.C. 3719(k)(2)" in refused.value.reasons[0]
    last = e.history(entry)[-1]
    assert (last["kind"], last["action"], last["actor"]) == ("refusal", "score", "raj")
    panel = e.evaluation(entry)["panels"]["judging"]
    assert panel["recused"] == ["raj"] and sorted(panel["complete"]) == ["ana", "li"]
    assert panel["summary"]["complete"] == 2  # two of the three sheets needed: not yet evaluated
    score(e, entry, ["nina"], ("6", "7", "7", "9"))
    # ana, li: 0.4*.8 + 0.3*.7 + 0.2*.7 + 0.1*.9 = 76.0; nina: 0.4*.6 + ... = 68.0; mean 73.33
    panel = e.evaluation(entry)["panels"]["judging"]
    assert panel["totals"] == {"ana": 76.0, "li": 76.0, "nina": 68.0} and panel["summary"]["weighted_mean"] == 73.33
    assert panel["spread"]["effectiveness"] == 0.2 and not panel["flagged"]
    assert verified(e)


def test_select_winners_needs_evaluated_entries_and_names_a_real_one(world) -> None:
    e, clock, tmp = world
    cid, entries = judging(e, clock, tmp)
    choose = {"first_place": entries[0], "winners": [entries[0]]}
    with pytest.raises(Refused, match="no entry has a complete evaluation"):
        e.advance(cid, "select_winners", actor="priya", rationale="best", updates=choose,
                  attachments=attached(tmp))
    assert e.history(cid)[-1]["responses"]["evaluated"] == 0
    score(e, entries[0], ["ana", "li", "nina"])
    score(e, entries[1], ["ana", "li", "nina"], ("7", "7", "7", "7"))
    with pytest.raises(Refused, match="not a response to this opportunity"):
        e.advance(cid, "select_winners", actor="priya", rationale="best", attachments=attached(tmp),
                  updates={"first_place": "challenge-entry-0099", "winners": ["challenge-entry-0099"]})
    with pytest.raises(Refused, match="must be among the winners"):
        e.advance(cid, "select_winners", actor="priya", rationale="best", attachments=attached(tmp),
                  updates={"first_place": entries[0], "winners": [entries[1]]})
    with pytest.raises(Refused, match="more winners than entries with a complete evaluation"):
        e.advance(cid, "select_winners", actor="priya", rationale="best", attachments=attached(tmp),
                  updates={"first_place": entries[0], "winners": entries})
    done = e.advance(cid, "select_winners", actor="priya", rationale="ranked by the panels' scores",
                     attachments=attached(tmp), updates={"first_place": entries[0], "winners": entries[:2]})
    assert {m["id"]: m["to"] for m in done["responses"]} == {
        entries[0]: "winner", entries[1]: "not_selected", entries[2]: "not_selected"}
    selection = e.history(cid)[-1]
    assert selection["responses"]["evaluated"] == 2
    follow = e.history(entries[0])[-1]
    assert follow["parent"]["named"] == entries[0] and follow["parent"]["seq"] == selection["seq"]
    assert verified(e)


def walk(e: Engine, clock: Clock, tmp: Path, final: str) -> tuple[str, list[str]]:
    """The challenge to ``final``, with three entries and one the team withdraws (returned last)."""
    cid = published(e, clock, tmp)
    entries = [enter(e, cid, i) for i in range(len(ENTRIES))]
    withdrawn = e.intake("challenge-entry", {"team": "Late Thoughts", "solution": "n/a"}, actor="marcus",
                         parent=cid)
    e.advance(withdrawn, "withdraw", actor="marcus", rationale="the team withdrew in writing",
              attachments=attached(tmp))
    if final == "cancelled":
        e.advance(cid, "cancel", actor="hannah", rationale="funding withdrawn")
        return cid, [*entries, withdrawn]
    clock.days(46)
    assert e.tick() and e.show(cid)["state"] == "submissions_closed"  # the clock closes the call
    e.advance(cid, "begin_screening", actor="priya")
    e.advance(entries[2], "find_ineligible", actor="hannah", rationale="late registration",
              updates={"ineligibility_reason": "Registered after the deadline"})
    for entry in entries[:2]:
        e.advance(entry, "find_eligible", actor="hannah", rationale="eligible")
    e.advance(cid, "begin_judging", actor="priya")
    e.assign(cid, JUDGES, actor="priya")
    score(e, entries[0], ["ana", "li", "nina"], ("9", "7", "8", "8"))
    e.declare(entries[1], actor="raj", conflict=True, statement="former employer of mine")
    score(e, entries[1], ["ana", "li", "nina"], ("6", "7", "7", "7"))
    e.consensus(entries[0], sheet("8.5", "7", "8", "8"), actor="priya", rationale="judges' meeting")
    if final == "no_award":
        e.advance(cid, "declare_no_award", actor="priya", rationale="no entry met the basis for selection")
        return cid, [*entries, withdrawn]
    e.advance(cid, "select_winners", actor="priya", rationale="ranked by score", attachments=attached(tmp),
              updates={"first_place": entries[0], "winners": entries[:2]})
    e.advance(cid, "verify_winners", actor="hannah", rationale="eligibility confirmed",
              updates={"winners_eligibility_verified": True})
    e.advance(cid, "award_prizes", actor="maria", rationale="paid", attachments=attached(tmp),
              updates={"prizes_paid_total": "120000"})
    e.advance(cid, "archive", actor="priya", rationale="record closed")
    return cid, [*entries, withdrawn]


#: Each walk: where it leaves the challenge -> where it leaves its entries (three, then the withdrawn one).
WALKS = {"archived": ["winner", "not_selected", "ineligible", "withdrawn"],
         "no_award": ["no_award", "no_award", "ineligible", "withdrawn"],
         "cancelled": ["cancelled", "cancelled", "cancelled", "withdrawn"]}


@pytest.mark.parametrize("final", WALKS)
def test_the_whole_walk_verifies(world, final: str) -> None:
    e, clock, tmp = world
    cid, entries = walk(e, clock, tmp, final)
    assert e.show(cid)["state"] == final
    assert [e.show(x)["state"] for x in entries] == WALKS[final]
    assert all(r.error is None for r in e.verify())


def test_the_walks_reach_every_final_stage_of_both_pathways() -> None:
    """FAMILY_FINALS is what test_walk counts as walked here: the walks above must reach each of them."""
    reached = {"challenge": set(WALKS), "challenge-entry": {s for states in WALKS.values() for s in states}}
    for stem, finals in FAMILY_FINALS.items():
        assert set(finals) == set(load(DEFS / f"{stem}.yaml").finals) == reached[stem]
