"""The writer's side of evaluation panels: ``Engine.assign``, ``declare``, ``score`` and ``consensus``.

Each action is one entry on the evaluated proposal's chain, in one
transaction, like a transition: the row is locked and checked against its
chain, the panels are rebuilt from the chain's entries (never from a
cache), the action is judged by ``panel.Panels.judge``, and an allowed
action is appended as an entry of its own kind, a refused one as a
``refusal`` naming the ``action``. The replay judges both the same way.
Free text that quotes a confidential value of the proposal is refused and
not recorded, as a rationale is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pathways import Pathway
from pathways.errors import UsageError
from pathways.fields import FieldProblem, free_text, one_line_text

from .. import responding
from .. import storage as st
from ..audit import make_entry, timestamp
from ..disclosure import free_text_quotes
from ..errors import Refused
from .panel import Panels

if TYPE_CHECKING:
    from ..runtime import Engine


class PanelActions:
    """Mixed into ``Engine``: the panel actions, on its one writer's transaction and chain."""

    def assign(self, proposal_id: str, evaluators: Iterable[str], *, actor: str,
               stage: str | None = None) -> list[dict[str, Any]]:
        """Assign evaluators to a proposal's panel; on an opportunity, to the panel of each of its responses.

        All or nothing: if any assignment is refused, each refusal is recorded
        on its proposal and none is made.
        """
        try:
            names = sorted({one_line_text("--evaluator", n) for n in evaluators})
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        return self._panel(proposal_id, "assign", actor, {"evaluators": names}, stage=stage)

    def declare(self, proposal_id: str, *, actor: str, conflict: bool, statement: str | None = None,
                stage: str | None = None) -> list[dict[str, Any]]:
        """An evaluator's conflict-of-interest declaration; a conflict recuses them from this proposal."""
        inputs: dict[str, Any] = {"conflict": bool(conflict)}
        if statement:
            inputs["statement"] = statement
        return self._panel(proposal_id, "declare", actor, inputs, stage=stage)

    def score(self, proposal_id: str, scores: Mapping[str, str], *, actor: str,
              comment: str | None = None) -> list[dict[str, Any]]:
        """One evaluator's scores (all or some criteria; a later score revises theirs, both on the record)."""
        inputs: dict[str, Any] = {"scores": dict(scores)}
        if comment:
            inputs["comment"] = comment
        return self._panel(proposal_id, "score", actor, inputs)

    def consensus(self, proposal_id: str, scores: Mapping[str, str], *, actor: str,
                  rationale: str) -> list[dict[str, Any]]:
        """The panel's consensus score per criterion, with its rationale (individual scores stay)."""
        return self._panel(proposal_id, "consensus", actor, {"scores": dict(scores)}, rationale=rationale)

    def _panel(self: Engine, pid: str, action: str, actor: str, inputs: dict[str, Any], *, rationale: str | None = None,
               stage: str | None = None) -> list[dict[str, Any]]:
        try:
            actor = one_line_text("--as", actor)
            rationale = free_text("--rationale", (rationale or "").strip()) or None
            for key, option in (("statement", "--conflict"), ("comment", "--comment")):
                if key in inputs:
                    inputs[key] = free_text(option, inputs[key].strip())
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        refusals: list[Refused] = []
        done: list[dict[str, Any]] = []
        with self._transaction() as conn:
            row = self._lock(conn, pid)
            now = self.clock()
            reg = self._registry_for(conn, row)
            compiled = self._compiled_for(conn, reg, row.pathway_id, row.version, row.sha256)
            pathway = compiled.pathway
            if action == "assign" and pathway.responses and not pathway.evaluated_in:
                self._checked(row, pathway, reg)  # the opportunity: its responses' panels
                targets = [(k.row, k.compiled.pathway) for k in responding.children(self, conn, reg, pid)]
                if not targets:
                    raise UsageError(f"{pid} has no responses yet to assign evaluators to")
            elif not pathway.evaluated_in:
                raise UsageError(f"{pid} ({pathway.id}) has no evaluation panel: no stage of its rules declares "
                                 "an evaluation")
            else:
                targets = [(row, pathway)]
            planned = []
            for r, rules in targets:
                entered_at, due = self._checked(r, rules, reg)
                panels = Panels.from_entries(rules, self._bodies(conn, r.id))
                target = panels.target(r.state, stage)
                reasons, role = panels.judge(action, state=r.state, stage=target, actor=actor, roles=reg.roles(actor),
                                             inputs=inputs, rationale=rationale, roles_of=reg.roles)
                recorded, refused_inputs, said = dict(inputs), [], rationale
                quoted = self._quoted(conn, r.id, rules, r, inputs, rationale)
                if quoted:
                    reasons.append(f"the {quoted} quotes a confidential value of this proposal; it is not recorded: "
                                   "write it without the value")
                    recorded.pop(quoted, None)
                    said = None if quoted == "rationale" else said
                    refused_inputs.append(quoted)
                planned.append((r, rules, target, reasons, role, recorded, refused_inputs, entered_at, due, said))
            refuse_all = any(p[3] for p in planned)
            at = timestamp(now)
            for r, rules, target, reasons, role, recorded, refused_inputs, entered_at, due, said in planned:
                if refuse_all and not reasons:
                    continue  # all or nothing: the others are neither made nor refused
                seq = r.seq + 1
                extra: dict[str, Any] = {"stage": target}
                if reasons:
                    extra.update(action=action, reasons=reasons)
                    if refused_inputs:
                        extra["refused_inputs"] = refused_inputs
                entry = make_entry(chain=r.id, seq=seq, prev=r.head, at=at, kind="refusal" if reasons else action,
                                   actor=actor, role=role, trigger=None, source=r.state,
                                   dest=None if reasons else r.state, pathway=rules.ref, conditions=[],
                                   rationale=said, input=recorded, attachments=[],
                                   registry={"seq": reg.seq, "head": reg.head}, entered=entered_at, due=due, **extra)
                digest = self._append(conn, r.id, seq, entry)
                self._sql.bump.run(conn, {"b_id": r.id, "b_seq": seq, "b_head": digest})
                if reasons:
                    refusals.append(Refused([f"{r.id}: {x}" if len(planned) > 1 else x for x in reasons],
                                            seq=seq, hash=digest))
                else:
                    done.append({"id": r.id, "action": action, "stage": target, "seq": seq, "hash": digest})
        if refusals:
            raise refusals[0] if len(refusals) == 1 else Refused([x for f in refusals for x in f.reasons])
        return done

    def _quoted(self: Engine, conn: Any, pid: str, pathway: Pathway, row: Any, inputs: Mapping[str, Any],
                rationale: str | None) -> str | None:
        """The free text of a panel action (comment, statement, rationale) that quotes a confidential value."""
        texts = [(k, inputs[k]) for k in ("comment", "statement") if isinstance(inputs.get(k), str)]
        texts += [("rationale", rationale)] if rationale else []
        if not texts or not pathway.confidential:
            return None
        data = st.cell(row.data, dict)
        found = self._known_needles(conn, pid, pathway, data if isinstance(data, dict) else {}, {})
        hits = free_text_quotes(texts, found)
        return hits[0]["what"] if hits else None
