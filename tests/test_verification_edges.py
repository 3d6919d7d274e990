"""``compare``: a proposal's row against what its chain derives, each difference named at the entry a
reader should look at, in words. Pure: rows are plain objects here."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from engine.errors import VerificationFailed
from engine.replay import Derived
from engine.verification import ChainReport, compare

D = Derived("mini-0001", "mini", 1, "ab" * 32, "review", {"vendor": "Acme", "value": "12000", "notes": "ok"}, 4,
            "cd" * 32, "2026-03-02T09:00:00.000001Z", "2026-03-02T09:00:00.000002Z", "2026-04-01T09:00:00.000002Z",
            {"vendor": 1, "value": 3, "notes": 3})


def row(**changes: Any) -> SimpleNamespace:
    base = {**D.row(), "data": json.dumps(D.data), **changes}
    return SimpleNamespace(**base)


def test_a_row_that_says_what_the_chain_says_has_no_difference() -> None:
    assert compare(D, row()) is None
    assert compare(D, row(data=json.dumps(dict(reversed(list(D.data.items())))))) is None


def finding(**changes: Any) -> tuple[int, str]:
    f = compare(D, row(**changes))
    assert isinstance(f, VerificationFailed) and f.chain == "mini-0001"
    return f.seq, f.reason


@pytest.mark.parametrize("changes", [{"pathway_id": "other"}, {"version": 2}, {"sha256": "ef" * 32}], ids=str)
def test_a_re_pinned_row_is_named_at_the_intake(changes: dict) -> None:
    r = {"pathway_id": "mini", "version": 1, "sha256": "ab" * 32, **changes}
    assert finding(**changes) == (1, f"the proposal is pinned to {r['pathway_id']} v{r['version']} ({r['sha256']}), "
                                     f"but its intake names mini v1 ({'ab' * 32}): the proposal was re-pinned "
                                     "without an entry")


def test_a_row_claiming_more_or_fewer_entries_is_named_where_they_differ() -> None:
    assert finding(seq=6) == (5, "entry seq 5 is missing at the end: 4 entries stored, but the proposal records 6")
    assert finding(seq=2) == (3, "entry seq 3 is stored, but the proposal records only 2: an entry was appended "
                                 "outside the engine")


def test_a_moved_head_is_named_at_the_last_entry() -> None:
    assert finding(head="ef" * 32) == (4, f"the recorded head is {'ef' * 32}, but the last entry (seq 4) hashes to "
                                          f"{'cd' * 32}: the last entry was replaced or removed, or the head was "
                                          "changed")


def test_a_changed_stage_is_named_at_the_last_entry() -> None:
    assert finding(state="approved") == (4, "the proposal's stage is 'approved', but its entries end in 'review': "
                                            "the stage was changed without an entry")


@pytest.mark.parametrize(("data", "name", "seq"), [
    ({**D.data, "value": "9000"}, "value", 3),
    ({**D.data, "vendor": "Other"}, "vendor", 1),
    ({**D.data, "pricing": "1.00"}, "pricing", 4),  # set by no entry: the last one
    ({k: v for k, v in D.data.items() if k != "notes"}, "notes", 3),
    ({**D.data, "notes": None}, "notes", 3),
    ({**D.data, "extra": None}, "extra", 4),
])
def test_a_changed_field_is_named_at_the_entry_that_last_set_it(data: dict, name: str, seq: int) -> None:
    assert finding(data=json.dumps(data)) == (seq, f"field '{name}' holds a value the entries do not record: the "
                                                   "data was changed without an entry")


def test_the_first_changed_field_in_name_order_is_named() -> None:
    assert finding(data=json.dumps({**D.data, "value": "1", "notes": "x"}))[1].startswith("field 'notes'")


@pytest.mark.parametrize("column", ["created_at", "entered_at", "due_at"])
def test_a_changed_date_is_named_at_the_last_entry(column: str) -> None:
    assert finding(**{column: "2020-01-01T00:00:00.000000Z"}) == (
        4, f"the proposal's {column} is 2020-01-01T00:00:00.000000Z, but its entries give {getattr(D, column)}: "
           "the dates were changed without an entry")
    assert finding(**{column: None})[1].startswith(f"the proposal's {column} is None, but its entries give ")


def test_the_pin_is_compared_before_the_count_the_head_the_stage_and_the_data() -> None:
    everything = {"version": 2, "seq": 6, "head": "x", "state": "approved", "data": "{}", "due_at": None}
    assert finding(**everything)[1].startswith("the proposal is pinned to mini v2")
    assert finding(**{k: v for k, v in everything.items() if k != "version"})[0] == 5
    assert finding(head="x", state="approved", data="{}")[1].startswith("the recorded head is x")
    assert finding(state="approved", data="{}")[1].startswith("the proposal's stage is 'approved'")
    assert finding(data="{}", due_at=None)[1].startswith("field 'notes'")


def test_a_report_says_where_its_chain_fails() -> None:
    ok = ChainReport("mini-0001", 4, "cd" * 32)
    assert ok.as_dict() == {"chain": "mini-0001", "ok": True, "entries": 4, "head": "cd" * 32, "seq": None,
                            "error": None}
    bad = ChainReport("mini-0001", 0, None, VerificationFailed("mini-0001", 3, "the entry was altered"))
    assert bad.as_dict() == {"chain": "mini-0001", "ok": False, "entries": 0, "head": None, "seq": 3,
                             "error": "the entry was altered"}
