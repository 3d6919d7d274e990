"""The bundle's verify.py, in process and as a reviewer runs it: the registry it replays, the limits on
what it reads, and how an export writes the bundle (README, permissions, stale staging folders).

verify.py is generated from ``templates/verify.py`` (``engine.export.verifier_source``: the template with
the engine's stdlib log verifiers inserted, so mutation testing of the template still reaches it), imported
with importlib, and also run as its own ``python3 -I`` process from a folder outside the repository.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import MINI, MINI_DATA, ROOT, FakeClock

from pathways.canonical import canonical_bytes

VERIFY = ROOT / "templates" / "verify.py"


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    from engine.export import verifier_source

    path = tmp_path_factory.mktemp("verifier") / "verify.py"
    path.write_bytes(verifier_source())
    spec = importlib.util.spec_from_file_location("templates_verify", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the log verifiers' annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def city(tmp_path: Path) -> Any:
    """ana (admin, officer) publishes mini; a proposal is screened, noted, and approved by lee, who is granted
    legal after the intake; then it is left; a second one expires by the clock."""
    from engine import Engine

    clock = FakeClock()
    engine = Engine(f"sqlite:///{tmp_path / 'city.db'}", clock=clock)
    engine.add_user("ana", ["officer"])
    engine.publish(MINI, actor="ana")
    pid = engine.intake("mini", MINI_DATA, actor="ana")
    engine.advance(pid, "screen", actor="ana")
    engine.advance(pid, "note", actor="ana", updates={"notes": "site visit done"})
    engine.add_user("lee", ["legal"], actor="ana")
    engine.advance(pid, "approve", actor="lee", rationale="within the cap")
    late = engine.intake("mini", MINI_DATA, actor="ana")
    engine.advance(late, "screen", actor="ana")
    engine.add_user("bob", ["officer"], actor="ana")
    clock.advance(days=31)
    assert [m["id"] for m in engine.tick()] == [late]
    engine.clock = clock
    yield engine, pid, late
    engine.close()


def exported(city: Any, tmp_path: Path, which: int = 1, *, public: bool = False) -> Path:
    from engine.export import export

    engine, *ids = city
    return export(engine, ids[which - 1], tmp_path / f"bundle-{which}-{public}", public=public).folder


def run(bundle: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", str(bundle / "verify.py"), str(bundle)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "reviewer"
    folder.mkdir(exist_ok=True)
    assert not folder.resolve().is_relative_to(ROOT)
    return folder


def reseal_file(path: Path, entries: list[dict[str, Any]]) -> str:
    prev = "0" * 64
    out = []
    for n, e in enumerate(entries, 1):
        e["seq"], e["prev"] = n, prev
        body = canonical_bytes(e)
        prev = hashlib.sha256(b"\x00" + body).hexdigest()
        out.append(body + b"\n")
    path.write_bytes(b"".join(out))
    return prev


def parsed(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def edit_manifest(bundle: Path, **values: Any) -> None:
    m = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    m.update(values)
    (bundle / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


# --- in process: the main paths ------------------------------------------------------------------


def test_intact_bundles_verify_in_process(verifier: ModuleType, city: Any, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for which in (1, 2):
        for public in (False, True):
            assert verifier.main([str(exported(city, tmp_path, which, public=public))]) == 0
    out = capsys.readouterr().out
    assert out.count("entries intact and lawful by the rules in pathway.json") == 4
    assert "registry entries replayed" in out


def test_registry_replay_gives_roles_per_seq(verifier: ModuleType, city: Any, tmp_path: Path) -> None:
    reg = verifier.check_registry(str(exported(city, tmp_path)))
    assert reg.seq == 3  # ana, publish, lee: bob's later grant is not relied on, so not carried
    assert reg.roles("ana", 1) == {"admin", "officer"}
    assert reg.roles("lee", 2) is None and reg.roles("lee", 3) == {"legal"}
    assert reg.publications[("mini", 1)][1] == 2
    assert reg.hash_at(0) == "0" * 64 and reg.hash_at(4) is None


def test_registry_carried_is_the_stored_prefix_and_holds_only_names_and_roles(city: Any, tmp_path: Path) -> None:
    engine, pid, late = city
    stored = [bytes(r.body) for r in engine.entries("registry")]
    first = (exported(city, tmp_path) / "registry.jsonl").read_bytes().splitlines()
    second = (exported(city, tmp_path, 2) / "registry.jsonl").read_bytes().splitlines()
    assert first == stored[:3] and second == stored[:4]  # the clock's expiry acted under bob's grant
    for e in map(json.loads, stored):
        assert set(e["input"]) <= {"name", "roles", "revoked"}


def test_registry_extent_for_entries_that_name_no_position() -> None:
    from engine.export import registry_extent

    ats = ["2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"]
    v1 = [{"at": "2026-01-02T12:00:00.000000Z"}]
    assert registry_extent(v1, ats) == 2
    # at least every registry entry recorded by the last entry's time (a later revocation is shown too)
    assert registry_extent([*v1, {"at": "2026-01-04T00:00:00.000000Z", "registry": {"seq": 1}}], ats) == 3
    assert registry_extent([{"at": "2025-01-01T00:00:00.000000Z"}], ats) == 0


def test_a_version_1_trail_is_judged_by_the_registry_at_its_time(verifier: ModuleType, city: Any,
                                                                 tmp_path: Path) -> None:
    """Entries written before entries named a registry position still verify (roles as of their time);
    and an approval dated before the approver was granted the role does not."""
    bundle = exported(city, tmp_path)
    entries = parsed(bundle / "trail.jsonl")
    for e in entries:  # version 1 entries, as the engine wrote them before version 2
        for key in ("registry", "entered", "due", "data"):
            e.pop(key, None)
        e["v"] = 1
    edit_manifest(bundle, head=reseal_file(bundle / "trail.jsonl", copy.deepcopy(entries)))
    kept = json.loads((bundle / "secrets.json").read_text())  # nor the salt of data digests (version 3)
    (bundle / "secrets.json").write_text(json.dumps({**kept, "secrets": [s for s in kept["secrets"]
                                                                          if s["field"] != ":data"]}))
    assert verifier.main([str(bundle)]) == 0
    grant = parsed(bundle / "registry.jsonl")[2]["at"]
    entries[3]["at"] = entries[2]["at"]  # the approval, moved to before lee's grant
    assert entries[3]["at"] < grant
    edit_manifest(bundle, head=reseal_file(bundle / "trail.jsonl", entries))
    with pytest.raises(verifier.Bad, match="^line 4: 'lee' was not a user at registry seq 2"):
        verifier.check_trail(str(bundle), verifier.load_manifest(str(bundle)),
                             verifier.Replay(str(bundle), verifier.check_registry(str(bundle))).judge)


def test_the_clock_is_checked_against_the_due_time_it_replays(verifier: ModuleType, city: Any,
                                                              tmp_path: Path) -> None:
    bundle = exported(city, tmp_path, 2)
    entries = parsed(bundle / "trail.jsonl")
    assert entries[-1]["actor"] == "clock" and entries[-1]["trigger"] == "expire"
    entries[-1]["at"] = entries[-1]["entered"] = entries[-2]["at"][:-2] + "9Z"  # the same day: not yet due
    edit_manifest(bundle, head=reseal_file(bundle / "trail.jsonl", entries))
    done = run(bundle, outside(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("FAILED: line 3: the clock fired 'expire' at ") and "before the stage was due" \
        in done.stderr


def test_due_times_match_the_engine(verifier: ModuleType) -> None:
    import datetime as dt

    from engine.deadlines import add_business_days

    friday = dt.datetime(2026, 3, 6, 17, 30, 0, 123456, tzinfo=dt.UTC)
    for days in (1, 5, 10, 23):
        assert verifier.due_at({"business_days": days}, {}, friday) == add_business_days(friday, days).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
    assert verifier.due_at({"calendar_days": 30}, {}, friday) == "2026-04-05T17:30:00.123456Z"
    assert verifier.due_at({"until": "end"}, {"end": "2026-04-01"}, friday) == "2026-04-02T00:00:00.000000Z"
    assert verifier.due_at({"until": "end"}, {}, friday) == ""
    assert verifier.due_at({"until": "end"}, {"end": {"salted_sha256": "ab" * 32}}, friday) is None
    assert verifier.due_at(None, {}, friday) == ""


@pytest.mark.parametrize(("rules", "problem"), [
    ([], "not a JSON object"),
    ({"stages": [], "transitions": [], "initial": "a"}, "'stages' is not a mapping"),
    ({"stages": {}, "transitions": [], "initial": 1}, "'initial' or 'fields'"),
    ({"stages": {"a": {"deadline": 3}}, "transitions": [], "initial": "a"}, "'deadline' is not a mapping"),
    ({"stages": {}, "transitions": {}, "initial": "a"}, "'transitions' is not a list"),
    ({"stages": {}, "transitions": [{"trigger": "t", "from": 1, "to": "b"}], "initial": "a"}, "a transition"),
    ({"stages": {}, "transitions": [{"trigger": "t", "from": "a", "to": "b", "when": [{}]}], "initial": "a"},
     "a transition"),
])
def test_rules_of_the_wrong_shape_are_named(verifier: ModuleType, rules: Any, problem: str) -> None:
    assert problem in verifier.rules_shape(rules)


# --- the registry in the bundle ------------------------------------------------------------------


def _registry_case(bundle: Path, n: int, **values: Any) -> None:
    registry = parsed(bundle / "registry.jsonl")
    registry[n - 1].update(values)
    head = reseal_file(bundle / "registry.jsonl", registry)
    edit_manifest(bundle, registry={"entries": len(registry), "head": head})


@pytest.mark.parametrize(("tamper", "expected"), [
    (lambda b: _registry_case(b, 3, actor="lee"),
     "registry.jsonl line 3: lee granted roles to lee without holding 'admin' at that moment"),
    (lambda b: _registry_case(b, 1, input={"name": "ana", "roles": ["officer"]}),
     "registry.jsonl line 1: the first user ana was not given the 'admin' role"),
    (lambda b: _registry_case(b, 2, kind="party"), "registry.jsonl line 2: unknown kind of registry entry 'party'"),
    (lambda b: _registry_case(b, 3, input={"name": "lee", "roles": []}),
     "registry.jsonl line 3: a grant to lee must add roles"),
    (lambda b: (b / "registry.jsonl").write_bytes((b / "registry.jsonl").read_bytes().replace(b'"ana"', b'"anna"', 1)),
     "registry.jsonl line 2: altered, or the line before it was"),
    (lambda b: edit_manifest(b, registry={"entries": 2, "head": "ab" * 32}), "registry.jsonl: ends at seq 3"),
    (lambda b: (b / "registry.jsonl").unlink(), "registry.jsonl: cannot read"),
])
def test_a_tampered_registry_fails_naming_its_line(city: Any, tmp_path: Path, tamper: Any, expected: str) -> None:
    bundle = exported(city, tmp_path)
    tamper(bundle)
    done = run(bundle, outside(tmp_path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"FAILED: {expected}"), done.stderr


def test_a_publication_the_intake_names_must_be_in_the_registry(city: Any, tmp_path: Path) -> None:
    """The registry re-sealed without the publish entry: the intake's position still checks out (its hash is
    recomputed by the forger too), but the rules it names were never published there."""
    bundle = exported(city, tmp_path)
    registry = [e for e in parsed(bundle / "registry.jsonl") if e["kind"] != "publish"]
    registry.append({**registry[-1], "input": {"name": "zed", "roles": ["officer"]}})
    head = reseal_file(bundle / "registry.jsonl", registry)
    entries = parsed(bundle / "trail.jsonl")
    for e in entries:
        e["registry"] = {"seq": 3, "head": head}
    edit_manifest(bundle, head=reseal_file(bundle / "trail.jsonl", entries),
                  registry={"entries": 3, "head": head})
    done = run(bundle, outside(tmp_path))
    assert done.stderr.startswith("FAILED: line 1: the intake names mini v1"), done.stderr
    assert "which the registry had not published" in done.stderr


# --- what verify.py will read ----------------------------------------------------------------------


def test_a_trail_that_is_dev_zero_is_refused(city: Any, tmp_path: Path) -> None:
    bundle = exported(city, tmp_path)
    (bundle / "trail.jsonl").unlink()
    (bundle / "trail.jsonl").symlink_to("/dev/zero")
    done = run(bundle, outside(tmp_path))
    assert done.returncode == 1 and "MemoryError" not in done.stderr
    assert done.stderr.strip() == "FAILED: trail.jsonl: not a regular file (a device, pipe or folder): refused"


def test_a_fifo_is_refused_without_blocking(city: Any, tmp_path: Path) -> None:
    bundle = exported(city, tmp_path)
    (bundle / "registry.jsonl").unlink()
    os.mkfifo(bundle / "registry.jsonl")
    done = run(bundle, outside(tmp_path))
    assert done.stderr.strip() == "FAILED: registry.jsonl: not a regular file (a device, pipe or folder): refused"


def test_a_300_mb_line_fails_cleanly(city: Any, tmp_path: Path) -> None:
    """A sparse file: the four entries, then 300 MB of zero bytes and no newline, written in no time."""
    bundle = exported(city, tmp_path)
    with open(bundle / "trail.jsonl", "r+b") as f:
        f.truncate(300 * 1024 * 1024)
    done = run(bundle, outside(tmp_path))
    assert done.returncode == 1 and "MemoryError" not in done.stderr
    assert done.stderr.strip() == "FAILED: line 5: longer than 16777216 bytes: not an entry, refused"


def test_a_long_registry_line_and_an_oversized_file_fail_cleanly(verifier: ModuleType, city: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = exported(city, tmp_path)
    monkeypatch.setattr(verifier, "MAX_LINE", 100)
    with pytest.raises(verifier.Bad, match="^registry.jsonl line 1: longer than 100 bytes"):
        verifier.check_registry(str(bundle))
    monkeypatch.setattr(verifier, "MAX_LINE", 16 * 1024 * 1024)
    monkeypatch.setattr(verifier, "MAX_FILE", 1000)
    with pytest.raises(verifier.Bad, match="^trail.jsonl: [0-9]+ bytes, over the 1000 bytes"):
        verifier.read_lines(str(bundle), "trail.jsonl", "line")


def test_a_symlinked_attachment_to_a_device_is_refused(verifier: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / "x").symlink_to("/dev/zero")
    with pytest.raises(verifier.Bad, match="not a regular file"):
        verifier.read(str(tmp_path), "attachments/x")


# --- how the bundle is written ----------------------------------------------------------------------


def _modes(bundle: Path) -> set[tuple[str, int]]:
    return {("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode)) for p in [bundle, *bundle.rglob("*")]}


def test_private_bundles_are_owner_only_and_public_ones_readable(city: Any, tmp_path: Path) -> None:
    old = os.umask(0o077)  # a strict umask must not make a public bundle unreadable
    try:
        private, public = exported(city, tmp_path), exported(city, tmp_path, public=True)
    finally:
        os.umask(old)
    assert _modes(private) == {("dir", 0o700), ("file", 0o600)}
    assert _modes(public) == {("dir", 0o755), ("file", 0o644)}
    old = os.umask(0)
    try:
        assert _modes(exported(city, tmp_path, 2)) == {("dir", 0o700), ("file", 0o600)}
    finally:
        os.umask(old)


def test_stale_staging_folders_of_killed_exports_are_removed(city: Any, tmp_path: Path) -> None:
    from engine.export import export

    engine, pid, _ = city
    stale = tmp_path / ".out.k1ll3d_x"
    (stale / "attachments").mkdir(parents=True)
    (stale / "secrets.json").write_text('{"secrets": ["the vendor\'s price"]}')
    others = [tmp_path / ".out.keep", tmp_path / ".outer.abcdefgh", tmp_path / ".out.abcdefgh.txt"]
    others[0].mkdir()
    others[1].mkdir()
    others[2].write_text("not a staging folder")
    export(engine, pid, tmp_path / "out")
    assert not stale.exists()
    assert all(p.exists() for p in others)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == [".out.abcdefgh.txt",
                                                                                        ".out.keep"]


def test_readme_says_what_the_bundle_proves_and_what_not(city: Any, tmp_path: Path) -> None:
    private = (exported(city, tmp_path) / "README.txt").read_text(encoding="utf-8")
    public = (exported(city, tmp_path, public=True) / "README.txt").read_text(encoding="utf-8")
    for text in (private, public):
        for name in ("trail.jsonl", "registry.jsonl", "pathway.json", "manifest.json", "report.html", "verify.py"):
            assert f"\n{name}" in text
        assert "python3 -I verify.py ." in text
        assert "not a\n  second witness" in text and "transparency log" in text
        assert "rewrite the city's database before this export" in text
        assert "guards' expressions are not re-evaluated" in text
    assert "confidential values, their salts and the attached files are withheld" in public
    assert "private bundle: it holds confidential values" in private
    assert "This bundle has NO outside witness" in private  # this city never started its log


def test_verify_py_stays_stdlib_only_and_lint_clean() -> None:
    import ast

    from engine.export import verifier_source

    for source in (VERIFY.read_bytes(), verifier_source()):  # the template, and what a bundle gets
        tree = ast.parse(source)
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert imported <= sys.stdlib_module_names | {"__future__"}
        assert {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} <= {"__future__",
                                                                                              "dataclasses"}
