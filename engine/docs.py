"""A pathway as a page for legal review of its rules: ``pathways docs PATH -o FILE``.

Counsel reviews the *rules*, not YAML: every stage with its deadline and
citation, every transition with who may fire it, what it requires, and its
guards in words (the guard's message) beside the exact check, the fields
(which are confidential), limits and legal basis, and a diagram. The diagram
is an inline SVG drawn here (layered by distance from the initial stage,
edges numbered to match the transitions table), plus the Mermaid source as
text: no script, no network, and it prints.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pathways.graph import mermaid
from pathways.model import CLOCK, Pathway, Transition

from .rendering import render

NODE_H, GAP_X, GAP_Y, MARGIN, CHAR_W = 44, 64, 70, 24, 7.2

LOOP = 44  # room beside the outer stages for their loops
Point = tuple[float, float]


@dataclass(frozen=True)
class Node:
    name: str
    x: float
    y: float
    w: float
    h: float
    final: bool
    initial: bool
    outcome: str


@dataclass(frozen=True)
class Edge:
    label: str  # the transition numbers, e.g. "T3, T7"
    title: str  # the triggers, for a tooltip
    path: str
    lx: float
    ly: float


@dataclass(frozen=True)
class Diagram:
    width: float
    height: float
    nodes: list[Node]
    edges: list[Edge]


def roles_of(p: Pathway, t: Transition) -> list[str]:
    """Who may fire ``t``: its roles, plus the clock where a source stage's deadline fires it."""
    return list(dict.fromkeys(role for source in t.sources for role in p.roles_for(source, t)))


def layers(p: Pathway) -> dict[str, int]:
    """Each stage's distance (in transitions) from the initial stage; unreachable ones go last."""
    depth = {p.initial: 0}
    queue = deque([p.initial])
    while queue:
        here = queue.popleft()
        for t in p.leaving(here):
            if t.dest not in depth:
                depth[t.dest] = depth[here] + 1
                queue.append(t.dest)
    last = max(depth.values()) + 1
    return {name: depth.get(name, last) for name in p.stages}


def _mid(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float],
         p3: tuple[float, float]) -> tuple[float, float]:
    """The point at t=0.5 of a cubic Bézier: where the edge's label goes."""
    return ((p0[0] + 3 * p1[0] + 3 * p2[0] + p3[0]) / 8, (p0[1] + 3 * p1[1] + 3 * p2[1] + p3[1]) / 8)


def _route(a: Node, b: Node, da: int, db: int, row: list[str]) -> tuple[Point, Point, Point, Point]:
    """A cubic Bézier from stage a to stage b that leaves and enters where the reader expects.

    Down the page: bottom middle to top middle. Back up: top to bottom, at
    three quarters of the width, so a return edge never hides under the
    forward one between the same stages. Same row: side to side when the
    stages are neighbours, else an arc below. Same stage: a loop on the right.
    """
    if a.name == b.name:  # on the side away from the row's neighbours (the left, for the first in a row)
        edge, out = (a.x, -40) if row.index(a.name) == 0 and len(row) > 1 else (a.x + a.w, 40)
        return (edge, a.y + 10), (edge + out, a.y - 8), (edge + out, a.y + a.h + 8), (edge, a.y + a.h - 10)
    if db > da:
        p0, p3 = (a.x + a.w / 2, a.y + a.h), (b.x + b.w / 2, b.y)
        bend = GAP_Y * 0.6 * (db - da)
        return p0, (p0[0], p0[1] + bend), (p3[0], p3[1] - bend), p3
    if db < da:
        p0, p3 = (a.x + a.w * 0.75, a.y), (b.x + b.w * 0.75, b.y + b.h)
        bend = GAP_Y * 0.6 * (da - db)
        return p0, (p0[0] + 20, p0[1] - bend), (p3[0] + 20, p3[1] + bend), p3
    if abs(row.index(a.name) - row.index(b.name)) == 1:
        sign = 1 if b.x > a.x else -1
        p0 = (a.x + (a.w if sign > 0 else 0), a.y + a.h / 2)
        p3 = (b.x + (0 if sign > 0 else b.w), b.y + b.h / 2)
        return p0, (p0[0] + sign * 20, p0[1]), (p3[0] - sign * 20, p3[1]), p3
    p0, p3 = (a.x + a.w * 0.3, a.y + a.h), (b.x + b.w * 0.3, b.y + b.h)
    return p0, (p0[0], p0[1] + 40), (p3[0], p3[1] + 40), p3


def diagram(p: Pathway) -> Diagram:
    """Lay the stages out in rows by depth and route one numbered edge per (from, to) pair."""
    depth = layers(p)
    rows: dict[int, list[str]] = {}
    for name in p.stages:
        rows.setdefault(depth[name], []).append(name)
    w = max(120.0, CHAR_W * max(len(n) for n in p.stages) + 20)
    widest = max(len(r) for r in rows.values())
    inner = widest * w + (widest - 1) * GAP_X
    nodes: dict[str, Node] = {}
    for level, names in sorted(rows.items()):
        span = len(names) * w + (len(names) - 1) * GAP_X
        x0 = MARGIN + LOOP + (inner - span) / 2
        for i, name in enumerate(names):
            s = p.stages[name]
            nodes[name] = Node(name, x0 + i * (w + GAP_X), MARGIN + level * (NODE_H + GAP_Y), w, NODE_H,
                               s.final, name == p.initial, s.outcome or "")
    pairs: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for number, t in enumerate(p.transitions, 1):
        for src in t.sources:
            pairs.setdefault((src, t.dest), []).append((number, t.trigger))
    right = MARGIN + LOOP + inner
    edges = []
    for (src, dst), items in pairs.items():
        p0, p1, p2, p3 = _route(nodes[src], nodes[dst], depth[src], depth[dst], rows[depth[src]])
        lx, ly = _mid(p0, p1, p2, p3)
        path = f"M{p0[0]:.1f},{p0[1]:.1f} C{p1[0]:.1f},{p1[1]:.1f} {p2[0]:.1f},{p2[1]:.1f} {p3[0]:.1f},{p3[1]:.1f}"
        edges.append(Edge(", ".join(f"T{n}" for n, _ in items), ", ".join(tr for _, tr in items), path, lx, ly))
    height = MARGIN * 2 + (max(rows) + 1) * (NODE_H + GAP_Y) - GAP_Y
    return Diagram(right + LOOP + MARGIN, height, list(nodes.values()), edges)


def docs_html(p: Pathway, generated_at: str) -> str:
    """The pathway page as self-contained HTML."""
    numbered = list(enumerate(p.transitions, 1))
    fired_by = {role: [t.trigger for _, t in numbered if role in roles_of(p, t)] for role in [*p.roles, CLOCK]}
    return render("docs.html.j2", p=p, transitions=[(n, t, roles_of(p, t)) for n, t in numbered],
                  fired_by=fired_by, diagram=diagram(p), mermaid=mermaid(p), generated_at=generated_at,
                  title=f"Pathway {p.id} v{p.version}: {p.title}",
                  running=f"pathway {p.id} v{p.version} · sha256 {p.sha256}", clock=CLOCK)
