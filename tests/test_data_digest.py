"""Entry format 3's data digest on a chain written before it: the first version 3 entry salts it.

A database from before format 3 holds version 2 chains (no ``data`` key, no
``:data`` salt). The next entry the engine writes on such a chain is a
version 3 one: it keeps a fresh salt with itself, records the digest of the
data as it stands, and from then on the write path checks the cached data
against it. ``verify`` accepts the mixed chain, and an edit of the data after
the upgrade is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import MINI, MINI_DATA

from engine import Engine
from engine.audit import DATA_SECRET, seal
from engine.errors import Tampered


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


def as_version_2(path: Path, pid: str) -> None:
    """Rewrite a chain as the engine wrote it before format 3: no data digests, no salt kept for them."""
    c = sqlite3.connect(path, isolation_level=None)
    for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        c.execute(f"DROP TRIGGER {name}")
    rows = c.execute("SELECT seq, body FROM audit_log WHERE chain=? ORDER BY seq", (pid,)).fetchall()
    prev = "0" * 64
    for seq, body in rows:
        e = json.loads(body)
        e.pop("data")
        e.pop("calendar", None)  # version 3's other addition
        e.update(v=2, prev=prev)
        sealed, prev = seal(e)
        c.execute("UPDATE audit_log SET body=?, hash=? WHERE chain=? AND seq=?", (sealed, prev, pid, seq))
    c.execute("UPDATE proposals SET head=? WHERE id=?", (prev, pid))
    c.execute("DELETE FROM audit_secrets WHERE chain=? AND field=?", (pid, DATA_SECRET))
    c.execute("DELETE FROM log_leaves")  # the transparency log would (rightly) see the rewrite
    c.execute("DELETE FROM log_nodes")
    c.execute("DELETE FROM log_tiles")
    c.execute("DELETE FROM meta WHERE key='log'")
    c.close()


@pytest.fixture
def old_chain(tmp_path: Path):
    path = tmp_path / "old.db"
    e = Engine(f"sqlite:///{path}", clock=Clock())
    e.add_user("ana", ["officer"])
    e.publish(MINI, actor="ana")
    pid = e.intake("mini", MINI_DATA, actor="ana")
    e.advance(pid, "screen", actor="ana")
    e.close()
    as_version_2(path, pid)
    e = Engine(f"sqlite:///{path}", clock=Clock())
    e.clock.now += dt.timedelta(days=1)
    yield e, path, pid
    e.close()


@pytest.mark.parametrize("refused", [False, True], ids=["transition", "refusal"])
def test_the_first_version_3_entry_of_an_old_chain_salts_its_digests(old_chain, refused: bool) -> None:
    e, path, pid = old_chain
    if refused:
        with pytest.raises(Exception):  # noqa: B017 - a refusal, recorded
            e.advance(pid, "approve", actor="ana", rationale="ok")
    else:
        e.advance(pid, "note", actor="ana", updates={"notes": "site visit"})
    history = e.history(pid)
    assert [h["v"] for h in history] == [2, 2, 3]
    salts = [s for s in e.secrets(pid) if s["field"] == DATA_SECRET]
    assert [s["seq"] for s in salts] == [3] and salts[0]["value"] is None
    assert all(r.error is None for r in e.verify([pid], raise_on_failure=False))
    e.advance(pid, "note", actor="ana", updates={"notes": "second visit"})  # digests checked from now on
    assert all(r.error is None for r in e.verify([pid], raise_on_failure=False))


def test_after_the_upgrade_edited_data_is_refused_before_anything_is_written(old_chain) -> None:
    e, path, pid = old_chain
    e.advance(pid, "note", actor="ana", updates={"notes": "site visit"})
    c = sqlite3.connect(path)
    c.execute("UPDATE proposals SET data=json_set(data, '$.value', '1') WHERE id=?", (pid,))
    c.commit()
    c.close()
    before = len(e.history(pid))
    with pytest.raises(Tampered, match="the data was changed without an entry"):
        e.advance(pid, "note", actor="ana", updates={"notes": "again"})
    assert len(e.history(pid)) == before
