"""Concurrency: many processes firing the same transition at once serialise on the proposal's lock.

The property (DESIGN.md, "Flow of one transition"): ``advance`` locks the
proposal row (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``SELECT ... FOR
UPDATE``), so when N people fire ``approve`` on one proposal at the same
moment exactly one wins; every other one is refused *cleanly* (an
``engine.Refused`` saying the trigger cannot be fired from the new stage,
recorded in the trail), never a database error; and the chain stays one
line: seq 1..n, no gaps, no duplicates, no fork, and it verifies.

N racers are separate processes (``tests/workers/racer.py``), each with its
own ``Engine``, started once per module and reused across rounds and
backends. The barrier is a wall-clock instant sent with each ``fire``
command: every racer sleeps until it, then calls ``advance``.

The negative control runs the same harness and the same check against the
engine with its lock taken out (in the worker only; the engine has no test
switch) and shows the check then fails, so the real test is not vacuous.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from workers.pathway import OFFICERS, YAML, new_proposal, prepare

from engine import Engine
from engine import storage as st

WORKERS = Path(__file__).resolve().parent / "workers"
N = len(OFFICERS)  # 8 racers
ROUNDS = 4  # fresh proposal each round
CONTROL_ROUNDS = 10  # the negative control must show a violation within this many rounds
REPLY_TIMEOUT = 60.0  # seconds; a hung racer fails the test instead of hanging it
CLEAN_REFUSAL = "'approve' cannot be fired from stage 'approved'"


class Racers:
    """N long-lived racer processes, driven by JSON lines over their stdin/stdout."""

    def __init__(self, n: int, logs: Path) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = [logs / f"racer{i}.stderr" for i in range(n)]
        self._buffers = [b""] * n
        for log in self.logs:
            with open(log, "wb") as err:
                self.procs.append(subprocess.Popen([sys.executable, str(WORKERS / "racer.py")], cwd=WORKERS,
                                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err))
        for i in range(n):
            assert self._read(i, time.monotonic() + REPLY_TIMEOUT) == {"ready": True}

    def _read(self, i: int, deadline: float) -> dict[str, Any]:
        out = self.procs[i].stdout
        assert out is not None
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            while b"\n" not in self._buffers[i]:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.close()
                    pytest.fail(f"racer {i} gave no answer in {REPLY_TIMEOUT:.0f} s; stderr:\n{self.stderr(i)}")
                chunk = os.read(out.fileno(), 65536)
                if not chunk:
                    pytest.fail(f"racer {i} exited ({self.procs[i].poll()}); stderr:\n{self.stderr(i)}")
                self._buffers[i] += chunk
        line, self._buffers[i] = self._buffers[i].split(b"\n", 1)
        return json.loads(line)

    def stderr(self, i: int) -> str:
        return self.logs[i].read_text(errors="replace")[-4000:]

    def ask(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send one command to each racer (all sent before any answer is read), then collect the answers."""
        for proc, cmd in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(cmd).encode() + b"\n")
            proc.stdin.flush()
        deadline = time.monotonic() + REPLY_TIMEOUT
        return [self._read(i, deadline) for i in range(len(self.procs))]

    def open(self, url: str, *, unlocked: bool, warm: str) -> None:
        answers = self.ask([{"op": "open", "url": url, "unlocked": unlocked, "warm": warm}] * len(self.procs))
        assert all(a == {"ok": True} for a in answers), answers

    def fire(self, url: str, pid: str, trigger: str, *, unlocked: bool) -> list[dict[str, Any]]:
        """Every racer fires ``trigger`` on ``pid`` at the same instant, as a different officer."""
        at = time.time() + 0.05  # the barrier: far enough ahead that every racer has read its command
        return self.ask([{"op": "fire", "url": url, "unlocked": unlocked, "pid": pid, "trigger": trigger,
                          "actor": actor, "at": at} for actor in OFFICERS[:len(self.procs)]])

    def call(self, url: str, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each racer calls an Engine method (``{"method", "args", "kwargs"}``) at the same instant."""
        at = time.time() + 0.05
        return self.ask([{"op": "call", "url": url, "at": at, **c} for c in commands])

    def forget(self, url: str) -> None:
        self.ask([{"op": "forget", "url": url}] * len(self.procs))

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin and not proc.stdin.closed:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def racers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Racers]:
    pool = Racers(N, tmp_path_factory.mktemp("racers"))
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def race_url(request: pytest.FixtureRequest, tmp_path: Path, racers: Racers) -> Iterator[str]:
    """A prepared database on each backend; PostgreSQL skips or fails as ``pg_url`` decides."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    with Engine(url) as eng:
        prepare(eng)
    yield url
    racers.forget(url)  # before pg_url drops the schema


def violations(eng: Engine, pid: str, outcomes: list[dict[str, Any]]) -> list[str]:
    """Everything that breaks "exactly one winner, the others refused cleanly, one unforked chain".

    The one check shared by the real test and its negative control.
    """
    problems: list[str] = []
    won = [o for o in outcomes if o["outcome"] == "won"]
    refused = [o for o in outcomes if o["outcome"] == "refused"]
    errors = [o["error"] for o in outcomes if o["outcome"] == "error"]
    if len(won) != 1:
        problems.append(f"{len(won)} winners, expected exactly 1")
    if errors:
        problems.append(f"{len(errors)} unclean failures: {sorted(set(errors))}")
    unclean = [o["reasons"] for o in refused if not any(CLEAN_REFUSAL in r for r in o["reasons"])]
    if unclean:
        problems.append(f"refused for another reason than the stage having moved: {unclean}")

    report = eng.verify([pid], raise_on_failure=False)[0]
    if report.error:
        problems.append(f"chain does not verify: {report.error}")
    state = eng.show(pid)["state"]
    if state != "approved":
        problems.append(f"proposal is in '{state}', expected 'approved'")

    with eng.db.begin() as conn:  # raw rows, not the engine's reading of them
        rows = conn.execute(sa.select(st.audit_log.c.seq, st.audit_log.c.hash).where(
            st.audit_log.c.chain == pid).order_by(st.audit_log.c.seq)).all()
    seqs = [r.seq for r in rows]
    if seqs != list(range(1, N + 2)):
        problems.append(f"chain seqs are {seqs}, expected 1..{N + 1} (intake + one entry per racer)")
    history = eng.history(pid)
    if any(e["prev"] != before["hash"] for before, e in zip(history, history[1:], strict=False)):
        problems.append("an entry's prev is not the hash of the entry before it: the chain forked")
    kinds = [(e["kind"], e["trigger"]) for e in history[1:]]
    if kinds.count(("transition", "approve")) != 1 or kinds.count(("refusal", "approve")) != N - 1:
        problems.append(f"entries after intake are {kinds}, expected 1 approve transition and {N - 1} refusals")
    if len(history) >= 2:
        first = history[1]
        if (first["kind"], first.get("from"), first.get("to")) != ("transition", "open", "approved"):
            problems.append(f"the entry after intake is not the winning transition: {first}")
    recorded = {(r.seq, r.hash) for r in rows}
    answered = {(o["seq"], o["hash"]) for o in won + refused}
    if len(answered) != len(won + refused):
        problems.append("two racers were told the same entry")
    if not answered <= recorded:
        problems.append(f"answers not on the chain: {sorted(answered - recorded)}")
    return problems


def overlapped(outcomes: list[dict[str, Any]]) -> bool:
    """Whether some loser called ``advance`` before the winner's call returned (so they met at the lock)."""
    won = [o for o in outcomes if o["outcome"] == "won"]
    return len(won) == 1 and any(o["started"] < won[0]["ended"] for o in outcomes if o is not won[0])


def race(racers: Racers, url: str, *, unlocked: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """One round: a fresh proposal, N racers firing ``approve`` on it at once: (violations, outcomes)."""
    with Engine(url) as eng:
        pid = new_proposal(eng)
        outcomes = racers.fire(url, pid, "approve", unlocked=unlocked)
        return violations(eng, pid, outcomes), outcomes


def test_race_pathway_passes_the_validator(tmp_path: Path) -> None:
    """The pathway these tests run is one `pathways validate` accepts with no error and no warning."""
    path = tmp_path / "race.yaml"
    path.write_text(YAML)
    script = Path(sys.executable).with_name("pathways")  # the installed console script
    result = subprocess.run([str(script), "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout + result.stderr


def test_simultaneous_transition_has_exactly_one_winner(racers: Racers, race_url: str) -> None:
    """N processes fire `approve` on one proposal at the same instant, over several rounds.

    Each round: exactly one wins; the N-1 others get a clean ``Refused`` ("cannot
    be fired from stage 'approved'"), each recorded as a refusal entry whose seq
    and hash are what the racer was told; the chain is seq 1..N+1 with no gap,
    duplicate or fork, verifies, and the proposal ends in ``approved``. And the
    race is real: in some round a loser entered ``advance`` before the winner's
    call returned (in practice all N start within a few ms, in every round).
    """
    with Engine(race_url) as eng:
        racers.open(race_url, unlocked=False, warm=new_proposal(eng))
    contended = 0
    for round_ in range(ROUNDS):
        problems, outcomes = race(racers, race_url, unlocked=False)
        assert problems == [], f"round {round_}: {problems}\noutcomes: {outcomes}"
        contended += overlapped(outcomes)
    assert contended, "no round had two racers inside advance at once: the lock was never exercised"


def test_negative_control_without_the_lock_the_check_fails(racers: Racers, race_url: str) -> None:
    """NEGATIVE CONTROL: with the lock taken out, the check of the test above fails.

    The racers run ``UnlockedEngine`` (``tests/workers/racer.py``): on PostgreSQL
    ``_lock`` is a plain SELECT instead of ``SELECT ... FOR UPDATE``; on SQLite
    transactions begin DEFERRED instead of IMMEDIATE. Nothing in the engine is
    switched. Several racers then read the proposal in ``open`` and all try to
    write seq 2, and the losers fail uncleanly (an ``IntegrityError`` on the
    (chain, seq) key on PostgreSQL, "database is locked" on SQLite) instead of
    being refused. Within ``CONTROL_ROUNDS`` rounds at least one round must break
    ``violations`` (the real test's check), which shows that check can fail.
    (The (chain, seq) primary key still prevents a fork: the harm is errors.)
    """
    with Engine(race_url) as eng:
        racers.open(race_url, unlocked=True, warm=new_proposal(eng))
    seen: list[list[str]] = []
    for _round in range(CONTROL_ROUNDS):
        problems, _outcomes = race(racers, race_url, unlocked=True)
        seen.append(problems)
        if seen[-1]:
            break
    assert seen[-1], f"{len(seen)} rounds without the lock all passed the check: the test could not fail"
    assert any("unclean failures" in p for p in seen[-1]), seen[-1]


@pytest.mark.parametrize("method", ["intake", "publish", "add_user"])
def test_simultaneous_registry_and_intake_writes_are_clean(racers: Racers, race_url: str, method: str) -> None:
    """N processes intake on one pathway, publish one new version, or add one new user, at once.

    Intake: N proposals with N distinct ids, each chain verifying. Publish and
    add_user: every call succeeds (one stores, the others find it done), and the
    registry chain has exactly one new entry: no IntegrityError, no fork.
    """
    with Engine(race_url) as eng:
        racers.open(race_url, unlocked=False, warm=new_proposal(eng))
        before = eng.verify(["registry"])[0].entries
    args = {"intake": ["race", {"vendor": "Acme", "value": "10"}],
            "publish": [YAML.replace("version: 1", "version: 2")],
            "add_user": ["newcomer", ["officer"]]}[method]
    actors = OFFICERS if method != "add_user" else [OFFICERS[0]] * len(OFFICERS)  # granting needs the admin
    outcomes = racers.call(race_url, [{"method": method, "args": args, "kwargs": {"actor": actor}}
                                      for actor in actors])
    assert all(o["outcome"] == "won" for o in outcomes), outcomes
    with Engine(race_url) as eng:
        assert all(r.error is None for r in eng.verify())
        after = eng.verify(["registry"])[0].entries
        if method == "intake":
            ids = [o["result"] for o in outcomes]
            assert len(set(ids)) == len(ids)
            assert after == before
        else:
            assert after == before + 1
