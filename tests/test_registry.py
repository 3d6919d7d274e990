"""The registry chain is the only source of roles and published rules, judged by its own rules.

Grants and revocations by an admin, the last admin kept, publishing by an
admin or a publisher, and entries judged by the roles held *when they were
made*: a revocation does not make earlier entries unlawful, and an entry that
relied on a role it never had is a finding even if the ``users`` table says
otherwise.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MINI, MINI_DATA

from cli import cli
from engine import Engine, Refused
from engine.audit import REGISTRY


def _entries(eng: Engine) -> list[dict]:
    import json

    return [json.loads(e.body) for e in eng.entries(REGISTRY)]


def test_revoke_is_recorded_and_takes_effect(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    assert mini.revoke("lee", ["legal"], actor="ana") == []
    with pytest.raises(Refused, match="lee acts as no role; 'approve' needs one of: legal"):
        mini.advance(pid, "approve", actor="lee", rationale="fine")
    last = _entries(mini)[-1]
    assert (last["kind"], last["actor"], last["input"]) == ("revoke", "ana",
                                                            {"name": "lee", "roles": [], "revoked": ["legal"]})
    assert {u["name"]: u["roles"] for u in mini.users()}["lee"] == []
    assert all(r.error is None for r in mini.verify())


def test_entries_are_judged_by_the_roles_held_when_they_were_made(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    mini.advance(pid, "approve", actor="lee", rationale="within the cap")
    mini.revoke("lee", ["legal"], actor="ana")  # later: the approval stays lawful
    assert all(r.error is None for r in mini.verify())


def test_only_an_admin_revokes_and_the_refusal_is_recorded(mini: Engine) -> None:
    with pytest.raises(Refused, match="lee may not revoke roles: only a user with the 'admin' role may"):
        mini.revoke("ana", ["officer"], actor="lee")
    last = _entries(mini)[-1]
    assert (last["kind"], last["trigger"], last["actor"]) == ("refusal", "users revoke", "lee")
    assert all(r.error is None for r in mini.verify())


def test_the_last_admin_cannot_be_revoked(mini: Engine) -> None:
    with pytest.raises(Refused, match="ana is the last admin"):
        mini.revoke("ana", ["admin"], actor="ana")
    mini.add_user("lee", ["admin"], actor="ana")
    assert "admin" not in mini.revoke("ana", ["admin"], actor="ana")
    assert all(r.error is None for r in mini.verify())


def test_publishing_needs_admin_or_publisher(mini: Engine, tmp_path: Path) -> None:
    v2 = tmp_path / "mini2.yaml"
    v2.write_text(MINI.read_text().replace("version: 1", "version: 2"))
    with pytest.raises(Refused, match="lee may not publish: it needs the 'admin' or 'publisher' role"):
        mini.publish(v2, actor="lee")
    assert (_entries(mini)[-1]["kind"], _entries(mini)[-1]["trigger"]) == ("refusal", "publish")
    mini.add_user("lee", ["publisher"], actor="ana")
    assert mini.publish(v2, actor="lee")[1] is True
    assert all(r.error is None for r in mini.verify())


def test_an_entry_relying_on_a_role_granted_in_the_table_only_is_a_finding(mini: Engine, db_url: str) -> None:
    """users.roles edited to make lee an officer: the write path ignores the table (roles come from the
    registry's replay), so the attempt is refused, recorded, and verify stays clean, then names the table."""
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("""UPDATE users SET roles='["legal","officer"]' WHERE name='lee'""")
    conn.close()
    with pytest.raises(Refused, match="lee acts as legal; 'screen' needs one of: officer"):
        mini.advance(pid, "screen", actor="lee")
    (registry, *_) = mini.verify(raise_on_failure=False)
    assert registry.chain == REGISTRY and "the users table gives lee the roles" in registry.error.reason


def test_cli_users_revoke_and_rebuild(mini: Engine, db_url: str) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["--db", db_url, "users", "revoke", "lee", "--role", "legal", "--as", "ana"])
    assert (done.exit_code, done.stdout) == (0, "lee: (no roles)\n")
    done = runner.invoke(cli, ["--db", db_url, "users", "revoke", "lee", "--role", "legal", "--as", "ana"])
    assert done.exit_code == 1 and "lee does not hold legal" in done.stderr
    done = runner.invoke(cli, ["--db", db_url, "users", "revoke", "nobody", "--role", "legal", "--as", "ana"])
    assert done.exit_code == 2 and "no user 'nobody'" in done.stderr
