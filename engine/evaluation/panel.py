"""One proposal's evaluation panels, judged and applied entry by entry (pure; no database).

A stage that declares an ``evaluation`` has a panel. Staff with one of its
``assigned_by`` roles assign evaluators (users holding its ``evaluators``
role); each evaluator declares, before scoring, that they have no conflict
of interest, or a conflict, which recuses them from this proposal for good
(FAR 15.609; 15 U.S.C. 3719(k)(2)). Only an assigned, declared, unrecused
evaluator scores, and only while the proposal is in the panel's stage: the
evaluation closes when the stage is left. A later score by the same
evaluator revises theirs; every version stays on the record. The chair
(``consensus_by``) may record the panel's consensus once the evaluation is
complete, with its rationale; the individual scores stay.

The same :class:`Panels` is rebuilt by the engine from a chain's entries
before it judges an action, and by the replay as it walks the chain, so a
score by a recused evaluator inserted into the database is a finding.
Scores are decimals kept as canonical strings (``"85"``, ``"7.5"``); totals
are weighted shares of each criterion's scale, from 0 to 100.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pathways import Pathway
from pathways.model import Evaluation

#: The kinds of entry a panel records (each may also be refused: a ``refusal`` with ``action``).
ACTIONS = ("assign", "declare", "score", "consensus")
#: A criterion whose scores spread over this share of its scale or more is flagged before consensus
#: (Bonfire's rule of thumb for a consensus meeting).
SPREAD_FLAG = Decimal("0.30")


def spread_flag(spread: float) -> bool:
    return Decimal(str(spread)) >= SPREAD_FLAG


def canonical_score(raw: Any, scale: int) -> str | None:
    """A score as the record keeps it (plain decimal, at most 2 places, 0..scale), or None if it is not one."""
    text = str(raw).strip()
    if not text or not all(c.isascii() and (c.isdigit() or c == ".") for c in text) or text.count(".") > 1:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if value != value.quantize(Decimal("0.01")) or not Decimal(0) <= value <= scale:
        return None
    out = format(value.normalize(), "f")
    return out if "." not in out else out.rstrip("0").rstrip(".")


@dataclass
class Panel:
    """One stage's panel on one proposal."""

    stage: str
    rules: Evaluation
    assigned: dict[str, int] = field(default_factory=dict)  # evaluator -> seq of the assignment
    declared: dict[str, bool] = field(default_factory=dict)  # evaluator -> declared a conflict
    statements: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, dict[str, str]] = field(default_factory=dict)  # evaluator -> criterion -> score
    comments: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # evaluator -> how many score entries
    consensus: dict[str, str] = field(default_factory=dict)
    consensus_rationale: str = ""

    @property
    def recused(self) -> set[str]:
        return {name for name, conflict in self.declared.items() if conflict}

    def may_score(self, name: str) -> bool:
        return name in self.assigned and name not in self.recused and (
            not self.rules.declaration or name in self.declared)

    def complete_sheets(self) -> dict[str, dict[str, str]]:
        """The sheets that count: every criterion scored, by an evaluator who may score (recused: never)."""
        names = [c.name for c in self.rules.criteria]
        return {who: s for who, s in sorted(self.sheets.items())
                if self.may_score(who) and all(n in s for n in names)}

    def total(self, sheet: Mapping[str, str]) -> float:
        """A sheet's weighted total: each criterion's share of its scale, weighted, as 0..100."""
        weights = sum(c.weight for c in self.rules.criteria)
        return round(sum(c.weight * float(Decimal(sheet[c.name]) / c.scale) for c in self.rules.criteria)
                     / weights * 100, 2)

    def summary(self) -> dict[str, Any]:
        """What guards see as ``evaluations`` (types in ``pathways.env.PANEL_FIELDS``)."""
        sheets = self.complete_sheets()
        means = {c.name: (sum(float(s[c.name]) for s in sheets.values()) / len(sheets) if sheets else 0.0)
                 for c in self.rules.criteria}
        lowest = {c.name: (min(float(s[c.name]) for s in sheets.values()) if sheets else 0.0)
                  for c in self.rules.criteria}
        totals = [self.total(s) for s in sheets.values()]
        full = all(c.name in self.consensus for c in self.rules.criteria)
        return {"assigned": len(self.assigned), "declared": len(self.declared), "recusals": len(self.recused),
                "complete": len(sheets), "weighted_mean": round(sum(totals) / len(totals), 2) if totals else 0.0,
                "has_consensus": full, "consensus": self.total(self.consensus) if full else 0.0,
                "mean": means, "lowest": lowest}

    def spread(self) -> dict[str, float]:
        """Per criterion: highest minus lowest score of the complete sheets, as a share of its scale."""
        sheets = self.complete_sheets()
        out = {}
        for c in self.rules.criteria:
            values = [Decimal(s[c.name]) for s in sheets.values()]
            out[c.name] = float((max(values) - min(values)) / c.scale) if len(values) > 1 else 0.0
        return out

    def score(self) -> float | None:
        """The panel's result: the consensus total if recorded, else the mean of complete sheets."""
        s = self.summary()
        if s["has_consensus"]:
            return s["consensus"]
        return s["weighted_mean"] if s["complete"] >= self.rules.min_evaluators else None


#: roles(name) -> the roles a user held when the action was taken (None: not a user).
RolesOf = Callable[[str], "set[str] | frozenset[str] | None"]


class Panels:
    """Every panel of one proposal, keyed by stage."""

    def __init__(self, pathway: Pathway) -> None:
        self.pathway = pathway
        self.by_stage: dict[str, Panel] = {s: Panel(s, pathway.stages[s].evaluation)  # type: ignore[arg-type]
                                           for s in pathway.evaluated_in}

    def target(self, state: str, asked: str | None = None) -> str | None:
        """The panel an action is for: the one named, the current stage's, or the pathway's only/first one."""
        if asked:
            return asked if asked in self.by_stage else None
        if state in self.by_stage:
            return state
        return next(iter(self.by_stage), None)

    def judge(self, action: str, *, state: str, stage: str | None, actor: str, roles: set[str] | None,
              inputs: Mapping[str, Any], rationale: str | None, roles_of: RolesOf) -> tuple[list[str], str | None]:
        """Why ``action`` is refused (empty: allowed) and the role it is taken in."""
        if stage is None or stage not in self.by_stage:
            where = ", ".join(self.by_stage) or "none"
            return [f"no evaluation panel in stage '{stage}' (this pathway scores in: {where})"], None
        panel = self.by_stage[stage]
        rules = panel.rules
        held = roles or set()
        if roles is None:
            return [f"unknown user '{actor}': add them first with 'pathways users add'"], None
        if self.pathway.stages[state].final:
            return [f"the proposal is closed ('{state}'): its evaluation can no longer change"], None
        if action == "assign":
            role = next((r for r in rules.assigned_by if r in held), None)
            reasons = [] if role else [f"{actor} may not assign evaluators: it needs one of the roles "
                                       f"{', '.join(rules.assigned_by)}"]
            names = inputs.get("evaluators") or []
            if not names:
                reasons.append("name at least one evaluator")
            for name in names:
                theirs = roles_of(name)
                if theirs is None:
                    reasons.append(f"unknown user '{name}': add them first with 'pathways users add'")
                elif rules.evaluators not in theirs:
                    reasons.append(f"{name} does not hold the '{rules.evaluators}' role evaluators need")
                elif name in panel.assigned:
                    reasons.append(f"{name} is already assigned to the panel of '{stage}'")
                elif name == actor:
                    reasons.append(f"{actor} cannot assign themselves to a panel")
            return reasons, role
        if action == "declare":
            if actor not in panel.assigned:
                return [f"{actor} is not assigned to the panel of '{stage}': only assigned evaluators declare"], None
            if actor in panel.recused:
                return [f"{actor} has declared a conflict and is recused from this proposal; a recusal "
                        "cannot be withdrawn"], None
            conflict = inputs.get("conflict")
            if conflict is True and not (inputs.get("statement") or "").strip():
                return ["a conflict needs its statement (--conflict \"why\")"], None
            if conflict is False and actor in panel.declared:
                return [f"{actor} has already declared no conflict"], None
            return [], rules.evaluators
        if action == "score":
            if state != stage:
                return [f"the panel of '{stage}' scores only while the proposal is there; it is in '{state}' "
                        "(the evaluation closes when the stage is left)"], None
            if actor not in panel.assigned:
                return [f"{actor} is not assigned to the panel of '{stage}'"], None
            if actor in panel.recused:
                return [f"{actor} declared a conflict of interest and is recused: their scores cannot count"
                        + (f" [{rules.cite}]" if rules.cite else "")], None
            if rules.declaration and actor not in panel.declared:
                return [f"{actor} has not declared whether they have a conflict of interest; declare first "
                        "(pathways declare ID --as NAME --no-conflict | --conflict \"why\")"
                        + (f" [{rules.cite}]" if rules.cite else "")], None
            return self._scores_problems(panel, inputs.get("scores") or {}), rules.evaluators
        if action == "consensus":
            role = next((r for r in rules.consensus_by if r in held), None)
            reasons = [] if role else [f"{actor} may not record the consensus: it needs one of the roles "
                                       f"{', '.join(rules.consensus_by) or '(none declared)'}"]
            if state != stage:
                reasons.append(f"the panel of '{stage}' has closed: the proposal is in '{state}'")
            done = len(panel.complete_sheets())
            if done < rules.min_evaluators:
                reasons.append(f"the evaluation is not complete: {done} of {rules.min_evaluators} score sheets")
            scores = inputs.get("scores") or {}
            reasons += self._scores_problems(panel, scores)
            missing = [c.name for c in rules.criteria if c.name not in scores]
            if missing:
                reasons.append(f"the consensus needs a score for every criterion; missing: {', '.join(missing)}")
            if not (rationale or "").strip():
                reasons.append("the consensus needs its rationale (--rationale)")
            return reasons, role
        return [f"unknown evaluation action '{action}'"], None

    @staticmethod
    def _scores_problems(panel: Panel, scores: Mapping[str, Any]) -> list[str]:
        if not scores:
            return ["give at least one --criterion NAME=VALUE"]
        out = []
        for name, value in scores.items():
            c = panel.rules.criterion(name)
            if c is None:
                out.append(f"no criterion '{name}' (criteria: {', '.join(x.name for x in panel.rules.criteria)})")
            elif canonical_score(value, c.scale) != value:
                out.append(f"{name}={value} is not a score from 0 to {c.scale} (at most two decimals, e.g. "
                           f"{c.scale * 3 // 4})")
        return out

    def apply(self, action: str, *, stage: str, actor: str, inputs: Mapping[str, Any],
              rationale: str | None, seq: int) -> None:
        """Take a judged, allowed action into the panel."""
        panel = self.by_stage[stage]
        if action == "assign":
            for name in inputs["evaluators"]:
                panel.assigned[name] = seq
        elif action == "declare":
            panel.declared[actor] = bool(inputs["conflict"])
            if inputs.get("statement"):
                panel.statements[actor] = inputs["statement"]
        elif action == "score":
            panel.sheets.setdefault(actor, {}).update(inputs["scores"])
            panel.versions[actor] = panel.versions.get(actor, 0) + 1
            if inputs.get("comment"):
                panel.comments[actor] = inputs["comment"]
        elif action == "consensus":
            panel.consensus = dict(inputs["scores"])
            panel.consensus_rationale = rationale or ""

    def context(self, state: str) -> dict[str, Any]:
        """``evaluations`` for guards: the current stage's summary at the top, each panel under its stage."""
        out: dict[str, Any] = {s: p.summary() for s, p in self.by_stage.items()}
        if state in self.by_stage:
            out = {**self.by_stage[state].summary(), **out}
        return out

    def result(self) -> tuple[bool, float | None]:
        """(evaluated, score) for an opportunity's guards: the last panel that has a result."""
        for panel in reversed(list(self.by_stage.values())):
            score = panel.score()
            if score is not None:
                return True, score
        return False, None

    @classmethod
    def from_entries(cls, pathway: Pathway, entries: Iterable[dict[str, Any]]) -> Panels:
        """The panels as a chain's entries leave them (only allowed actions count)."""
        panels = cls(pathway)
        for e in entries:
            if e.get("kind") in ACTIONS:
                panels.apply(e["kind"], stage=e["stage"], actor=e["actor"], inputs=e.get("input") or {},
                             rationale=e.get("rationale") if isinstance(e.get("rationale"), str) else None,
                             seq=e["seq"])
        return panels
