"""Validation points at the offending node: one failing example per rule.

Each case mutates a small valid definition and names the text whose line
the problem must be reported on, and a fragment of the message. Locations
are 1-based, as editors count.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHIPPED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathways import DefinitionError, check_file, load
from pathways.load import analyse

BASE = """\
# yaml-language-server: $schema=../pathways/pathway.schema.json
id: mini
version: 1
title: Mini pilot
kind: pilot
summary: A small pathway for tests; citations are for counsel to confirm.
legal_basis:
  - cite: "West Palm Beach Code §66-74"
limits: {max_value: 25000}
roles:
  officer: screens submissions
  legal: approves agreements
fields:
  vendor: {type: string, required: true}
  value: {type: money, required: true}
initial: submitted
stages:
  submitted:
    deadline: {business_days: 10, on_expiry: escalate}
  review:
    deadline: {business_days: 5, on_expiry: escalate}
  approved: {final: true, outcome: completed}
  declined: {final: true, outcome: declined}
transitions:
  - trigger: screen
    from: submitted
    to: review
    roles: [officer]
  - trigger: approve
    from: review
    to: approved
    roles: [legal]
    requires: [rationale]
    when:
      - check: proposal.value <= pathway.limits.max_value
        message: value exceeds the cap
        cite: "West Palm Beach Code §66-74"
  - trigger: decline
    from: [submitted, review]
    to: declined
    roles: [officer]
    requires: [rationale]
"""


def problems_of(text: str) -> list:
    return analyse(text, "def.yaml")[1]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not in text"
    return hits[nth - 1]


def test_base_is_clean() -> None:
    pathway, problems = analyse(BASE, "def.yaml")
    assert problems == []
    assert pathway is not None and pathway.id == "mini"


# (name, old, new, needle for the expected line, nth occurrence, severity, message fragment)
CASES = [
    ("yaml syntax", "  officer: screens submissions", "  officer: [screens", "legal: approves", 1, "error",
     "it started at line 11"),
    ("duplicate key", "  legal: approves agreements", "  legal: approves agreements\n  legal: again", "legal: again",
     1, "error", "duplicate key 'legal'"),
    ("unknown key with hint", "title: Mini pilot", "titel: Mini pilot", "titel:", 1, "error",
     "did you mean 'title'"),
    ("missing required key", "initial: submitted\n", "", "id: mini", 1, "error", "missing the required key 'initial'"),
    ("wrong type", "version: 1", "version: one", "version: one", 1, "error", "should be a whole number"),
    ("kind close to a known kind", "kind: pilot", "kind: pliot", "kind: pliot", 1, "warning",
     "did you mean 'pilot'"),
    ("kind not a lower-case name", "kind: pilot", "kind: Sole Source", "kind: Sole Source", 1, "error",
     "not a valid name for kind"),
    ("max_items on a text field", "  vendor: {type: string, required: true}",
     "  vendor: {type: string, required: true, max_items: 3}", "max_items: 3", 1, "error",
     "'max_items' only applies to list fields"),
    ("max_length on a money field", "  value: {type: money, required: true}",
     "  value: {type: money, required: true, max_length: 3}", "max_length: 3", 1, "error",
     "'max_length' only applies to string, text and list"),
    ("max_items above the language's ceiling", "  vendor: {type: string, required: true}",
     "  vendor: {type: string, required: true}\n  items: {type: list, max_items: 5000}", "max_items: 5000", 1,
     "error", "must be at most 1,000"),
    ("guard reads an optional field without has", ("  value: {type: money, required: true}",
                                                    "proposal.value <= pathway.limits.max_value"),
     ("  value: {type: money, required: true}\n  attendees: {type: integer}",
      "proposal.value <= pathway.limits.max_value && proposal.attendees < 100"),
     "proposal.attendees < 100", 1, "warning", "guard reads proposal.attendees, but it is optional"),
    ("from undefined stage", "    from: submitted\n    to: review", "    from: submited\n    to: review",
     "from: submited", 1, "error", "did you mean 'submitted'"),
    ("to undefined stage", "    to: approved", "    to: aproved", "to: aproved", 1, "error",
     "'aproved', which is not a stage"),
    ("trigger without roles", "    to: review\n    roles: [officer]", "    to: review", "trigger: screen", 1, "error",
     "has no roles"),
    ("unknown role", "    roles: [legal]", "    roles: [lawyer]", "roles: [lawyer]", 1, "error",
     "role 'lawyer' is not declared"),
    ("guard does not parse", "proposal.value <= pathway.limits.max_value", "proposal.value <= ",
     "check: proposal.value <=", 1, "error", "guard:"),
    ("guard unknown variable", "proposal.value <= pathway.limits.max_value",
     "propsal.value <= pathway.limits.max_value", "check: propsal", 1, "error", "unknown variable 'propsal'"),
    ("guard unknown field", "proposal.value <= pathway.limits.max_value",
     "proposal.vaule <= pathway.limits.max_value", "check: proposal.vaule", 1, "error", "did you mean 'value'"),
    ("guard mixes types", "proposal.value <= pathway.limits.max_value", "proposal.value + 1 > 2.0",
     "check: proposal.value + 1", 1, "error", "mixes double and int"),
    ("guard not boolean", "proposal.value <= pathway.limits.max_value", "proposal.value + 1.0",
     "check: proposal.value + 1.0", 1, "error", "must be true or false"),
    ("unreachable stage", "  declined: {final: true, outcome: declined}",
     "  declined: {final: true, outcome: declined}\n  orphan: {final: true, outcome: withdrawn}", "orphan:", 1,
     "error", "cannot be reached"),
    ("no way out", "  review:\n    deadline: {business_days: 5, on_expiry: escalate}",
     "  review:\n    deadline: {business_days: 5, on_expiry: escalate}\n  limbo:\n    waiting_on: vendor",
     "limbo:", 1, "error", "no way out"),
    ("final with outgoing", "  - trigger: decline",
     "  - trigger: reopen\n    from: approved\n    to: review\n    roles: [legal]\n  - trigger: decline",
     "from: approved", 1, "error", "final stage 'approved' has an outgoing transition"),
    ("final without outcome", "  approved: {final: true, outcome: completed}", "  approved: {final: true}",
     "approved: {final: true}", 1, "error", "needs an 'outcome'"),
    ("nobody can leave", ("  - trigger: decline", "  approved: {final"),
     ("  - trigger: park\n    from: submitted\n    to: parked\n    roles: [officer]\n"
      "  - trigger: note\n    from: parked\n    to: parked\n    roles: [officer]\n  - trigger: decline",
      "  parked: {waiting_on: vendor}\n  approved: {final"),
     "  parked:", 1, "error", "cannot be left"),
    ("staff stage without deadline", "  review:\n    deadline: {business_days: 5, on_expiry: escalate}",
     "  review:\n    description: legal reads it", "  review:", 1, "warning", "no deadline is set"),
    ("decision without rationale", "    roles: [legal]\n    requires: [rationale]", "    roles: [legal]",
     "trigger: approve", 1, "warning", "does not require a rationale"),
    ("on_expiry not a trigger", "{business_days: 5, on_expiry: escalate}", "{business_days: 5, on_expiry: aprove}",
     "on_expiry: aprove", 1, "error", "neither escalate, notify nor a trigger"),
    ("yaml 1.1 boolean", "  vendor: {type: string, required: true}",
     "  vendor: {type: string, required: true, description: no}", "description: no", 1, "warning", "YAML 1.1"),
    ("python tag refused", "title: Mini pilot", "title: !!python/object/apply:os.system ['touch /tmp/pwned']",
     "title: !!python", 1, "error", "tag !!python/object/apply:os.system is not allowed"),
    ("enum compared with a value it never holds", ("  value: {type: money, required: true}",
                                                   "proposal.value <= pathway.limits.max_value"),
     ("  value: {type: money, required: true}\n  rating: {type: enum, values: [good, poor]}",
      "proposal.value <= pathway.limits.max_value && proposal.rating != 'god'"),
     "proposal.rating != 'god'", 1, "warning", "which is not one of its values (good, poor)"),
    ("reserved field name", "  vendor: {type: string, required: true}", "  state: {type: string}", "  state:", 1,
     "error", "reserved"),
    ("unknown update field", "    roles: [officer]\n  - trigger: approve",
     "    roles: [officer]\n    updates: [vendr]\n  - trigger: approve", "updates: [vendr]", 1, "error",
     "did you mean 'vendor'"),
]


@pytest.mark.parametrize(("name", "old", "new", "needle", "nth", "severity", "fragment"), CASES,
                         ids=[c[0] for c in CASES])
def test_rule_reports_the_offending_line(name: str, old: str | tuple, new: str | tuple, needle: str, nth: int,
                                         severity: str, fragment: str) -> None:
    text = BASE
    for a, b in zip(*((old, new) if isinstance(old, tuple) else ((old,), (new,))), strict=True):
        assert a in text, f"case {name}: {a!r} not in BASE"
        text = text.replace(a, b, 1)
    found = problems_of(text)
    want_line = line_of(text, needle, nth)
    matching = [p for p in found if p.severity == severity and fragment in p.message]
    assert matching, f"no {severity} containing {fragment!r}: {[str(p) for p in found]}"
    assert any(p.line == want_line for p in matching), \
        f"expected line {want_line}, got {[(p.line, p.col, p.message) for p in matching]}"


def test_guard_problem_column_points_into_the_expression() -> None:
    text = BASE.replace("proposal.value <= pathway", "proposal.vaule <= pathway")
    (problem,) = [p for p in problems_of(text) if "vaule" in p.message]
    line = text.splitlines()[problem.line - 1]
    assert line[problem.col - 1:].startswith("vaule")


def test_guard_in_block_scalar_is_located_on_its_own_line() -> None:
    text = BASE.replace("      - check: proposal.value <= pathway.limits.max_value",
                        "      - check: >-\n          proposal.value <= 1.0 &&\n          proposal.vendr == 'x'")
    (problem,) = [p for p in problems_of(text) if "vendr" in p.message]
    line = text.splitlines()[problem.line - 1]
    assert line[problem.col - 1:].startswith("vendr")


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = BASE.replace("title: Mini pilot", f"title: !!python/object/apply:os.system ['touch {marker}']")
    problems_of(text)
    assert not marker.exists()


def test_alias_bomb_is_refused_before_it_expands() -> None:
    """10**9 leaves if expanded: the loader counts them and stops (no wall-clock limit: a busy CI box is slow)."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    found = problems_of(bomb)
    assert any("expands to more than" in p.message for p in found), found


def test_all_problems_are_reported_not_just_the_first() -> None:
    text = BASE.replace("    roles: [legal]", "    roles: [lawyer]").replace("    to: approved", "    to: aproved")
    messages = " | ".join(p.message for p in problems_of(text))
    assert "lawyer" in messages and "aproved" in messages


def test_load_raises_definition_error_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("kind: pilot", "kind: Pilot"), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load(bad)
    assert info.value.exit_code == 1
    assert any(p.line == 5 for p in info.value.problems)


def test_sha256_ignores_comments_and_formatting_but_not_meaning() -> None:
    a = analyse(BASE, "a.yaml")[0]
    b = analyse("# a comment\n" + BASE.replace("limits: {max_value: 25000}", "limits:\n  max_value: 25000"), "b")[0]
    c = analyse(BASE.replace("max_value: 25000", "max_value: 25001"), "c")[0]
    assert a and b and c
    assert a.sha256 == b.sha256 != c.sha256


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_definition_loads_without_errors(path: Path) -> None:
    pathway, problems = check_file(path)
    assert pathway is not None, [str(p) for p in problems]
    assert not [p for p in problems if p.severity == "error"]
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../pathways/pathway.schema.json"
    assert "counsel" in pathway.summary or "attorney" in pathway.summary
    assert all(c.cite for c in pathway.legal_basis)


def test_shipped_definitions_cover_every_kind_and_mark_confidential_data() -> None:
    pathways = {p.stem: load(p) for p in SHIPPED}
    kinds = {p.kind for p in pathways.values()}
    assert kinds == {"challenge", "pilot", "sandbox", "unsolicited", "rfp", "bid", "entry"}
    assert pathways["unsolicited"].confidential and pathways["pilot"].confidential


def test_shipped_definitions_agree_with_jsonschema() -> None:
    """The committed schema is valid JSON Schema, and jsonschema accepts what we accept."""
    import json

    import jsonschema
    import yaml

    schema = json.loads((Path(__file__).parent.parent / "pathways" / "pathway.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in SHIPPED:
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


# --- hypothesis: no exception escapes except our own located error ------------------------------------

_lines = BASE.splitlines(keepends=True)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = BASE
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "indent", "truncate"]))
        lines = text.splitlines(keepends=True) or ["\n"]
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))] + "\n"
        else:
            junk = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
                        | st.sampled_from([": ", "- ", "&a", "*a", "!!python/name:os.system", "{", "[", "'",
                                           "~", "null", "yes", "1e999", "\t", "#", "<<: *a"]))
            j = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:j] + junk + lines[i][j:]
            if op == "insert":
                lines.insert(i, junk + "\n")
        text = "".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_definitions_never_escape_as_exceptions(text: str) -> None:
    pathway, problems = analyse(text, "m.yaml")
    lines = text.count("\n") + 1
    for p in problems:
        assert p.severity in ("error", "warning")
        assert 1 <= p.line <= lines + 1 and p.col >= 1, p
        assert p.message
    if pathway is None:
        assert any(p.severity == "error" for p in problems)


def test_validate_does_not_import_the_database_layer() -> None:
    code = ("import sys; from cli import cli; from click.testing import CliRunner; "
            f"r = CliRunner().invoke(cli, ['validate', {str(SHIPPED[0])!r}]); "
            "assert r.exit_code == 0, r.output; "
            "bad = [m for m in ('sqlalchemy', 'sqlmodel', 'engine', 'cel') if m in sys.modules]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_misspelt_stage_is_reported_without_its_cascade() -> None:
    """One wrong ``to:`` must not bury itself under 'cannot be reached' for every stage behind it."""
    text = BASE.replace("    to: review", "    to: reveiw")
    messages = [p.message for p in problems_of(text) if p.severity == "error"]
    assert len(messages) == 1 and "did you mean 'review'" in messages[0]


def test_tab_indentation_gets_a_plain_fix() -> None:
    (problem,) = problems_of(BASE.replace("  officer: screens", "\tofficer: screens"))
    assert "indent with spaces" in problem.message


# --- guards that read optional fields -------------------------------------------------------------------

OPTIONAL = "  value: {type: money, required: true}\n  attendees: {type: integer}"


def optional_warnings(check: str, text: str = BASE) -> list:
    text = text.replace("  value: {type: money, required: true}", OPTIONAL, 1)
    text = text.replace("proposal.value <= pathway.limits.max_value", check, 1)
    return [p for p in problems_of(text) if "guard reads" in p.message]


@pytest.mark.parametrize("check", [
    "has(proposal.attendees) && proposal.attendees < 100",
    "!has(proposal.attendees) || proposal.attendees < 100",
    "has(proposal.attendees) ? proposal.attendees < 100 : true",
    "proposal.value > 0.0 && (has(proposal.attendees) && proposal.attendees < 100)",
])
def test_a_has_guarded_read_of_an_optional_field_is_not_warned(check: str) -> None:
    assert optional_warnings(check) == []


def test_an_unguarded_read_of_an_optional_field_is_warned_at_the_read() -> None:
    text = BASE.replace("  value: {type: money, required: true}", OPTIONAL, 1).replace(
        "proposal.value <= pathway.limits.max_value", "proposal.value > 0.0 || proposal.attendees < 100", 1)
    (warning,) = [p for p in problems_of(text) if "guard reads" in p.message]
    assert warning.severity == "warning" and "has(proposal.attendees) &&" in warning.message
    line = text.splitlines()[warning.line - 1]
    assert line[warning.col - 1:].startswith("attendees < 100")


def test_a_field_every_way_in_requires_counts_as_set() -> None:
    """screen requires attendees, and it is the only way into review: approve may read it plainly."""
    text = BASE.replace("    to: review\n    roles: [officer]",
                        "    to: review\n    roles: [officer]\n    updates: [attendees]\n    requires: [attendees]", 1)
    assert optional_warnings("proposal.attendees < 100", text) == []
    assert optional_warnings("proposal.attendees < 100") != []


def test_an_input_the_transition_does_not_require_is_warned() -> None:
    text = BASE.replace("    roles: [legal]\n    requires: [rationale]",
                        "    roles: [legal]\n    updates: [attendees]\n    requires: [rationale]", 1)
    (warning,) = optional_warnings("input.attendees < 100", text)
    assert "'approve' does not require it" in warning.message


def test_shipped_definitions_have_no_unguarded_optional_reads() -> None:
    for path in SHIPPED:
        assert not [str(p) for p in check_file(path)[1] if "guard reads" in p.message]


# --- kind -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["micro_purchase", "emergency", "sole_source"])
def test_any_lower_case_kind_is_accepted_without_a_warning(kind: str) -> None:
    from pathways import KNOWN_KINDS

    pathway, problems = analyse(BASE.replace("kind: pilot", f"kind: {kind}"), "def.yaml")
    assert problems == [] and pathway is not None and pathway.kind == kind
    assert kind not in KNOWN_KINDS and set(KNOWN_KINDS) == {"challenge", "pilot", "sandbox", "unsolicited", "rfp"}


# --- every problem in one run ---------------------------------------------------------------------------


def test_a_broken_transition_does_not_hide_a_guard_error_in_another() -> None:
    text = BASE.replace("    to: review\n    roles: [officer]", "    to: review\n    rols: [officer]").replace(
        "proposal.value <= pathway", "proposal.vaule <= pathway")
    messages = [p.message for p in problems_of(text) if p.severity == "error"]
    assert len(messages) == 2, messages
    assert "unknown key 'rols'" in messages[0] and "did you mean 'value'" in messages[1]


def test_a_broken_stage_or_field_reports_itself_once_and_the_rest_still_runs() -> None:
    text = BASE.replace("{business_days: 5, on_expiry: escalate}", "{busness_days: 5, on_expiry: escalate}").replace(
        "  value: {type: money, required: true}", "  value: {type: mony, required: true}").replace(
        "    roles: [legal]", "    roles: [lawyer]")
    errors = [p.message for p in problems_of(text) if p.severity == "error"]
    assert len(errors) == 3, errors  # the deadline key, the field type, the undeclared role: no cascades
    assert any("busness_days" in m for m in errors) and any("mony" in m for m in errors)
    assert any("role 'lawyer' is not declared" in m for m in errors)
