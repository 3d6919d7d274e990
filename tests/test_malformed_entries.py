"""Forged entries of odd shapes are findings, never a crash of verify.

An insider re-seals a chain end to end (every later prev and hash, and the
proposal's head) so that only the entry's content is wrong: a time that is
not a time, a list where an object belongs, an unknown format version, a
version 2 chain continued by an entry re-sealed as version 1 to escape what
version 2 records. ``verify`` must name the entry, in words.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MINI_DATA

from engine import Engine
from engine.audit import REGISTRY
from pathways.canonical import canonical_bytes


def _reseal(path: Path, chain: str, seq: int, change: Callable[[dict], None]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    rows = conn.execute("SELECT seq, body FROM audit_log WHERE chain=? ORDER BY seq", (chain,)).fetchall()
    prev = "0" * 64
    for n, body in rows:
        entry = json.loads(body)
        entry["prev"] = prev
        if n == seq:
            change(entry)
        body = canonical_bytes(entry)
        prev = hashlib.sha256(b"\x00" + body).hexdigest()
        conn.execute("UPDATE audit_log SET body=?, hash=? WHERE chain=? AND seq=?", (body, prev, chain, n))
    if chain == REGISTRY:
        conn.execute("UPDATE meta SET value=? WHERE key='registry_head'", (prev,))
    else:
        conn.execute("UPDATE proposals SET head=? WHERE id=?", (prev, chain))
    conn.close()


def _set(**values: object) -> Callable[[dict], None]:
    return lambda e: e.update(values)


CASES = [
    ("a_time_that_is_not_a_time", 2, _set(at="yesterday"), "'at' is not a time as the engine writes it"),
    ("inputs_as_a_list", 2, _set(input=["value", "1"]), "'input' holds a list"),
    ("an_unknown_format_version", 2, _set(v=4), "format version 4 is not one this engine knows"),
    ("a_downgrade_to_version_1", 3,
     lambda e: [e.pop(k) for k in ("registry", "entered", "due", "calendar", "data")] and e.update(v=1),
     "format version 1, older than the entry before it"),
    ("attachments_that_are_not_objects", 2, _set(attachments=["x.pdf"]), "'attachments' holds something other"),
    ("a_version_2_entry_without_its_dates", 2, lambda e: e.pop("entered"), "lacks its registry position"),
    ("a_version_3_entry_without_its_data_digest", 2, lambda e: e.pop("data"), "lacks the salted digest"),
    ("a_data_digest_that_is_not_a_hash_object", 3, _set(data="ab" * 32), "'data' holds a str"),
    ("a_data_digest_with_more_keys", 1, lambda e: e["data"].update(value=1), "lacks the salted digest"),
    ("a_downgrade_to_version_2", 3, _set(v=2), "format version 2, older than the entry before it"),
    ("a_data_digest_that_is_not_the_data", 3, lambda e: e["data"].update(salted_sha256="0" * 64),
     "digest of the proposal's data is not that of the data its entries give"),
    ("a_version_3_entry_without_its_calendar", 2, lambda e: e.pop("calendar"), "lacks the calendar its due time"),
    ("a_calendar_record_of_another_shape", 1, _set(calendar={"sha256": "0" * 64}), "'calendar' is not {sha256, zone"),
    ("skipped_days_out_of_order", 1, _set(calendar={"sha256": "0" * 64, "zone": "UTC",
                                                    "skipped": ["2026-03-05", "2026-03-04"]}),
     "not in order, each once"),
    ("a_calendar_in_no_time_zone", 1, _set(calendar={"sha256": "0" * 64, "zone": "Mars/Base", "skipped": []}),
     "names a date or a time zone that is not one"),
]


@pytest.mark.parametrize(("name", "seq", "change", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_proposal_entry_is_named(mini: Engine, db_url: str, name: str, seq: int,
                                            change: Callable[[dict], None], fragment: str) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    mini.advance(pid, "note", actor="ana", updates={"notes": "site visit"})
    _reseal(Path(db_url.removeprefix("sqlite:///")), pid, seq, change)
    report = next(r for r in Engine(db_url, create=False).verify(raise_on_failure=False) if r.chain == pid)
    assert report.error is not None and report.error.seq == seq, report
    assert fragment in report.error.reason


def test_a_malformed_registry_entry_is_named(mini: Engine, db_url: str) -> None:
    _reseal(Path(db_url.removeprefix("sqlite:///")), REGISTRY, 2, _set(input=["lee", "legal"]))
    report = Engine(db_url, create=False).verify(raise_on_failure=False)[0]
    assert (report.chain, report.error.seq) == (REGISTRY, 2)
    assert "'input' holds a list" in report.error.reason
