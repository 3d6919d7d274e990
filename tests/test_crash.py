"""Crash safety: a writer killed at any moment leaves a trail that verifies, and the trail cannot be rewritten.

The property (DESIGN.md, "Flow of one transition" and "Storage"): a state
change and its audit entry commit together or not at all. So however a
writer dies (SIGKILL: no cleanup, no rollback in the process, mid-statement
or mid-commit), what is left verifies: every chain re-hashes and links, the
proposal's head and entry count match its last entry, and its stored state
is the ``to`` of its last applied (intake or transition) entry. Committed
work is never lost, so the chain only grows across kills.

The writer is ``tests/workers/pingpong.py`` (a fork server: a writer is ready
in milliseconds, so many kills fit in a fast test). SQLite with WAL and
``synchronous=FULL`` is the main target; PostgreSQL runs a shorter version.

Then the last line of defence: the database itself refuses UPDATE and
DELETE on the audit tables, whoever connects to it.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workers.pathway import OFFICERS, setup

from engine import Engine

WORKERS = Path(__file__).resolve().parent / "workers"
SEED = 20261125  # the kill delays are random but reproducible
KILLS = {"sqlite": 15, "postgres": 6}
DELAY = (0.05, 0.40)  # seconds between the writer being ready and SIGKILL
LINE_TIMEOUT = 30.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(name, url) of an empty database on each backend; PostgreSQL skips or fails as ``pg_url`` decides."""
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'crash.db'}"
    return "postgres", request.getfixturevalue("pg_url")


class ForkServer:
    """``pingpong.py`` as a subprocess: ``run`` forks a writer; lines come back as text."""

    def __init__(self, url: str, pid: str, log: Path) -> None:
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, str(WORKERS / "pingpong.py"), url, pid], cwd=WORKERS,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self._buffer = b""

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def read(self) -> list[str]:
        """The next line, split into words; fails the test on silence, exit or an ``error`` line."""
        out = self.proc.stdout
        assert out is not None
        deadline = time.monotonic() + LINE_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    pytest.fail(f"the writer said nothing for {LINE_TIMEOUT:.0f} s; stderr:\n{self.stderr()}")
                chunk = os.read(out.fileno(), 65536)
                if not chunk:
                    pytest.fail(f"the fork server exited ({self.proc.poll()}); stderr:\n{self.stderr()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        words = line.decode().split(" ", 2)
        if words[0] == "error":
            pytest.fail(f"the writer failed: {line.decode()}")
        return words

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def run_and_kill(self, delay: float) -> None:
        """Start a writer, let it write for ``delay`` seconds, SIGKILL it, and wait until it is gone."""
        self.send("run")
        ready, writer = self.read()
        assert ready == "ready", (ready, writer)
        time.sleep(delay)
        os.kill(int(writer), signal.SIGKILL)
        exited = self.read()
        assert exited == ["exit", writer, str(-signal.SIGKILL)], exited

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def check_after_crash(url: str, pid: str) -> tuple[int, str]:
    """What must hold after a kill, read by a fresh Engine (a restart). Returns (seq, state)."""
    with Engine(url) as eng:
        failed = [r.as_dict() for r in eng.verify(raise_on_failure=False) if r.error]  # every chain, registry too
        assert failed == [], failed
        shown = eng.show(pid)
        history = eng.history(pid)
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    assert (shown["seq"], shown["head"]) == (history[-1]["seq"], history[-1]["hash"])
    applied = [e for e in history if e["kind"] in ("intake", "transition")]
    assert shown["state"] == applied[-1]["to"], (shown["state"], applied[-1])
    if url.startswith("sqlite:///"):
        raw = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            raw.close()
    return shown["seq"], shown["state"]


def test_sigkilled_writer_leaves_a_chain_that_verifies(backend: tuple[str, str], tmp_path: Path) -> None:
    """A writer ping-ponging one proposal, SIGKILLed at random moments, many times on one database.

    After every kill a fresh Engine finds: every chain verifies (hashes, links,
    head, entry count, replayed state and data), seq is 1..n, the stored state
    is the ``to`` of the last applied entry, SQLite's own integrity check passes,
    and seq never went backwards (committed work survives). Across all kills the
    chain grew, and it holds both transitions and refusals.
    """
    name, url = backend
    pid = setup(url)
    with Engine(url) as eng:
        eng.advance(pid, "start", actor=OFFICERS[0])
    seq, _ = check_after_crash(url, pid)
    rng = random.Random(SEED)
    server = ForkServer(url, pid, tmp_path / "pingpong.stderr")
    seqs = [seq]
    try:
        for _ in range(KILLS[name]):
            server.run_and_kill(rng.uniform(*DELAY))
            seq, state = check_after_crash(url, pid)
            assert seq >= seqs[-1], f"seq went back from {seqs[-1]} to {seq}: committed entries were lost"
            assert state in ("a", "b")
            seqs.append(seq)
    finally:
        server.close()
    assert seqs[-1] > seqs[0], f"no progress across {KILLS[name]} kills: {seqs}"
    with Engine(url) as eng:
        kinds = {e["kind"] for e in eng.history(pid)}
    assert {"transition", "refusal"} <= kinds, kinds


APPEND_ONLY_STATEMENTS = [
    pytest.param("UPDATE audit_log SET hash = 'x' WHERE chain = '{pid}'", id="update-entry"),
    pytest.param("UPDATE audit_log SET body = body WHERE chain = '{pid}'", id="rewrite-entry-unchanged"),
    pytest.param("DELETE FROM audit_log WHERE chain = '{pid}' AND seq = 2", id="delete-last-entry"),
    pytest.param("DELETE FROM audit_log", id="delete-every-entry"),
    pytest.param("UPDATE audit_secrets SET value = '\"x\"' WHERE chain = '{pid}'", id="update-secret"),
    pytest.param("DELETE FROM audit_secrets WHERE chain = '{pid}'", id="delete-secret"),
]


def assert_untouched(url: str, pid: str, before: list[tuple[int, str]]) -> None:
    with Engine(url) as eng:
        eng.verify([pid])
        assert [(e.seq, e.hash) for e in eng.entries(pid)] == before
        assert len(eng.secrets(pid)) == 2  # the confidential value and the salt of the data digests


@pytest.mark.parametrize("statement", APPEND_ONLY_STATEMENTS)
def test_sqlite_refuses_changing_or_deleting_audit_entries(tmp_path: Path, statement: str) -> None:
    """On SQLite, triggers refuse UPDATE and DELETE on audit_log and audit_secrets, from any connection.

    A plain sqlite3 connection (no engine involved) gets an error naming the
    table as append-only, and the chain is unchanged and still verifies.
    """
    url = f"sqlite:///{tmp_path / 'trail.db'}"
    pid = setup(url)
    with Engine(url) as eng:
        eng.advance(pid, "approve", actor=OFFICERS[1])
        before = [(e.seq, e.hash) for e in eng.entries(pid)]
    raw = sqlite3.connect(tmp_path / "trail.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="is append-only"):
            raw.execute(statement.format(pid=pid))
        raw.rollback()
    finally:
        raw.close()
    assert_untouched(url, pid, before)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", APPEND_ONLY_STATEMENTS)
def test_postgres_refuses_changing_or_deleting_audit_entries(pg_url: str, statement: str) -> None:
    """On PostgreSQL, triggers refuse UPDATE and DELETE on audit_log and audit_secrets, from any connection.

    A plain psycopg connection (no engine involved) gets an error naming the
    table as append-only, and the chain is unchanged and still verifies.
    """
    import psycopg

    pid = setup(pg_url)
    with Engine(pg_url) as eng:
        eng.advance(pid, "approve", actor=OFFICERS[1])
        before = [(e.seq, e.hash) for e in eng.entries(pid)]
    with psycopg.connect(pg_url) as raw:
        with pytest.raises(psycopg.errors.RaiseException, match="is append-only"):
            raw.execute(statement.format(pid=pid))
        raw.rollback()
    assert_untouched(pg_url, pid, before)
