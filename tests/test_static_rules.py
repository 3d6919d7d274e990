"""The static checks, one rule at a time: the exact problems each definition gets, where, and nothing more.

``tests/test_validate.py`` shows that each rule fires at the right line with a
fragment of its message; the mutants of ``pathways/checks.py`` showed that this
lets a rule report the wrong column, the wrong severity, a half-emptied
message, or one extra or one missing problem unnoticed. Here each case edits a
small clean definition and pins the whole list of problems, printed as
``LINE:COL: severity: message``: the message is what a procurement officer
reads, and the column is where the editor puts the cursor.
"""

from __future__ import annotations

import pytest

from pathways.load import analyse

BASE = """\
id: mini
version: 1
title: Mini pilot
kind: pilot
summary: A small pathway for the static rules.
legal_basis:
  - cite: "Code 1"
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
  - trigger: decline
    from: [submitted, review]
    to: declined
    roles: [officer]
    requires: [rationale]
"""


def problems(*edits: str) -> list[str]:
    """The problems of BASE after replacing each ``old`` with ``new`` (edits come in pairs), without the path."""
    text = BASE
    for old, new in zip(edits[::2], edits[1::2], strict=True):
        assert old in text, f"{old!r} is not in BASE"
        text = text.replace(old, new, 1)
    return [str(p).removeprefix("d.yaml:") for p in analyse(text, "d.yaml")[1]]


def test_the_base_definition_is_clean() -> None:
    assert problems() == []


# (what the definition gets wrong, the edits, every problem it must get)
CASES = [
    (
        "initial",
        (
            "initial: submitted",
            "initial: submited",
        ),
        [
            ("15:10: error: initial stage 'submited' is not defined under stages (did you mean 'submitted'?)"),
        ],
    ),
    (
        "from list item",
        (
            "from: [submitted, review]",
            "from: [submitted, reveiw]",
        ),
        [
            ("37:23: error: transition 'decline' leaves from 'reveiw', which is not a stage (did you mean 'review'?)"),
        ],
    ),
    (
        "from string",
        (
            "    from: review\n    to: approved",
            "    from: reveiw\n    to: approved",
        ),
        [
            ("29:11: error: transition 'approve' leaves from 'reveiw', which is not a stage (did you mean 'review'?)"),
        ],
    ),
    (
        "dup trigger",
        (
            "  - trigger: decline",
            (
                "  - trigger: screen\n    from: submitted\n    to: declined\n    roles: [officer]\n    "
                "requires: [rationale]\n  - trigger: decline"
            ),
        ),
        [
            (
                "36:14: error: trigger 'screen' from 'submitted' is already defined by transitions[0]; "
                "give one of them another name"
            ),
        ],
    ),
    (
        "to",
        (
            "to: approved",
            "to: aproved",
        ),
        [
            ("30:9: error: transition 'approve' goes to 'aproved', which is not a stage (did you mean 'approved'?)"),
        ],
    ),
    (
        "role",
        (
            "roles: [legal]",
            "roles: [lawyer, clock]",
        ),
        [
            "11:3: warning: role 'legal' is declared but no transition uses it",
            "31:13: error: role 'lawyer' is not declared under roles",
        ],
    ),
    (
        "updates",
        (
            "    roles: [officer]\n  - trigger: approve",
            "    roles: [officer]\n    updates: [vendr, vendor]\n  - trigger: approve",
        ),
        [
            "28:15: error: 'vendr' is not a field of this pathway (did you mean 'vendor'?)",
        ],
    ),
    (
        "requires",
        (
            "    roles: [officer]\n  - trigger: approve",
            (
                "    roles: [officer]\n    updates: [vendor]\n    requires: [vendor, attachment, "
                "rationale, vendr]\n  - trigger: approve"
            ),
        ),
        [
            (
                "29:47: error: requires 'vendr': use 'rationale', 'attachment', or a field this "
                "transition lists in updates (did you mean 'vendor'?)"
            ),
        ],
    ),
    (
        "reserved",
        (
            "  vendor: {type: string, required: true}",
            (
                "  vendor: {type: string, required: true}\n  id: {type: string}\n  state: {type: string}\n  "
                "days_in_stage: {type: integer}"
            ),
        ),
        [
            ("14:3: error: field name 'id' is reserved (proposal.id is set by the engine); rename the field"),
            ("15:3: error: field name 'state' is reserved (proposal.state is set by the engine); rename the field"),
            (
                "16:3: error: field name 'days_in_stage' is reserved (proposal.days_in_stage is set by "
                "the engine); rename the field"
            ),
        ],
    ),
    (
        "enum no values",
        (
            "  vendor: {type: string, required: true}",
            "  vendor: {type: string, required: true}\n  rating: {type: enum}",
        ),
        [
            "14:11: error: enum field 'rating' needs 'values: [...]' listing what it may hold",
        ],
    ),
    (
        "values not enum",
        (
            "  vendor: {type: string, required: true}",
            "  vendor: {type: string, required: true, values: [a, b]}",
        ),
        [
            "13:50: error: 'values' only applies to enum fields, and 'vendor' is string",
        ],
    ),
    (
        "max_items",
        (
            "  vendor: {type: string, required: true}",
            ("  vendor: {type: string, required: true, max_items: 3}\n  tags: {type: list, max_items: 3}"),
        ),
        [
            "13:53: error: 'max_items' only applies to list fields, and 'vendor' is string",
        ],
    ),
    (
        "max_length",
        (
            "  vendor: {type: string, required: true}",
            (
                "  vendor: {type: string, required: true, max_length: 30}\n  notes: {type: text, "
                "max_length: 30}\n  tags: {type: list, max_length: 30}\n  count: {type: integer, "
                "max_length: 3}"
            ),
        ),
        [
            ("16:38: error: 'max_length' only applies to string, text and list fields, and 'count' is integer"),
        ],
    ),
    (
        "kind typo",
        (
            "kind: pilot",
            "kind: pliot",
        ),
        [
            (
                "4:7: warning: kind 'pliot' is not one of the kinds tools compare against (challenge, "
                "pilot, sandbox, unsolicited, rfp) (did you mean 'pilot'?); any other lower-case name is "
                "allowed"
            ),
        ],
    ),
    (
        "kind other",
        (
            "kind: pilot",
            "kind: grant",
        ),
        [],
    ),
    (
        "kind rfp typo",
        (
            "kind: pilot",
            "kind: rfq",
        ),
        [
            (
                "4:7: warning: kind 'rfq' is not one of the kinds tools compare against (challenge, "
                "pilot, sandbox, unsolicited, rfp) (did you mean 'rfp'?); any other lower-case name is "
                "allowed"
            ),
        ],
    ),
    (
        "clock admin declared",
        (
            "  legal: approves agreements",
            "  legal: approves agreements\n  clock: ticks\n  admin: grants",
        ),
        [
            ("12:3: error: 'clock' is a built-in role (it fires deadline transitions); do not declare it"),
            "12:3: warning: role 'clock' is declared but no transition uses it",
            (
                "13:3: error: 'admin' is a built-in role (it grants roles to users); name the pathway's "
                "role for what it does"
            ),
            "13:3: warning: role 'admin' is declared but no transition uses it",
        ],
    ),
    (
        "no roles",
        (
            "    to: review\n    roles: [officer]",
            "    to: review",
        ),
        [
            (
                "24:14: error: trigger 'screen' has no roles: add 'roles: [...]' naming who may fire it, "
                "or name it in a stage deadline's on_expiry for the clock"
            ),
        ],
    ),
    (
        "clock fires",
        (
            "    to: review\n    roles: [officer]",
            "    to: review",
            "{business_days: 10, on_expiry: escalate}",
            "{business_days: 10, on_expiry: screen}",
        ),
        [],
    ),
    (
        "unused role",
        (
            "  legal: approves agreements",
            "  legal: approves agreements\n  auditor: reads",
        ),
        [
            "12:3: warning: role 'auditor' is declared but no transition uses it",
        ],
    ),
    (
        "two measures",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, calendar_days: 7, on_expiry: escalate}",
        ),
        [
            ("20:15: error: deadline of 'review' needs exactly one of business_days, calendar_days or until"),
        ],
    ),
    (
        "no measure",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{on_expiry: escalate}",
        ),
        [
            ("20:15: error: deadline of 'review' needs exactly one of business_days, calendar_days or until"),
        ],
    ),
    (
        "until not date",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{until: vendor, on_expiry: escalate}",
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  due: {type: date}\n  start: {type: date}",
        ),
        [
            "22:23: error: deadline 'until: vendor' must name a date field",
        ],
    ),
    (
        "until missing",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{until: dew, on_expiry: escalate}",
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  due: {type: date, required: true}",
        ),
        [
            "21:23: error: deadline 'until: dew' must name a date field (did you mean 'due'?)",
        ],
    ),
    (
        "until ok",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{until: due, on_expiry: escalate}",
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  due: {type: date, required: true}",
        ),
        [],
    ),
    (
        "on_expiry",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, on_expiry: aprove}",
        ),
        [
            (
                "20:45: error: on_expiry 'aprove' is neither escalate, notify nor a trigger leaving "
                "'review' (did you mean 'approve'?)"
            ),
        ],
    ),
    (
        "on_expiry notify",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, on_expiry: notify}",
        ),
        [],
    ),
    (
        "on_expiry other stage",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, on_expiry: screen}",
        ),
        [
            ("20:45: error: on_expiry 'screen' is neither escalate, notify nor a trigger leaving 'review'"),
        ],
    ),
    (
        "unreachable",
        (
            "  declined: {final: true, outcome: declined}",
            "  declined: {final: true, outcome: declined}\n  orphan: {final: true, outcome: withdrawn}",
        ),
        [
            (
                "23:3: error: stage 'orphan' cannot be reached from the initial stage 'submitted'; add a "
                "transition into it or remove it"
            ),
        ],
    ),
    (
        "names wrong skip graph",
        (
            "  declined: {final: true, outcome: declined}",
            "  declined: {final: true, outcome: declined}\n  orphan: {final: true, outcome: withdrawn}",
            "to: approved",
            "to: aproved",
        ),
        [
            ("31:9: error: transition 'approve' goes to 'aproved', which is not a stage (did you mean 'approved'?)"),
        ],
    ),
    (
        "final outgoing",
        (
            "  - trigger: decline",
            ("  - trigger: reopen\n    from: approved\n    to: review\n    roles: [legal]\n  - trigger: decline"),
        ),
        [
            (
                "37:11: error: final stage 'approved' has an outgoing transition 'reopen'; a final stage "
                "ends the process (remove 'final: true' or the transition)"
            ),
        ],
    ),
    (
        "no way out",
        (
            "    to: review\n",
            "    to: limbo\n",
            "  review:\n",
            "  limbo:\n    waiting_on: vendor\n  review:\n",
        ),
        [
            (
                "19:3: error: stage 'limbo' has no way out: add a transition from it, or mark it 'final: "
                "true' with an outcome"
            ),
            (
                "21:3: error: stage 'review' cannot be reached from the initial stage 'submitted'; add a "
                "transition into it or remove it"
            ),
            (
                "23:3: error: stage 'approved' cannot be reached from the initial stage 'submitted'; add "
                "a transition into it or remove it"
            ),
        ],
    ),
    (
        "cannot be left",
        (
            "  - trigger: decline",
            (
                "  - trigger: park\n    from: submitted\n    to: parked\n    roles: [officer]\n  - trigger: "
                "note\n    from: parked\n    to: parked\n    roles: [officer]\n  - trigger: nobody\n    from: "
                "parked\n    to: declined\n    requires: [rationale]\n  - trigger: decline"
            ),
            "  approved: {final",
            "  parked: {waiting_on: vendor}\n  approved: {final",
        ),
        [
            (
                "21:3: error: stage 'parked' cannot be left by a person or by the clock: every "
                "transition out of it returns to it or has no roles"
            ),
            (
                "45:14: error: trigger 'nobody' has no roles: add 'roles: [...]' naming who may fire it, "
                "or name it in a stage deadline's on_expiry for the clock"
            ),
        ],
    ),
    (
        "clock leaves",
        (
            "  - trigger: decline",
            (
                "  - trigger: park\n    from: submitted\n    to: parked\n    roles: [officer]\n  - trigger: "
                "lapse\n    from: parked\n    to: declined\n    requires: [rationale]\n  - trigger: decline"
            ),
            "  approved: {final",
            ("  parked: {waiting_on: vendor, deadline: {calendar_days: 3, on_expiry: lapse}}\n  approved: {final"),
        ),
        [],
    ),
    (
        "final no outcome",
        (
            "  approved: {final: true, outcome: completed}",
            "  approved: {final: true}",
        ),
        [
            (
                "21:3: error: final stage 'approved' needs an 'outcome' (awarded, declined, withdrawn, "
                "expired, ...): reports and legal review group by it"
            ),
        ],
    ),
    (
        "outcome not final",
        (
            "  review:\n",
            "  review:\n    outcome: completed\n",
        ),
        [
            ("20:14: warning: 'review' has an outcome but is not final; add 'final: true' or use 'decision: true'"),
        ],
    ),
    (
        "staff no deadline",
        (
            "  review:\n    deadline: {business_days: 5, on_expiry: escalate}",
            "  review:\n    description: legal reads it",
        ),
        [
            (
                "19:3: warning: staff must act in 'review' but no deadline is set; vendors are promised "
                "an answer (add deadline: {business_days: N}, or waiting_on: vendor|public)"
            ),
        ],
    ),
    (
        "vendor no deadline",
        (
            "  review:\n    deadline: {business_days: 5, on_expiry: escalate}",
            "  review:\n    waiting_on: vendor",
        ),
        [],
    ),
    (
        "decision no rationale",
        (
            "    roles: [legal]\n    requires: [rationale]",
            "    roles: [legal]",
        ),
        [
            (
                "28:14: warning: 'approve' records a decision ('approved') but does not require a "
                "rationale; add 'requires: [rationale]' so the reasons are on the record"
            ),
        ],
    ),
    (
        "decision stage",
        (
            "    to: review\n    roles: [officer]",
            "    to: review\n    roles: [officer]\n    requires: [attachment]",
            "  review:\n",
            "  review:\n    decision: true\n",
        ),
        [
            (
                "25:14: warning: 'screen' records a decision ('review') but does not require a "
                "rationale; add 'requires: [rationale]' so the reasons are on the record"
            ),
        ],
    ),
    (
        "final no outcome no rationale",
        (
            "  approved: {final: true, outcome: completed}",
            "  approved: {final: true}",
            "    roles: [legal]\n    requires: [rationale]",
            "    roles: [legal]",
        ),
        [
            (
                "21:3: error: final stage 'approved' needs an 'outcome' (awarded, declined, withdrawn, "
                "expired, ...): reports and legal review group by it"
            ),
        ],
    ),
    (
        "guard quoted",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: 'proposal.vaule <= 1.0'",
        ),
        [
            "34:26: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
        ],
    ),
    (
        "guard dquoted",
        (
            "check: proposal.value <= pathway.limits.max_value",
            'check: "proposal.vaule <= 1.0"',
        ),
        [
            "34:26: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
        ],
    ),
    (
        "guard plain",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: proposal.vaule <= 1.0",
        ),
        [
            "34:25: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
        ],
    ),
    (
        "guard literal",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: |\n          proposal.value <= 1.0 &&\n          proposal.vaule <= 2.0",
        ),
        [
            "36:20: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
        ],
    ),
    (
        "guard folded",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: >-\n          proposal.value <= 1.0 &&\n          proposal.vaule <= 2.0",
        ),
        [
            "36:20: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
        ],
    ),
    (
        "guard folded first",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: >-\n          proposal.vaule <= 1.0 &&\n          proposal.value <= 2.0",
        ),
        [
            "35:20: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
        ],
    ),
    (
        "guard two problems",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: proposal.vaule <= 1.0 && propsal.x",
        ),
        [
            "34:25: error: guard: proposal has no field 'vaule' (did you mean 'value'?)",
            (
                "34:41: error: guard: unknown variable 'propsal' (did you mean 'proposal'?); guards can "
                "use: actor, input, now, pathway, proposal"
            ),
        ],
    ),
    (
        "optional proposal",
        (
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  attendees: {type: integer}",
            "proposal.value <= pathway.limits.max_value",
            "proposal.value <= pathway.limits.max_value && proposal.attendees < 100",
        ),
        [
            (
                "35:71: warning: guard reads proposal.attendees, but it is optional, and not every way "
                "into 'review' requires it, so it may not be set yet; protect the read with "
                "has(proposal.attendees) && ... or !has(proposal.attendees) || ..., or the guard cannot "
                "be evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "optional input",
        (
            "    requires: [rationale]\n    when:",
            "    updates: [vendor]\n    requires: [rationale]\n    when:",
            "proposal.value <= pathway.limits.max_value",
            "input.vendor == 'x'",
        ),
        [
            (
                "35:22: warning: guard reads input.vendor, but 'approve' does not require it (requires: "
                "[vendor]), so it may not be given; protect the read with has(input.vendor) && ... or "
                "!has(input.vendor) || ..., or the guard cannot be evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "optional protected",
        (
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  attendees: {type: integer}",
            "proposal.value <= pathway.limits.max_value",
            "has(proposal.attendees) && proposal.attendees < 100",
        ),
        [],
    ),
    (
        "enum left",
        (
            "  value: {type: money, required: true}",
            ("  value: {type: money, required: true}\n  rating: {type: enum, values: [good, poor], required: true}"),
            "proposal.value <= pathway.limits.max_value",
            "proposal.rating != 'god'",
        ),
        [
            (
                "35:16: warning: guard compares rating with 'god', which is not one of its values (good, "
                "poor), so it never matches (did you mean 'good'?)"
            ),
        ],
    ),
    (
        "enum right",
        (
            "  value: {type: money, required: true}",
            ("  value: {type: money, required: true}\n  rating: {type: enum, values: [good, poor], required: true}"),
            "proposal.value <= pathway.limits.max_value",
            "'\"pooor\" == input.rating'",
            "    requires: [rationale]\n    when:",
            "    updates: [rating]\n    requires: [rationale, rating]\n    when:",
        ),
        [
            (
                "36:16: warning: guard compares rating with 'pooor', which is not one of its values "
                "(good, poor), so it never matches (did you mean 'poor'?)"
            ),
        ],
    ),
    (
        "enum ok",
        (
            "  value: {type: money, required: true}",
            ("  value: {type: money, required: true}\n  rating: {type: enum, values: [good, poor], required: true}"),
            "proposal.value <= pathway.limits.max_value",
            "proposal.rating == 'good' && 'poor' != proposal.rating && proposal.vendor == 'zz'",
        ),
        [],
    ),
    (
        "enum far",
        (
            "  value: {type: money, required: true}",
            ("  value: {type: money, required: true}\n  rating: {type: enum, values: [good, poor], required: true}"),
            "proposal.value <= pathway.limits.max_value",
            "proposal.rating == 'excellent'",
        ),
        [
            (
                "35:16: warning: guard compares rating with 'excellent', which is not one of its values "
                "(good, poor), so it never matches"
            ),
        ],
    ),
    (
        "broken limit",
        (
            "limits: {max_value: 25000}",
            "limits: {max_value: [1]}",
        ),
        [
            "8:21: error: limits.max_value should be a number, not a list",
        ],
    ),
    (
        "broken field",
        (
            "  value: {type: money, required: true}",
            "  value: {type: mony, required: true}",
        ),
        [
            (
                "14:17: error: fields.value.type is 'mony', which is not one of: string, text, integer, "
                "number, money, boolean, date, enum, list (did you mean 'money'?)"
            ),
        ],
    ),
    (
        "broken stage",
        (
            "  approved: {final: true, outcome: completed}",
            "  approved: {final: yes please, outcome: completed}",
            "  legal: approves agreements",
            "  legal: approves agreements\n  auditor: reads",
        ),
        [
            "22:21: error: stages.approved.final should be true or false, not the text 'yes please'",
        ],
    ),
    (
        "broken roles container",
        (
            "roles:\n  officer: screens submissions\n  legal: approves agreements",
            "roles: 5",
        ),
        [
            "9:8: error: roles should be a mapping (key: value), not the number 5",
        ],
    ),
    (
        "broken initial",
        (
            "initial: submitted",
            "initial: [submitted]",
        ),
        [
            "15:10: error: initial should be text, not a list",
        ],
    ),
    (
        "broken transition",
        (
            "  - trigger: decline\n    from: [submitted, review]",
            "  - trigger: decline\n    frm: [submitted, review]",
        ),
        [
            "36:5: error: transitions[2] is missing the required key 'from'",
            (
                "37:5: error: unknown key 'frm' in transitions[2] (did you mean 'from'?); allowed: "
                "trigger, from, to, description, roles, requires, updates, when, on_parent, chosen, "
                "names_response, distinct_from, approvals, letter"
            ),
        ],
    ),
    (
        "two sources optional",
        (
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  attendees: {type: integer}",
            (
                "  - trigger: decline\n    from: [submitted, review]\n    to: declined\n    roles: "
                "[officer]\n    requires: [rationale]"
            ),
            (
                "  - trigger: decline\n    from: [submitted, review]\n    to: declined\n    roles: "
                "[officer]\n    requires: [rationale]\n    when:\n      - check: proposal.attendees < 100\n  "
                "      message: too many"
            ),
        ),
        [
            (
                "43:25: warning: guard reads proposal.attendees, but it is optional, and not every way "
                "into 'submitted' or 'review' requires it, so it may not be set yet; protect the read "
                "with has(proposal.attendees) && ... or !has(proposal.attendees) || ..., or the guard "
                "cannot be evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "broken field enum literal",
        (
            "  value: {type: money, required: true}",
            ("  value: {type: mony, required: true}\n  rating: {type: enum, values: [good, poor], required: true}"),
            "proposal.value <= pathway.limits.max_value",
            "proposal.rating != 'god'",
        ),
        [
            (
                "14:17: error: fields.value.type is 'mony', which is not one of: string, text, integer, "
                "number, money, boolean, date, enum, list (did you mean 'money'?)"
            ),
        ],
    ),
    (
        "broken unit optional read",
        (
            "  vendor: {type: string, required: true}",
            "  vendor: {type: strin, required: true}\n  attendees: {type: integer}",
            "proposal.value <= pathway.limits.max_value",
            "proposal.attendees < 100",
        ),
        [
            (
                "13:18: error: fields.vendor.type is 'strin', which is not one of: string, text, "
                "integer, number, money, boolean, date, enum, list (did you mean 'string'?)"
            ),
            (
                "35:25: warning: guard reads proposal.attendees, but it is optional, and not every way "
                "into 'review' requires it, so it may not be set yet; protect the read with "
                "has(proposal.attendees) && ... or !has(proposal.attendees) || ..., or the guard cannot "
                "be evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "broken limit loose guard",
        (
            "limits: {max_value: 25000}",
            "limits: {max_value: [1]}",
            "proposal.value <= pathway.limits.max_value",
            "pathway.limits.max_value.size() > 2",
        ),
        [
            "8:21: error: limits.max_value should be a number, not a list",
        ],
    ),
    (
        "guard folded ends early",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: >-\n          proposal.value <= 1.0 &&\n          proposal.value <= 2.0 &&",
        ),
        [
            (
                "36:35: error: guard: expected a value (a name, number, string, '(', '[' or '{') but "
                "found the end of the expression"
            ),
        ],
    ),
    (
        "guard folded line end",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: >-\n          proposal.value <= 1.0 &&\n          proposal.value <= 2.0 +",
        ),
        [
            (
                "36:34: error: guard: expected a value (a name, number, string, '(', '[' or '{') but "
                "found the end of the expression"
            ),
        ],
    ),
    (
        "guard literal second line",
        (
            "check: proposal.value <= pathway.limits.max_value",
            "check: |-\n          proposal.value <= 1.0 &&\n          proposal.value <= 2.0 &&",
        ),
        [
            (
                "36:35: error: guard: expected a value (a name, number, string, '(', '[' or '{') but "
                "found the end of the expression"
            ),
        ],
    ),
    (
        "deadline after a stage without one",
        (
            "    deadline: {business_days: 10, on_expiry: escalate}\n  review:",
            "    waiting_on: vendor\n  review:",
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, calendar_days: 7, on_expiry: escalate}",
        ),
        [
            ("20:15: error: deadline of 'review' needs exactly one of business_days, calendar_days or until"),
        ],
    ),
    (
        "on_expiry near escalate",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, on_expiry: escalte}",
        ),
        [
            (
                "20:45: error: on_expiry 'escalte' is neither escalate, notify nor a trigger leaving "
                "'review' (did you mean 'escalate'?)"
            ),
        ],
    ),
    (
        "on_expiry near notify",
        (
            "{business_days: 5, on_expiry: escalate}",
            "{business_days: 5, on_expiry: notfy}",
        ),
        [
            (
                "20:45: error: on_expiry 'notfy' is neither escalate, notify nor a trigger leaving "
                "'review' (did you mean 'notify'?)"
            ),
        ],
    ),
    (
        "from single-item list",
        (
            "    from: review\n    to: approved",
            "    from: [reveiw]\n    to: approved",
        ),
        [
            ("29:12: error: transition 'approve' leaves from 'reveiw', which is not a stage (did you mean 'review'?)"),
        ],
    ),
    (
        "unparsable guard then optional read",
        (
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  attendees: {type: integer}",
            ("      - check: proposal.value <= pathway.limits.max_value\n        message: value exceeds the cap"),
            (
                "      - check: proposal.value <=\n        message: broken\n      - check: "
                "proposal.attendees < 100\n        message: too many"
            ),
        ),
        [
            (
                "35:33: error: guard: expected a value (a name, number, string, '(', '[' or '{') but "
                "found the end of the expression"
            ),
            (
                "37:25: warning: guard reads proposal.attendees, but it is optional, and not every way "
                "into 'review' requires it, so it may not be set yet; protect the read with "
                "has(proposal.attendees) && ... or !has(proposal.attendees) || ..., or the guard cannot "
                "be evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "loose read then optional read",
        (
            "  value: {type: money, required: true}",
            ("  value: {type: money, required: true}\n  attendees: {type: integr}\n  extra: {type: integer}"),
            "proposal.value <= pathway.limits.max_value",
            "proposal.attendees < 1 && proposal.extra < 2",
        ),
        [
            (
                "15:21: error: fields.attendees.type is 'integr', which is not one of: string, text, "
                "integer, number, money, boolean, date, enum, list (did you mean 'integer'?)"
            ),
            (
                "36:51: warning: guard reads proposal.extra, but it is optional, and not every way into "
                "'review' requires it, so it may not be set yet; protect the read with "
                "has(proposal.extra) && ... or !has(proposal.extra) || ..., or the guard cannot be "
                "evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "optional read on a later transition",
        (
            "  value: {type: money, required: true}",
            "  value: {type: money, required: true}\n  attendees: {type: integer}",
            "    to: declined\n    roles: [officer]\n    requires: [rationale]",
            (
                "    to: declined\n    roles: [officer]\n    requires: [rationale]\n    when:\n      - "
                "check: proposal.attendees < 100\n        message: too many"
            ),
        ),
        [
            (
                "43:25: warning: guard reads proposal.attendees, but it is optional, and not every way "
                "into 'submitted' or 'review' requires it, so it may not be set yet; protect the read "
                "with has(proposal.attendees) && ... or !has(proposal.attendees) || ..., or the guard "
                "cannot be evaluated and refuses the transition"
            ),
        ],
    ),
    (
        "guard too costly",
        (
            "  value: {type: money, required: true}",
            (
                "  value: {type: money, required: true}\n  a: {type: list, required: true, max_items: "
                "120}\n  b: {type: list, required: true, max_items: 120}\n  c: {type: list, required: "
                "true, max_items: 120}\n  d: {type: list, required: true, max_items: 120}"
            ),
            "proposal.value <= pathway.limits.max_value",
            ("proposal.a.all(w, proposal.b.all(x, proposal.c.all(y, proposal.d.all(z, w + x + y + z != ''))))"),
        ),
        [
            (
                "38:27: error: guard too expensive to run: proposal.a.all(...) nested 4 deep (then "
                "proposal.b.all(...), proposal.c.all(...), proposal.d.all(...)): up to 120^4 = "
                "207,360,000 iterations; up to 25,512,250,083 steps in all, and the limit is 100,000. "
                "Lower the fields' max_items or max_length, or check less inside the loops"
            ),
        ],
    ),
    (
        "broken initial and a bad to",
        (
            "initial: submitted",
            "initial: [submitted]",
            "to: approved",
            "to: aproved",
        ),
        [
            "15:10: error: initial should be text, not a list",
        ],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_reports_exactly_its_problems(edits: tuple[str, ...], expected: list[str]) -> None:
    assert problems(*edits) == expected
