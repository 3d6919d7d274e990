"""Separation of duties: distinct_from, N distinct approvals, and proposal.actors in guards (issue 13)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_opportunities import Clock  # one simulated clock for the opportunity tests

from engine import Engine, Refused
from engine.audit import seal

DUTIES = Path(__file__).resolve().parent / "data" / "duties.yaml"



@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'duties.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    e = Engine(url, clock=Clock())
    e.add_user("admin", ["admin"])
    for name, roles in {"olga": ["officer", "director"], "dan": ["director"], "dee": ["director"],
                        "ola": ["officer"]}.items():
        e.add_user(name, roles, actor="admin")
    e.publish(DUTIES, actor="admin")
    pid = e.intake("duties", {"vendor": "Acme"}, actor="ola")
    yield e, pid, request.param, tmp_path
    e.close()


def test_one_person_cannot_both_recommend_and_approve(world) -> None:
    e, pid, _, _ = world
    e.advance(pid, "recommend", actor="olga")
    with pytest.raises(Refused) as refused:
        e.advance(pid, "approve", actor="olga")
    assert refused.value.reasons == ["olga fired 'recommend' on this proposal; 'approve' must be done by someone "
                                     "else (separation of duties)"]
    assert e.history(pid)[-1]["kind"] == "refusal"
    assert e.advance(pid, "approve", actor="dan")["to"] == "approved"
    assert all(r.error is None for r in e.verify())


def test_two_approvals_by_two_people_fire_the_transition_and_a_second_by_the_same_is_refused(world) -> None:
    e, pid, _, _ = world
    e.advance(pid, "recommend", actor="ola")
    e.advance(pid, "approve", actor="dan")
    first = e.advance(pid, "sign", actor="dee", rationale="signed")
    assert (first["to"], first["approved"], first["of"]) == ("approved", 1, 2)
    assert e.history(pid)[-1]["kind"] == "approval"
    with pytest.raises(Refused, match="dee has already approved 'sign'"):
        e.advance(pid, "sign", actor="dee", rationale="again")
    with pytest.raises(Refused, match="the approver does not also sign"):
        e.advance(pid, "sign", actor="dan", rationale="I approved it earlier")
    done = e.advance(pid, "sign", actor="olga", rationale="second signature")
    assert done["to"] == "signed" and "approved" not in done
    assert all(r.error is None for r in e.verify())


def test_approvals_start_afresh_when_the_proposal_comes_back_to_the_stage(world) -> None:
    e, pid, _, _ = world
    e.advance(pid, "recommend", actor="ola")
    e.advance(pid, "approve", actor="dan")
    e.advance(pid, "sign", actor="dee", rationale="first")
    e.advance(pid, "send_back", actor="dan")
    e.advance(pid, "recommend", actor="ola")
    e.advance(pid, "approve", actor="dan")
    assert e.advance(pid, "sign", actor="dee", rationale="first again")["approved"] == 1
    assert all(r.error is None for r in e.verify())


def test_the_replay_catches_an_approval_by_the_recommender_inserted_into_the_database(world) -> None:
    e, pid, backend, tmp_path = world
    if backend != "sqlite":
        pytest.skip("the forgery writes the SQLite file")
    e.advance(pid, "recommend", actor="olga")
    last = e.history(pid)[-1]
    forged = {k: v for k, v in last.items() if k != "hash"}
    forged.update(seq=last["seq"] + 1, prev=last["hash"], trigger="approve", role="director", **{"from": "recommended"},
                  to="approved", conditions=[{"check": "size(proposal.actors.recommend) == 1", "result": True,
                                              "cite": ""}])
    body, digest = seal(forged)
    c = sqlite3.connect(tmp_path / "duties.db")
    c.execute("insert into audit_log (chain, seq, hash, body) values (?, ?, ?, ?)", (pid, forged["seq"], digest, body))
    c.execute("update proposals set seq=?, head=?, state='approved' where id=?", (forged["seq"], digest, pid))
    c.commit()
    c.close()
    failed = [r for r in e.verify(raise_on_failure=False) if r.error]
    assert [(r.chain, r.error.seq) for r in failed] == [(pid, forged["seq"])]
    assert "separation of duties" in failed[0].error.reason
    assert json.loads(body)["actor"] == "olga"


def test_a_bundle_with_approvals_verifies_on_its_own(world, tmp_path: Path) -> None:
    import subprocess
    import sys

    from engine.export import export

    e, pid, _, _ = world
    e.advance(pid, "recommend", actor="ola")
    e.advance(pid, "approve", actor="dan")
    e.advance(pid, "sign", actor="dee", rationale="first")
    e.advance(pid, "sign", actor="olga", rationale="second")
    bundle = export(e, pid, tmp_path / "bundle")
    done = subprocess.run([sys.executable, "-I", str(bundle.folder / "verify.py"), str(bundle.folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok: {pid}: 5 entries intact and lawful" in done.stdout  # intake, 3 steps, 1 approval
