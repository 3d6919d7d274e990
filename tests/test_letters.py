"""Letters to vendors: rendered at the decision, hashed into its entry, kept like a confidential value (issue 13)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_opportunities import BIDS, opened, score_all, world  # noqa: F401 - the fixture

from cli import cli
from engine import Refused
from engine.export import export


def test_a_letter_on_rejection_holds_the_rationale_and_no_other_vendors_data(world) -> None:  # noqa: F811
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    e.advance(bids[1], "reject_nonresponsive", actor="maria", rationale="The bid bond is missing.",
              updates={"rejection_reason": "Section 4 requires a 5% bid bond."})
    (letter,) = e.letters(bids[1])
    html = letter["html"]
    assert letter["name"] == "declined" and "The bid bond is missing." in html and "Zenith Mobility Partners" in html
    for vendor, _price, tech, details in (BIDS[0], BIDS[2]):  # the other bids: not their names, not their values
        assert vendor not in html and details not in html and tech not in html
    entry = e.history(bids[1])[-1]
    assert entry["letter"] == {"name": "declined", "salted_sha256": letter["salted_sha256"]}
    assert all(r.error is None for r in e.verify())


def test_a_letter_that_would_quote_another_respondents_confidential_value_is_refused(world) -> None:  # noqa: F811
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    with pytest.raises(Refused, match="quote another respondent's confidential"):
        e.advance(bids[1], "reject_nonresponsive", actor="maria", updates={"rejection_reason": "late"},
                  rationale="Acme offered unit price 41.00, far below yours.")  # Acme's sealed pricing details
    refusal = e.history(bids[1])[-1]
    assert refusal["kind"] == "refusal" and refusal["rationale"] is None and "rationale" in refusal["refused_inputs"]
    assert "41.00" not in json.dumps(refusal) and e.letters(bids[1]) == []
    assert all(r.error is None for r in e.verify())


def test_award_letters_go_to_every_bid_with_the_shared_scores_and_the_protest_window(world) -> None:  # noqa: F811
    e, clock, _ = world
    rid, bids, _ = opened(e, clock)
    for bid in bids[:2]:
        e.assign(bid, ["li", "raj"], actor="maria")
        score_all(e, bid, {"li": ("80", "70", "90"), "raj": ("70", "75", "85")})
    e.advance(rid, "declare_unsuccessful", actor="david", rationale="Every price is above the budget.")
    for bid in bids:
        (letter,) = e.letters(bid)
        assert letter["name"] == "unsuccessful" and "Every price is above the budget." in letter["html"]
    scored = e.letters(bids[0])[0]["html"]
    assert "How your bid was scored" in scored and "Weighted total: 79.50 of 100" in scored  # (82 + 77) / 2
    assert "How your bid was scored" not in e.letters(bids[2])[0]["html"]  # never evaluated: nothing to share
    assert "you may protest in writing" in scored and "[Va. Code §2.2-4360(A)]" in scored  # the rfp's window
    assert all(r.error is None for r in e.verify())


def test_a_public_bundle_carries_the_letters_hash_and_a_private_one_its_text(world, tmp_path: Path) -> None:  # noqa: F811
    e, clock, _ = world
    _, bids, _ = opened(e, clock)
    e.advance(bids[0], "reject_nonresponsive", actor="maria", rationale="Unsigned form.",
              updates={"rejection_reason": "The form is unsigned."})
    public = export(e, bids[0], tmp_path / "pub", public=True)
    private = export(e, bids[0], tmp_path / "priv")
    public_text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in public.folder.rglob("*")
                          if p.is_file())
    assert "Thank you for your bid" not in public_text and e.letters(bids[0])[0]["salted_sha256"] in public_text
    kept = json.loads((private.folder / "secrets.json").read_text(encoding="utf-8"))["secrets"]
    assert any(s["field"] == ":letter" and "Thank you for your bid" in s["value"] for s in kept)
    for folder in (public.folder, private.folder):
        done = subprocess.run([sys.executable, "-I", str(folder / "verify.py"), str(folder)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_replay_catches_an_edited_letter(world) -> None:  # noqa: F811
    e, clock, path = world
    _, bids, _ = opened(e, clock)
    e.advance(bids[0], "reject_nonresponsive", actor="maria", rationale="Unsigned form.",
              updates={"rejection_reason": "The form is unsigned."})
    c = sqlite3.connect(path)
    c.execute("drop trigger if exists audit_secrets_no_update")
    value = json.loads(c.execute("select value from audit_secrets where chain=? and field=':letter'",
                                 (bids[0],)).fetchone()[0])
    c.execute("update audit_secrets set value=? where chain=? and field=':letter'",
              (json.dumps(value.replace("Unsigned form.", "Your price was too high.")), bids[0]))
    c.commit()
    c.close()
    failed = [r for r in e.verify(raise_on_failure=False) if r.error]
    assert [r.chain for r in failed] == [bids[0]] and "the letter" in failed[0].error.reason


def test_pathways_letters_writes_each_letter(world, tmp_path: Path) -> None:  # noqa: F811
    e, clock, path = world
    _, bids, _ = opened(e, clock)
    e.advance(bids[0], "reject_nonresponsive", actor="maria", rationale="Unsigned form.",
              updates={"rejection_reason": "The form is unsigned."})
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{path}", "letters", bids[0], "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    (written,) = list((tmp_path / "out").iterdir())
    assert written.name.endswith("-declined.html") and "Unsigned form." in written.read_text(encoding="utf-8")
