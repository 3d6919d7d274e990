"""Twin verifiers agree: the engine's ``verify`` and the bundle's ``verify.py`` name the same seq.

One list of forgeries, each a pure function of a proposal's entries and the
registry's entries (parsed). Each is applied twice, as an insider would:

- to the database: the forged chain is re-sealed end to end (every later
  entry's ``prev`` and hash, the proposal's head and count; for the registry,
  its head in ``meta`` and the ``users`` cache), then ``Engine.verify``;
- to a bundle exported before the forgery: ``trail.jsonl``,
  ``registry.jsonl`` and the manifest's heads rewritten to match, then
  ``verify.py`` run with ``python3 -I`` from a folder outside the repository.

Both must reject it at the same seq. Where the engine misses a case, its
half is marked ``xfail(strict=True)`` with the reason, so the day it is
fixed the mark must go.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import MINI, MINI_DATA, ROOT, FakeClock

from pathways.canonical import canonical_bytes

Entries = list[dict[str, Any]]
Forgery = Callable[[Entries, Entries], tuple[Entries, Entries]]


@dataclass(frozen=True)
class Case:
    name: str
    proposal: str  # "approved" or "declined": which of the two proposals it forges
    forge: Forgery
    seq: int  # the entry both must name
    says: str  # a fragment of verify.py's reason
    engine_miss: str = ""  # why the engine's verify does not catch it (its half is xfail strict)


def on_entry(seq: int, change: Callable[[dict[str, Any]], None]) -> Forgery:
    def forge(entries: Entries, registry: Entries) -> tuple[Entries, Entries]:
        change(entries[seq - 1])
        return entries, registry
    return forge


def append_approval(entries: Entries, registry: Entries) -> tuple[Entries, Entries]:
    """A declined proposal 'approved' afterwards, by the legal officer, with a rationale and a true condition."""
    last = entries[-1]
    entries.append({**copy.deepcopy(last), "seq": last["seq"] + 1, "from": "declined", "to": "approved",
                    "trigger": "approve", "actor": "lee", "role": "legal", "rationale": "approved after all",
                    "conditions": [{"check": "proposal.value <= pathway.limits.max_value",
                                    "cite": "West Palm Beach Code §66-74", "result": True}],
                    "due": None})
    return entries, registry


def remove_grant(name: str) -> Forgery:
    def forge(entries: Entries, registry: Entries) -> tuple[Entries, Entries]:
        return entries, [e for e in registry if not (e["kind"] == "user" and e["input"]["name"] == name)]
    return forge


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda e: e.update(values)


def forged_data_digest(seq: int) -> Forgery:
    """Entry ``seq`` records a digest of other data, and the entries after it carry that digest on."""
    def forge(entries: Entries, registry: Entries) -> tuple[Entries, Entries]:
        for e in entries[seq - 1:]:
            e["data"] = {"salted_sha256": "ab" * 32}
        return entries, registry
    return forge


def _fail_condition(e: dict[str, Any]) -> None:
    e["conditions"][0]["result"] = False


#: The approved proposal: 1 intake, 2 screen, 3 note (ana), 4 approve (lee, granted after the intake).
#: The declined one: 1 intake, 2 screen, 3 decline.
CASES = [
    Case("declined_then_approved_forged", "declined", append_approval, 4, "'approve' cannot be fired from stage"),
    Case("actor_without_the_role", "approved", on_entry(4, _set(actor="ana")), 4,
         "ana held admin, officer at registry seq"),
    Case("missing_rationale", "approved", on_entry(4, _set(rationale=None)), 4, "requires a written rationale"),
    Case("from_is_not_the_replayed_stage", "approved", on_entry(3, _set(**{"from": "submitted"})), 3,
         "the entry moves from 'submitted', but the replay is in 'review'"),
    Case("failed_condition_recorded_on_a_transition", "approved", on_entry(4, _fail_condition), 4,
         "recorded as done with a failed condition"),
    Case("registry_grant_removed", "approved", remove_grant("lee"), 4,
         "which registry.jsonl does not hold with that hash"),
    Case("clock_fires_a_trigger_its_deadline_does_not_name", "approved",
         on_entry(2, _set(actor="clock", role="clock")), 2, "'screen' needs one of: officer"),
    Case("role_not_the_one_that_allows_it", "approved", on_entry(3, _set(role="legal")), 3,
         "acted as 'legal', but the role that allows it is 'officer'"),
    Case("required_field_not_set", "approved", on_entry(3, _set(input={})), 3, "'note' requires notes"),
    Case("intake_into_another_stage", "approved", on_entry(1, _set(to="review")), 1,
         "the intake enters 'review', but the rules start in 'submitted'"),
    Case("transition_to_another_stage", "approved", on_entry(2, _set(to="approved")), 2,
         "'screen' leads from 'submitted' to 'review', but the entry says 'approved'"),
    Case("condition_dropped", "approved", on_entry(4, _set(conditions=[])), 4,
         "has 1 condition(s) in the rules, but the entry records 0"),
    Case("registry_position_stripped_from_a_v2_entry", "approved",
         on_entry(4, lambda e: e.pop("registry")), 4, "lacks its registry position"),
    Case("data_digest_of_other_data_on_a_field_update", "approved", forged_data_digest(3), 3,
         "digest of the proposal's data is not that of the data the entries set"),
    Case("data_digest_changed_where_no_field_changes", "approved",
         on_entry(2, _set(data={"salted_sha256": "ab" * 32})), 2,
         "changes no field, but its digest of the proposal's data is not the one the entry before records"),
    Case("data_digest_stripped_from_a_v3_entry", "approved",
         on_entry(4, lambda e: e.pop("data")), 4, "lacks the salted digest of the proposal's data"),
    Case("due_moved_off_its_recorded_calendar", "approved", on_entry(1, _set(due="2026-03-17T09:00:00.000001Z")), 1,
         "and due 2026-03-17T09:00:00.000001Z, but the replay gives"),
    Case("a_skipped_day_the_count_never_passes", "approved",
         on_entry(1, lambda e: e["calendar"].update(skipped=["2026-03-07"])), 1,
         "as the closed days its deadline skips, but counting on them passes over []"),
    Case("calendar_record_dropped_from_a_due", "approved", on_entry(2, _set(calendar=None)), 2,
         "records no calendar for a due time"),
    Case("calendar_recorded_for_a_final_stage", "declined",
         on_entry(3, _set(calendar={"sha256": "0" * 64, "zone": "UTC", "skipped": []})), 3,
         "records a calendar for a stage with no due time"),
]


def reseal(entries: Entries) -> list[tuple[int, str, bytes]]:
    """(seq, hash, bytes) of a chain re-sealed end to end from its first entry."""
    out, prev = [], "0" * 64
    for n, e in enumerate(entries, 1):
        e["seq"], e["prev"] = n, prev
        body = canonical_bytes(e)
        prev = hashlib.sha256(b"\x00" + body).hexdigest()
        out.append((n, prev, body))
    return out


@dataclass
class World:
    engine: Any
    db: Path
    ids: dict[str, str]
    bundles: dict[str, Path]


@pytest.fixture
def world(tmp_path: Path) -> World:
    from engine import Engine
    from engine.export import export

    db = tmp_path / "city.db"
    engine = Engine(f"sqlite:///{db}", clock=FakeClock())
    engine.add_user("ana", ["officer"])
    engine.publish(MINI, actor="ana")
    approved = engine.intake("mini", MINI_DATA, actor="ana")
    engine.advance(approved, "screen", actor="ana")
    engine.advance(approved, "note", actor="ana", updates={"notes": "site visit done"})
    engine.add_user("lee", ["legal"], actor="ana")  # granted after the intake: the approval relies on it
    engine.advance(approved, "approve", actor="lee", rationale="within the cap")
    declined = engine.intake("mini", MINI_DATA, actor="ana")
    engine.advance(declined, "screen", actor="ana")
    engine.advance(declined, "decline", actor="ana", rationale="out of scope")
    engine.add_user("bob", ["officer"], actor="ana")  # a later registry entry, re-sealed when lee's goes
    ids = {"approved": approved, "declined": declined}
    bundles = {k: export(engine, pid, tmp_path / "bundles" / k).folder for k, pid in ids.items()}
    assert all(r.error is None for r in engine.verify())
    yield World(engine, db, ids, bundles)
    engine.close()


def forge_database(world: World, case: Case) -> None:
    pid = world.ids[case.proposal]
    entries = [json.loads(r.body) for r in world.engine.entries(pid)]
    registry = [json.loads(r.body) for r in world.engine.entries("registry")]
    names_before = {e["input"]["name"] for e in registry if e["kind"] in ("user", "revoke")}
    new_entries, new_registry = case.forge(copy.deepcopy(entries), copy.deepcopy(registry))
    conn = sqlite3.connect(world.db, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for chain, new, old in ((pid, new_entries, entries), ("registry", new_registry, registry)):
        if new == old:
            continue
        rows = reseal(new)
        conn.execute("DELETE FROM audit_log WHERE chain=?", (chain,))
        conn.executemany("INSERT INTO audit_log (chain, seq, hash, body) VALUES (?, ?, ?, ?)",
                         [(chain, n, h, b) for n, h, b in rows])
        if chain == "registry":
            conn.execute("UPDATE meta SET value=? WHERE key='registry_head'", (rows[-1][1],))
            conn.execute("UPDATE meta SET value=? WHERE key='registry_seq'", (str(len(rows)),))
            names_after = {e["input"]["name"] for e in new if e["kind"] in ("user", "revoke")}
            for gone in names_before - names_after:
                conn.execute("DELETE FROM users WHERE name=?", (gone,))
        else:
            conn.execute("UPDATE proposals SET head=?, seq=? WHERE id=?", (rows[-1][1], len(rows), pid))
    conn.close()


def forge_bundle(bundle: Path, case: Case) -> None:
    def parsed(name: str) -> Entries:
        return [json.loads(line) for line in (bundle / name).read_bytes().splitlines()]

    entries, registry = parsed("trail.jsonl"), parsed("registry.jsonl")
    new_entries, new_registry = case.forge(copy.deepcopy(entries), copy.deepcopy(registry))
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    for name, new, old in (("trail.jsonl", new_entries, entries), ("registry.jsonl", new_registry, registry)):
        if new == old:
            continue
        rows = reseal(new)
        (bundle / name).write_bytes(b"".join(body + b"\n" for _, _, body in rows))
        if name == "trail.jsonl":
            manifest.update(head=rows[-1][1], entries=len(rows))
        else:
            manifest["registry"] = {"entries": len(rows), "head": rows[-1][1]}
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def run_verify(bundle: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", str(bundle / "verify.py"), str(bundle)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_verify_py_rejects_the_forgery_at_its_line(world: World, case: Case, tmp_path: Path) -> None:
    bundle = world.bundles[case.proposal]
    outside = tmp_path / "reviewer"
    outside.mkdir()
    assert not outside.resolve().is_relative_to(ROOT)
    assert run_verify(bundle, outside).returncode == 0
    forge_bundle(bundle, case)
    done = run_verify(bundle, outside)
    assert done.returncode == 1, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"FAILED: line {case.seq}: "), lines[0]
    assert case.says in lines[0], lines[0]


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c.engine_miss)) if c.engine_miss else c
    for c in CASES], ids=_ids(CASES))
def test_engine_verify_names_the_same_seq(world: World, case: Case) -> None:
    from engine import VerificationFailed

    forge_database(world, case)
    pid = world.ids[case.proposal]
    with pytest.raises(VerificationFailed) as failed:
        world.engine.verify([pid])
    assert (failed.value.chain, failed.value.seq) == (pid, case.seq), failed.value.reason


def test_the_forgeries_are_consistent_end_to_end(world: World) -> None:
    """The database half really is re-sealed: the bare hash walk passes, so only the replay can catch it."""
    from engine.audit import Stored, verify_chain

    case = CASES[1]
    forge_database(world, case)
    pid = world.ids[case.proposal]
    rows = [Stored(r.seq, r.hash, bytes(r.body)) for r in world.engine.entries(pid)]
    head = world.engine.show(pid)["head"]
    assert len(verify_chain(pid, rows, head=head, count=4)) == 4
