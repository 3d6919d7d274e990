"""Evaluating guards at run time: the context values, and CEL programs.

The static types live in ``env.py``; this module builds the matching values
from a proposal's stored data and runs the guards with the Rust-backed
``cel`` package (``common-expression-language``): about 15-25 µs a guard
here, against ~600 µs for pure-Python cel-python. It is imported lazily
(its package ``__init__`` pulls in its own CLI, ~200 ms), so ``validate``
never pays for it. Guard programs are compiled once per pathway version by
:class:`CompiledGuards`, which the engine caches with the state machine.

A guard that cannot be evaluated (say an optional field is absent and the
check did not use ``has()``) counts as *false*, with the error as its
reason: a rule that cannot be shown to hold does not let a proposal through.
The error is said in plain words ("the field attendees is not set yet"),
never as a Python exception, because it goes into the legal record;
``validate`` warns of such reads beforehand (``pathways.presence``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .model import Pathway, Transition


def to_cel(kind: str, value: Any) -> Any:
    """A stored field value as the CEL value its guard type promises (see env.FIELD_TYPES)."""
    if kind in ("money", "number"):
        return float(Decimal(value))
    if kind == "date":
        day = dt.date.fromisoformat(value)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return value


def _values(pathway: Pathway, data: dict[str, Any]) -> dict[str, Any]:
    return {k: to_cel(pathway.fields[k].type, v) for k, v in data.items() if k in pathway.fields and v is not None}


def guard_context(
    pathway: Pathway,
    data: dict[str, Any],
    *,
    proposal_id: str,
    state: str,
    days_in_stage: int,
    inputs: dict[str, Any],
    rationale: str,
    actor: str,
    roles: list[str],
    now: dt.datetime,
    evaluations: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
    actors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The variables a guard sees; a pure function of the stored proposal and the request.

    ``evaluations`` (a stage's panels, ``engine.evaluation``), ``responses``
    (an opportunity's, ``engine.family``) and ``proposal.actors`` (who fired
    each trigger, ``engine.duties``) are there only where the pathway uses them.
    """
    context = {
        "proposal": {**_values(pathway, data), "id": proposal_id, "state": state, "days_in_stage": days_in_stage},
        "pathway": {"id": pathway.id, "version": pathway.version, "limits": dict(pathway.limits)},
        "input": {**_values(pathway, inputs), "rationale": rationale},
        "actor": {"name": actor, "roles": list(roles)},
        "now": now,
    }
    if actors is not None:
        context["proposal"]["actors"] = actors
    if evaluations is not None:
        context["evaluations"] = evaluations
    if responses is not None:
        context["responses"] = {k: responses[k] for k in ("received", "evaluated", "best_score")}
    return context


@dataclass(frozen=True)
class GuardResult:
    """One guard's outcome, as the audit entry records it."""

    check: str
    result: bool
    cite: str
    message: str
    error: str = ""

    def as_entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "result": self.result, "cite": self.cite}
        if self.error:
            out["error"] = self.error
        return out

    def reason(self) -> str:
        why = f"{self.message}" + (f" [{self.cite}]" if self.cite else "")
        return why + (f" (could not be checked: {self.error})" if self.error else "")


def _names(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def plain_error(exc: Exception, missing: dict[str, list[str]]) -> str:
    """Why a guard could not be evaluated, in words for the record (never empty).

    ``missing`` holds the fields the guard reads that have no value, by variable
    (``proposal``, ``input``); CEL reports such a read as a bare ``KeyError``.
    """
    text = (str(exc).splitlines() or [""])[0]
    mentioned = {k: [f for f in fs if f"'{f}'" in text] for k, fs in missing.items()}
    named = mentioned if any(mentioned.values()) else missing  # CEL names the key; else blame every absent one
    parts = []
    if named.get("proposal"):
        fs = named["proposal"]
        parts.append(f"the field{'s' if len(fs) > 1 else ''} {_names(fs)} {'are' if len(fs) > 1 else 'is'} "
                     "not set yet")
    if named.get("input"):
        parts.append(f"no value for {_names(named['input'])} was given with this step")
    if parts:
        return " and ".join(parts)
    if isinstance(exc, ZeroDivisionError):
        return "it divides by zero"
    text = text.strip().strip("'\"") or type(exc).__name__
    return f"the check stopped: {text}"


class CompiledGuards:
    """Every guard of one pathway version, compiled once."""

    def __init__(self, pathway: Pathway) -> None:
        import cel  # lazy: see module docstring

        from .celcheck.parser import parse
        from .celcheck.syntax import fields_read

        # Each program gets only the variables it names, and of ``proposal`` and ``input`` only the fields
        # it reads: converting the whole context into CEL values costs more than the evaluation itself.
        def needs(check: str) -> dict[str, set[str] | None]:
            tree = parse(check)
            return {name: fields_read(tree, name) for name in ("proposal", "input")}

        self._programs = {
            id(t): [(p, tuple(p.variables()), needs(g.check)) for p, g in zip(map(cel.compile, (g.check for g in
                                                                                            t.guards)), t.guards,
                                                                             strict=True)]
            for t in pathway.transitions
        }

    def run(self, transition: Transition, context: dict[str, Any]) -> list[GuardResult]:
        results = []
        for guard, (program, names, needs) in zip(transition.guards, self._programs[id(transition)], strict=True):
            given = {}
            for k in names:
                if k in context:
                    value, fields = context[k], needs.get(k)
                    given[k] = value if fields is None else {f: value[f] for f in fields if f in value}
            try:
                value = program.execute(given)
                error = "" if isinstance(value, bool) else f"gave {value!r}, not true or false"
                ok = value is True
            except Exception as exc:  # noqa: BLE001 - any CEL failure means "not shown to hold"
                missing = {k: sorted(f for f in (needs.get(k) or ()) if f not in context.get(k, {}))
                           for k in ("proposal", "input")}
                ok, error = False, plain_error(exc, missing)
            results.append(GuardResult(guard.check, ok, guard.cite, guard.message, error))
        return results
