"""CLI inputs that are refused, and terminal output that cannot be hijacked by stored text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MINI

from cli import _continued, _term, cli

OSC_TITLE = "\x1b]0;owned\x07"  # sets the terminal's title
RLO = "\u202e"


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> list[str]:
    base = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    assert runner.invoke(cli, [*base, "users", "add", "ana", "--role", "officer", "--as", "ana"]).exit_code == 0
    assert runner.invoke(cli, [*base, "publish", str(MINI), "--as", "ana"]).exit_code == 0
    return base


def _intake(runner: CliRunner, db: list[str]) -> str:
    result = runner.invoke(cli, [*db, "intake", "mini", "--set", "vendor=Acme", "--set", "value=12,000.50",
                                 "--as", "ana"])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.mark.parametrize(("sets", "fragment"), [
    (["vendor=Acme", "value=5", "value=6"], "--set value: given twice"),
    (["vendor=Acme", "value=5", " value=6"], "--set value: given twice"),
    (["vendor=", "value=5"], "--set vendor=: an empty value is not a value"),
    (["vendor=Acme", "value=5", "notes=  "], "--set notes=: an empty value is not a value"),
])
def test_set_refuses_a_field_given_twice_or_given_nothing(runner: CliRunner, db: list[str],
                                                          sets: list[str], fragment: str) -> None:
    args = [arg for item in sets for arg in ("--set", item)]
    result = runner.invoke(cli, [*db, "intake", "mini", *args, "--as", "ana"])
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("args", "env", "fragment"), [
    (["--as", ""], {}, "--as is empty"),
    (["--as", "  "], {}, "--as is empty"),
    ([], {"PATHWAYS_ACTOR": ""}, "PATHWAYS_ACTOR is empty"),
    (["--as", "ana\u202e"], {}, "--as: contains U+202E RIGHT-TO-LEFT OVERRIDE"),
    (["--as", "ana\x1b[2J"], {}, "--as: contains U+001B ESCAPE"),
])
def test_an_empty_or_hidden_actor_is_refused_not_replaced_by_the_login(runner: CliRunner, db: list[str],
                                                                       args: list[str], env: dict[str, str],
                                                                       fragment: str) -> None:
    result = runner.invoke(cli, [*db, "intake", "mini", "--set", "vendor=Acme", "--set", "value=1", *args],
                           env=env)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert "\x1b" not in result.stderr and RLO not in result.stderr


def test_a_required_text_field_cannot_be_set_empty_in_a_data_file(runner: CliRunner, db: list[str],
                                                                  tmp_path: Path) -> None:
    data = tmp_path / "p.json"
    data.write_text(json.dumps({"vendor": "", "value": 5}), encoding="utf-8")
    result = runner.invoke(cli, [*db, "intake", "mini", "--data", str(data), "--as", "ana"])
    assert result.exit_code == 1
    assert "vendor: is empty" in result.stderr


def test_money_is_stored_in_its_canonical_spelling(runner: CliRunner, db: list[str]) -> None:
    pid = _intake(runner, db)
    shown = json.loads(runner.invoke(cli, [*db, "show", pid, "--json"]).stdout)
    assert shown["data"]["value"] == "12000.5"


def test_error_messages_quoting_input_do_not_reach_the_terminal_raw(runner: CliRunner, db: list[str]) -> None:
    result = runner.invoke(cli, [*db, "intake", "mini", "--set", "vendor=Acme", "--set", f"value=1{OSC_TITLE}",
                                 "--as", "ana"])
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b]0;owned\\x07" in result.stderr


def test_history_never_prints_escape_sequences_or_bidi_controls_raw(runner: CliRunner, db: list[str]) -> None:
    pid = _intake(runner, db)
    # Whether the engine refuses this rationale or records it, it never reaches the terminal raw.
    runner.invoke(cli, [*db, "advance", pid, "screen", "--rationale", f"ok{OSC_TITLE} {RLO}fdp.exe", "--as", "ana"])
    for command in ("history", "show"):
        out = runner.invoke(cli, [*db, command, pid]).output
        assert "\x1b" not in out and "\x07" not in out and RLO not in out
    text = runner.invoke(cli, [*db, "history", pid]).stdout
    entries = json.loads(runner.invoke(cli, [*db, "history", pid, "--json"]).stdout)
    recorded = [e["rationale"] for e in entries if e.get("rationale")]
    if recorded:  # recorded before the engine refuses hidden characters: shown escaped, kept exact in JSON
        assert recorded[0] == f"ok{OSC_TITLE} {RLO}fdp.exe"
        assert "rationale: ok\\x1b]0;owned\\x07 \\u202efdp.exe" in text


def test_json_output_keeps_exact_values_with_invisible_characters_escaped(runner: CliRunner, db: list[str]) -> None:
    pid = _intake(runner, db)
    runner.invoke(cli, [*db, "advance", pid, "screen", "--rationale", f"a{RLO}b\u0085c", "--as", "ana"])
    raw = runner.invoke(cli, [*db, "history", pid, "--json"]).stdout
    assert RLO not in raw and "\u0085" not in raw
    rationales = [e["rationale"] for e in json.loads(raw) if e.get("rationale")]
    assert rationales in ([], [f"a{RLO}b\u0085c"])


def test_a_multi_line_rationale_is_indented_so_it_cannot_pass_for_entries(runner: CliRunner,
                                                                           db: list[str]) -> None:
    pid = _intake(runner, db)
    fake = "   3 2026-01-01T00:00:00Z transition ana (officer) approve  review -> approved"
    result = runner.invoke(cli, [*db, "advance", pid, "screen", "--rationale", f"checked\n{fake}", "--as", "ana"])
    assert result.exit_code == 0, result.output
    lines = runner.invoke(cli, [*db, "history", pid]).stdout.splitlines()
    at = lines.index("       rationale: checked")
    assert lines[at + 1] == " " * len("       rationale: ") + fake


def test_term_shows_what_cannot_be_seen() -> None:
    assert _term("Acme\x1b[31m\u202e\u200b\x9b\U000e0041 é ok") == "Acme\\x1b[31m\\u202e\\u200b\\x9b\\U000e0041 é ok"
    assert _term("a\nb") == "a\\x0ab"
    assert _term("a\nb", keep_newlines=True) == "a\nb"
    assert _continued("  x: ", "one\ntwo\x1b") == "  x: one\n     two\\x1b"
