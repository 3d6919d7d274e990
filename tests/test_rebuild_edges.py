"""``rebuild`` in detail: exactly which rows it rewrites (and says it did), which it leaves alone because
they already say what the chains say (in another spelling), and what it refuses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import MINI, MINI_DATA

from engine import Engine, Refused
from engine.audit import REGISTRY
from engine.rebuild import Rebuilt, rebuild
from pathways import loads


def _sql(db_url: str, *statements: str | tuple[str, tuple]) -> None:
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    for s in statements:
        conn.execute(*((s,) if isinstance(s, str) else s))
    conn.close()


def _clean(eng: Engine) -> bool:
    return all(r.error is None for r in eng.verify(raise_on_failure=False))


@pytest.fixture
def city(mini: Engine, tmp_path: Path) -> Engine:
    """mini v1 and v2 and other v1 published; mini-0001 screened and noted, mini-0002 just taken in,
    other-0001 taken in."""
    v2 = tmp_path / "mini2.yaml"
    v2.write_text(MINI.read_text().replace("version: 1", "version: 2"))
    other = tmp_path / "other.yaml"
    other.write_text(MINI.read_text().replace("id: mini", "id: other").replace("title: Mini pilot", "title: Other"))
    mini.publish(v2, actor="ana")
    mini.publish(other, actor="ana")
    a = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(a, "screen", actor="ana")
    mini.advance(a, "note", actor="ana", updates={"notes": "site visit done"})
    mini.intake("mini", MINI_DATA, actor="ana")
    mini.intake("other", MINI_DATA, actor="ana")
    assert _clean(mini)
    return mini


def test_a_clean_database_is_left_as_it_is(city: Engine) -> None:
    done = rebuild(city, actor="ana")
    assert done.as_dict() == {"changed": [], "unrecoverable": []}
    last = json.loads(city.entries(REGISTRY)[-1].body)
    assert (last["kind"], last["input"]) == ("rebuild", {"changed": [], "unrecoverable": 0})


def test_every_edited_cache_row_is_rewritten_and_named(city: Engine, db_url: str) -> None:
    _sql(db_url,
         "DELETE FROM pathway_versions WHERE pathway_id='mini' AND version=1",  # no file offered: stays a finding
         "UPDATE pathway_versions SET title='Retitled' WHERE pathway_id='other'",
         "INSERT INTO pathway_versions SELECT 'ghost', version, sha256, source, title, published_at, published_by "
         "FROM pathway_versions WHERE pathway_id='other'",
         "INSERT INTO pathway_versions SELECT pathway_id, 9, sha256, source, title, published_at, published_by "
         "FROM pathway_versions WHERE pathway_id='mini' AND version=2",
         "UPDATE users SET roles='[\"admin\",\"legal\"]', created_at='2020-01-01T00:00:00.000000Z' WHERE name='lee'",
         "INSERT INTO users VALUES ('aaron', '[\"admin\"]', '2026-01-01T00:00:00.000000Z')",
         "UPDATE meta SET value='ff' WHERE key='registry_head'",
         "UPDATE meta SET value='1' WHERE key='registry_seq'",
         "UPDATE proposals SET state='approved', data=json_set(data, '$.value', '1') WHERE id='mini-0001'",
         "DELETE FROM proposals WHERE id='mini-0002'",
         "INSERT INTO proposals SELECT 'mini-0009', pathway_id, version, sha256, state, data, seq, head, created_at, "
         "entered_at, due_at FROM proposals WHERE id='other-0001'",
         "UPDATE meta SET value='0' WHERE key='next_id:mini'",
         "UPDATE meta SET value='x' WHERE key='next_id:other'")
    done = rebuild(city, actor="ana")
    assert done.changed == [
        {"table": "pathway_versions", "key": "other v1", "columns": ["title"]},
        {"table": "pathway_versions", "key": "ghost v1", "columns": ["(row removed)"]},
        {"table": "pathway_versions", "key": "mini v9", "columns": ["(row removed)"]},
        {"table": "users", "key": "aaron", "columns": ["(row removed)"]},
        {"table": "users", "key": "lee", "columns": ["created_at", "roles"]},
        {"table": "meta", "key": "registry_head", "columns": ["value"]},
        {"table": "meta", "key": "registry_seq", "columns": ["value"]},
        {"table": "proposals", "key": "mini-0001", "columns": ["data", "state"]},
        {"table": "proposals", "key": "mini-0002", "columns": ["(row restored)"]},
        {"table": "proposals", "key": "mini-0009", "columns": ["(row removed: no entries)"]},
        {"table": "meta", "key": "next_id:mini", "columns": ["value"]},
        {"table": "meta", "key": "next_id:other", "columns": ["value"]},
    ]
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    assert sorted(conn.execute("SELECT pathway_id, version FROM pathway_versions")) == [("mini", 2), ("other", 1)]
    conn.close()
    found = [(r.chain, r.error.reason) for r in city.verify(raise_on_failure=False) if r.error]
    assert found == [(REGISTRY, "the rules of mini v1 published here are missing from the database "
                                "(pathway_versions)")]  # the one thing a chain cannot give back
    assert city.show("mini-0001")["state"] == "review" and city.show("mini-0002")["state"] == "submitted"
    assert {u["name"]: u["roles"] for u in city.users()} == {"ana": ["admin", "officer"], "lee": ["legal"]}
    assert city.intake("other", MINI_DATA, actor="ana") == "other-0002"


def test_a_row_without_a_chain_is_removed_and_not_listed_as_unrestored(city: Engine, db_url: str) -> None:
    _sql(db_url, "INSERT INTO proposals SELECT 'mini-0009', pathway_id, version, sha256, state, data, seq, head, "
                 "created_at, entered_at, due_at FROM proposals WHERE id='other-0001'")
    done = rebuild(city, actor="ana")
    assert done.changed == [{"table": "proposals", "key": "mini-0009", "columns": ["(row removed: no entries)"]}]
    assert _clean(city)
    assert done.unrecoverable == []


def test_a_raised_counter_is_kept_and_a_missing_one_restored(city: Engine, db_url: str) -> None:
    _sql(db_url, "UPDATE meta SET value='7' WHERE key='next_id:mini'", "DELETE FROM meta WHERE key='next_id:other'")
    assert rebuild(city, actor="ana").changed == [{"table": "meta", "key": "next_id:other", "columns": ["value"]}]
    assert city.intake("mini", MINI_DATA, actor="ana") == "mini-0008"
    assert city.intake("other", MINI_DATA, actor="ana") == "other-0002"


def test_rows_that_say_the_same_in_another_spelling_are_left_alone(city: Engine, db_url: str) -> None:
    data = json.dumps(dict(reversed(list(city.show("mini-0001")["data"].items()))), separators=(",", ":"))
    _sql(db_url, """UPDATE users SET roles='["admin","officer"]' WHERE name='ana'""",
         ("UPDATE proposals SET data=? WHERE id='mini-0001'", (data,)))
    assert _clean(city)
    assert rebuild(city, actor="ana").changed == []


def test_edited_rules_come_back_only_from_the_matching_file_and_other_rows_stay(city: Engine, db_url: str,
                                                                                tmp_path: Path) -> None:
    forged = MINI.read_text().replace("max_value: 25000", "max_value: 2500000")
    _sql(db_url, ("UPDATE pathway_versions SET source=? WHERE pathway_id='mini' AND version=1", (forged,)))
    assert rebuild(city, actor="ana", rules=[loads(forged, "<forged>")]).changed == []
    done = rebuild(city, actor="ana", rules=[loads(MINI.read_text(), "<mini>")])
    assert done.changed == [{"table": "pathway_versions", "key": "mini v1", "columns": ["source"]}]
    assert _clean(city)


def test_deleted_rules_are_restored_from_the_file_whole(city: Engine, db_url: str) -> None:
    _sql(db_url, "DELETE FROM pathway_versions WHERE pathway_id='mini' AND version=1")
    done = rebuild(city, actor="ana", rules=[loads(MINI.read_text(), "<mini>")])
    assert done.changed == [{"table": "pathway_versions", "key": "mini v1", "columns": [
        "pathway_id", "published_at", "published_by", "sha256", "source", "title", "version"]}]
    assert _clean(city)


def test_lost_evidence_is_listed_as_not_restored_and_counted_in_the_record(city: Engine, db_url: str) -> None:
    _sql(db_url, *[f"DROP TRIGGER {name}" for name in _triggers(db_url, "audit_secrets")],
         "DELETE FROM audit_secrets WHERE chain='mini-0002'")
    done = rebuild(city, actor="ana")
    assert done.unrecoverable == ["mini-0002 seq 1: the kept value of confidential 'pricing' is missing "
                                  "(audit_secrets): the record of what was entered is incomplete"]
    last = json.loads(city.entries(REGISTRY)[-1].body)
    assert last["input"] == {"changed": [], "unrecoverable": 1}


def _triggers(db_url: str, table: str) -> list[str]:
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name=?",
                                        (table,))]
    conn.close()
    return names


def test_a_registry_that_does_not_verify_from_its_first_entry_refuses(city: Engine, db_url: str) -> None:
    _sql(db_url, *[f"DROP TRIGGER {name}" for name in _triggers(db_url, "audit_log")],
         "UPDATE audit_log SET hash='00' WHERE chain='registry' AND seq=1")
    with pytest.raises(Refused) as refused:
        rebuild(city, actor="ana")
    assert refused.value.reasons == [
        "the registry chain does not verify (registry seq 1: stored bytes hash to "
        f"{_leaf(db_url)}, but the entry records 00: the entry was altered): the caches cannot be derived from it"]


def test_a_registry_broken_at_its_first_entry_refuses_even_without_proposals(mini: Engine, db_url: str) -> None:
    _sql(db_url, *[f"DROP TRIGGER {name}" for name in _triggers(db_url, "audit_log")],
         "UPDATE audit_log SET hash='00' WHERE chain='registry' AND seq=1")
    with pytest.raises(Refused, match=r"^refused: the registry chain does not verify \(registry seq 1: "):
        rebuild(mini, actor="ana")


def _leaf(db_url: str) -> str:
    from engine.audit import leaf_hash

    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    (body,) = conn.execute("SELECT body FROM audit_log WHERE chain='registry' AND seq=1").fetchone()
    conn.close()
    return leaf_hash(bytes(body))


def test_rebuilt_as_dict() -> None:
    assert Rebuilt([{"table": "users"}], ["x"]).as_dict() == {"changed": [{"table": "users"}], "unrecoverable": ["x"]}
