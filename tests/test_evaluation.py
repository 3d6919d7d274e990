"""Guard evaluation: a rule that cannot be shown to hold does not let a proposal through.

``CompiledGuards.run`` is tested as a pure function; the last test walks the
reachable case through the engine: a guard reading an optional field the
proposal does not have refuses, and the trail records why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MINI, MINI_DATA

from engine import Engine, Refused
from pathways import loads
from pathways.evaluation import CompiledGuards, GuardResult

CAP = "        cite: \"West Palm Beach Code §66-74\"\n"
HOLD = "      - check: proposal.notes != 'hold'\n        message: the proposal is on hold\n"
#: mini v2: ``approve`` also needs the proposal not to be on hold (``notes`` is optional and unset at intake)
MINI_HOLD = MINI.read_text(encoding="utf-8").replace("version: 1", "version: 2").replace(CAP, CAP + HOLD, 1)


def _approve_guards(text: str) -> tuple[CompiledGuards, object]:
    pathway = loads(text)
    return CompiledGuards(pathway), pathway.transition("review", "approve")


def _context(**proposal: object) -> dict:
    return {"proposal": {"id": "mini-0001", "state": "review", "days_in_stage": 0, **proposal},
            "pathway": {"id": "mini", "version": 2, "limits": {"max_value": 25000.0}}}


def test_a_guard_that_holds_passes() -> None:
    guards, approve = _approve_guards(MINI_HOLD)
    assert guards.run(approve, _context(value=100.0, notes="fine")) == [
        GuardResult("proposal.value <= pathway.limits.max_value", True, "West Palm Beach Code §66-74",
                    "the cost to the city exceeds the $25,000 pilot cap"),
        GuardResult("proposal.notes != 'hold'", True, "", "the proposal is on hold")]


def test_a_guard_that_raises_while_evaluating_counts_as_failed() -> None:
    guards, approve = _approve_guards(MINI_HOLD)
    cap, hold = guards.run(approve, _context(value=100.0))  # no notes: the second guard raises
    assert cap.result is True and cap.error == ""
    assert hold.result is False
    assert hold.error == "the field notes is not set yet"
    assert hold.as_entry() == {"check": "proposal.notes != 'hold'", "result": False, "cite": "",
                               "error": "the field notes is not set yet"}
    assert hold.reason() == "the proposal is on hold (could not be checked: the field notes is not set yet)"


def test_a_guard_that_gives_no_boolean_counts_as_failed() -> None:
    """``dyn()`` gets past the static type check; at run time a number is still not a yes."""
    text = MINI.read_text(encoding="utf-8").replace("check: proposal.value <= pathway.limits.max_value",
                                                    "check: dyn(proposal.value)")
    guards, approve = _approve_guards(text)
    (only,) = guards.run(approve, _context(value=100.0))
    assert (only.result, only.error) == (False, "gave 100.0, not true or false")


def test_a_guard_on_an_absent_optional_field_refuses_and_records_why(mini: Engine, tmp_path: Path) -> None:
    """Reachable today: ``proposal.notes != 'hold'`` without ``notes`` must not approve."""
    v2 = tmp_path / "mini-hold.yaml"
    v2.write_text(MINI_HOLD, encoding="utf-8")
    mini.publish(v2, actor="ana")
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    with pytest.raises(Refused) as info:
        mini.advance(pid, "approve", actor="lee", rationale="good value")
    assert info.value.reasons == ["the proposal is on hold (could not be checked: the field notes is not set yet)"]
    last = mini.history(pid)[-1]
    assert last["kind"] == "refusal" and last["reasons"] == info.value.reasons
    assert last["conditions"] == [
        {"check": "proposal.value <= pathway.limits.max_value", "result": True, "cite": "West Palm Beach Code §66-74"},
        {"check": "proposal.notes != 'hold'", "result": False, "cite": "", "error": "the field notes is not set yet"}]
    assert mini.show(pid)["state"] == "review"
    mini.advance(pid, "note", actor="ana", updates={"notes": "checked"})
    assert mini.advance(pid, "approve", actor="lee", rationale="good value")["to"] == "approved"


def test_an_input_not_given_is_recorded_in_plain_words() -> None:
    from pathways.evaluation import plain_error

    assert plain_error(KeyError("notes"), {"proposal": [], "input": ["notes"]}) == \
        "no value for notes was given with this step"
    assert plain_error(KeyError("b"), {"proposal": ["a", "b"], "input": []}) == "the field b is not set yet"
    assert plain_error(RuntimeError("odd"), {"proposal": ["a", "b"], "input": []}) == \
        "the fields a and b are not set yet"
    assert plain_error(ZeroDivisionError("division by zero in CEL expression"), {}) == "it divides by zero"
    assert "Error" not in plain_error(RuntimeError("Function 'int' error: bad digit"), {})
