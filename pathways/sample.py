"""A sample data file for a pathway's intake: what ``pathways sample ID > proposal.yaml`` prints.

A new user's first question after ``publish`` is "what goes in --data?".
The sample lists every field intake may set, each with its type, whether it
is required or confidential, and its description as a comment; required
fields get values the pathway's own guards accept (found by the same solver
as ``pathways paths``), optional ones are shown commented out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from .model import Pathway
from .paths import shortest_paths

_EXAMPLES: dict[str, Any] = {"string": "Example Co.", "text": "A short description.", "enum": None,
                             "integer": 1, "number": "1.5", "money": "12000", "boolean": False,
                             "date": dt.date(2026, 1, 15).isoformat(), "list": ["first item"]}


def _scalar(value: Any) -> str:
    """One value as YAML would write it (quoted where YAML 1.1 would misread it)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6).strip()
    return text.removesuffix("\n...").strip()


def sample(pathway: Pathway) -> str:
    """YAML text of a proposal that intake on ``pathway`` accepts, with every field explained."""
    routes = shortest_paths(pathway)
    found = next((r.intake for r in routes if r.intake), {})
    lines = [f"# Sample intake data for {pathway.id} v{pathway.version}: {pathway.title}",
             f"# Use it with: pathways intake {pathway.id} --data proposal.yaml --as NAME",
             "# Required fields have values the pathway's rules accept; optional ones are commented out."]
    for name, f in pathway.fields.items():
        if not pathway.given_at_intake(name):
            continue  # recorded by staff later, with its own step
        marks = [f.type, "required" if f.required else "optional"]
        if f.confidential:
            marks.append("confidential: withheld from public records")
        if f.values:
            marks.append("one of: " + ", ".join(f.values))
        lines.append("")
        lines.append(f"# {name} ({'; '.join(marks)})" + (f": {f.description}" if f.description else ""))
        value = found.get(name, f.values[0] if f.values else _EXAMPLES.get(f.type))
        lines.append(f"{'' if f.required else '# '}{name}: {_scalar(value)}")
    return "\n".join(lines) + "\n"
