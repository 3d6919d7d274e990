"""Tampering with the database is caught by ``verify``, which names the entry.

Each case plays an insider with write access to the SQLite file: they drop
the append-only triggers (as anyone with the file can) and then change the
record. ``verify`` must fail, naming the proposal and the seq of the first
bad entry, through the API and through the CLI (exit 1).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MINI_DATA

from cli import cli
from engine import Engine, Refused, VerificationFailed

Tamper = Callable[[sqlite3.Connection, str], None]


def _sql(conn: sqlite3.Connection, statement: str, *args: object) -> None:
    conn.execute(statement, args)


def flip_a_byte_of_entry_2(conn: sqlite3.Connection, pid: str) -> None:
    (body,) = conn.execute("SELECT body FROM audit_log WHERE chain=? AND seq=2", (pid,)).fetchone()
    body = bytearray(body)
    body[body.index(b'"to":"') + 6] ^= 0x01
    _sql(conn, "UPDATE audit_log SET body=? WHERE chain=? AND seq=2", bytes(body), pid)


def rewrite_entry_2_and_its_hash(conn: sqlite3.Connection, pid: str) -> None:
    """A smarter insider re-hashes the edited entry: the next entry's prev still points at the old hash."""
    import hashlib

    (body,) = conn.execute("SELECT body FROM audit_log WHERE chain=? AND seq=2", (pid,)).fetchone()
    body = body.replace(b'"actor":"ana"', b'"actor":"bob"')
    digest = hashlib.sha256(b"\x00" + body).hexdigest()
    _sql(conn, "UPDATE audit_log SET body=?, hash=? WHERE chain=? AND seq=2", body, digest, pid)


def delete_a_middle_entry(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "DELETE FROM audit_log WHERE chain=? AND seq=2", pid)


def delete_the_last_entry(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "DELETE FROM audit_log WHERE chain=? AND seq=(SELECT max(seq) FROM audit_log WHERE chain=?)", pid, pid)


def swap_two_entries(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "UPDATE audit_log SET seq=-1 WHERE chain=? AND seq=2", pid)
    _sql(conn, "UPDATE audit_log SET seq=2 WHERE chain=? AND seq=3", pid)
    _sql(conn, "UPDATE audit_log SET seq=3 WHERE chain=? AND seq=-1", pid)


def change_state_without_an_entry(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "UPDATE proposals SET state='approved' WHERE id=?", pid)


def change_data_without_an_entry(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "UPDATE proposals SET data=json_set(data, '$.value', '9000') WHERE id=?", pid)


def change_a_confidential_value(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "UPDATE audit_secrets SET value='\"unit price 1.00\"' WHERE chain=?", pid)


def splice_an_entry_from_another_proposal(conn: sqlite3.Connection, pid: str) -> None:
    other = pid[:-1] + "2"
    (body, digest) = conn.execute("SELECT body, hash FROM audit_log WHERE chain=? AND seq=2", (other,)).fetchone()
    _sql(conn, "UPDATE audit_log SET body=?, hash=? WHERE chain=? AND seq=2", body, digest, pid)


def append_a_forged_entry(conn: sqlite3.Connection, pid: str) -> None:
    """A well-formed entry chained onto the last one, written around the engine."""
    import hashlib
    import json

    from pathways.canonical import canonical_bytes

    (body, digest) = conn.execute("SELECT body, hash FROM audit_log WHERE chain=? AND seq=4", (pid,)).fetchone()
    forged = {**json.loads(body), "seq": 5, "prev": digest, "rationale": "backdated approval"}
    forged_body = canonical_bytes(forged)
    _sql(conn, "INSERT INTO audit_log (chain, seq, hash, body) VALUES (?, 5, ?, ?)", pid,
         hashlib.sha256(b"\x00" + forged_body).hexdigest(), forged_body)


def move_the_head(conn: sqlite3.Connection, pid: str) -> None:
    _sql(conn, "UPDATE proposals SET head=? WHERE id=?", "ab" * 32, pid)


CASES: list[tuple[Tamper, int, str]] = [
    (flip_a_byte_of_entry_2, 2, "the entry was altered"),
    (rewrite_entry_2_and_its_hash, 2, "the rules refuse it: unknown user 'bob'"),
    (delete_a_middle_entry, 2, "entry seq 2 is missing"),
    (delete_the_last_entry, 4, "entry seq 4 is missing at the end"),
    (swap_two_entries, 2, "belongs elsewhere"),
    (change_state_without_an_entry, 4, "stage was changed without an entry"),
    (change_data_without_an_entry, 1, "data was changed without an entry"),
    (change_a_confidential_value, 1, "does not match the salted hash"),
    (splice_an_entry_from_another_proposal, 2, "belongs elsewhere"),
    (move_the_head, 4, "the recorded head is"),
    (append_a_forged_entry, 5, "appended outside the engine"),
]


@pytest.fixture
def trail(mini: Engine, db_url: str) -> tuple[Engine, str, Path]:
    """Two proposals with four entries each: intake, screen, a refusal, a note."""
    pids = []
    for _ in range(2):
        pid = mini.intake("mini", MINI_DATA, actor="ana")
        mini.advance(pid, "screen", actor="ana")
        with pytest.raises(Refused):
            mini.advance(pid, "approve", actor="ana", rationale="not my role")
        mini.advance(pid, "note", actor="ana", updates={"notes": "site visit done"})
        pids.append(pid)
    assert all(r.error is None for r in mini.verify())
    return mini, pids[0], Path(db_url.removeprefix("sqlite:///"))


def _tamper(path: Path, pid: str, change: Tamper) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    change(conn, pid)
    conn.close()


@pytest.mark.parametrize(("change", "seq", "fragment"), CASES, ids=[c[0].__name__ for c in CASES])
def test_verify_names_the_first_bad_entry(trail: tuple[Engine, str, Path], change: Tamper, seq: int,
                                          fragment: str) -> None:
    eng, pid, path = trail
    _tamper(path, pid, change)
    with pytest.raises(VerificationFailed) as info:
        eng.verify([pid])
    assert (info.value.chain, info.value.seq) == (pid, seq), info.value.message
    assert fragment in info.value.reason
    other = pid[:-1] + "2"
    assert eng.verify([other])[0].error is None  # the other chain is untouched


@pytest.mark.parametrize(("change", "seq", "fragment"), CASES[:3], ids=[c[0].__name__ for c in CASES[:3]])
def test_cli_verify_exits_1_naming_the_entry(trail: tuple[Engine, str, Path], db_url: str, change: Tamper, seq: int,
                                            fragment: str) -> None:
    eng, pid, path = trail
    _tamper(path, pid, change)
    result = CliRunner().invoke(cli, ["--db", db_url, "verify"])
    assert result.exit_code == 1
    assert f"FAIL {pid}: seq {seq}: " in result.stderr and fragment in result.stderr
    assert "ok   registry" in result.stdout


def test_registry_tampering_is_caught(trail: tuple[Engine, str, Path]) -> None:
    eng, _, path = trail
    _tamper(path, "registry", delete_the_last_entry)
    with pytest.raises(VerificationFailed) as info:
        eng.verify(["registry"])
    assert info.value.chain == "registry"


def test_triggers_refuse_update_and_delete(trail: tuple[Engine, str, Path]) -> None:
    _, pid, path = trail
    conn = sqlite3.connect(path)
    for statement in ("UPDATE audit_log SET hash='x' WHERE chain=?", "DELETE FROM audit_log WHERE chain=?",
                      "DELETE FROM audit_secrets WHERE chain=?"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement, (pid,))
    conn.close()
