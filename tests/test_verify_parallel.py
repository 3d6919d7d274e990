"""A whole-database verify split over processes finds exactly what one process finds.

Each process reads its range of proposal ids in one snapshot of its own;
the reports come back in id order, with the same findings at the same seq.
"""

from __future__ import annotations

import sqlite3

import pytest
from conftest import MINI_DATA

from engine import Engine


def _summary(eng: Engine, workers: int) -> list[tuple]:
    return [(r.chain, r.entries, r.head, r.error.seq if r.error else None, r.error.reason if r.error else None)
            for r in eng.verify(raise_on_failure=False, workers=workers)]


@pytest.fixture
def many(mini: Engine) -> Engine:
    for i in range(9):
        pid = mini.intake("mini", MINI_DATA, actor="ana")
        if i % 2:
            mini.advance(pid, "screen", actor="ana")
    return mini


def test_split_verify_agrees_with_one_process_when_clean(many: Engine) -> None:
    one = _summary(many, 1)
    assert [c for c, *_ in one] == ["registry"] + [f"mini-{i:04d}" for i in range(1, 10)]
    assert _summary(many, 2) == one == _summary(many, 3)
    assert all(r[3] is None for r in one)


def test_split_verify_names_findings_in_every_range(many: Engine, db_url: str) -> None:
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("UPDATE proposals SET state='approved' WHERE id IN ('mini-0002', 'mini-0008')")
    conn.execute("DELETE FROM proposals WHERE id='mini-0005'")
    conn.close()
    one = _summary(many, 1)
    bad = {c: (seq, why) for c, _, _, seq, why in one if seq is not None}
    assert set(bad) == {"mini-0002", "mini-0005", "mini-0008"}
    assert "the chain has no proposal row" in bad["mini-0005"][1]
    assert _summary(many, 2) == one == _summary(many, 3)


@pytest.mark.postgres
def test_split_verify_on_postgresql(pg_url: str, clock: object) -> None:
    from conftest import MINI

    with Engine(pg_url, clock=clock) as eng:
        eng.add_user("ana", ["officer"])
        eng.publish(MINI, actor="ana")
        for _ in range(7):
            eng.intake("mini", MINI_DATA, actor="ana")
        with eng.db.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE proposals DISABLE TRIGGER ALL")
            conn.exec_driver_sql("UPDATE proposals SET state='approved' WHERE id='mini-0006'")
        one = _summary(eng, 1)
        assert [c for c, *_ in one if c != "registry"] == [f"mini-{i:04d}" for i in range(1, 8)]
        assert [c for c, _, _, seq, _ in one if seq is not None] == ["mini-0006"]
        assert _summary(eng, 2) == one == _summary(eng, 3)
