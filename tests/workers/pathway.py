"""The small pathway the concurrency and crash tests run, and how to set a database up for it.

Shared by ``tests/test_concurrency.py``, ``tests/test_crash.py`` and the worker
scripts next to this file (which run as plain subprocesses, so this module
imports nothing from the tests).

Stages: ``open --approve--> approved --close--> closed`` (final) is the one
transition many writers race for; ``open --start--> a``, then ``a --go--> b``
and ``b --back--> a`` is the ping-pong a crash writer loops on forever. Every
officer may fire everything; ``approve`` and ``go`` carry one CEL guard, so
each transition evaluates a guard as a real one would. ``pricing`` is
confidential, so every proposal also has a row in ``audit_secrets``.
"""

from __future__ import annotations

from typing import Any

YAML = """\
id: race
version: 1
title: Race test pathway (concurrency and crash tests)
kind: pilot
summary: >-
  A minimal pathway for the engine's concurrency and crash tests: one
  approval that many writers race for, and a ping-pong pair a writer loops on.
legal_basis:
  - cite: "Test fixture"
    note: not a real procurement route
limits: {max_value: 1000}
roles:
  officer: approves, closes and loops proposals in the tests
fields:
  vendor: {type: string, required: true}
  value: {type: money, required: true}
  pricing: {type: text, confidential: true, description: "kept aside, salted hash in the entry"}
initial: open
stages:
  open: {description: Waiting for approval., deadline: {business_days: 10, on_expiry: notify}}
  approved: {description: Approved; may be closed., deadline: {business_days: 10, on_expiry: notify}}
  closed: {description: Done., final: true, outcome: completed}
  a: {description: Ping., deadline: {business_days: 10, on_expiry: notify}}
  b: {description: Pong., deadline: {business_days: 10, on_expiry: notify}}
transitions:
  - trigger: approve
    from: open
    to: approved
    roles: [officer]
    when:
      - check: proposal.value <= pathway.limits.max_value
        message: the value exceeds the cap
  - trigger: close
    from: approved
    to: closed
    roles: [officer]
    requires: [rationale]
  - trigger: start
    from: open
    to: a
    roles: [officer]
  - trigger: go
    from: a
    to: b
    roles: [officer]
    when:
      - check: proposal.value <= pathway.limits.max_value
        message: the value exceeds the cap
  - trigger: back
    from: b
    to: a
    roles: [officer]
"""

PATHWAY_ID = "race"
#: The officers who race; officer 0 also sets the database up.
OFFICERS = [f"officer{i}" for i in range(8)]
DATA = {"vendor": "Acme", "value": "250.00", "pricing": "unit price 12.50"}


def prepare(eng: Any) -> None:
    """Add the officers and publish the pathway (both no-ops when already done)."""
    from pathways import loads

    for name in OFFICERS:
        eng.add_user(name, ["officer", "publisher"], actor=OFFICERS[0])  # the first is admin
    eng.publish(loads(YAML, "<race test pathway>"), actor=OFFICERS[0])


def new_proposal(eng: Any) -> str:
    """A fresh proposal in stage ``open``; returns its id."""
    return eng.intake(PATHWAY_ID, DATA, actor=OFFICERS[0])


def setup(url: str) -> str:
    """Prepare the database at ``url`` and open one proposal; returns its id."""
    from engine import Engine

    with Engine(url) as eng:
        prepare(eng)
        return new_proposal(eng)
