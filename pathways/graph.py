"""Diagrams of a pathway: Mermaid (renders on GitHub, GitLab, docs sites) and DOT.

Pure functions from a ``Pathway`` to text. Edge labels carry the trigger and
the roles that may fire it; guarded edges are marked with a ``?`` and final
stages with their outcome, so an officer reading the diagram sees who acts
and where rules apply without opening the YAML.
"""

from __future__ import annotations

from .model import Pathway, Transition


def _label(p: Pathway, t: Transition, src: str) -> str:
    guard = "?" if t.guards else ""
    return f"{t.trigger}{guard} ({', '.join(p.roles_for(src, t))})"


def mermaid(p: Pathway) -> str:
    """A Mermaid ``stateDiagram-v2`` of the pathway."""
    lines = ["stateDiagram-v2", f"    %% {p.title} (id {p.id}, version {p.version})",
             f"    [*] --> {p.initial}"]
    for name, stage in p.stages.items():
        if stage.final:
            lines.append(f"    {name}: {name} [{stage.outcome}]")
    for t in p.transitions:
        for src in t.sources:
            label = _label(p, t, src).replace(":", " ")
            lines.append(f"    {src} --> {t.dest}: {label}")
    for name in p.finals:
        lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(p: Pathway) -> str:
    """A Graphviz DOT digraph of the pathway."""
    lines = [f"digraph {_dot_quote(p.id)} {{", f"  label={_dot_quote(f'{p.title} (v{p.version})')};",
             "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica"];',
             '  __start [shape=point, label=""];', f"  __start -> {_dot_quote(p.initial)};"]
    for name, stage in p.stages.items():
        if stage.final:
            label = f'"{name}\\n[{stage.outcome}]"'  # names and outcomes are [a-z0-9_]: safe
            lines.append(f"  {_dot_quote(name)} [shape=doubleoctagon, label={label}];")
    for t in p.transitions:
        for src in t.sources:
            lines.append(f"  {_dot_quote(src)} -> {_dot_quote(t.dest)} [label={_dot_quote(_label(p, t, src))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
