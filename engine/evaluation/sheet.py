"""The evaluation sheet: each panel's evaluators, scores, totals and spread, as a given person may see it.

Staff who run the panel (its ``assigned_by`` or ``consensus_by`` roles, or an
admin) see everything. An assigned evaluator sees nothing before declaring
(where a declaration is required), nothing once recused, and, on a blind
panel, only their own sheet until it is complete; then everyone's. Anyone
else is refused. ``--as`` names who looks; like every CLI actor it is
asserted, not proven (the web's sign-in proves it).
"""

from __future__ import annotations

from typing import Any

from pathways import Pathway
from pathways.errors import UsageError
from pathways.model import ADMIN

from .panel import Panel, Panels, spread_flag


def _full(panel: Panel) -> dict[str, Any]:
    complete = panel.complete_sheets()
    spread = panel.spread()
    return {
        "criteria": [{"name": c.name, "weight": c.weight, "scale": c.scale, "description": c.description}
                     for c in panel.rules.criteria],
        "min_evaluators": panel.rules.min_evaluators, "blind": panel.rules.blind,
        "assigned": sorted(panel.assigned), "declared": sorted(n for n, c in panel.declared.items() if not c),
        "recused": sorted(panel.recused), "statements": dict(sorted(panel.statements.items())),
        "complete": sorted(complete), "sheets": {k: dict(v) for k, v in sorted(panel.sheets.items())},
        "comments": dict(sorted(panel.comments.items())), "versions": dict(sorted(panel.versions.items())),
        "totals": {who: panel.total(s) for who, s in complete.items()}, "summary": panel.summary(),
        "spread": spread, "flagged": [n for n, v in spread.items() if spread_flag(v)],
        "consensus": dict(panel.consensus), "consensus_rationale": panel.consensus_rationale,
        "score": panel.score(), "hidden": False,
    }


def _as_evaluator(panel: Panel, viewer: str) -> dict[str, Any]:
    """What an assigned evaluator may see of their panel."""
    full = _full(panel)
    rules = panel.rules
    mine = panel.sheets.get(viewer, {})
    done = all(c.name in mine for c in rules.criteria)
    if viewer in panel.recused or (rules.declaration and viewer not in panel.declared):
        visible: set[str] = set()
    elif rules.blind and not done:
        visible = {viewer} if mine else set()
    else:
        visible = set(panel.sheets)
    hidden = visible != set(panel.sheets)
    if hidden:
        full.update(sheets={k: v for k, v in full["sheets"].items() if k in visible},
                    totals={k: v for k, v in full["totals"].items() if k in visible},
                    comments={k: v for k, v in full["comments"].items() if k in visible},
                    summary=None, spread={}, flagged=[], score=None, consensus={}, consensus_rationale="")
    full["hidden"] = hidden
    return full


def evaluation_sheet(pathway: Pathway, state: str, entries: list[dict[str, Any]], *, viewer: str | None,
                     roles: frozenset[str] | set[str] | None) -> dict[str, Any]:
    """Every panel of one proposal, shown to ``viewer`` (None: staff at the terminal, who see all)."""
    panels = Panels.from_entries(pathway, entries)
    out: dict[str, Any] = {"state": state, "panels": {}}
    for stage, panel in panels.by_stage.items():
        runs = set(panel.rules.assigned_by) | set(panel.rules.consensus_by) | {ADMIN}
        if viewer is None or (roles and roles & runs):
            out["panels"][stage] = _full(panel)
        elif viewer in panel.assigned:
            out["panels"][stage] = _as_evaluator(panel, viewer)
    if viewer is not None and not out["panels"]:
        raise UsageError(f"{viewer} may not see this evaluation: only its assigned evaluators and the staff who "
                         "run the panel may")
    return out
