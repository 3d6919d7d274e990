"""Release tags: what changed between two views of a process, as codes of OCDS's closed releaseTag codelist.

A release is made when the public view changes (``releases.py``); its tags
say which part changed and how: the first release is ``planning`` (or
``tender`` when the call is already public), a tender opened from planning
is ``tender``, a changed tender period ``tenderAmendment``, a cancelled
tender ``tenderCancellation``, a new award ``award``, a contract that ends
``contractTermination``, a change in a running contract's milestones or
documents ``implementation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tags(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """The releaseTag codes that say what changed between two views (closed codelist)."""
    out: list[str] = []
    t1 = after["tender"]
    if before is None:
        out.append("planning" if t1["status"] == "planning" else "tender")
    else:
        t0 = before["tender"]
        if t1 != t0:
            if t1["status"] == "cancelled" and t0["status"] != "cancelled":
                out.append("tenderCancellation")
            elif t0["status"] == "planning" and t1["status"] == "planning":
                out.append("planningUpdate")
            elif t0["status"] == "planning" and t1["status"] == "active":
                out.append("tender")
            elif t0.get("tenderPeriod") and t1.get("tenderPeriod") != t0.get("tenderPeriod"):
                out.append("tenderAmendment")
            else:
                out.append("tenderUpdate")
        if (
            after.get("planning") != before.get("planning")
            and "planningUpdate" not in out
            and t1["status"] == "planning"
        ):
            out.append("planningUpdate")
    a0, a1 = (before or {}).get("awards"), after.get("awards")
    if a1 and not a0:
        out.append("award")
    elif a1 != a0 and a1:
        out.append("awardCancellation" if a1[0]["status"] == "cancelled" else "awardUpdate")
    c0, c1 = (before or {}).get("contracts"), after.get("contracts")
    if c1 and not c0:
        out.append("contract")
    elif c1 and c0 and c1 != c0:
        if c1[0]["status"] == "terminated" and c0[0]["status"] != "terminated":
            out.append("contractTermination")
        elif any(c1[0].get(k) != c0[0].get(k) for k in ("value", "period", "dateSigned")):
            out.append("contractAmendment")
        else:
            out.append("implementation")
    if not out:  # parties, bids or the buyer's contact changed alone
        out.append("planningUpdate" if t1["status"] == "planning" else "tenderUpdate")
    return out
