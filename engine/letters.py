"""Letters to vendors: what the city said, rendered when a decision is recorded, kept like a confidential value.

A transition may name a letter (``letter: declined``). When it fires, the
engine renders ``templates/letters/<name>.html.j2`` with the one strict
jinja2 environment (autoescape, undefined values fail): the decision, the
reasons in plain words (the rationale, and the refusals recorded in the stage
with their citations), the panel's scores where the pathway shares them,
the next step, and any protest window with its last day in the city's zone.
The letter is what the city said, so its salted sha256 goes into the
transition's entry and its text into ``audit_secrets`` (as ``:letter``): a
public bundle carries the hash and withholds the text (it may quote the
vendor's own submission); a private bundle and the vendor get both, and
anyone holding the text and salt can check it against the record.

A letter never carries another vendor's data: before it is recorded, it is
checked against every confidential value of the other responses to the same
opportunity (the disclosure check, scoped to the recipient).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pathways import Pathway
from pathways.model import Transition

from .audit import new_salt, salted_hash
from .disclosure import quotes

if TYPE_CHECKING:
    from pathways.city import City

    from .disclosure import Needle
    from .evaluation import Panels

#: The kept text's field name in ``audit_secrets``.
LETTER_SECRET = ":letter"
_CITED = re.compile(r"^(?P<text>.*?)\s*\[(?P<cite>[^\]]+)\]\s*$", re.DOTALL)


@dataclass(frozen=True)
class Letter:
    name: str
    html: str
    salt: str

    @property
    def recorded(self) -> dict[str, str]:
        """What the entry holds: the letter's name and the salted hash of its text."""
        return {"name": self.name, "salted_sha256": salted_hash(self.html, self.salt)}


def _reason(text: str) -> dict[str, str]:
    m = _CITED.match(text)
    return {"text": m["text"], "cite": m["cite"]} if m else {"text": text, "cite": ""}


def _scores(panels: Panels | None) -> tuple[list[dict[str, Any]], float | None, bool]:
    """The summary a vendor may see: only from a panel that shares it, and has a result."""
    if panels is None:
        return [], None, False
    for panel in reversed(list(panels.by_stage.values())):
        if not panel.rules.share_with_vendor or panel.score() is None:
            continue
        summary = panel.summary()
        agreed = summary["has_consensus"]
        rows = [{"name": c.name, "weight": f"{c.weight:g}", "scale": c.scale,
                 "score": panel.consensus[c.name] if agreed else f"{summary['mean'][c.name]:.2f}"}
                for c in panel.rules.criteria]
        return rows, panel.score(), agreed
    return [], None, False


def _protest(opportunity: Pathway | None, pathway: Pathway, at: dt.datetime, city: City) -> tuple[str, str]:
    """The last day to protest, in the city's zone, where the rules set a protest window."""
    rules = opportunity or pathway
    days = rules.limits.get("protest_window_days")
    if not days:
        return "", ""
    cite = next((s.deadline.cite for n, s in rules.stages.items() if "protest" in n and s.deadline
                 and s.deadline.cite), "")
    last = (at.astimezone(city.zone) + dt.timedelta(days=int(days))).date()
    return f"{last:%A, %B} {last.day}, {last.year}", cite


def compose(name: str, *, pathway: Pathway, t: Transition, proposal_id: str, data: dict[str, Any], at: dt.datetime,
            rationale: str | None, refusals: list[str], panels: Panels | None, city: City,
            opportunity: Pathway | None = None) -> Letter:
    """Render the letter ``t`` names for the proposal as it stands once ``t`` has fired."""
    from .report import render

    stage = pathway.stages[t.dest]
    scores, total, agreed = _scores(panels)
    protest_until, protest_cite = _protest(opportunity, pathway, at, city) if name != "awarded" else ("", "")
    noun = {"bid": "bid", "entry": "entry"}.get(pathway.kind, "proposal")
    local = at.astimezone(city.zone)
    l = {  # noqa: E741 - the templates' one variable
        "city": city.name, "office": "Purchasing Office", "date": f"{local:%B} {local.day}, {local.year}",
        "proposal": proposal_id, "pathway": f"{pathway.title}, {pathway.id} v{pathway.version}",
        "recipient": str(data.get("vendor") or data.get("team") or data.get("proponent") or "the respondent"),
        "subject": f"{pathway.title} {proposal_id}: {stage.outcome or t.dest.replace('_', ' ')}",
        "noun": noun, "decision": (stage.description[:1].lower() + stage.description[1:]).rstrip(".") or t.dest,
        "reasons": [_reason(r) for r in ([rationale] if rationale else []) + refusals],
        "scores": scores, "total": f"{total:.2f}" if total is not None else "", "consensus": agreed,
        "next_steps": stage.description, "protest_until": protest_until, "protest_cite": protest_cite,
    }
    return Letter(name, render(f"letters/{name}.html.j2", l=l), new_salt())


def leaks(letter: Letter, others: list[Needle]) -> list[str]:
    """The other respondents' confidential fields the letter would quote (empty: none)."""
    return quotes(letter.html, others)
