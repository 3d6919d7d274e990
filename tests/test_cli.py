"""The command line contract: exit codes, output shapes, help, and no tracebacks.

Uses click's CliRunner (stdout and stderr apart) for most cases, and a real
subprocess of the installed ``pathways`` script from a temporary directory
for what only a real process shows (the console script, the working dir).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import DEFINITIONS, SHIPPED, console_script, installed_definitions

from cli import cli

PILOT = str(DEFINITIONS / "pilot.yaml")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name, command in group.commands.items():
        out.append((prefix + (name,), command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, prefix + (name,)))
    return out


@pytest.mark.parametrize(("path", "command"), _commands(cli), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help_with_an_example(runner: CliRunner, path: tuple[str, ...],
                                                command: click.Command) -> None:
    result = runner.invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert command.help, f"{path} has no help"
    if not isinstance(command, click.Group):
        assert "Example:" in result.output, f"{' '.join(path)} --help shows no example"


def test_validate_ok_exits_0_and_names_each_file(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", str(DEFINITIONS)])
    assert result.exit_code == 0, result.output
    for path in SHIPPED:
        assert str(path) in result.stdout


def test_validate_problem_is_path_line_col_on_stderr_with_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(PILOT).read_text(encoding="utf-8").replace("kind: pilot", "kind: Pilot"), encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if text.startswith("kind:"))
    assert f"{bad}:{line}:7: error: 'Pilot' is not a valid name for kind" in result.stderr  # the value's column
    assert "Traceback" not in result.output


def test_validate_json_shape(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nid: y\n", encoding="utf-8")
    result = runner.invoke(cli, ["validate", "--json", str(bad)])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [{
        "path": str(bad), "line": 2, "col": 1, "severity": "error",
        "message": "duplicate key 'id' (first at line 1); YAML would silently keep only the last one — remove or "
                   "rename one"}]


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["validate", "/no/such/file.yaml"], 2, "no such file or folder"),
    (["graph", "/no/such/file.yaml"], 2, "no such file"),
    (["validate"], 2, "Missing argument"),
    (["graph", PILOT, "--format", "png"], 2, "Invalid value"),
    (["nonsense"], 2, "No such command"),
])
def test_usage_errors_exit_2_without_traceback(runner: CliRunner, args: list[str], code: int, fragment: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_unreadable_definition_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = runner.invoke(cli, ["validate", str(binary)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr


def test_graph_mermaid_and_dot(runner: CliRunner) -> None:
    mermaid = runner.invoke(cli, ["graph", PILOT])
    assert mermaid.exit_code == 0
    assert mermaid.stdout.startswith("stateDiagram-v2")
    assert "[*] --> intake" in mermaid.stdout
    assert "screening --> legal_review: send_to_legal? (department_sponsor)" in mermaid.stdout
    dot = runner.invoke(cli, ["graph", PILOT, "--format", "dot"])
    assert dot.exit_code == 0 and dot.stdout.startswith('digraph "pilot"')
    assert '"screening" -> "legal_review"' in dot.stdout


def test_schema_command_prints_the_committed_schema(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    committed = json.loads((Path(__file__).parent.parent / "pathways" / "pathway.schema.json").read_text())
    assert json.loads(result.stdout) == committed


def test_paths_json_reaches_every_final_stage(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["paths", PILOT, "--json"])
    assert result.exit_code == 0, result.output
    routes = json.loads(result.stdout)
    from pathways import load

    assert {r["final"] for r in routes} == set(load(PILOT).finals)
    for r in routes:
        assert r["unsolved"] == []
        assert set(r) == {"final", "outcome", "intake", "steps", "unsolved"}
        for step in r["steps"]:
            assert set(step) == {"from", "trigger", "to", "roles", "requires", "set"}


def test_installed_package_carries_definitions_and_templates() -> None:
    from importlib import resources

    names = {p.name for p in installed_definitions()}
    assert names == {p.name for p in SHIPPED}
    assert resources.files("pathways").joinpath("pathway.schema.json").is_file()


def test_console_script_runs_from_any_directory(tmp_path: Path) -> None:
    script = console_script()
    done = subprocess.run([script, "validate", str(DEFINITIONS)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [\n", encoding="utf-8")
    done = subprocess.run([script, "validate", str(bad)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{bad}:2:1: error: YAML syntax" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_public_surface_is_pinned() -> None:
    import engine
    import pathways

    assert sorted(pathways.__all__) == [
        "Citation", "Deadline", "DefinitionError", "Field", "Guard", "KNOWN_KINDS", "NotFound", "Pathway",
        "PathwaysError", "Problem", "Stage", "Transition", "UsageError", "check_file", "expand", "load", "loads"]
    assert sorted(engine.__all__) == [
        "ChainReport", "Conflict", "DisclosureRisk", "Engine", "GENESIS", "InvalidData", "LEAF_PREFIX", "Refused",
        "Tampered", "VerificationFailed", "leaf_hash", "verify_chain"]
    for module in (pathways, engine):
        for name in module.__all__:
            assert hasattr(module, name)


def test_every_user_error_shares_one_root_with_an_exit_code() -> None:
    import engine
    from pathways import errors

    for cls in (engine.Refused, engine.Conflict, engine.InvalidData, engine.VerificationFailed, engine.DisclosureRisk,
                errors.DefinitionError, errors.UsageError, errors.NotFound):
        assert issubclass(cls, errors.PathwaysError)
        assert cls.exit_code in (1, 2)
    assert errors.UsageError.exit_code == errors.NotFound.exit_code == 2
    assert engine.Refused.exit_code == 1
