"""``audit.verify_chain`` on its own: every way a stored chain can break, caught at its seq, with its reason.

No database: chains are built with ``make_entry`` and ``seal`` and handed to
the walker as ``Stored`` rows, then broken one way at a time. Each case pins
the seq the error names and a fragment of its reason, so a check that is
loosened (``!=`` to ``>``) or skipped fails here by name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import GENESIS, VerificationFailed, verify_chain
from engine.audit import Stored, make_entry, seal

CHAIN = "mini-0001"


def _entry(seq: int, prev: str, changes: dict | None = None) -> dict:
    entry = make_entry(chain=CHAIN, seq=seq, prev=prev, at=f"2026-03-02T09:00:0{seq}.000000Z",
                       kind="intake" if seq == 1 else "transition", actor="ana", role="officer",
                       trigger=None if seq == 1 else f"step{seq}", source=None if seq == 1 else "review",
                       dest="review", rationale=None)
    entry.update(changes or {})
    return entry


def chain(n: int = 4) -> list[Stored]:
    """A good chain of ``n`` entries."""
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        body, digest = seal(_entry(seq, prev))
        rows.append(Stored(seq, digest, body))
        prev = digest
    return rows


def resealed(rows: list[Stored], seq: int, body: bytes) -> list[Stored]:
    """Row ``seq`` replaced by ``body`` with its recorded hash recomputed (an insider who re-hashes)."""
    digest = hashlib.sha256(b"\x00" + body).hexdigest()
    return [Stored(r.seq, digest, body) if r.seq == seq else r for r in rows]


def fails(rows: list[Stored], **kwargs: object) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as info:
        verify_chain(CHAIN, rows, **kwargs)
    assert info.value.chain == CHAIN
    return info.value


def test_a_good_chain_returns_its_entries_in_order() -> None:
    rows = chain()
    entries = verify_chain(CHAIN, rows, head=rows[-1].hash, count=4)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries == [json.loads(r.body) for r in rows]
    assert entries[0]["prev"] == GENESIS and entries[1]["prev"] == rows[0].hash


def test_an_empty_chain_with_nothing_recorded_verifies() -> None:
    assert verify_chain(CHAIN, []) == []
    assert verify_chain(CHAIN, [], count=0) == []


def test_a_repeated_seq_is_caught_where_the_next_seq_was_expected() -> None:
    rows = chain()
    error = fails([rows[0], rows[1], rows[1], rows[2], rows[3]])
    assert error.seq == 3
    assert error.reason == "entry seq 2 appears out of order or twice"


def test_an_entry_out_of_order_is_caught() -> None:
    rows = chain()
    error = fails([rows[0], rows[2], rows[1], rows[3]])
    assert error.seq == 2
    assert error.reason == "entry seq 2 is missing (next stored is seq 3)"


def test_a_gap_names_the_missing_seq() -> None:
    rows = chain()
    error = fails([rows[0], rows[1], rows[3]])
    assert error.seq == 3
    assert error.reason == "entry seq 3 is missing (next stored is seq 4)"


def test_a_missing_first_entry_is_a_gap_at_seq_1() -> None:
    error = fails(chain()[1:])
    assert (error.seq, error.reason) == (1, "entry seq 1 is missing (next stored is seq 2)")


def test_an_edited_byte_is_caught_at_its_seq_with_both_hashes() -> None:
    rows = chain()
    body = rows[1].body.replace(b'"actor":"ana"', b'"actor":"eve"')
    error = fails([rows[0], replace(rows[1], body=body), *rows[2:]])
    actual = hashlib.sha256(b"\x00" + body).hexdigest()
    assert error.seq == 2
    assert error.reason == (f"stored bytes hash to {actual}, but the entry records {rows[1].hash}: "
                            "the entry was altered")
    assert str(error).startswith(f"{CHAIN} seq 2: stored bytes hash to")


def test_an_edited_recorded_hash_is_caught_at_its_seq() -> None:
    rows = chain()
    error = fails([rows[0], rows[1], replace(rows[2], hash="f" * 64), rows[3]])
    assert error.seq == 3 and "but the entry records " + "f" * 64 in error.reason


def test_bytes_that_are_not_json_are_caught() -> None:
    error = fails(resealed(chain(), 2, b"\xff{not json"))
    assert (error.seq, error.reason) == (2, "entry bytes are not JSON")


@pytest.mark.parametrize("body", [
    pytest.param(lambda e: json.dumps(e).encode(), id="spaces-and-unsorted-keys"),
    pytest.param(lambda e: json.dumps(e, sort_keys=True, separators=(",", ":")).encode() + b"\n", id="newline"),
    pytest.param(lambda e: json.dumps([e], sort_keys=True, separators=(",", ":")).encode(), id="not-an-object"),
])
def test_non_canonical_bytes_are_caught(body) -> None:  # noqa: ANN001 - a lambda
    rows = chain()
    text = body(json.loads(rows[1].body))
    error = fails(resealed(rows, 2, text))
    assert (error.seq, error.reason) == (2, "entry bytes are not canonical JSON (RFC 8785)")


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"proposal": "mini-0002"}, "entry names mini-0002 seq 2: it belongs elsewhere"),
    ({"seq": 3}, f"entry names {CHAIN} seq 3: it belongs elsewhere"),
    ({"seq": "2"}, f"entry names {CHAIN} seq 2: it belongs elsewhere"),
])
def test_an_entry_naming_another_chain_or_seq_is_caught(changes: dict, fragment: str) -> None:
    rows = chain()
    body, _ = seal(_entry(2, rows[0].hash, changes))
    error = fails(resealed(rows, 2, body))
    assert (error.seq, error.reason) == (2, fragment)


def test_a_wrong_prev_is_caught_with_expected_and_actual() -> None:
    rows = chain()
    body, _ = seal(_entry(2, GENESIS))
    error = fails(resealed(rows, 2, body))
    assert error.seq == 2
    assert error.reason == (f"prev is {GENESIS}, expected {rows[0].hash} (the hash of the entry before): "
                            "entries were reordered or replaced")


def test_a_resealed_entry_breaks_the_next_entrys_prev() -> None:
    rows = chain()
    body, _ = seal(_entry(2, rows[0].hash, {"actor": "eve"}))
    error = fails(resealed(rows, 2, body))
    assert error.seq == 3 and error.reason.startswith(f"prev is {rows[1].hash}, expected ")


def test_a_removed_last_entry_is_caught_by_the_count() -> None:
    error = fails(chain()[:3], count=4)
    assert error.seq == 4
    assert error.reason == "entry seq 4 is missing at the end: 3 entries stored, but the proposal records 4"


def test_an_appended_entry_is_caught_by_the_count() -> None:
    error = fails(chain(), count=3)
    assert error.seq == 4
    assert error.reason == "entry seq 4 is stored, but the proposal records only 3: an entry was appended outside " \
                           "the engine"


def test_an_empty_chain_that_should_have_entries_is_caught_at_seq_1() -> None:
    error = fails([], count=2)
    assert (error.seq, error.reason) == (1, "entry seq 1 is missing at the end: 0 entries stored, but the proposal "
                                            "records 2")


def test_a_head_mismatch_names_the_last_seq_and_both_hashes() -> None:
    rows = chain()
    error = fails(rows[:3], head=rows[3].hash)
    assert error.seq == 3
    assert error.reason == (f"the recorded head is {rows[3].hash}, but the last entry (seq 3) hashes to "
                            f"{rows[2].hash}: the last entry was replaced or removed, or the head was changed")


def test_a_head_on_an_empty_chain_is_caught_at_seq_1() -> None:
    error = fails([], head="a" * 64)
    assert error.seq == 1 and error.reason.startswith(f"the recorded head is {'a' * 64}, but the last entry (seq 0)")


def test_count_is_checked_before_head() -> None:
    rows = chain()
    error = fails(rows[:3], head=rows[3].hash, count=4)
    assert error.seq == 4 and "missing at the end" in error.reason


@given(st.data())
def test_any_changed_byte_is_caught_at_its_seq(data: st.DataObject) -> None:
    rows = chain()
    row = data.draw(st.sampled_from(rows))
    index = data.draw(st.integers(0, len(row.body) - 1))
    flip = data.draw(st.integers(1, 255))
    body = bytearray(row.body)
    body[index] ^= flip
    broken = [replace(r, body=bytes(body)) if r.seq == row.seq else r for r in rows]
    with pytest.raises(VerificationFailed) as info:
        verify_chain(CHAIN, broken, head=rows[-1].hash, count=len(rows))
    assert info.value.seq == row.seq
    assert info.value.reason.endswith("the entry was altered")
