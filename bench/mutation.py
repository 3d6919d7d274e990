"""Mutation score of the code the audit trail's promises rest on: mutmut 3.x, one shard per module.

Usage (from the repository root, with ``pip install -e '.[test,pdf,mutation]'``)::

    python bench/mutation.py                      # every module below
    python bench/mutation.py engine/admission.py  # one module
    python bench/mutation.py --jobs 2 --budget 60 --survivors bench/.mutation/survivors.txt

Why shards: ``mutmut run`` from the root collects coverage over the whole suite
and then tries ~2,400 mutants; on a shared 2-core machine that does not fit in
an hour. Here each module runs in its own work folder (``bench/.mutation/<module>/``,
a copy of the tree whose ``[tool.mutmut]`` names only that module) against only
the test files that cover it (``SHARDS``). mutmut keeps its results in that
folder, so a second run re-tries only the mutants whose code changed: the
first full campaign is the slow one, later ones are incremental. ``--budget``
stops starting new shards after that many minutes (the next run picks up where
this one stopped).

The score counts killed and timed-out mutants against every mutant that was
tried (survived and "no tests" count against it). Survivors are written to
``--survivors``, one per line with its diff; the ones listed in
``bench/MUTANTS.md`` as accepted (equivalent mutants) are marked there, and
the exit status is 1 while any module scores under ``--target`` or a survivor
is left unexplained.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".mutation"
ACCEPTED = ROOT / "bench" / "MUTANTS.md"
#: Copied into each shard's folder (mutmut copies what it needs from there into ``mutants/``).
TREE = ("pathways", "engine", "templates", "definitions", "tests", "cli.py", "pyproject.toml", "README.md")


@dataclass(frozen=True)
class Shard:
    """One module to mutate, the test files that cover it, and (optionally) the only functions that count."""

    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    #: mutmut's ``timeout_multiplier`` for this shard (its default, 15, allows a mutant about 30 times the CPU
    #: time of its tests before it counts as a timeout). A module whose mutants can loop without end (the YAML
    #: loader's node budget switched off: a billion laughs is then expanded) is given less, so that each such
    #: mutant costs a minute instead of eight.
    timeout_multiplier: float | None = None


#: module -> the test files that cover it. A test file that exercises the module through the engine belongs
#: here too: mutmut runs, for each mutant, only the tests that call the mutated function.
SHARDS: dict[str, Shard] = {
    # the trail's engine (stable since the chain-is-truth rewrite): each against the smallest set of test
    # files that drives it (its *_edges file holds the unit tests written for its mutants); the slow
    # concurrency tests and the PostgreSQL-only ones stay out.
    "engine/audit.py": Shard(("tests/test_audit_edges.py", "tests/test_audit_chain.py", "tests/test_conceal.py",
                              "tests/test_vectors.py")),
    "engine/registry.py": Shard(("tests/test_registry_edges.py", "tests/test_registry.py")),
    "engine/replay.py": Shard(("tests/test_replay_edges.py", "tests/test_tamper.py")),
    "engine/verification.py": Shard(("tests/test_verification_edges.py", "tests/test_tamper.py",
                                     "tests/test_rebuild_edges.py", "tests/test_registry.py")),
    "engine/admission.py": Shard(("tests/test_admission_edges.py", "tests/test_admission.py")),
    "engine/rebuild.py": Shard(("tests/test_rebuild_edges.py", "tests/test_rebuild.py")),
    # the model's safety net: the loader's safety checks, the static rules, guard evaluation
    # guard_context runs in every advance, so test_engine.py and test_walk.py reach every mutant at ~20 s each;
    # the pure tests and test_evaluation.py's engine walk (the planted bug) are the shard
    "pathways/evaluation.py": Shard(("tests/test_guard_evaluation.py", "tests/test_evaluation.py")),
    "pathways/yamlsource.py": Shard(("tests/test_yaml_safety.py", "tests/test_validate.py", "tests/test_cli.py"),
                                    timeout_multiplier=2.0),
    # every test of test_validate.py reaches every rule, and its slowest (a property test, subprocesses) made a
    # mutant cost ~5 s here; test_static_rules.py pins each rule's exact output and runs in 2 s
    "pathways/checks.py": Shard(("tests/test_static_rules.py",)),
    # the one disclosure check (export.check_public and report --public call it), against its pure unit tests:
    # with test_disclosure.py's engine and property tests a mutant cost ~10 s here, too slow for ~700 mutants
    "engine/disclosure.py": Shard(("tests/test_disclosure_needles.py",)),
}

KILLED = {"killed", "timeout", "caught by type check"}
NOT_TRIED = {"skipped", "not checked", "check was interrupted by user"}


def shard_folder(module: str) -> Path:
    return WORK / module.removesuffix(".py").replace("/", "_")


def _sync(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target``, touching only files whose bytes differ (mtimes drive mutmut's cache)."""
    if source.is_file():
        if not target.exists() or not filecmp.cmp(source, target, shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return
    for path in source.rglob("*"):
        if "__pycache__" in path.parts or path.suffix == ".pyc" or path.is_dir():
            continue
        _sync(path, target / path.relative_to(source))


def _config(module: str, shard: Shard) -> str:
    """The root pyproject.toml with its ``[tool.mutmut]`` narrowed to one module and its tests."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^\[tool\.mutmut\]\n(?:(?!^\[).*\n?)*", text, flags=re.M)
    assert match, "pyproject.toml has no [tool.mutmut] section"
    section = match.group(0)
    section = re.sub(r"^only_mutate = \[.*?^\]\n", f"only_mutate = [{module!r}]\n".replace("'", '"'), section,
                     flags=re.M | re.S)
    tests = ", ".join(f'"{t}"' for t in shard.tests)
    section = section.rstrip("\n") + f"\npytest_add_cli_args_test_selection = [{tests}]\n"
    if shard.timeout_multiplier is not None:
        section += f"timeout_multiplier = {shard.timeout_multiplier}\n"
    return text[:match.start()] + section + text[match.end():]


def prepare(module: str, shard: Shard) -> Path:
    folder = shard_folder(module)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TREE:
        _sync(ROOT / name, folder / name)
    config = _config(module, shard)
    target = folder / "pyproject.toml"
    if target.read_text(encoding="utf-8") != config:
        target.write_text(config, encoding="utf-8")
    return folder


def _mutmut(folder: Path, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    env = {**os.environ, "CI": "1"}  # derandomized hypothesis examples: a kill is reproducible
    return subprocess.run(command, cwd=folder, env=env, text=True, capture_output=capture)


def _globs(module: str, shard: Shard) -> list[str]:
    name = module.removesuffix(".py").replace("/", ".")
    return [f"{name}.x_{fn}__mutmut_*" for fn in shard.functions]


def results(folder: Path, module: str, shard: Shard) -> dict[str, str]:
    """``mutant id -> status`` for this shard's module (and functions, when the shard names some)."""
    if not (folder / "mutants").is_dir():
        return {}
    done = _mutmut(folder, "results", "--all", "True", capture=True)
    found = dict(re.findall(r"^\s+(\S+): (.+)$", done.stdout, flags=re.M))
    prefix = module.removesuffix(".py").replace("/", ".") + "."
    keep = tuple(f"{prefix}x_{fn}__mutmut_" for fn in shard.functions)
    return {k: v for k, v in found.items() if k.startswith(prefix) and (not keep or k.startswith(keep))}


def accepted() -> dict[str, str]:
    """Accepted survivors from bench/MUTANTS.md: lines ``- `mutant id`: why``."""
    if not ACCEPTED.exists():
        return {}
    return dict(re.findall(r"^- `([^`]+)`: (.+)$", ACCEPTED.read_text(encoding="utf-8"), flags=re.M))


def score(statuses: dict[str, str]) -> tuple[int, int, float]:
    tried = [s for s in statuses.values() if s not in NOT_TRIED]
    killed = sum(s in KILLED for s in tried)
    return killed, len(tried) - killed, (100.0 * killed / len(tried)) if tried else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all of {', '.join(SHARDS)})")
    parser.add_argument("--jobs", type=int, default=2, help="mutmut --max-children (default 2)")
    parser.add_argument("--budget", type=float, default=60.0, help="minutes after which no new shard starts")
    parser.add_argument("--target", type=float, default=90.0, help="minimum score per module, in percent")
    parser.add_argument("--survivors", type=Path, default=WORK / "survivors.txt", help="where survivors go")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in SHARDS]
    if unknown:
        parser.error(f"not a mutation shard: {', '.join(unknown)} (known: {', '.join(SHARDS)})")
    modules = args.modules or list(SHARDS)
    ok_list = accepted()
    start = time.monotonic()
    rows, survivors, failed = [], [], False
    for module in modules:
        if (time.monotonic() - start) / 60 > args.budget:
            print(f"-- budget of {args.budget:g} min spent: {module} not run (run again to continue)")
            failed = True
            continue
        shard = SHARDS[module]
        folder = prepare(module, shard)
        print(f"== {module}: mutants against {', '.join(shard.tests)}", flush=True)
        began = time.monotonic()
        # mutmut keeps every verdict until the mutated code changes; the tests may have improved since, so
        # last run's survivors are tried again, by name, after the new and changed mutants have run.
        retry = [m for m, status in results(folder, module, shard).items() if status not in KILLED | NOT_TRIED]
        ran = _mutmut(folder, "run", "--max-children", str(args.jobs), *_globs(module, shard), capture=True)
        if ran.returncode == 0 and retry and not shard.functions:  # a shard with functions re-runs them all
            again = _mutmut(folder, "run", "--max-children", str(args.jobs), *retry, capture=True)
            ran = subprocess.CompletedProcess(again.args, again.returncode, ran.stdout + again.stdout,
                                              ran.stderr + again.stderr)
        (folder / "run.log").write_text(ran.stdout + ran.stderr, encoding="utf-8")
        if ran.returncode != 0:
            print(ran.stdout[-3000:] + ran.stderr[-3000:])
            print(f"!! mutmut run failed for {module} (exit {ran.returncode}); log: {folder / 'run.log'}")
            failed = True
            continue
        print(f"   done in {time.monotonic() - began:.0f} s (log: {(folder / 'run.log').relative_to(ROOT)})",
              flush=True)
        statuses = results(folder, module, shard)
        killed, survived, pct = score(statuses)
        rows.append((module, killed, survived, pct))
        failed |= pct < args.target
        for mutant, status in sorted(statuses.items()):
            if status not in KILLED and status not in NOT_TRIED:
                why = ok_list.get(mutant)
                failed |= why is None
                # one `mutmut show` costs seconds on a loaded machine: the diff only for a survivor not yet
                # explained (an accepted one is explained in bench/MUTANTS.md; the command shows it)
                diff = "" if why else _mutmut(folder, "show", mutant, capture=True).stdout.strip()
                survivors.append(f"{mutant}\t{status}\t{'accepted: ' + why if why else 'UNEXPLAINED'}\n"
                                 f"    (cd {folder.relative_to(ROOT)} && mutmut show {mutant})\n"
                                 + "".join(f"    {line}\n" for line in diff.splitlines()))
    print(f"\n{'module':<28}{'killed':>8}{'survived':>10}{'score':>8}")
    for module, killed, survived, pct in rows:
        print(f"{module:<28}{killed:>8}{survived:>10}{pct:>7.1f}%")
    total_k, total_s = sum(r[1] for r in rows), sum(r[2] for r in rows)
    total = 100.0 * total_k / (total_k + total_s) if total_k + total_s else 0.0
    print(f"{'total':<28}{total_k:>8}{total_s:>10}{total:>7.1f}%")
    args.survivors.parent.mkdir(parents=True, exist_ok=True)
    args.survivors.write_text("".join(survivors), encoding="utf-8")
    print(f"survivors ({len(survivors)}) written to {args.survivors}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
