"""The transparency log in the database: appended on every entry, proofs, checkpoints, init of old databases."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MINI, MINI_DATA

from cli import cli
from engine import Engine
from engine.storage import create_schema, reading
from engine.transparency import (
    Checkpoint,
    MerkleError,
    generate_key,
    inclusion_proof,
    logcheck,
    merkle,
    open_checkpoint,
    tree,
    verify_consistency,
    verify_inclusion,
)
from engine.transparency import checkpoints as cps
from engine.transparency import log as tlog


def started(eng: Engine, key=None, origin: str = "Test procurement log"):
    key = key or generate_key(cps.key_name(origin))
    with eng.db.begin() as conn:
        tlog.init(conn, origin, str(key.verifier), "2026-03-02T09:00:00Z")
    return key


def sign(eng: Engine, *keys) -> str:
    with eng.db.begin() as conn:
        return cps.checkpoint(conn, list(keys), "2026-03-02T09:00:00Z")["note"]


def all_hashes(eng: Engine) -> list[str]:
    with reading(eng.db) as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT hash FROM audit_log")]


def test_every_entry_is_logged_and_provable(mini: Engine) -> None:
    key = started(mini)
    for _ in range(6):
        mini.intake("mini", MINI_DATA, actor="ana")
    with reading(mini.db) as conn:
        size = tlog.tree_size(conn)
        assert size == len(all_hashes(mini))
        top = tlog.root(conn, size)
        for h in all_hashes(mini):
            p = tlog.prove(conn, h)
            assert bytes.fromhex(p["root"]) == top
            verify_inclusion(bytes.fromhex(h), p["index"], size, [bytes.fromhex(x) for x in p["proof"]], top)
        report = logcheck.check_tree(conn)
    assert not report.failures, report.failures
    note = sign(mini, key)
    cp, names = open_checkpoint(note, [key.verifier])
    assert (cp.origin, cp.size, cp.root, names) == ("Test procurement log", size, top, [key.verifier.name])


def test_proof_plan_matches_merkle(mini: Engine) -> None:
    """The two-query proof builds exactly merkle.inclusion_proof's path, for every index and size."""
    store: dict[tuple[int, int], bytes] = {}
    for n in range(40):
        for level, idx, h in merkle.append_leaf(n, bytes([n]) * 32, lambda lv, i: store[lv, i]):
            store[level, idx] = h
        for i in range(n + 1):
            plan = tree.inclusion_plan(i, n + 1)
            got = [tree.fold([store[k] for k in part]) for part in plan]
            assert got == inclusion_proof(i, n + 1, lambda lv, ix: store[lv, ix])


def before_the_log(eng: Engine) -> None:
    """Make ``eng``'s (SQLite) database look like one from before the log: no flag, no leaves, no nodes."""
    with eng.db.begin() as conn:
        for table in ("log_leaves", "log_nodes", "log_tiles"):
            conn.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM meta WHERE key = 'log'")
    create_schema(eng.db)  # the triggers back


def test_init_sequences_an_existing_database_in_commit_order(mini: Engine, clock) -> None:
    a = mini.intake("mini", MINI_DATA, actor="ana")
    b = mini.intake("mini", MINI_DATA, actor="ana")
    mini.add_user("bob", ["officer"], actor="ana")
    before_the_log(mini)
    with reading(mini.db) as conn:
        order = tlog.commit_order(conn)
        assert tlog.tree_size(conn) == 0 and not tlog.started(conn)
        assert "no transparency log" in logcheck.check_tree(conn).notes[0]
    mini.intake("mini", MINI_DATA, actor="ana")  # not logged: the log is not started
    with reading(mini.db) as conn:
        assert tlog.tree_size(conn) == 0
    chains = [c for c, _, _ in order]
    assert chains == ["registry", "registry", "registry", a, b, "registry"]  # as the clock saw them
    started(mini)
    with reading(mini.db) as conn:
        assert tlog.tree_size(conn) == 7
        assert not logcheck.check_tree(conn).failures
    mini.intake("mini", MINI_DATA, actor="ana")  # logged from now on
    with reading(mini.db) as conn:
        assert tlog.tree_size(conn) == 8
        assert not logcheck.check_tree(conn).failures
    with mini.db.begin() as conn, pytest.raises(tlog.LogError, match="already started"):
        tlog.init(conn, "Other log", "x", "now")


def test_a_new_database_logs_from_its_first_entry(mini: Engine) -> None:
    """No 'log init' for the tree: init only names the log and makes its key (checkpoints need them)."""
    with reading(mini.db) as conn:
        assert tlog.started(conn) and tlog.tree_size(conn) == len(all_hashes(mini))
        report = logcheck.check_tree(conn)
    assert not report.failures and "no origin yet" in report.notes[0]
    with mini.db.begin() as conn, pytest.raises(tlog.LogError, match="no origin yet"):
        cps.checkpoint(conn, [generate_key("x")], "now")
    with mini.db.begin() as conn:
        done = tlog.init(conn, "Test procurement log", str(generate_key("x").verifier), "now")
    assert done["sequenced"] == 0 and done["size"] == len(all_hashes(mini))


def test_rotation_and_new_origin(mini: Engine) -> None:
    old = started(mini)
    new = generate_key("Test-procurement-log")
    both = sign(mini, old, new)
    assert open_checkpoint(both, [old.verifier])[0] == open_checkpoint(both, [new.verifier])[0]
    with mini.db.begin() as conn, pytest.raises(tlog.LogError, match="current key"):
        cps.checkpoint(conn, [old], "now")  # rotated away: the old key alone no longer signs
    sign(mini, new)
    lost = generate_key("Springfield-log-2")
    with mini.db.begin() as conn:
        tlog.init(conn, "Springfield log 2", str(lost.verifier), "now", new_origin=True)
    mini.intake("mini", MINI_DATA, actor="ana")
    note = sign(mini, lost)
    with reading(mini.db) as conn:
        reasons = [o["reason"] for o in tlog.origins(conn)]
        report = logcheck.check_tree(conn)
        later = logcheck.against(conn, both, [old.verifier])  # an old origin's checkpoint still checks
    assert reasons[0] == "log started" and reasons[1].startswith("key rotation") and "lost" in reasons[2]
    assert not report.failures and "origin 3 of 3" in report.notes[-1]
    assert not later.failures and "origin 1 of 3" in later.notes[0]
    assert open_checkpoint(note, [lost.verifier])[0].origin == "Springfield log 2"


def test_bundle_proofs(mini: Engine) -> None:
    key = started(mini)
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    hashes = [e.hash for e in mini.entries(pid)]
    with pytest.raises(tlog.LogError, match="no signed checkpoint covers"):
        cps.bundle_proofs(mini, hashes)
    note = sign(mini, key)
    got = cps.bundle_proofs(mini, hashes)
    cp, _ = open_checkpoint(got["checkpoint"], [got["vkeys"][0]])
    assert got["checkpoint"] == note and cp.size == got["size"]
    for h, p in got["proofs"].items():
        verify_inclusion(bytes.fromhex(h), p["index"], cp.size, [bytes.fromhex(x) for x in p["proof"]], cp.root)
    mini.intake("mini", MINI_DATA, actor="ana")
    assert cps.bundle_proofs(mini, hashes)["size"] == cp.size  # still the latest signed one


def test_cli_log_commands(tmp_path: Path, runner: CliRunner) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    key = tmp_path / "city.key"

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, ["--db", db, *args])
        assert result.exit_code == code, result.output
        return result.output

    run("users", "add", "ana", "--role", "officer", "--as", "ana")
    run("publish", str(MINI), "--as", "ana")
    assert "key:" in run("log", "init", "--key", str(key), "--origin", "Test procurement log")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    run("log", "checkpoint", "--key", str(key), "-o", str(tmp_path / "cp1.txt"))
    run("intake", "mini", "--set", "vendor=Acme", "--set", "value=100", "--set", "pricing=x", "--as", "ana")
    run("log", "checkpoint", "--key", str(key), "-o", str(tmp_path / "cp2.txt"))
    h = Engine(db, create=False).entries("mini-0001")[0].hash
    assert "leaf 2 of 3" in run("log", "prove", h)
    assert "leaf 2 of 3" in run("log", "prove", h, "--size", "3")
    assert "no proof in a tree of size 2" in run("log", "prove", h, "--size", "2", code=1)
    assert "ok: the tree of 3 leaves extends the tree of 2" in run("log", "consistency", str(tmp_path / "cp1.txt"),
                                                                   str(tmp_path / "cp2.txt"))
    out = run("verify", "--against", str(tmp_path / "cp1.txt"), "--key-file", str(key) + ".pub")
    assert "extends the checkpoint" in out and "ok   log: 3 leaves" in out
    assert "published key" in run("verify", "--against", str(tmp_path / "cp1.txt"), code=2)


def test_consistency_refuses_another_tree(mini: Engine) -> None:
    key = started(mini)
    note = sign(mini, key)
    cp = Checkpoint.from_text(note.split("\n\n")[0] + "\n")
    mini.intake("mini", MINI_DATA, actor="ana")
    with reading(mini.db) as conn:
        size = tlog.tree_size(conn)
        nodes = tlog.Nodes(conn)
        proof = nodes.run(lambda node: merkle.consistency_proof(cp.size, size, node))
        now = tlog.root(conn, size)
    verify_consistency(cp.size, size, cp.root, now, proof)
    with pytest.raises(MerkleError):
        verify_consistency(cp.size, size, bytes(32), now, proof)


def test_postgresql_sequencer(pg_url: str, clock) -> None:
    """On PostgreSQL, entries wait in the queue when the sequencer is busy; integrate drains it; verify sees them."""
    eng = Engine(pg_url, clock=clock)
    eng.add_user("ana", ["officer"])
    eng.publish(MINI, actor="ana")
    key = started(eng)
    eng.intake("mini", MINI_DATA, actor="ana")
    holder = eng.db.connect()
    tx = holder.begin()
    holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock({tlog.SEQUENCER_LOCK})")
    eng.intake("mini", MINI_DATA, actor="ana")  # does not wait: queued
    with reading(eng.db) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM log_pending").scalar() == 1
        assert not logcheck.check_tree(conn).failures  # pending counts
    tx.rollback()
    holder.close()
    note = sign(eng, key)
    with reading(eng.db) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM log_pending").scalar() == 0
        assert open_checkpoint(note, [key.verifier])[0].size == len(all_hashes(eng)) == tlog.tree_size(conn)
        assert not logcheck.check_tree(conn).failures
    eng.close()


def open_log_tables(eng: Engine) -> None:
    """Play someone with the database file: the log tables' append-only triggers dropped (SQLite)."""
    with eng.db.begin() as conn:
        for table in ("log_leaves", "log_nodes", "log_tiles"):
            conn.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
            conn.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")


def test_check_tree_streams_and_names_the_first_bad_node(mini: Engine) -> None:
    """An edited tile and a missing one are each named at their first leaf; memory does not follow the tree."""
    import tracemalloc

    for _ in range(3 * tree.WIDTH):
        mini.intake("mini", MINI_DATA, actor="ana")
    open_log_tables(mini)
    with mini.db.begin() as conn:  # one interior hash of tile (0, 1) zeroed, tile (0, 2) removed
        assert conn.exec_driver_sql("UPDATE log_tiles SET hashes = CAST(substr(hashes, 1, 640) || zeroblob(32) || "
                                    "substr(hashes, 673) AS BLOB) WHERE level = 0 AND idx = 1").rowcount == 1
        assert conn.exec_driver_sql("DELETE FROM log_tiles WHERE level = 0 AND idx = 2").rowcount == 1
    with reading(mini.db) as conn:
        tracemalloc.start()
        report = logcheck.check_tree(conn)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    reasons = [(f.seq, f.reason) for f in report.failures]
    assert reasons[0][0] == 16 and "tile (0, 1) over leaves 16 to 31 does not hash" in reasons[0][1]
    assert reasons[1][0] == 32 and "tile (0, 2) over leaves 32 to 47 is missing" in reasons[1][1]
    assert len(reasons) == 2
    assert peak < 200_000, peak


def test_tiles_are_stored_when_complete_and_proofs_fold_the_edge(mini: Engine) -> None:
    """Complete tiles only (two levels of them past 256 leaves); every proof and the root hold at every size."""
    for _ in range(tree.WIDTH ** 2 + 20):
        mini.intake("mini", MINI_DATA, actor="ana")
    with reading(mini.db) as conn:
        size = tlog.tree_size(conn)
        tiles = {(t, j) for t, j in conn.exec_driver_sql(f"SELECT level, idx FROM log_tiles WHERE key < {tree.PARTS}")}
        parts = {k for (k,) in conn.exec_driver_sql(f"SELECT key FROM log_tiles WHERE key >= {tree.PARTS}")}
        assert conn.exec_driver_sql("SELECT count(*) FROM log_nodes").scalar() == 0
        leaves = [bytes(h) for (h,) in conn.exec_driver_sql("SELECT hash FROM log_leaves ORDER BY idx")]
        assert tiles == {(0, j) for j in range(size // tree.WIDTH)} | {(1, 0)}
        assert parts == ({tree.part_key(1, 0, w) for w in range(1, 16)} | {tree.part_key(2, 0, 1)}
                         | {tree.part_key(1, 1, w) for w in range(1, size // tree.WIDTH - 15)})
        hashes = all_hashes(mini)
        for n in (1, 15, 16, 17, 255, 256, 257, size):
            top = tlog.root(conn, n)
            assert top == merkle.root(leaves[:n])
            for h in hashes[:: max(1, len(hashes) // 40)]:
                p = tlog.prove(conn, h) if n == size else None
                if p is not None:
                    verify_inclusion(bytes.fromhex(h), p["index"], n, [bytes.fromhex(x) for x in p["proof"]], top)
        for i in (0, 7, 15, 16, 200, 255, 256, size - 1):
            p = tlog.prove(conn, leaves[i].hex(), 257 if i < 257 else size)
            verify_inclusion(leaves[i], i, p["size"], [bytes.fromhex(x) for x in p["proof"]],
                             merkle.root(leaves[:p["size"]]))
        assert not logcheck.check_tree(conn).failures
    open_log_tables(mini)
    with mini.db.begin() as conn:  # a partial tile edited, another removed: both named
        conn.exec_driver_sql("UPDATE log_tiles SET hashes = zeroblob(992) WHERE key = ?", (tree.part_key(1, 1, 1),))
        conn.exec_driver_sql("DELETE FROM log_tiles WHERE key = ?", (tree.part_key(1, 0, 5),))
    with reading(mini.db) as conn:
        reasons = [(f.seq, f.reason) for f in logcheck.check_tree(conn).failures]
    assert reasons == [
        (0, "partial tile (1, 0) of width 5 over leaves 0 to 79 is missing: the stored tree was edited, or the "
            f"database is from before tiles: {tree.RETILE}"),
        (256, "partial tile (1, 1) of width 1 over leaves 256 to 271 does not hash from the entries below it: "
              "the stored tree was edited"),
    ], reasons


def old_layout(eng: Engine) -> None:
    """Give ``eng``'s log the layout from before tiles: no tiles, one ``log_nodes`` row per node above level 0."""
    open_log_tables(eng)
    with eng.db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM log_tiles")
        leaves = [bytes(h) for (h,) in conn.exec_driver_sql("SELECT hash FROM log_leaves ORDER BY idx")]
        store: dict[tuple[int, int], bytes] = {}
        for n, h in enumerate(leaves):
            for level, idx, value in merkle.append_leaf(n, h, lambda lv, i: store[lv, i]):
                store[level, idx] = value
                if level:
                    conn.exec_driver_sql("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
                                         (level, idx, value))
    create_schema(eng.db)  # the triggers back


def test_a_database_with_the_old_node_layout_is_told_how_to_migrate(mini: Engine, runner: CliRunner,
                                                                   tmp_path: Path) -> None:
    """Before tiles: writes go on, reads and verify name 'pathways log init', which builds the tiles."""
    key = started(mini)
    for _ in range(40):
        mini.intake("mini", MINI_DATA, actor="ana")
    note = sign(mini, key)
    old_layout(mini)
    mini.intake("mini", MINI_DATA, actor="ana")  # the write path does not fail
    h = all_hashes(mini)[0]
    with reading(mini.db) as conn, pytest.raises(tlog.LogError, match="pathways log init"):
        tlog.prove(conn, h)
    with reading(mini.db) as conn:
        reasons = [f.reason for f in logcheck.check_tree(conn).failures]
    assert reasons and all("is missing" in r and "pathways log init" in r for r in reasons), reasons
    key_file = tmp_path / "city.key"
    from engine.transparency import save_key

    save_key(key, str(key_file))
    db = str(mini.db.url)
    result = runner.invoke(cli, ["--db", db, "log", "init", "--key", str(key_file), "--origin", "Test procurement log"])
    assert result.exit_code == 0, result.output
    assert "tiles built" in result.output
    with reading(mini.db) as conn:
        assert not logcheck.check_tree(conn).failures
        size = tlog.tree_size(conn)
        top = tlog.root(conn, size)
        p = tlog.prove(conn, h)
        verify_inclusion(bytes.fromhex(h), p["index"], size, [bytes.fromhex(x) for x in p["proof"]], top)
        assert not logcheck.against(conn, note, [key.verifier]).failures
    result = runner.invoke(cli, ["--db", db, "log", "init", "--key", str(key_file), "--origin", "Test procurement log"])
    assert result.exit_code == 1 and "already started" in result.output
    open_log_tables(mini)
    with mini.db.begin() as conn:  # a row from before tiles edited is still caught, though nothing reads it
        conn.exec_driver_sql("UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1")
    with reading(mini.db) as conn:
        reasons = [f.reason for f in logcheck.check_tree(conn).failures]
    assert len(reasons) == 1 and "node (2, 1) over leaves 4 to 7 (a row from before tiles) does not hash" in reasons[0]


def test_check_tree_goes_on_past_a_hole_and_bounds_its_output(mini: Engine) -> None:
    """Two holes, an edited tile after them and many rewritten entries: all found, the first ten listed."""
    for _ in range(5 * tree.WIDTH):
        mini.intake("mini", MINI_DATA, actor="ana")
    open_log_tables(mini)
    with mini.db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM log_leaves WHERE idx IN (5, 6)")
        conn.exec_driver_sql("DELETE FROM log_leaves WHERE idx = 20")
        conn.exec_driver_sql("UPDATE log_tiles SET hashes = zeroblob(992) WHERE level = 0 AND idx = 3")
    with reading(mini.db) as conn:
        reasons = [(f.seq, f.reason) for f in logcheck.check_tree(conn).failures]
    assert reasons[0] == (5, "leaves 5 to 6 are missing from the log")
    assert reasons[1] == (20, "leaves 20 to 20 are missing from the log")
    assert reasons[2][0] == 48 and "tile (0, 3) over leaves 48 to 63 does not hash" in reasons[2][1]
    assert not any("tile (0, 0)" in r or "tile (0, 1)" in r for _, r in reasons)  # tiles over a hole: not findings
    with mini.db.begin() as conn:  # now more problems than the report lists
        conn.exec_driver_sql("UPDATE log_leaves SET hash = randomblob(32) WHERE idx >= 30 AND idx < 50")
    with reading(mini.db) as conn:
        report = logcheck.check_tree(conn)
    assert len(report.failures) == logcheck.MAX_FINDINGS
    assert report.failures[2].reason.startswith("leaf 30 is ")
    # 2 holes, 1 tile, 20 leaves rewritten, the 3 entries whose leaves were deleted: 26, 10 listed
    assert any(n.startswith("16 more problem(s) found") for n in report.notes), report.notes


def test_postgresql_tiles_are_written_checked_and_tampering_is_caught(pg_url: str, clock) -> None:
    """The sequencer writes the same tiles; proofs hold; an edited tile is named by verify's log part."""
    eng = Engine(pg_url, clock=clock)
    eng.add_user("ana", ["officer"])
    eng.publish(MINI, actor="ana")
    for _ in range(2 * tree.WIDTH):
        eng.intake("mini", MINI_DATA, actor="ana")
    with eng.db.begin() as conn:
        tlog.integrate(conn)
    with reading(eng.db) as conn:
        size = tlog.tree_size(conn)
        leaves = [bytes(h) for (h,) in conn.exec_driver_sql("SELECT hash FROM log_leaves ORDER BY idx")]
        assert tlog.root(conn, size) == merkle.root(leaves)
        p = tlog.prove(conn, leaves[3].hex())
        verify_inclusion(leaves[3], 3, size, [bytes.fromhex(x) for x in p["proof"]], merkle.root(leaves))
        assert not logcheck.check_tree(conn).failures
    with eng.db.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE log_tiles DISABLE TRIGGER ALL")
        conn.exec_driver_sql("UPDATE log_tiles SET hashes = overlay(hashes placing decode(repeat('ff', 32), 'hex') "
                             "from 97) WHERE level = 0 AND idx = 1")
        conn.exec_driver_sql("ALTER TABLE log_tiles ENABLE TRIGGER ALL")
    with reading(eng.db) as conn:
        reasons = [f.reason for f in logcheck.check_tree(conn).failures]
    eng.close()
    assert len(reasons) == 1 and "tile (0, 1) over leaves 16 to 31 does not hash" in reasons[0]
