"""Whether a request may become a transition, before its guards: a pure function.

Every reason to refuse that does not need the guards (who asks, in which
role, from which stage, with what rationale, documents and values) is
collected here at once, so a refusal lists everything there is to fix and
lands in the trail with all of it. Nothing here touches the database; the
runtime calls it inside its transaction with the locked proposal's stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pathways import Pathway
from pathways.fields import check_data
from pathways.model import CLOCK, Transition
from pathways.structure import hint


@dataclass(frozen=True)
class Admission:
    """The outcome: reasons to refuse (none: go on to the guards), the role acted in, clean updates."""

    reasons: list[str] = field(default_factory=list)
    role: str | None = None
    updates: dict[str, Any] = field(default_factory=dict)
    inputs_ok: bool = False  # guards read the inputs: they are only worth evaluating when these are valid
    #: Names of --set values refused (not recorded by this trigger, or invalid): a refusal entry lists them,
    #: because the values themselves are not recorded, so the replay can see what the refusal rests on.
    bad_inputs: tuple[str, ...] = ()


def admit(pathway: Pathway, state: str, trigger: str, *, actor: str, roles: list[str] | None,
          rationale: str | None, updates: dict[str, Any], attached: bool) -> Admission:
    """Check a request to fire ``trigger`` from ``state`` against everything but the guards."""
    reasons: list[str] = []
    if roles is None:
        reasons.append(f"'{CLOCK}' acts only through 'pathways tick', when a deadline is due" if actor == CLOCK
                       else f"unknown user '{actor}': add them first with 'pathways users add'")
    t = pathway.transition(state, trigger)
    if t is None:
        if trigger not in pathway.triggers():
            reasons.append(f"'{trigger}' is not a trigger of pathway '{pathway.id}'"
                           f"{hint(trigger, list(pathway.triggers()))}")
        else:
            here = [x.trigger for x in pathway.leaving(state)] or ["none: the stage is final"]
            reasons.append(f"'{trigger}' cannot be fired from stage '{state}'; from here: {', '.join(here)}")
        return Admission(reasons)
    allowed = set(pathway.roles_for(state, t))
    role = None
    if roles is not None:
        role = next((r for r in roles if r in allowed), None)
        if role is None:
            reasons.append(f"{actor} acts as {', '.join(roles) or 'no role'}; '{trigger}' needs one of: "
                           f"{', '.join(sorted(allowed))}")
    if "rationale" in t.requires and not rationale:
        reasons.append(f"'{trigger}' requires a written rationale (--rationale)")
    if "attachment" in t.requires and not attached:
        reasons.append(f"'{trigger}' requires an attached document (--attach FILE)")
    unknown = [k for k in updates if k not in t.updates]
    for k in unknown:
        may = f"it may set: {', '.join(t.updates)}" if t.updates else "it sets no fields"
        reasons.append(f"--set {k}: '{trigger}' does not change '{k}'; {may}")
    known = {k: v for k, v in updates.items() if k in t.updates}
    clean, problems = check_data(pathway, known, intake=False)
    reasons += [f"--set {p}" for p in problems]
    for need in t.requires:
        if need in t.updates and need not in updates:
            reasons.append(f"'{trigger}' requires --set {need}=...")
    bad = tuple(sorted({*unknown, *(k for k in known if k not in clean)}))
    return Admission(reasons, role, clean, not unknown and not problems, bad)


def follows_parent(t: Transition) -> str:
    """Why a response's ``on_parent`` transition cannot be fired by hand."""
    return (f"'{t.trigger}' happens when the opportunity fires '{t.on_parent}': the engine records it on every "
            "response it applies to, in the same step")


def static_problem(pathway: Pathway, entry: dict[str, Any], held: frozenset[str] | None) -> str | None:
    """What is wrong with a recorded transition by the rules alone (None: nothing this cheap check can see).

    The write path reads a proposal's last entry before building on it; this
    judges that entry without replaying the chain: its trigger leads from its
    ``from`` to its ``to``, its role is allowed and was held (``held``: the
    actor's roles at the registry position the entry names), its rationale is
    there when required, and every rule was recorded, true. A forged entry
    that breaks any of these is refused at once; one that keeps them but
    could not have passed its guards on the real data is ``verify``'s to find.
    """
    if entry.get("kind") != "transition":
        return None
    t = pathway.transition(entry.get("from") or "", entry.get("trigger") or "")
    if t is None or t.dest != entry.get("to"):
        return f"'{entry.get('trigger')}' does not lead from '{entry.get('from')}' to '{entry.get('to')}'"
    if t.on_parent or entry.get("parent") is not None:  # the engine fired it for the opportunity (``family``)
        ok = t.on_parent and isinstance(entry.get("parent"), dict) and entry["parent"].get("trigger") == t.on_parent
        return None if ok else f"'{t.trigger}' follows the opportunity's '{t.on_parent}', but the entry does not"
    role, actor = entry.get("role"), entry.get("actor")
    if role not in pathway.roles_for(entry["from"], t) or (role == CLOCK) != (actor == CLOCK) or (
            actor != CLOCK and role not in (held or ())):
        return f"{actor} did not hold a role that allows '{t.trigger}'"
    if "rationale" in t.requires and not entry.get("rationale"):
        return f"'{t.trigger}' is recorded without the rationale it requires"
    conditions = entry.get("conditions") or []
    if [c.get("check") for c in conditions] != [g.check for g in t.guards] or not all(
            c.get("result") is True for c in conditions):
        return f"'{t.trigger}' is recorded without every rule holding"
    return None
