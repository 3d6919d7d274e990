"""The writer's side of opportunities: taking a response in, what an opportunity sees, and the cascade.

Called by ``Engine`` inside its one transaction (``engine.family`` says what
the entries mean and how ``verify`` checks them). The opportunity's row is
locked before its responses' rows, in id order, by every writer that touches
both, so two writers never wait on each other in a circle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pathways.errors import UsageError

from . import storage as st
from .audit import make_entry
from .deadlines import due_at
from .evaluation import Panels
from .family import summary
from .replay import parse_time

if TYPE_CHECKING:
    from .machines import Compiled
    from .registry import Registry
    from .runtime import Engine


@dataclass
class Child:
    """One response as the opportunity's transaction read it (its row locked)."""

    id: str
    row: Any
    compiled: Compiled
    panels: Panels

    @property
    def position(self) -> dict[str, Any]:
        return {"id": self.id, "seq": self.row.seq, "head": self.row.head}


def children(engine: Engine, conn: Any, reg: Registry, pid: str) -> list[Child]:
    """The opportunity's responses, each locked and checked against its chain, with its panels."""
    ids = [r[0] for r in conn.execute(select(st.responses.c.child).where(st.responses.c.parent == pid)
                                      .order_by(st.responses.c.child))]
    out = []
    for cid in ids:
        row = engine._lock(conn, cid)
        compiled = engine._compiled_for(conn, reg, row.pathway_id, row.version, row.sha256)
        engine._checked(row, compiled.pathway, reg)
        entries = [json.loads(e.body) for e in engine._entries(conn, cid)]
        out.append(Child(cid, row, compiled, Panels.from_entries(compiled.pathway, entries)))
    return out


def seen(kids: list[Child]) -> dict[str, Any]:
    """What an opportunity's entry records of its responses, and its guards read (``responses``)."""
    return {**summary(k.panels.result() for k in kids), "at": [k.position for k in kids]}


def named_problem(kids: list[Child], trigger: str, named: Any) -> str | None:
    """Why a decision cannot name ``named`` (None: it can): a response of this opportunity, where the
    decision applies to it."""
    kid = next((k for k in kids if k.id == named), None)
    if kid is None:
        ids = ", ".join(k.id for k in kids) or "none yet"
        return f"'{named}' is not a response to this opportunity (its responses: {ids})"
    if kid.compiled.pathway.on_parent(kid.row.state, trigger, True) is None:
        return f"{named} is in '{kid.row.state}', where '{trigger}' does not apply to it"
    return None


def cascade(engine: Engine, conn: Any, reg: Registry, kids: list[Child], *, parent: dict[str, Any],
            actor: str, at: str) -> list[dict[str, Any]]:
    """Fire each response's ``on_parent`` transition for the opportunity's entry ``parent``; returns the moves.

    The response's entry names the opportunity's (id, seq, head, trigger,
    named); deadlines restart in the response's new stage as for any move.
    """
    moved = []
    for k in kids:
        pathway = k.compiled.pathway
        chosen = None if parent.get("named") is None else k.id == parent["named"]
        t = pathway.on_parent(k.row.state, parent["trigger"], chosen)
        if t is None:
            continue
        data = st.cell(k.row.data, dict)
        entered_at = at if t.dest != k.row.state else json.loads(k.row.head_body).get("entered", k.row.entered_at)
        due = due_at(pathway, t.dest, data, parse_time(entered_at))
        seq = k.row.seq + 1
        entry = make_entry(chain=k.id, seq=seq, prev=k.row.head, at=at, kind="transition", actor=actor, role=None,
                           trigger=t.trigger, source=k.row.state, dest=t.dest, pathway=pathway.ref, conditions=[],
                           rationale=None, input={}, attachments=[], registry={"seq": reg.seq, "head": reg.head},
                           entered=entered_at, due=due, parent=parent)
        digest = engine._append(conn, k.id, seq, entry)
        engine._sql.move.run(conn, {"b_id": k.id, "b_state": t.dest, "b_seq": seq, "b_head": digest,
                                    "b_data": json.dumps(data), "b_due": due, "b_entered": entered_at})
        moved.append({"id": k.id, "trigger": t.trigger, "from": k.row.state, "to": t.dest, "seq": seq,
                      "hash": digest})
    return moved


def take_response(engine: Engine, conn: Any, reg: Registry, pathway: Any,
                  parent_id: str | None) -> tuple[dict[str, Any] | None, str | None, dict[str, Any] | None]:
    """(the parent position a new response records, why the opportunity refuses it now, its position then).

    All None for a single case. A wrong ``--parent`` (none where one is
    needed, or an opportunity of another kind) is a usage error: nothing is recorded.
    """
    if pathway.responds_to is None:
        if parent_id:
            raise UsageError(f"{pathway.id} proposals answer no opportunity: leave out --parent")
        return None, None, None
    if not parent_id:
        raise UsageError(f"a {pathway.id} proposal answers an opportunity of {pathway.responds_to}: give --parent "
                         f"ID (see 'pathways list --pathway {pathway.responds_to}')")
    row = engine._lock(conn, parent_id)
    opp = engine._compiled_for(conn, reg, row.pathway_id, row.version, row.sha256).pathway
    engine._checked(row, opp, reg)
    if opp.id != pathway.responds_to or opp.responses is None or opp.responses.pathway != pathway.id:
        raise UsageError(f"{parent_id} is a {opp.id} proposal, which does not take {pathway.id} responses"
                         + (f" (it takes {opp.responses.pathway})" if opp.responses else ""))
    position = {"id": parent_id, "seq": row.seq, "head": row.head}
    if row.state not in opp.responses.stages:
        reason = (f"{parent_id} is not taking responses: it is in '{row.state}' (responses are taken while "
                      f"it is in {', '.join(opp.responses.stages)})"
                      + (f" [{opp.responses.cite}]" if opp.responses.cite else ""))
        return None, reason, position
    return position, None, None

