"""Static checks for opportunities, their responses and evaluation panels.

An opportunity (``responses:``) takes responses that run on a pathway of
their own (``responds_to:``); the engine fires a response's ``on_parent``
transitions when the opportunity fires the named trigger (bid opening,
award), and keeps ``sealed_until`` values hidden until it has. A stage's
``evaluation:`` declares the panel that scores proposals there. These rules
only need the one definition: that an opportunity and its response pathway
name each other is checked when a response is taken in, against the
published versions of both.
"""

from __future__ import annotations

from .env import PANEL_FIELDS
from .model import Pathway
from .structure import hint
from .yamlsource import Document


def _t(i: int, *rest: object) -> tuple[object, ...]:
    return ("transitions", i, *rest)


def check_opportunity(p: Pathway, doc: Document) -> None:
    """An opportunity's door opens in real, non-final stages; only opportunities name a response."""
    r = p.responses
    if r is not None:
        if p.responds_to:
            doc.problem(("responses",), "a pathway cannot both take responses and be one (responds_to); "
                        "split it into an opportunity pathway and a response pathway")
        for j, stage in enumerate(r.stages):
            if stage not in p.stages:
                doc.problem(("responses", "while", j), f"responses are taken while in '{stage}', which is not a "
                            f"stage{hint(stage, list(p.stages))}")
            elif p.stages[stage].final:
                doc.problem(("responses", "while", j), f"'{stage}' is final: nothing can respond to a closed "
                            "opportunity")
    for i, t in enumerate(p.transitions):
        if t.names_response is None:
            continue
        if r is None:
            doc.problem(_t(i, "names_response"), f"'{t.trigger}' names a response, but this pathway takes none: "
                        "add a responses: block naming the response pathway")
        f = p.fields.get(t.names_response)
        if f is None or f.type != "string" or t.names_response not in t.updates or \
                t.names_response not in t.requires:
            doc.problem(_t(i, "names_response"), f"names_response '{t.names_response}' must be a string field "
                        f"that '{t.trigger}' lists in both updates and requires (its value is the response's id)")


def check_response(p: Pathway, doc: Document) -> None:
    """Sealing and on_parent transitions belong to response pathways; the engine fires those, unguarded."""
    responding = p.responds_to is not None
    for name, f in p.fields.items():
        if f.sealed_until and not responding:
            doc.problem(("fields", name, "sealed_until"), f"'{name}' is sealed until the opportunity fires "
                        f"'{f.sealed_until}', but this pathway responds to no opportunity: add responds_to")
    if p.attachments_sealed_until and not responding:
        doc.problem(("attachments_sealed_until",), "attachments are sealed until an opportunity's trigger, but "
                    "this pathway responds to no opportunity: add responds_to")
    for i, t in enumerate(p.transitions):
        if t.chosen is not None and t.on_parent is None:
            doc.problem(_t(i, "chosen"), f"'chosen' only applies with on_parent, and '{t.trigger}' has none")
        if t.on_parent is None:
            continue
        if not responding:
            doc.problem(_t(i, "on_parent"), f"'{t.trigger}' follows the opportunity's '{t.on_parent}', but this "
                        "pathway responds to no opportunity: add responds_to")
        for key, value in (("roles", t.roles), ("when", t.guards), ("requires", t.requires),
                           ("updates", t.updates)):
            if value:
                doc.problem(_t(i, key), f"'{t.trigger}' is fired by the engine when the opportunity fires "
                            f"'{t.on_parent}' (on_parent): it cannot have {key}; put them on the opportunity's "
                            "transition")


def check_evaluations(p: Pathway, doc: Document) -> None:
    """A panel's criteria are distinct and its roles declared; it scores in a stage a proposal waits in."""
    for name, s in p.stages.items():
        ev = s.evaluation
        if ev is None:
            continue
        path = ("stages", name, "evaluation")
        if s.final:
            doc.problem(path, f"'{name}' is final: nothing is scored after the process ends")
        if name in PANEL_FIELDS or name in ("mean", "lowest"):
            doc.key_problem(("stages", name), f"a stage with an evaluation cannot be named '{name}': guards "
                            f"read evaluations.{name} as part of every panel's summary; rename the stage")
        seen: set[str] = set()
        for j, c in enumerate(ev.criteria):
            if c.name in seen:
                doc.problem(path + ("criteria", j, "name"), f"criterion '{c.name}' is listed twice")
            seen.add(c.name)
        if ev.evaluators not in p.roles:
            doc.problem(path + ("evaluators",) if "evaluators" in doc.data["stages"][name]["evaluation"] else path,
                        f"evaluators hold the role '{ev.evaluators}', which is not declared under roles"
                        f"{hint(ev.evaluators, list(p.roles))}")
        if not ev.assigned_by:
            doc.problem(path, f"the evaluation of '{name}' needs assigned_by: [roles] naming who assigns "
                        "evaluators")
        for key, roles in (("assigned_by", ev.assigned_by), ("consensus_by", ev.consensus_by)):
            for j, role in enumerate(roles):
                if role not in p.roles:
                    doc.problem(path + (key, j), f"role '{role}' is not declared under roles"
                                f"{hint(role, list(p.roles))}")


def check_duties(p: Pathway, doc: Document) -> None:
    """Separation of duties names real triggers; approvals gather a decision, not values."""
    triggers = p.triggers()
    for i, t in enumerate(p.transitions):
        for j, name in enumerate(t.distinct_from):
            if name not in triggers:
                doc.problem(_t(i, "distinct_from", j), f"distinct_from '{name}' is not a trigger of this pathway"
                            f"{hint(name, list(triggers))}")
        if t.approvals > 1 and t.updates:
            doc.problem(_t(i, "approvals"), f"'{t.trigger}' needs {t.approvals} approvals, so it cannot also set "
                        "fields (each approver would approve other values): record them in a step before it")
        if (t.distinct_from or t.approvals > 1) and t.on_parent:
            doc.problem(_t(i, "on_parent"), f"'{t.trigger}' is fired by the engine for the opportunity; put "
                        "distinct_from and approvals on the opportunity's transition")


RULES = (check_opportunity, check_response, check_evaluations, check_duties)
