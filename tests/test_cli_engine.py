"""The engine commands' contract: pinned --json shapes, exit codes, clean errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MINI, MINI_DATA

from cli import cli


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> list[str]:
    """``--db`` args for a database with the mini pathway, ana (officer) and lee (legal)."""
    base = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    for name, role in (("ana", "officer"), ("lee", "legal")):
        assert runner.invoke(cli, [*base, "users", "add", name, "--role", role, "--as", "ana"]).exit_code == 0
    assert runner.invoke(cli, [*base, "publish", str(MINI), "--as", "ana"]).exit_code == 0
    return base


def _intake(runner: CliRunner, db: list[str], tmp_path: Path) -> str:
    data = tmp_path / "p.yaml"
    data.write_text("vendor: Acme Sensors\nvalue: 12000\n", encoding="utf-8")
    result = runner.invoke(cli, [*db, "intake", "mini", "--data", str(data), "--set", "pricing=7.10/unit",
                                 "--as", "ana", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["id"]


ENTRY_KEYS = {"v", "proposal", "seq", "prev", "at", "kind", "actor", "role", "trigger", "from", "to", "pathway",
              "conditions", "rationale", "input", "attachments", "hash",
              "registry", "entered", "due",  # entry version 2
              "data", "calendar"}  # entry version 3


def _json(runner: CliRunner, args: list[str], code: int = 0) -> object:
    """Run one command, check its exit code, and parse its --json output."""
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_json_shapes_are_pinned(runner: CliRunner, db: list[str], tmp_path: Path) -> None:
    """Each --json shape, key for key: keys are added (and this test updated), never renamed or dropped."""
    data = tmp_path / "p.json"
    data.write_text(json.dumps(MINI_DATA), encoding="utf-8")
    intake = _json(runner, [*db, "intake", "mini", "--data", str(data), "--as", "ana", "--json"])
    assert intake == {"id": "mini-0001", "pathway": "mini", "version": 1, "state": "submitted"}
    pid = intake["id"]
    advance = _json(runner, [*db, "advance", pid, "screen", "--as", "ana", "--json"])
    assert set(advance) == {"id", "trigger", "from", "to", "seq", "hash"}
    assert {k: advance[k] for k in ("id", "trigger", "from", "to", "seq")} == {
        "id": pid, "trigger": "screen", "from": "submitted", "to": "review", "seq": 2}
    refused = _json(runner, [*db, "advance", pid, "approve", "--as", "ana", "--json"], code=1)
    assert set(refused) == {"refused", "reasons", "seq", "hash"} and refused["seq"] == 3
    show = _json(runner, [*db, "show", pid, "--json"])
    assert set(show) == {"id", "pathway", "version", "sha256", "title", "state", "stage", "final", "outcome", "data",
                         "confidential", "types", "entered_at", "due_at", "overdue", "seq", "head", "available"}
    assert {a["trigger"] for a in show["available"]} == {"note", "approve", "decline", "expire"}
    for available in show["available"]:
        assert set(available) == {"trigger", "to", "roles", "requires", "updates"}
    history = _json(runner, [*db, "history", pid, "--json"])
    assert [e["kind"] for e in history] == ["intake", "transition", "refusal"]
    assert [set(e) for e in history] == [ENTRY_KEYS, ENTRY_KEYS, ENTRY_KEYS | {"reasons"}]
    listing = _json(runner, [*db, "list", "--json"])
    assert [set(r) for r in listing] == [{"id", "pathway", "version", "state", "entered_at", "due_at", "overdue"}]
    assert listing[0]["id"] == pid
    users = _json(runner, [*db, "users", "list", "--json"])
    assert [(u["name"], u["roles"]) for u in users] == [("ana", ["admin", "officer"]), ("lee", ["legal"])]
    assert all(set(u) == {"name", "roles", "created_at"} for u in users)
    verify = _json(runner, [*db, "verify", "--json"])
    assert {r["chain"]: set(r) for r in verify} == {
        **{chain: {"chain", "ok", "entries", "head", "seq", "error"} for chain in ("registry", pid)},
        "log": {"chain", "ok", "entries", "head", "seq", "error", "size", "notes", "failures"}}
    assert all(r["ok"] is True and r["seq"] is None and r["error"] is None for r in verify)
    assert {r["chain"]: r["entries"] for r in verify}[pid] == 3


def test_refused_advance_exits_1_with_json_reasons_and_is_recorded(runner: CliRunner, db: list[str],
                                                                   tmp_path: Path) -> None:
    pid = _intake(runner, db, tmp_path)
    result = runner.invoke(cli, [*db, "advance", pid, "approve", "--as", "ana", "--json"])
    assert result.exit_code == 1
    refused = json.loads(result.stdout)
    assert refused["refused"] is True
    assert any("cannot be fired from stage 'submitted'" in r for r in refused["reasons"])
    assert "Refused (recorded in the audit trail)" in result.stderr
    history = json.loads(runner.invoke(cli, [*db, "history", pid, "--json"]).stdout)
    assert history[-1]["kind"] == "refusal" and history[-1]["seq"] == refused["seq"]


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["show", "mini-9999"], 2, "no proposal 'mini-9999'"),
    (["advance", "mini-9999", "screen", "--as", "ana"], 2, "no proposal 'mini-9999'"),
    (["intake", "pilot", "--as", "ana"], 2, "no published pathway 'pilot'"),
    (["intake", "mini", "--data", "/no/such.yaml", "--as", "ana"], 2, "cannot read"),
    (["intake", "mini", "--set", "novalue", "--as", "ana"], 2, "write KEY=VALUE"),
    (["intake", "mini", "--set", "value=lots", "--as", "ana"], 1, "value: 'lots' is not a number"),
    (["publish", "/no/such.yaml", "--as", "ana"], 2, "no such file"),
    (["users", "add", "bob"], 2, "Missing option '--role'"),
])
def test_errors_are_one_clean_line(runner: CliRunner, db: list[str], args: list[str], code: int,
                                   fragment: str) -> None:
    result = runner.invoke(cli, [*db, *args])
    assert result.exit_code == code, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_data_file_names_line_and_column(runner: CliRunner, db: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("vendor: Acme\nvalue: [12000\n", encoding="utf-8")
    result = runner.invoke(cli, [*db, "intake", "mini", "--data", str(bad), "--as", "ana"])
    assert result.exit_code == 2
    assert f"{bad}:3:1: error: YAML syntax" in result.stderr


def test_duplicate_key_in_a_data_file_is_refused_at_its_line(runner: CliRunner, db: list[str],
                                                              tmp_path: Path) -> None:
    data = tmp_path / "dup.yaml"
    data.write_text("vendor: Acme\nvalue: 12000\nvalue: 99\n", encoding="utf-8")
    result = runner.invoke(cli, [*db, "intake", "mini", "--data", str(data), "--as", "ana"])
    assert result.exit_code == 2
    assert f"{data}:3:1: error: duplicate key 'value'" in result.stderr


def test_demo_into_an_unusable_folder_is_a_clean_error(runner: CliRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(cli, ["demo", "--dir", str(blocker / "sub")])
    assert result.exit_code == 2 and "cannot use this folder" in result.stderr


def test_invalid_intake_leaves_the_database_as_it_was(runner: CliRunner, db: list[str], tmp_path: Path) -> None:
    path = db[1].removeprefix("sqlite:///")
    before = sqlite3.connect(path).execute("SELECT count(*) FROM audit_log").fetchone()
    result = runner.invoke(cli, [*db, "intake", "mini", "--set", "vendor=x", "--set", "value=1.234", "--as", "ana"])
    assert result.exit_code == 1
    after = sqlite3.connect(path).execute("SELECT count(*) FROM audit_log").fetchone()
    assert before == after


def test_data_from_stdin(runner: CliRunner, db: list[str]) -> None:
    result = runner.invoke(cli, [*db, "intake", "mini", "--data", "-", "--as", "ana"],
                           input='{"vendor": "Acme", "value": 500}')
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "mini-0001"


def test_actor_defaults_to_environment(runner: CliRunner, db: list[str], tmp_path: Path) -> None:
    pid = _intake(runner, db, tmp_path)
    result = runner.invoke(cli, [*db, "advance", pid, "screen"], env={"PATHWAYS_ACTOR": "ana"})
    assert result.exit_code == 0 and result.stdout.strip() == "review"


def test_database_from_environment(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = runner.invoke(cli, ["users", "add", "ana", "--role", "officer"], env={"PATHWAYS_DB": url})
    assert result.exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_graph_of_a_published_id(runner: CliRunner, db: list[str]) -> None:
    result = runner.invoke(cli, [*db, "graph", "mini"])
    assert result.exit_code == 0 and "review --> approved: approve? (legal)" in result.stdout


def test_misspelt_role_is_warned_about(runner: CliRunner, db: list[str]) -> None:
    result = runner.invoke(cli, [*db, "users", "add", "carol", "--role", "offcer", "--as", "ana"])
    assert result.exit_code == 0
    assert "warning: no published pathway has the role 'offcer' (did you mean 'officer'?)" in result.stderr


def test_publishing_a_folder_with_one_bad_file_publishes_nothing(runner: CliRunner, db: list[str],
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "a.yaml").write_text(MINI.read_text().replace("version: 1", "version: 2"), encoding="utf-8")
    bad = MINI.read_text().replace("id: mini", "id: other").replace("to: review", "to: reveiw")
    (folder / "b.yaml").write_text(bad, encoding="utf-8")
    result = runner.invoke(cli, [*db, "publish", str(folder), "--as", "ana"])
    assert result.exit_code == 1
    assert f"{folder / 'b.yaml'}:" in result.stderr and "reveiw" in result.stderr
    from engine import Engine

    with Engine(db[1]) as eng:
        assert [p["version"] for p in eng.pathways()] == [1]


def test_validate_reports_an_unreadable_file_and_checks_the_rest(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe\x00binary")
    (tmp_path / "good.yaml").write_text(MINI.read_text(), encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'bad.yaml'}:1:1: error: not UTF-8 text" in result.stderr
    assert f"ok  {tmp_path / 'good.yaml'}" in result.stdout


def test_validate_goes_on_past_a_missing_path(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MINI.read_text(), encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(tmp_path / "missing.yaml"), str(good)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'missing.yaml'}:1:1: error: no such file or folder" in result.stderr
    assert f"ok  {good}" in result.stdout
