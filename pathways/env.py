"""What a guard can see, as CEL types: the static half of the guard context.

The run-time values are built by ``pathways/evaluation.guard_context``; this module
declares their types so that ``pathways validate`` can reject a guard that
names an unknown field or mixes types *at its line*, before any proposal
meets it. The two must agree: a test builds a real context and checks every
shipped guard evaluates to a boolean.
"""

from __future__ import annotations

from .celcheck import BOOL, DOUBLE, DYN, INT, STRING, TIMESTAMP, CelType, ListType, ObjectType
from .model import Pathway, Transition

#: Proposal field type -> the CEL type a guard sees. Money is a double in
#: guards (CEL cannot compare a decimal); it is stored and audited as a string.
FIELD_TYPES: dict[str, CelType] = {
    "string": STRING,
    "text": STRING,
    "enum": STRING,
    "integer": INT,
    "number": DOUBLE,
    "money": DOUBLE,
    "boolean": BOOL,
    "date": TIMESTAMP,
    "list": ListType(STRING),
}

ACTOR = ObjectType("actor", {"name": STRING, "roles": ListType(STRING)})


def _limit_type(value: int | float) -> CelType:
    return INT if isinstance(value, int) and not isinstance(value, bool) else DOUBLE


#: What every panel's summary holds (``engine.evaluation.Panel.summary``); per criterion, the mean and
#: the lowest of the complete sheets are added as ``mean.<name>`` and ``lowest.<name>``.
PANEL_FIELDS: dict[str, CelType] = {
    "assigned": INT, "declared": INT, "recusals": INT, "complete": INT,
    "weighted_mean": DOUBLE, "has_consensus": BOOL, "consensus": DOUBLE,
}
#: What an opportunity's guards see of its responses (``engine.family.responses_summary``).
RESPONSES = ObjectType("responses", {"received": INT, "evaluated": INT, "best_score": DOUBLE})


def panel_type(pathway: Pathway, stage: str) -> ObjectType:
    """The type of one stage's evaluation summary."""
    evaluation = pathway.evaluation(stage)
    names = [c.name for c in evaluation.criteria] if evaluation else []
    per = {n: DOUBLE for n in names}
    return ObjectType(f"evaluations.{stage}", {**PANEL_FIELDS, "mean": ObjectType("mean", per),
                                                "lowest": ObjectType("lowest", per)})


def evaluations_type(pathway: Pathway, transition: Transition) -> ObjectType | None:
    """``evaluations``: the current stage's summary, and each evaluation stage's under its name.

    The current stage is the transition's source; a transition leaving several
    evaluated stages with different criteria sees only the criteria they share.
    """
    stages = pathway.evaluated_in
    if not stages:
        return None
    here = [s for s in transition.sources if pathway.evaluation(s)]
    current: dict[str, CelType] = {}
    if here:
        types = [panel_type(pathway, s) for s in here]
        shared = set.intersection(*({n for n, _ in t.field("mean").fields} for t in types))  # type: ignore
        per = {n: DOUBLE for n in sorted(shared)}
        current = {**PANEL_FIELDS, "mean": ObjectType("mean", per), "lowest": ObjectType("lowest", per)}
    return ObjectType("evaluations", {**current, **{s: panel_type(pathway, s) for s in stages}})


def guard_env(pathway: Pathway, transition: Transition, loose: frozenset[str] = frozenset()) -> dict[str, CelType]:
    """The variables (and their types) the guards of ``transition`` may use.

    ``loose`` names fields and limits whose declaration is broken: their type
    is unknown, so guards see them as dyn rather than report a cascade.
    """
    fields = {name: DYN if name in loose else FIELD_TYPES[f.type] for name, f in pathway.fields.items()}
    actors = ObjectType("proposal.actors", {trigger: ListType(STRING) for trigger in pathway.triggers()})
    proposal = ObjectType("proposal", {"id": STRING, "state": STRING, "days_in_stage": INT, "actors": actors,
                                       **fields})
    limits = ObjectType("pathway.limits", {k: DYN if k in loose else _limit_type(v) for k, v in pathway.limits.items()})
    inputs = {name: fields[name] for name in transition.updates if name in fields}
    return {
        "proposal": proposal,
        "pathway": ObjectType("pathway", {"id": STRING, "version": INT, "limits": limits}),
        "input": ObjectType("input", {"rationale": STRING, **inputs}),
        "actor": ACTOR,
        "now": TIMESTAMP,
        **({"evaluations": ev} if (ev := evaluations_type(pathway, transition)) else {}),
        **({"responses": RESPONSES} if pathway.responses else {}),
    }
