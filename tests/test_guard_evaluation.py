"""Guard evaluation as pure functions: the values a guard sees, what it records, and why it could not be checked.

``tests/test_evaluation.py`` holds the planted bug (a guard that raises must
count as failed) and the engine walk; the mutants of ``pathways/evaluation.py``
showed what else could change unnoticed: a value converted to the wrong CEL
type, a context variable with the wrong content, an entry or a reason worded
differently in the legal record, the wrong fields blamed for a failed check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pathways import loads
from pathways.evaluation import CompiledGuards, GuardResult, guard_context, plain_error, to_cel

RULES = """\
id: guarded
version: 3
title: Guarded
kind: pilot
summary: For the guard evaluation tests.
legal_basis:
  - cite: "Code 1"
limits: {cap: 1000, floor: 10}
roles:
  officer: does everything
fields:
  vendor: {type: string, required: true}
  price: {type: money, required: true}
  ratio: {type: number}
  units: {type: integer}
  opens_on: {type: date}
  notes: {type: text}
  tags: {type: list}
  ok: {type: boolean}
initial: open
stages:
  open: {description: Open.}
  done: {description: Done., final: true, outcome: contracted}
transitions:
  - trigger: close
    from: open
    to: done
    roles: [officer]
    updates: [units, notes]
    requires: [rationale]
    when:
      - check: proposal.price <= pathway.limits.cap
        message: over the cap
        cite: "Code 1"
      - check: has(input.units) && input.units > 2
        message: too few units
      - check: "!has(proposal.notes) || proposal.notes != 'hold'"
        message: on hold
"""


@pytest.fixture(scope="module")
def pathway() -> Any:
    return loads(RULES, "guarded.yaml")


def context(pathway: Any, data: dict[str, Any], inputs: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    base = {
        "proposal_id": "guarded-0001",
        "state": "open",
        "days_in_stage": 4,
        "rationale": "because",
        "actor": "ana",
        "roles": ["officer"],
        "now": dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
    }
    return guard_context(pathway, data, inputs=inputs or {}, **{**base, **kw})


# --- the values ----------------------------------------------------------------------------------


def test_stored_values_become_the_cel_types_their_guards_were_checked_against() -> None:
    assert to_cel("money", "12000.50") == 12000.5 and type(to_cel("money", "12000.50")) is float
    assert to_cel("number", "0.125") == 0.125 and type(to_cel("number", 3)) is float
    assert to_cel("date", "2026-03-02") == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    assert to_cel("date", "2026-03-02").tzinfo is dt.UTC
    assert to_cel("integer", 7) == 7 and type(to_cel("integer", 7)) is int
    assert to_cel("string", "x") == "x" and to_cel("list", ["a"]) == ["a"] and to_cel("boolean", True) is True


def test_the_context_is_the_stored_proposal_the_rules_and_the_request(pathway: Any) -> None:
    got = context(
        pathway,
        {"vendor": "Acme", "price": "500", "opens_on": "2026-04-01", "notes": None, "gone": 1},
        {"units": 3, "vendor": "B", "nope": 2},
    )
    assert got == {
        # fields without a value and names the pathway does not declare are left out
        "proposal": {
            "vendor": "Acme",
            "price": 500.0,
            "opens_on": dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
            "id": "guarded-0001",
            "state": "open",
            "days_in_stage": 4,
        },
        "pathway": {"id": "guarded", "version": 3, "limits": {"cap": 1000, "floor": 10}},
        "input": {"units": 3, "vendor": "B", "rationale": "because"},
        "actor": {"name": "ana", "roles": ["officer"]},
        "now": dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
    }
    assert type(got["pathway"]["limits"]) is dict and type(got["actor"]["roles"]) is list


def test_the_engine_set_names_win_over_stored_data(pathway: Any) -> None:
    got = context(pathway, {"vendor": "Acme", "price": "1"}, state="done", days_in_stage=0)
    assert (got["proposal"]["state"], got["proposal"]["days_in_stage"]) == ("done", 0)


# --- what is recorded ----------------------------------------------------------------------------


def test_a_result_records_its_error_only_when_there_is_one() -> None:
    passed = GuardResult("a > 1", True, "Code 1", "too small")
    assert passed.as_entry() == {"check": "a > 1", "result": True, "cite": "Code 1"}
    assert passed.reason() == "too small [Code 1]"
    failed = GuardResult("a > 1", False, "", "too small", "the field a is not set yet")
    assert failed.as_entry() == {"check": "a > 1", "result": False, "cite": "", "error": "the field a is not set yet"}
    assert failed.reason() == "too small (could not be checked: the field a is not set yet)"
    assert GuardResult("a", False, "C", "m", "e").reason() == "m [C] (could not be checked: e)"
    assert GuardResult("a", False, "", "m").reason() == "m"


# --- why a guard could not be checked ------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "missing", "expected"),
    [
        (KeyError("b"), {"proposal": ["a", "b"], "input": []}, "the field b is not set yet"),
        (KeyError("x"), {"proposal": ["a"], "input": []}, "the field a is not set yet"),  # not named: every one
        (KeyError("z"), {"proposal": ["a", "b"], "input": []}, "the fields a and b are not set yet"),
        (KeyError("z"), {"proposal": ["a", "b", "c"]}, "the fields a, b and c are not set yet"),
        (KeyError("u"), {"proposal": [], "input": ["u"]}, "no value for u was given with this step"),
        (KeyError("z"), {"input": ["u", "v"]}, "no value for u and v was given with this step"),
        (
            RuntimeError("no such key: 'a' or 'u'"),
            {"proposal": ["a", "b"], "input": ["u", "w"]},
            "the field a is not set yet and no value for u was given with this step",
        ),
        (ZeroDivisionError("division by zero in CEL expression"), {}, "it divides by zero"),
        (ZeroDivisionError("x"), {"proposal": [], "input": []}, "it divides by zero"),
        (
            RuntimeError("Function 'int' error: bad digit\nmore detail"),
            {},
            "the check stopped: Function 'int' error: bad digit",
        ),
        (RuntimeError("'quoted'  "), {}, "the check stopped: quoted"),
        (RuntimeError("XML said X"), {}, "the check stopped: XML said X"),  # only quotes are stripped
        (RuntimeError(""), {}, "the check stopped: RuntimeError"),
        (ValueError("\n"), {}, "the check stopped: ValueError"),
    ],
)
def test_a_failed_evaluation_is_explained_in_plain_words(
    exc: Exception, missing: dict[str, list[str]], expected: str
) -> None:
    assert plain_error(exc, missing) == expected


def test_a_field_is_blamed_only_when_named_as_a_whole_word() -> None:
    # 'ab' mentions neither 'a' nor 'b' as a quoted key: both are blamed
    assert plain_error(KeyError("ab"), {"proposal": ["a", "b"]}) == "the fields a and b are not set yet"


# --- running -------------------------------------------------------------------------------------


def test_every_guard_runs_and_records_its_own_result(pathway: Any) -> None:
    guards, close = CompiledGuards(pathway), pathway.transition("open", "close")
    results = guards.run(close, context(pathway, {"vendor": "A", "price": "1500", "notes": "hold"}, {"units": 5}))
    assert results == [
        GuardResult("proposal.price <= pathway.limits.cap", False, "Code 1", "over the cap"),
        GuardResult("has(input.units) && input.units > 2", True, "", "too few units"),
        GuardResult("!has(proposal.notes) || proposal.notes != 'hold'", False, "", "on hold"),
    ]
    ok = guards.run(close, context(pathway, {"vendor": "A", "price": "1000"}, {"units": 3}))
    assert [r.result for r in ok] == [True, True, True] and all(r.error == "" for r in ok)


def test_a_guard_sees_only_the_variables_and_fields_it_reads(pathway: Any) -> None:
    guards, close = CompiledGuards(pathway), pathway.transition("open", "close")
    full = context(pathway, {"vendor": "A", "price": "5"}, {"units": 3})
    # unread fields with values CEL could not take, and variables no guard names, are never converted
    full["proposal"]["tags"] = object()
    full["input"]["notes"] = object()
    full["actor"] = object()
    assert [r.result for r in guards.run(close, full)] == [True, True, True]


def test_a_guard_whose_variable_is_absent_fails_with_its_reason(pathway: Any) -> None:
    guards, close = CompiledGuards(pathway), pathway.transition("open", "close")
    results = guards.run(close, {"proposal": {"notes": "x"}, "input": {}})
    assert [(r.result, r.error) for r in results] == [
        (False, "the field price is not set yet"),
        (False, ""),
        (True, ""),
    ]


#: the same rules with guards that fail at run time: a division by zero, and an input read without has()
FAILING = RULES.replace(
    "proposal.price <= pathway.limits.cap", "proposal.units / (proposal.units - proposal.units) > 1"
).replace("has(input.units) && input.units > 2", "input.units > 2")


def test_a_guard_that_fails_for_another_reason_does_not_blame_the_fields_it_read() -> None:
    pathway = loads(FAILING, "failing.yaml")
    guards, close = CompiledGuards(pathway), pathway.transition("open", "close")
    results = guards.run(close, context(pathway, {"vendor": "A", "price": "5", "units": 4}, {"units": 1}))
    assert [(r.result, r.error) for r in results] == [(False, "it divides by zero"), (False, ""), (True, "")]


def test_an_input_read_without_has_and_not_given_is_named_in_the_record() -> None:
    pathway = loads(FAILING, "failing.yaml")
    guards, close = CompiledGuards(pathway), pathway.transition("open", "close")
    given = context(pathway, {"vendor": "A", "price": "5", "units": 4}, {"notes": "x"})
    assert guards.run(close, given)[1].error == "no value for units was given with this step"
    del given["input"]  # no input variable at all: still a reason, never an exception
    assert guards.run(close, given)[1].error == "no value for units was given with this step"
