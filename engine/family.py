"""Opportunities and their responses: the links between two chains, and how ``verify`` checks them.

A response (a bid, a challenge entry) is a proposal of its own, with its own
chain; three kinds of entry point across:

- the response's intake names the opportunity's position when it was taken
  in (``parent: {id, seq, head}``): the opportunity was then in a stage that
  takes responses, and had not moved on before the response's time;
- a response's ``on_parent`` transition (bids opened, award) names the
  opportunity's entry that caused it (``parent: {id, seq, head, trigger,
  named}``), written in the same transaction;
- an opportunity's entry records every response it could see
  (``responses: {received, evaluated, best_score, at: [{id, seq, head}]}``):
  what its guards read, and which response a decision names.

One chain's replay cannot see another's, so each replay reports what it
*claims* about other chains and the *facts* of its own (``Links``), and
:func:`check` compares them once every chain is replayed. Facts are kept
only for chains in a family, so memory grows with opportunities and their
responses, not with the whole trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import VerificationFailed


@dataclass(frozen=True)
class Fact:
    """One entry of a family chain, as its replay leaves it."""

    seq: int
    hash: str
    state: str  # the stage after the entry
    at: str
    trigger: str | None
    kind: str
    named: str | None = None  # the response an opportunity's entry names
    evaluated: bool = False  # responses: the evaluation was complete after this entry
    score: float | None = None


@dataclass
class Links:
    """What one chain's replay says about its family: its own facts, and its claims on others."""

    chain: str
    pathway: str
    takes: str | None = None  # opportunities: the pathway their responses run on
    accepts: tuple[str, ...] = ()  # opportunities: the stages that take responses
    parent: dict[str, Any] | None = None  # responses: the intake's parent position, and the intake's time
    facts: list[Fact] = field(default_factory=list)
    caused: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (seq, parent ref) of on_parent moves
    listed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (seq, responses) an opportunity saw


def summary(listed: Iterable[tuple[bool, float | None]]) -> dict[str, Any]:
    """What an opportunity's guards see as ``responses`` from each response's (evaluated, score)."""
    items = list(listed)
    scores = [s for ok, s in items if ok and s is not None]
    return {"received": len(items), "evaluated": sum(1 for ok, _ in items if ok),
            "best_score": max(scores) if scores else 0.0}


def check(links: Iterable[Links], cached: Mapping[str, str] | None = None,
          broken: frozenset[str] | set[str] = frozenset()) -> list[VerificationFailed]:
    """Every cross-chain claim against the facts of the chain it names; the ``responses`` cache too.

    A claim on a chain in ``broken`` (its own replay failed, which is already
    the finding) is not judged: its facts are unknown, not wrong.
    """
    by_chain = {x.chain: x for x in links}
    out: list[VerificationFailed] = []
    children: dict[str, list[Links]] = {}
    for x in by_chain.values():
        if x.parent is not None:
            children.setdefault(x.parent["id"], []).append(x)

    def fact(chain: str, seq: int) -> Fact | None:
        x = by_chain.get(chain)
        return x.facts[seq - 1] if x is not None and 0 < seq <= len(x.facts) else None

    for x in by_chain.values():
        p = x.parent
        if p is not None and p["id"] not in broken:
            opp = by_chain.get(p["id"])
            f = fact(p["id"], p["seq"])
            if opp is None or f is None or f.hash != p["head"]:
                out.append(VerificationFailed(x.chain, 1, f"the response names {p['id']} seq {p['seq']} as the "
                                              "opportunity it answers, but that chain does not hold that entry"))
            elif opp.takes != x.pathway:
                out.append(VerificationFailed(x.chain, 1, f"{p['id']} takes responses on '{opp.takes}', not on "
                                              f"'{x.pathway}'"))
            elif f.state not in opp.accepts:
                out.append(VerificationFailed(x.chain, 1, f"the response was taken in while {p['id']} was in "
                                              f"'{f.state}', which takes no responses (only "
                                              f"{', '.join(opp.accepts)})"))
            else:
                after = fact(p["id"], p["seq"] + 1)
                if after is not None and after.at < p["at"]:
                    out.append(VerificationFailed(x.chain, 1, f"the response is dated {p['at']}, after {p['id']} "
                                                  f"had moved on at {after.at}: it was taken in late"))
        for seq, ref in x.caused:
            if ref["id"] in broken:
                continue
            f = fact(ref["id"], ref["seq"])
            if f is None or f.hash != ref["head"] or f.trigger != ref["trigger"] or f.named != ref.get("named"):
                out.append(VerificationFailed(x.chain, seq, f"the entry follows {ref['id']}'s "
                                              f"'{ref['trigger']}' (seq {ref['seq']}), which that chain does "
                                              "not record as such"))
            elif p is None or ref["id"] != p["id"]:
                out.append(VerificationFailed(x.chain, seq, f"the entry follows {ref['id']}, which this response "
                                              "does not answer"))
        for seq, seen in x.listed:
            if not any(r.get("id") in broken for r in seen.get("at") or []):
                out += _listing(x, seq, seen, children.get(x.chain, []), fact)
    if cached is not None:
        derived = {x.chain: x.parent["id"] for x in by_chain.values() if x.parent is not None}
        for child in sorted(set(cached) | set(derived)):
            if cached.get(child) != derived.get(child) and (child in by_chain or child in cached):
                out.append(VerificationFailed(child, 1, f"the responses table links {child} to "
                                              f"{cached.get(child)}, but its intake names {derived.get(child)}: "
                                              "the family was changed without an entry"))
    return out


def _listing(x: Links, seq: int, seen: dict[str, Any], kids: list[Links], fact: Any) -> list[VerificationFailed]:
    """An opportunity's entry saw exactly the responses taken in before it, as they then stood."""
    listed = {r["id"]: r for r in seen.get("at") or []}
    due = {k.chain for k in kids if k.parent is not None and k.parent["seq"] < seq}
    if set(listed) != due:
        missing, extra = sorted(due - set(listed)), sorted(set(listed) - due)
        return [VerificationFailed(x.chain, seq, "the entry's list of responses is not the responses taken in "
                                   "before it" + (f"; missing {', '.join(missing)}" if missing else "")
                                   + (f"; not responses then: {', '.join(extra)}" if extra else ""))]
    states = []
    for rid, r in sorted(listed.items()):
        f = fact(rid, r.get("seq", 0))
        if f is None or f.hash != r.get("head"):
            return [VerificationFailed(x.chain, seq, f"the entry saw {rid} at seq {r.get('seq')}, which that "
                                       "chain does not hold as recorded")]
        states.append((f.evaluated, f.score))
    want = summary(states)
    got = {k: seen.get(k) for k in want}
    if got != want:
        return [VerificationFailed(x.chain, seq, f"the entry records its responses as {got}, but they stood at "
                                   f"{want}")]
    named = x.facts[seq - 1].named if 0 < seq <= len(x.facts) else None
    if named is not None and named not in listed:
        return [VerificationFailed(x.chain, seq, f"the entry names {named}, which is not one of its responses")]
    return []
