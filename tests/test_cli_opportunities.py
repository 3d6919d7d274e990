"""The evaluation commands and the family views, from the command line (CliRunner on a real database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_opportunities import STAFF, Clock, opened

from cli import cli
from engine import Engine
from pathways import load

DEFS = Path(__file__).resolve().parent.parent / "definitions"


@pytest.fixture
def setup(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    e = Engine(url, clock=Clock())
    e.add_user("admin", ["admin"])
    for name, roles in STAFF.items():
        e.add_user(name, roles, actor="admin")
    e.publish_all([load(DEFS / "rfp.yaml"), load(DEFS / "rfp-bid.yaml")], actor="admin")
    rid, bids, _ = opened(e, e.clock)
    e.close()
    return ["--db", url], rid, bids


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_assign_declare_score_and_the_sheet(runner: CliRunner, setup) -> None:
    db, rid, bids = setup
    code, out, _ = run(runner, *db, "assign", rid, "--evaluator", "li", "--evaluator", "raj", "--as", "maria")
    assert code == 0 and out.count("assign recorded") == 3  # the rfp's assign reaches every bid's panel
    code, _, err = run(runner, *db, "score", bids[0], "--criterion", "technical=80", "--as", "li")
    assert code == 1 and "Refused (recorded in the audit trail)" in err and "has not declared" in err
    assert run(runner, *db, "declare", bids[0], "--no-conflict", "--as", "li")[0] == 0
    assert run(runner, *db, "declare", bids[0], "--conflict", "I consulted for them", "--as", "raj")[0] == 0
    code, out, _ = run(runner, *db, "score", bids[0], "--criterion", "technical=80", "--criterion",
                       "experience=70", "--criterion", "price=90", "--comment", "solid plan", "--as", "li")
    assert code == 0 and "score recorded" in out
    code, out, _ = run(runner, *db, "evaluation", bids[0])
    assert code == 0 and "recused raj" in out and "li" in out and "82.00" in out
    code, out, _ = run(runner, *db, "evaluation", bids[0], "--json")
    sheet = json.loads(out)["panels"]["under_evaluation"]
    assert sheet["totals"] == {"li": 82.0} and sheet["recused"] == ["raj"]
    code, _, err = run(runner, *db, "evaluation", bids[0], "--as", "hannah")
    assert code == 2 and "may not see this evaluation" in err


def test_declare_needs_exactly_one_answer(runner: CliRunner, setup) -> None:
    db, _, bids = setup
    code, _, err = run(runner, *db, "declare", bids[0], "--as", "li")
    assert code == 2 and "exactly one of --no-conflict or --conflict" in err
    code, _, err = run(runner, *db, "score", bids[0], "--criterion", "technical", "--as", "li")
    assert code == 2 and "--criterion 'technical': write KEY=VALUE" in err


def test_list_shows_each_response_under_its_opportunity_and_show_names_the_family(runner: CliRunner,
                                                                                    setup) -> None:
    db, rid, bids = setup
    code, out, _ = run(runner, *db, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(rid) and [line.split()[0] for line in lines[1:]] == bids
    assert all(line.startswith("  ") for line in lines[1:])
    code, out, _ = run(runner, *db, "show", rid)
    assert code == 0 and "responses (3):" in out and all(b in out for b in bids)
    code, out, _ = run(runner, *db, "show", bids[0])
    assert code == 0 and f"answers: {rid}" in out and "(was sealed until the opening)" in out


def test_a_late_response_is_refused_with_exit_1(runner: CliRunner, setup, tmp_path: Path) -> None:
    db, rid, _ = setup
    code, _, err = run(runner, *db, "intake", "rfp-bid", "--parent", rid, "--set", "vendor=Late LLC",
                       "--set", "price=1000", "--as", "clerk")
    assert code == 1 and "not taking responses" in err


def test_a_response_gets_its_receipt_and_shows_sealed_before_the_opening(runner: CliRunner, tmp_path: Path) -> None:
    from test_opportunities import published_rfp

    url = f"sqlite:///{tmp_path / 'r.db'}"
    e = Engine(url, clock=Clock())
    e.add_user("admin", ["admin"])
    for name, roles in STAFF.items():
        e.add_user(name, roles, actor="admin")
    e.publish_all([load(DEFS / "rfp.yaml"), load(DEFS / "rfp-bid.yaml")], actor="admin")
    rid = published_rfp(e, e.clock)
    e.close()
    code, out, _ = run(runner, "--db", url, "intake", "rfp-bid", "--parent", rid, "--set", "vendor=Acme LLC",
                       "--set", "price=123456", "--set", "technical_proposal=Secret approach", "--as", "clerk")
    bid, receipt = out.splitlines()[0], out.splitlines()[1]
    assert code == 0 and receipt.startswith("receipt: ") and len(receipt.split()[1]) == 64
    code, out, _ = run(runner, "--db", url, "show", bid)
    assert code == 0 and "123456" not in out and "123,456" not in out and "Secret approach" not in out
    assert "price: (sealed until the opportunity's open_bids)" in out
    code, out, _ = run(runner, "--db", url, "history", bid)
    assert code == 0 and "123456" not in out and "Secret approach" not in out
