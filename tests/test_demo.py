"""``pathways demo``: a newcomer's first run must work end to end, in-process and as the installed command.

The demo is run once per module (about a second) and the tests read what it
left in its database, so they check the engine's record rather than the
demo's own bookkeeping.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import console_script

from engine import Engine
from engine.demo import DemoResult, run_demo

PATHWAYS = ("challenge", "challenge-entry", "pilot", "rfp", "rfp-bid", "sandbox", "unsolicited")
POSITIVE = {"awarded", "completed", "contracted"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    lines: list[str] = []
    result = run_demo(tmp_path_factory.mktemp("demo") / "pathways-demo", echo=lines.append)
    return result, lines


@pytest.fixture(scope="module")
def eng(demo: tuple[DemoResult, list[str]]) -> Iterator[Engine]:
    engine = Engine(demo[0].db_url)
    yield engine
    engine.close()


def test_every_chain_verifies(demo: tuple[DemoResult, list[str]], eng: Engine) -> None:
    result, _ = demo
    assert result.ok
    ids = [pid for pids in result.proposals.values() for pid in pids]
    assert {r.chain for r in result.reports} >= set(ids)
    assert all(r.error is None for r in eng.verify(raise_on_failure=False))


def test_every_pathway_reaches_a_positive_outcome(demo: tuple[DemoResult, list[str]], eng: Engine) -> None:
    result, _ = demo
    assert sorted(result.proposals) == list(PATHWAYS)
    for pathway, ids in result.proposals.items():
        shown = [eng.show(pid) for pid in ids]
        assert all(s["final"] for s in shown), f"{pathway}: every story ends in a final stage"
        assert any(s["outcome"] in POSITIVE for s in shown), f"{pathway}: no proposal with a positive outcome"


def test_declines_and_returns_carry_a_rationale(demo: tuple[DemoResult, list[str]], eng: Engine) -> None:
    result, _ = demo
    negative = [pid for ids in result.proposals.values() for pid in ids
                if eng.show(pid)["outcome"] in {"declined", "rejected", "returned"}]
    assert len(negative) >= 2
    for pid in negative:
        assert eng.history(pid)[-1]["rationale"], f"{pid} ended without a written reason"


def test_refusals_are_recorded_in_the_trail(demo: tuple[DemoResult, list[str]], eng: Engine) -> None:
    result, _ = demo
    recorded = [e for ids in result.proposals.values() for pid in ids for e in eng.history(pid)
                if e["kind"] == "refusal"]
    assert len(recorded) == len(result.refusals) >= 4
    assert all(e["reasons"] for e in recorded)
    reasons = " ".join(r for e in recorded for r in e["reasons"])
    assert "West Palm Beach Code §66-74" in reasons  # a guard, with its citation
    assert "needs one of" in reasons  # a wrong role
    assert "requires a written rationale" in reasons
    assert "cannot be fired from stage" in reasons


def test_the_clock_fires_deadlines(demo: tuple[DemoResult, list[str]], eng: Engine) -> None:
    result, _ = demo
    assert result.clock_moves
    move = result.clock_moves[0]
    entry = next(e for e in eng.history(move.proposal) if e["trigger"] == move.trigger)
    assert (entry["kind"], entry["actor"], entry["to"]) == ("transition", "clock", move.to)


def test_swiss_challenge_proponent_matches_and_wins(demo: tuple[DemoResult, list[str]], eng: Engine) -> None:
    result, _ = demo
    swiss = [eng.show(pid) for pid in result.proposals["unsolicited"]]
    swiss = [s for s in swiss if "best_challenger" in s["data"]]
    assert len(swiss) == 1
    case = swiss[0]
    data = case["data"]
    assert case["state"] == "contract"
    assert data["best_challenger"] != data["offeror"]
    assert float(data["best_challenger_offer"]) < float(data["proposed_price"])  # the challenger beat the proposal
    assert data["proponent_match_response"] == "matched"
    assert float(data["proponent_matched_offer"]) <= float(data["best_challenger_offer"])
    assert data["winner"] == data["offeror"]
    moves = [e["trigger"] for e in eng.history(case["id"]) if e["kind"] == "transition"]
    assert moves.index("invite_match") < moves.index("record_match_response") < moves.index("award_to_proponent")


def test_summary_is_short_and_points_at_the_database(demo: tuple[DemoResult, list[str]]) -> None:
    result, lines = demo
    text = "\n".join(lines)
    assert len(lines) <= 80  # seven pathways, fifteen proposals (responses one line under their opportunity)
    assert "simulated calendar" in text
    assert f"all {len(result.reports)} audit chains OK" in text
    assert f"pathways --db {result.db_url} verify" in text


def test_installed_command_runs_from_any_directory(tmp_path: Path) -> None:
    command = [console_script(), "demo"]
    for _ in range(2):  # the second run replaces the first demo's database
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
    assert (tmp_path / "pathways-demo" / "demo.db").is_file()
    assert "pilot-0002" in done.stdout and "pilot-0003" not in done.stdout


def test_every_demo_proposal_exports_publicly_and_passes_the_disclosure_check(
        demo: tuple[DemoResult, list[str]], eng: Engine, tmp_path: Path) -> None:
    """unsolicited-0001's public bundle used to show the confidential best_challenger_offer ("$585,000")
    in a rationale; every demo proposal's public bundle and public report (html, md) must pass the check."""
    from engine.disclosure import scan
    from engine.export import export
    from engine.report import build_report, report_bytes

    for pid in [p for ids in demo[0].proposals.values() for p in ids]:
        bundle = export(eng, pid, tmp_path / pid, public=True)
        report = build_report(eng, pid, public=True)
        files = {p.name: p.read_bytes() for p in bundle.folder.rglob("*") if p.is_file()}
        assert report.needles and not scan(files, report.needles), pid
        for fmt in ("html", "md"):
            assert report_bytes(report, fmt)
