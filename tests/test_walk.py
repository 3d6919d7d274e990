"""Every shipped pathway can be walked to each of its final stages through the CLI.

The routes come from ``pathways paths --json`` (a shortest route per final
stage, with the data its guards need); each step is fired with
``pathways advance`` as a user holding the step's role. Steps only the clock
may take are fired by ``Engine.tick`` with the clock moved past the deadline.
Every walk must end in its final stage with a chain that verifies.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEFINITIONS, SHIPPED, FakeClock

from cli import cli
from engine import Engine
from pathways import load

#: Every final stage of every shipped single-case pathway, written out: a route must exist to each. (Derived
#: from the route search, a final stage it cannot reach would silently yield one test fewer.) Opportunities
#: and their responses are walked together, with real responses and panels, in test_family_walks.py.
FINALS = [
    ("challenge", "archived"), ("challenge", "cancelled"), ("challenge", "no_award"),
    ("pilot", "declined"), ("pilot", "follow_on_procurement"), ("pilot", "terminated"), ("pilot", "withdrawn"),
    ("sandbox", "closed"), ("sandbox", "rejected"), ("sandbox", "withdrawn"),
    ("unsolicited", "cancelled"), ("unsolicited", "contract"), ("unsolicited", "returned"),
    ("unsolicited", "withdrawn"),
]
ROUTES = [(DEFINITIONS / f"{stem}.yaml", final) for stem, final in FINALS]


def _family(p: Path) -> bool:
    pathway = load(p)
    return pathway.responses is not None or pathway.responds_to is not None


def test_the_walks_cover_every_final_stage_of_every_shipped_pathway() -> None:
    """A new pathway or final stage must be added to FINALS (or a family's walk), so that it gets walked."""
    from test_family_walks import FAMILY_FINALS

    assert sorted((p.stem, f) for p in SHIPPED if not _family(p) for f in load(p).finals) == sorted(FINALS)
    assert sorted((p.stem, f) for p in SHIPPED if _family(p) for f in load(p).finals) == sorted(FAMILY_FINALS)


def _ok(result) -> str:  # noqa: ANN001 - click Result
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize(("path", "final"), ROUTES, ids=[f"{p.stem}->{f}" for p, f in ROUTES])
def test_walk_to_final_stage(path: Path, final: str, tmp_path: Path, runner: CliRunner) -> None:
    db = f"sqlite:///{tmp_path / 'walk.db'}"
    routes = json.loads(_ok(runner.invoke(cli, ["paths", str(path), "--json"])))
    route = next((r for r in routes if r["final"] == final), None)
    assert route is not None, f"pathways paths finds no route to {final}: {[r['final'] for r in routes]}"
    assert route["unsolved"] == []
    pathway = load(path)
    base = ["--db", db]
    roles = [arg for role in pathway.roles for arg in ("--role", role)]
    _ok(runner.invoke(cli, [*base, "users", "add", "walker", *roles]))
    _ok(runner.invoke(cli, [*base, "publish", str(path), "--as", "walker"]))
    data = tmp_path / "data.json"
    data.write_text(json.dumps(route["intake"]), encoding="utf-8")
    attachment = tmp_path / "evidence.pdf"
    attachment.write_bytes(b"%PDF-1.4 evidence")
    pid = json.loads(_ok(runner.invoke(cli, [*base, "intake", pathway.id, "--data", str(data), "--as", "walker",
                                             "--json"])))["id"]
    later: FakeClock | None = None  # once the clock has fired in the future, later steps keep to its time
    for step in route["steps"]:
        if step["roles"] == ["clock"]:
            later = _fire_clock(db, pid, step, later)
            continue
        if later is not None:
            _advance_later(db, pid, step, later, final, attachment)
            continue
        args = [*base, "advance", pid, step["trigger"], "--as", "walker", "--json"]
        for key, value in step["set"].items():
            text = ",".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, bool) \
                else str(value)
            args += ["--set", f"{key}={text}"]
        if "rationale" in step["requires"]:
            args += ["--rationale", f"walking to {final}"]
        if "attachment" in step["requires"]:
            args += ["--attach", str(attachment)]
        moved = json.loads(_ok(runner.invoke(cli, args)))
        assert (moved["from"], moved["to"]) == (step["from"], step["to"])
    shown = json.loads(_ok(runner.invoke(cli, [*base, "show", pid, "--json"])))
    assert shown["state"] == final and shown["available"] == []
    assert shown["outcome"] == pathway.stages[final].outcome
    _ok(runner.invoke(cli, [*base, "verify", pid]))


def _fire_clock(db: str, pid: str, step: dict, clock: FakeClock | None) -> FakeClock:
    """Move a clock past the stage's deadline and let the engine's clock fire it; returns that clock
    (entries only go forward in time, so the steps after it are taken at its time, not today's)."""
    clock = clock or FakeClock(dt.datetime.now(dt.UTC))
    clock.advance(days=3 * 365)
    eng = Engine(db, clock=clock)
    try:
        fired = [m for m in eng.tick() if m["id"] == pid]
        assert fired and fired[0].get("to") == step["to"], fired
    finally:
        eng.close()
    return clock


def _advance_later(db: str, pid: str, step: dict, clock: FakeClock, final: str, attachment: Path) -> None:
    """A step after a clock firing, through the API at the clock's time (the CLI takes today's)."""
    eng = Engine(db, clock=clock)
    try:
        moved = eng.advance(pid, step["trigger"], actor="walker", updates=step["set"],
                            rationale=f"walking to {final}" if "rationale" in step["requires"] else None,
                            attachments=[attachment] if "attachment" in step["requires"] else ())
    finally:
        eng.close()
    assert (moved["from"], moved["to"]) == (step["from"], step["to"])
