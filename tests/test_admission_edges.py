"""``static_problem``: the write path's cheap look at the last recorded transition before it builds on it.
Each way a forged last entry can break the rules alone is named; a lawful entry has no problem."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import MINI

from engine.admission import admit, static_problem
from pathways import load

MINI_P = load(MINI)
CAP = "proposal.value <= pathway.limits.max_value"
APPROVE = {"kind": "transition", "trigger": "approve", "from": "review", "to": "approved", "role": "legal",
           "actor": "lee", "rationale": "within the cap", "conditions": [{"check": CAP, "result": True}]}
EXPIRE = {"kind": "transition", "trigger": "expire", "from": "review", "to": "expired", "role": "clock",
          "actor": "clock", "rationale": "deadline passed", "conditions": []}
LEGAL = frozenset({"legal"})


def test_a_lawful_transition_has_no_problem() -> None:
    assert static_problem(MINI_P, APPROVE, LEGAL) is None
    assert static_problem(MINI_P, EXPIRE, None) is None  # the clock holds no registry role
    assert static_problem(MINI_P, {**APPROVE, "role": "legal"}, frozenset({"legal", "officer"})) is None


@pytest.mark.parametrize("kind", ["intake", "refusal", None])
def test_only_transitions_are_judged(kind: Any) -> None:
    entry = {**APPROVE, "kind": kind, "to": "nowhere", "role": "x", "conditions": []}
    assert static_problem(MINI_P, entry, None) is None


@pytest.mark.parametrize(("change", "shown"), [
    ({"to": "declined"}, "'approve' does not lead from 'review' to 'declined'"),
    ({"from": "submitted"}, "'approve' does not lead from 'submitted' to 'approved'"),
    ({"trigger": "screen"}, "'screen' does not lead from 'review' to 'approved'"),
    ({"trigger": None}, "'None' does not lead from 'review' to 'approved'"),
    ({"from": None}, "'approve' does not lead from 'None' to 'approved'"),
])
def test_the_trigger_must_lead_from_its_stage_to_its_destination(change: dict, shown: str) -> None:
    assert static_problem(MINI_P, {**APPROVE, **change}, LEGAL) == shown


@pytest.mark.parametrize(("change", "held", "actor"), [
    ({"role": "officer"}, frozenset({"officer", "legal"}), "lee"),  # a role the transition does not allow
    ({}, frozenset({"officer"}), "lee"),  # allowed, but not held
    ({}, None, "lee"),  # not a user at that position
    ({"role": "clock"}, LEGAL, "lee"),  # a person claiming the clock's role
    ({"actor": "clock"}, LEGAL, "clock"),  # the clock claiming a person's role
])
def test_the_role_must_allow_the_trigger_and_be_held(change: dict, held: frozenset | None, actor: str) -> None:
    assert static_problem(MINI_P, {**APPROVE, **change}, held) == f"{actor} did not hold a role that allows 'approve'"


def test_the_clock_fires_only_what_its_deadline_names() -> None:
    entry = {**APPROVE, "role": "clock", "actor": "clock"}
    assert static_problem(MINI_P, entry, None) == "clock did not hold a role that allows 'approve'"
    assert static_problem(MINI_P, {**EXPIRE, "role": "legal", "actor": "lee"}, LEGAL) == (
        "lee did not hold a role that allows 'expire'")
    assert static_problem(MINI_P, {**EXPIRE, "actor": "lee"}, frozenset({"clock"})) == (
        "lee did not hold a role that allows 'expire'")  # a person is never the clock, whatever the roles say


@pytest.mark.parametrize("rationale", ["", None])
def test_a_required_rationale_must_be_recorded(rationale: Any) -> None:
    assert static_problem(MINI_P, {**APPROVE, "rationale": rationale}, LEGAL) == (
        "'approve' is recorded without the rationale it requires")
    screen = {"kind": "transition", "trigger": "screen", "from": "submitted", "to": "review", "role": "officer",
              "actor": "ana", "rationale": rationale, "conditions": None}
    assert static_problem(MINI_P, screen, frozenset({"officer"})) is None


@pytest.mark.parametrize("conditions", [
    [], None, [{"check": CAP, "result": False}], [{"check": CAP}], [{"check": CAP, "result": 1}],
    [{"check": "true", "result": True}], [{"result": True}],
    [{"check": CAP, "result": True}, {"check": CAP, "result": True}],
], ids=str)
def test_every_rule_must_be_recorded_holding(conditions: Any) -> None:
    assert static_problem(MINI_P, {**APPROVE, "conditions": conditions}, LEGAL) == (
        "'approve' is recorded without every rule holding")


def test_refused_inputs_are_the_unknown_and_the_invalid_ones() -> None:
    a = admit(MINI_P, "review", "note", actor="lee", roles=["legal"], rationale=None,
              updates={"notes": "ok", "value": "a lot", "vendor": "Other"}, attached=False)
    assert a.bad_inputs == ("value", "vendor") and a.updates == {"notes": "ok"} and not a.inputs_ok
    a = admit(MINI_P, "review", "note", actor="lee", roles=["legal"], rationale=None,
              updates={"notes": "ok", "value": "12,000"}, attached=False)
    assert (a.bad_inputs, a.updates, a.inputs_ok, a.reasons) == ((), {"notes": "ok", "value": "12000"}, True, [])


@pytest.mark.parametrize("rationale", ["", None])
def test_a_trigger_that_requires_a_rationale_is_refused_without_one(rationale: Any) -> None:
    a = admit(MINI_P, "review", "approve", actor="lee", roles=["legal"], rationale=rationale, updates={},
              attached=False)
    assert (a.reasons, a.role, a.inputs_ok) == (["'approve' requires a written rationale (--rationale)"], "legal", True)
    a = admit(MINI_P, "submitted", "screen", actor="ana", roles=["officer"], rationale=rationale, updates={},
              attached=False)
    assert (a.reasons, a.role) == ([], "officer")
