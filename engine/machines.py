"""One compiled runtime per pathway version: the state machine and the guards.

Building a ``transitions.Machine`` costs about 200 µs and compiling the
guards a few more, so both are built once per (id, version, sha256) and
cached by the ``Engine``; a pathway version never changes, so the cache
never goes stale. The machine is kept on a short leash:
``auto_transitions=False`` (its default adds ``to_<stage>`` triggers that
would bypass the graph), invalid triggers raise, no callbacks by name, and
no model is attached: each firing uses a throwaway object holding only the
current stage, because ``add_model`` is linear in the number of models.
Guards are our compiled CEL, evaluated before the machine is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from pathways import Pathway
from pathways.evaluation import CompiledGuards, guard_context


class _Position:
    """The only thing the machine sees of a proposal: its stage."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


@dataclass(frozen=True)
class Compiled:
    pathway: Pathway
    machine: Machine
    guards: CompiledGuards

    def fire(self, stage: str, trigger: str) -> str:
        """The stage ``trigger`` leads to from ``stage`` (MachineError if none)."""
        position = _Position(stage)
        self.machine.events[trigger].trigger(position)
        return position.state

    def context(self, data: dict[str, Any], **request: Any) -> dict[str, Any]:
        return guard_context(self.pathway, data, **request)


def compile_pathway(pathway: Pathway) -> Compiled:
    machine = Machine(
        model=None,
        states=list(pathway.stages),
        initial=pathway.initial,
        transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in pathway.transitions],
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=False,
    )
    return Compiled(pathway, machine, CompiledGuards(pathway))
