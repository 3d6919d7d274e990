"""Separation of duties: who fired what on a proposal, and the approvals a transition has gathered (pure).

A transition may require someone other than whoever fired named earlier
transitions (``distinct_from: [recommend_award]``: the person who recommends
an award cannot also award it), or several distinct people (``approvals:
2``): each approval before the last is an ``approval`` entry that does not
move the proposal, a second approval by the same person is refused, and the
last approver's firing is the transition itself. Approvals count from when
the proposal entered its stage, so leaving and coming back starts afresh.

The engine rebuilds :class:`Duties` from a proposal's entries before judging
(only for pathways whose rules ask, ``Pathway.reads_actors``); the replay
keeps one as it walks, so an award by the recommender inserted into the
database is a finding. Guards read the same record as ``proposal.actors``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pathways import Pathway
from pathways.model import MAX_ACTORS, Transition


class Duties:
    """Who fired each trigger (transitions and approvals), and this stage visit's approvals."""

    def __init__(self, pathway: Pathway) -> None:
        self.pathway = pathway
        self.fired: dict[str, list[str]] = {t: [] for t in pathway.triggers()}
        self.approvals: dict[str, list[str]] = {}

    def _fired(self, trigger: str, names: Iterable[str]) -> None:
        got = self.fired.setdefault(trigger, [])
        for name in names:
            if name in got:
                got.remove(name)
            got.append(name)
        del got[:-MAX_ACTORS]

    def apply(self, e: dict[str, Any]) -> None:
        """Take one allowed entry in (refusals and panel actions change nothing here)."""
        kind, trigger = e.get("kind"), e.get("trigger")
        if kind == "approval":
            self.approvals.setdefault(trigger, []).append(e["actor"])
        elif kind == "transition" and isinstance(trigger, str):
            self._fired(trigger, [*self.approvals.get(trigger, []), e["actor"]])
            if e.get("to") != e.get("from"):
                self.approvals.clear()
            else:
                self.approvals.pop(trigger, None)

    def judge(self, t: Transition, actor: str) -> list[str]:
        """Why ``actor`` may not fire (or approve) ``t`` now, by the separation-of-duties rules."""
        reasons = []
        for earlier in t.distinct_from:
            if actor in self.fired.get(earlier, []):
                reasons.append(f"{actor} fired '{earlier}' on this proposal; '{t.trigger}' must be done by someone "
                               "else (separation of duties)")
        if t.approvals > 1 and actor in self.approvals.get(t.trigger, []):
            have = len(self.approvals[t.trigger])
            reasons.append(f"{actor} has already approved '{t.trigger}' ({have} of {t.approvals} approvals); the "
                           "next approval must be by someone else")
        return reasons

    def completes(self, t: Transition) -> bool:
        """Whether one more approval makes ``t`` fire (always, for a transition that needs one person)."""
        return len(self.approvals.get(t.trigger, [])) + 1 >= t.approvals

    def context(self) -> dict[str, list[str]]:
        """``proposal.actors``: trigger -> who fired it, most recent last."""
        return {k: list(v) for k, v in self.fired.items()}

    @classmethod
    def from_entries(cls, pathway: Pathway, entries: Iterable[dict[str, Any]]) -> Duties:
        duties = cls(pathway)
        for e in entries:
            duties.apply(e)
        return duties
