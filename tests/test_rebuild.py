"""``rebuild`` restores every cache from the chains, is an admin's act, and is itself on the record."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MINI, MINI_DATA

from cli import cli
from engine import Engine, Refused
from engine.audit import REGISTRY
from engine.errors import Tampered
from engine.rebuild import rebuild


def _edit(db_url: str, *statements: str) -> None:
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    for s in statements:
        conn.execute(s)
    conn.close()


@pytest.fixture
def history(mini: Engine) -> tuple[Engine, str, str]:
    a = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(a, "screen", actor="ana")
    mini.advance(a, "note", actor="ana", updates={"notes": "site visit done"})
    b = mini.intake("mini", MINI_DATA, actor="ana")
    assert all(r.error is None for r in mini.verify())
    return mini, a, b


def test_rebuild_restores_edited_and_deleted_rows(history: tuple[Engine, str, str], db_url: str) -> None:
    eng, a, b = history
    _edit(db_url,
          f"UPDATE proposals SET state='approved', data=json_set(data, '$.value', '1'), due_at=NULL WHERE id='{a}'",
          f"DELETE FROM proposals WHERE id='{b}'",
          """UPDATE users SET roles='["admin","legal"]' WHERE name='lee'""",
          "INSERT INTO users VALUES ('mallory', '[\"admin\"]', '2026-01-01T00:00:00.000000Z')",
          "UPDATE meta SET value='0' WHERE key='next_id:mini'")
    assert sum(r.error is not None for r in eng.verify(raise_on_failure=False)) == 3
    done = rebuild(eng, actor="ana")
    assert {(c["table"], c["key"]) for c in done.changed} == {
        ("proposals", a), ("proposals", b), ("users", "lee"), ("users", "mallory"), ("meta", "next_id:mini")}
    assert next(c for c in done.changed if c["key"] == a)["columns"] == ["data", "due_at", "state"]
    assert done.unrecoverable == []
    assert all(r.error is None for r in eng.verify())
    assert eng.show(a)["state"] == "review" and eng.show(a)["data"]["value"] == "12000"
    last = json.loads(eng.entries(REGISTRY)[-1].body)
    assert (last["kind"], last["actor"]) == ("rebuild", "ana")
    assert {"table": "users", "key": "mallory", "columns": ["(row removed)"]} in last["input"]["changed"]
    assert eng.intake("mini", MINI_DATA, actor="ana") == "mini-0003"  # the counter never goes back


def test_rebuild_is_for_admins_and_a_refusal_is_recorded(history: tuple[Engine, str, str]) -> None:
    eng, _, _ = history
    with pytest.raises(Refused, match="lee may not rebuild"):
        rebuild(eng, actor="lee")
    last = json.loads(eng.entries(REGISTRY)[-1].body)
    assert (last["kind"], last["trigger"], last["actor"]) == ("refusal", "rebuild", "lee")
    assert all(r.error is None for r in eng.verify())


def test_rules_text_is_restored_only_from_a_file_that_hashes_to_what_was_published(
        history: tuple[Engine, str, str], db_url: str, tmp_path: Path) -> None:
    eng, a, _ = history
    forged = MINI.read_text().replace("max_value: 25000", "max_value: 2500000")
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("UPDATE pathway_versions SET source=?", (forged,))
    conn.close()
    fresh = Engine(db_url)  # a new process: nothing cached
    (registry, *_rest) = fresh.verify(raise_on_failure=False)
    assert "the stored rules of mini v1 hash to" in registry.error.reason
    with pytest.raises(Tampered, match="do not re-hash"):
        fresh.advance(a, "approve", actor="lee", rationale="over the cap")
    other = tmp_path / "edited.yaml"
    other.write_text(forged)
    result = CliRunner().invoke(cli, ["--db", db_url, "rebuild", "--as", "ana", "--rules", str(other)])
    assert result.exit_code == 1 and "not restored" in result.stderr  # the edited file does not match
    result = CliRunner().invoke(cli, ["--db", db_url, "rebuild", "--as", "ana", "--rules", str(MINI)])
    assert result.exit_code == 0, result.stderr
    assert "restored pathway_versions mini v1: source" in result.stdout
    assert all(r.error is None for r in Engine(db_url).verify())
    fresh.close()
