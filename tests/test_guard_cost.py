"""Guards have a bounded, known cost: values are bounded, and validate refuses guards above the limit.

One ``advance`` once held SQLite's write lock for 68 s on four nested
``.all()`` over 120-item lists that ``validate`` had passed. These tests
protect the three halves of the fix: every value is bounded at intake and
on every ``--set``; ``validate`` computes each guard's worst case from those
bounds and refuses it above ``cost.LIMIT``, saying which part is expensive;
and ordinary guards stay well inside the limit.
"""

from __future__ import annotations

import pytest
from conftest import DEFINITIONS, SHIPPED
from test_validate import BASE, line_of, problems_of

from pathways import load
from pathways.cost import LIMIT, guard_cost, value_sizes
from pathways.fields import MAX_FREE_TEXT, FieldProblem, check_data, coerce, free_text, one_line_text
from pathways.model import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, Field

FIELDS = "  value: {type: money, required: true}"
CHECK = "proposal.value <= pathway.limits.max_value"


def with_guard(check: str, fields: str = "") -> str:
    text = BASE.replace(FIELDS, FIELDS + fields, 1)
    return text.replace(CHECK, check, 1)


#: The issue's slow guard: four nested .all() over 120-item lists.
SLOW = ("has(proposal.a) && has(proposal.b) && has(proposal.c) && has(proposal.d) && "
        "proposal.a.all(w, proposal.b.all(x, proposal.c.all(y, proposal.d.all(z, w + x + y + z != ''))))")
LISTS = "".join(f"\n  {n}: {{type: list, max_items: 120}}" for n in "abcd")


def errors(text: str) -> list:
    return [p for p in problems_of(text) if p.severity == "error"]


def test_the_slow_guard_from_the_issue_is_refused_by_validate_at_its_line() -> None:
    text = with_guard(SLOW, LISTS)
    (problem,) = errors(text)
    assert problem.line == line_of(text, "proposal.a.all(w")
    assert "proposal.a.all(...) nested 4 deep" in problem.message
    assert "120^4 = 207,360,000 iterations" in problem.message
    assert f"the limit is {LIMIT:,}" in problem.message
    assert problem.col == text.splitlines()[problem.line - 1].index("all(w") + 1


def test_nested_loops_over_default_lists_are_refused_from_three_deep() -> None:
    lists = "".join(f"\n  {n}: {{type: list, required: true}}" for n in "abc")
    two = "proposal.a.all(x, proposal.b.all(y, x != y))"
    three = "proposal.a.all(x, proposal.b.all(y, proposal.c.all(z, x != z)))"
    assert errors(with_guard(two, lists)) == []
    (problem,) = errors(with_guard(three, lists))
    assert f"{DEFAULT_MAX_ITEMS}^3" in problem.message


def test_declaring_smaller_lists_makes_a_nested_guard_affordable() -> None:
    lists = "".join(f"\n  {n}: {{type: list, required: true, max_items: 10}}" for n in "abc")
    assert errors(with_guard("proposal.a.all(x, proposal.b.all(y, proposal.c.all(z, x != z)))", lists)) == []


def test_a_string_function_in_a_loop_is_costed_by_the_texts_length() -> None:
    fields = "\n  notes: {type: text, required: true, max_length: 100000}\n  tags: {type: list, required: true}"
    (problem,) = errors(with_guard("proposal.tags.exists(t, proposal.notes.contains(t))", fields))
    assert "proposal.tags.exists(...) runs up to 50 times" in problem.message
    assert "proposal.notes.contains(...) on up to 100,200 characters" in problem.message
    shorter = fields.replace("max_length: 100000", "max_length: 2000")
    assert errors(with_guard("proposal.tags.exists(t, proposal.notes.contains(t))", shorter)) == []


def test_a_long_list_literal_is_costed_too() -> None:
    items = ", ".join(f"'v{i}'" for i in range(60))
    fields = "\n  tags: {type: list, required: true}"
    check = f'"[{items}].all(a, proposal.tags.all(b, [{items}].exists(c, a + b == c)))"'  # quoted: YAML
    (problem,) = errors(with_guard(check, fields))
    assert "[...].all(...) nested 3 deep" in problem.message


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_guards_are_far_below_the_limit(path) -> None:
    pathway = load(path)
    for t in pathway.transitions:
        for g in t.guards:
            worst = guard_cost(g.check, value_sizes(pathway, t))
            assert worst is not None and worst.steps <= LIMIT // 10, (g.check, worst.steps)


# --- the bounds the cost rests on hold for every value --------------------------------------------------


def test_list_values_above_max_items_are_refused_with_the_bound() -> None:
    with pytest.raises(FieldProblem, match=r"judges: 51 items, more than the 50 this field allows.*max_items"):
        coerce(Field("judges", "list"), [f"judge {i}" for i in range(51)])
    with pytest.raises(FieldProblem, match="more than the 3"):
        coerce(Field("judges", "list", max_items=3), "a, b, c, d")  # --set K=a,b,c,d
    assert coerce(Field("judges", "list", max_items=3), "a, b, c") == ["a", "b", "c"]


def test_text_values_above_max_length_are_refused_naming_the_bound() -> None:
    assert DEFAULT_MAX_LENGTH == {"string": 200, "text": 10_000, "list": 200}
    with pytest.raises(FieldProblem, match=r"vendor: 201 characters, more than the 200 allowed.*max_length"):
        coerce(Field("vendor", "string"), "x" * 201)
    assert coerce(Field("vendor", "string"), "x" * 200) == "x" * 200
    with pytest.raises(FieldProblem, match="10,001 characters"):
        coerce(Field("scope", "text"), "x" * 10_001)
    assert len(coerce(Field("scope", "text", max_length=20_000), "x" * 20_000)) == 20_000
    with pytest.raises(FieldProblem, match="judges item 2: 201 characters"):
        coerce(Field("judges", "list"), ["ok", "x" * 201])


def test_bounds_hold_at_intake_and_on_every_set() -> None:
    pathway = load(DEFINITIONS / "challenge.yaml")  # winners is a list, set by select_winners
    for intake in (True, False):
        data = {"title": "t" * 201} if intake else {"winners": [f"w{i}" for i in range(51)]}
        _, problems = check_data(pathway, data, intake=intake)
        assert any("more than" in p for p in problems), problems


def test_rationales_and_names_are_bounded_for_guards_that_read_them() -> None:
    with pytest.raises(FieldProblem, match="--rationale: 10,001 characters"):
        free_text("--rationale", "x" * (MAX_FREE_TEXT + 1))
    with pytest.raises(FieldProblem, match="--as: 1,001 characters"):
        one_line_text("--as", "x" * 1001)
