"""Attacks on the record that the database cannot see by itself, each caught against a checkpoint published earlier.

Each case plays someone with the database's credentials (the append-only
triggers out of the way, as in test_tamper_matrix.py) who did not hold the
city's signing key. The reviewer kept a checkpoint signed before the attack
and trusts only the key the city published. ``logcheck.verify_log`` (the
API) and ``pathways verify --against CHECKPOINT --key-file VKEY`` (the CLI)
must then fail, with a reason in words. Chain-level ``verify`` passes on
the cleverest of them: that is the point of the log.

The world: registry 1 ana, 2 lee, 3 publish mini, 4 rob (viewer);
mini-0001 intake, screen, approve by lee (a rationale); mini-0002 intake,
screen; then the checkpoint; then mini-0003 intake, screen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import MINI, MINI_DATA, FakeClock

from cli import cli
from engine import Engine
from engine.audit import seal
from engine.storage import reading
from engine.transparency import (
    Checkpoint,
    MerkleError,
    generate_key,
    logcheck,
    merkle,
    open_checkpoint,
    sign_note,
    tree,
    verify_consistency,
    verify_inclusion,
)
from engine.transparency import checkpoints as cps
from engine.transparency import log as tlog

P1, P2, P3 = "mini-0001", "mini-0002", "mini-0003"
ORIGIN = "Springfield procurement log"
LOG_TABLES = ("audit_log", "audit_secrets", "log_leaves", "log_nodes", "log_tiles", "log_checkpoints", "log_origins")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Insider:
    """Plain SQL with the database's credentials, the append-only triggers out of the way."""

    def __init__(self, url: str) -> None:
        self.db = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with self.db.begin() as conn:
            if self.db.dialect.name == "sqlite":
                for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'").all():
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            else:
                for table in LOG_TABLES:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")

    def run(self, statement: str, **params: Any) -> None:
        with self.db.begin() as conn:
            conn.execute(sa.text(statement), params)

    def rows(self, statement: str, **params: Any) -> list[Any]:
        with self.db.begin() as conn:
            return conn.execute(sa.text(statement), params).all()

    def leaf_of(self, chain: str, seq: int) -> int:
        return self.rows("SELECT idx FROM log_leaves WHERE chain=:c AND seq=:s", c=chain, s=seq)[0][0]

    def rewrite_chain(self, pid: str, seq: int, **changes: Any) -> list[tuple[int, str]]:
        """Edit entry ``seq`` of ``pid`` and re-hash the chain from there on, head included: (seq, new hash)."""
        entries = self.rows("SELECT seq, body FROM audit_log WHERE chain=:c ORDER BY seq", c=pid)
        prev, out = None, []
        for s, body in entries:
            entry = json.loads(bytes(body))
            if s == seq:
                entry.update(changes)
            if s >= seq:
                if prev is not None:
                    entry["prev"] = prev
                new_body, prev = seal(entry)
                self.run("UPDATE audit_log SET body=:b, hash=:h WHERE chain=:c AND seq=:s",
                         b=new_body, h=prev, c=pid, s=s)
                out.append((s, prev))
            else:
                prev = self.rows("SELECT hash FROM audit_log WHERE chain=:c AND seq=:s", c=pid, s=s)[0][0]
        self.run("UPDATE proposals SET head=:h WHERE id=:p", h=prev, p=pid)
        return out

    def delete_chain(self, pid: str) -> None:
        for table, column in (("audit_secrets", "chain"), ("audit_log", "chain"), ("log_leaves", "chain"),
                              ("proposals", "id")):
            self.run(f"DELETE FROM {table} WHERE {column}=:p", p=pid)

    def consistent_tree(self) -> None:
        """Make the log tables agree with each other again: leaves renumbered 0.., tiles re-derived, no checkpoints.

        The node rows of the layout before tiles are written too (an insider does not know which one is read).
        """
        leaves = self.rows("SELECT chain, seq, hash FROM log_leaves ORDER BY idx")
        for table in ("log_leaves", "log_nodes", "log_tiles", "log_checkpoints"):
            self.run(f"DELETE FROM {table}")
        store: dict[tuple[int, int], bytes] = {}
        for n, (chain, seq, h) in enumerate(leaves):
            self.run("INSERT INTO log_leaves (idx, chain, seq, hash) VALUES (:i, :c, :s, :h)",
                     i=n, c=chain, s=seq, h=bytes(h))
            for level, idx, value in merkle.append_leaf(n, bytes(h), lambda lv, i: store[lv, i]):
                store[level, idx] = value
                if level:
                    self.run("INSERT INTO log_nodes (level, idx, hash) VALUES (:l, :i, :h)", l=level, i=idx, h=value)
        for t in range(8):
            for j in range(len(leaves) >> (tree.HEIGHT * (t + 1))):
                bottom = [store[tree.HEIGHT * t, (j << tree.HEIGHT) + k] for k in range(tree.WIDTH)]
                self.run("INSERT INTO log_tiles (key, level, idx, hashes) VALUES (:k, :l, :i, :h)",
                         k=tree.tile_key(t, j), l=t, i=j, h=tree.build_tile(bottom))
            for j in range(1 + (len(leaves) >> (tree.HEIGHT * (t + 1)))) if t else ():  # partial tiles
                for w in range(1, tree.WIDTH):
                    if ((j << tree.HEIGHT) + w) << (tree.HEIGHT * t) <= len(leaves):
                        bottom = [store[tree.HEIGHT * t, (j << tree.HEIGHT) + k] for k in range(w)]
                        self.run("INSERT INTO log_tiles (key, level, idx, hashes) VALUES (:k, :l, :i, :h)",
                                 k=tree.part_key(t, j, w), l=t, i=(j << tree.HEIGHT) + w, h=tree.build_part(bottom))

    def relog(self, changed: dict[tuple[str, int], str]) -> None:
        """Put the rewritten entries' new hashes into their leaves, then re-derive the nodes."""
        for (chain, seq), h in changed.items():
            self.run("UPDATE log_leaves SET hash=:h WHERE chain=:c AND seq=:s", h=bytes.fromhex(h), c=chain, s=seq)
        self.consistent_tree()

    def close(self) -> None:
        self.db.dispose()


@dataclass
class World:
    url: str
    writer: Engine
    insider: Insider
    key: Any
    note: str  # the checkpoint the reviewer kept
    note_file: Path
    pub_file: Path
    runner: CliRunner

    def api(self, note: str | None = None, vkeys: list[Any] | None = None) -> logcheck.LogReport:
        reader = Engine(self.url, create=False)
        try:
            return logcheck.verify_log(reader, self.note if note is None else note,
                                       [self.key.verifier] if vkeys is None else vkeys)
        finally:
            reader.close()

    def cli(self, note_file: Path | None = None) -> str:
        result = self.runner.invoke(cli, ["--db", self.url, "verify", "--against", str(note_file or self.note_file),
                                          "--key-file", str(self.pub_file)])
        assert result.exit_code == 1, result.output
        return result.output

    def caught(self, *reasons: str, note: str | None = None, note_file: Path | None = None) -> None:
        """Both the API and the CLI fail, saying each of ``reasons``."""
        report = self.api(note)
        text = " | ".join(f.reason for f in report.failures)
        assert report.failures and all(r in text for r in reasons), text
        out = self.cli(note_file)
        assert all(r in out for r in reasons), out

    def chains_verify(self) -> bool:
        reader = Engine(self.url, create=False)
        try:
            return not [r for r in reader.verify(raise_on_failure=False) if r.error]
        finally:
            reader.close()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'attacks.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def world(url: str, tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    eng = Engine(url, clock=clock)
    eng.add_user("ana", ["officer"])
    eng.add_user("lee", ["legal"], actor="ana")
    eng.publish(MINI, actor="ana")
    eng.add_user("rob", ["viewer"], actor="ana")
    assert eng.intake("mini", MINI_DATA, actor="ana") == P1
    eng.advance(P1, "screen", actor="ana")
    eng.advance(P1, "approve", actor="lee", rationale="within the pilot cap; form approved")
    assert eng.intake("mini", MINI_DATA, actor="ana") == P2
    eng.advance(P2, "screen", actor="ana")
    key = generate_key(cps.key_name(ORIGIN))
    with eng.db.begin() as conn:
        tlog.init(conn, ORIGIN, str(key.verifier), "2026-03-02T09:00:00Z")
        note = cps.checkpoint(conn, [key], "2026-03-02T09:00:00Z")["note"]
    assert eng.intake("mini", MINI_DATA, actor="ana") == P3
    eng.advance(P3, "screen", actor="ana")
    (tmp_path / "cp.txt").write_text(note)
    (tmp_path / "city.pub").write_text(f"{key.verifier}\n")
    w = World(url, eng, Insider(url), key, note, tmp_path / "cp.txt", tmp_path / "city.pub", CliRunner())
    assert not w.api().failures  # before any attack: the log extends the checkpoint
    yield w
    eng.close()
    w.insider.close()


def checkpoint_size(w: World) -> int:
    return open_checkpoint(w.note, [w.key.verifier])[0].size


def test_a_chain_rewritten_whole_with_the_log_tables_left_alone(world: World) -> None:
    leaf = world.insider.leaf_of(P1, 3)
    world.insider.rewrite_chain(P1, 3, rationale="over the cap, approved anyway")
    assert world.chains_verify()  # the chain alone cannot tell
    world.caught(f"leaf {leaf} ({P1} seq 3) differs from the checkpoint",
                 f"leaf {leaf} is {P1} seq 3, logged with hash")


def test_a_chain_rewritten_whole_and_the_log_re_derived(world: World) -> None:
    changed = world.insider.rewrite_chain(P1, 1, data={**MINI_DATA, "vendor": "Someone Else"})
    world.insider.relog({(P1, s): h for s, h in changed})
    with reading(Engine(world.url, create=False).db) as conn:
        assert not logcheck.check_tree(conn).failures  # the tables agree with each other again
    world.caught("is not an extension of the checkpoint", "the first 0 leaves agree")


def test_a_proposal_deleted_with_all_its_entries_and_leaves(world: World) -> None:
    gone = world.insider.leaf_of(P2, 1)
    world.insider.delete_chain(P2)
    world.caught(f"leaves {gone} to {gone + 1} are missing from the log")  # the tree has a hole
    world.insider.consistent_tree()  # and when the leaves are renumbered and the nodes re-derived
    world.caught("is not an extension of the checkpoint")


def test_the_last_registry_entries_removed(world: World) -> None:
    """rob's grant (the registry's last entry) removed, its head moved back: the registry chain verifies."""
    w = world
    last = w.insider.rows("SELECT max(seq) FROM audit_log WHERE chain='registry'")[0][0]
    head = w.insider.rows("SELECT hash FROM audit_log WHERE chain='registry' AND seq=:s", s=last - 1)[0][0]
    w.insider.run("DELETE FROM audit_log WHERE chain='registry' AND seq=:s", s=last)
    w.insider.run("DELETE FROM log_leaves WHERE chain='registry' AND seq=:s", s=last)
    w.insider.run("DELETE FROM users WHERE name='rob'")
    w.insider.run("UPDATE meta SET value=:v WHERE key='registry_seq'", v=str(last - 1))
    w.insider.run("UPDATE meta SET value=:v WHERE key='registry_head'", v=head)
    w.insider.consistent_tree()
    with reading(Engine(w.url, create=False).db) as conn:
        assert not logcheck.check_tree(conn).failures
    w.caught("is not an extension of the checkpoint")
    # with the entries after the checkpoint gone too, the log is shorter than the checkpoint
    size = checkpoint_size(w)
    w.insider.delete_chain(P3)
    w.insider.consistent_tree()
    w.caught(f"the log has {size - 1} leaves, fewer than the {size} the checkpoint covers")


def test_an_entry_appended_out_of_order(world: World) -> None:
    a, b = world.insider.leaf_of(P3, 1), world.insider.leaf_of(P3, 2)
    world.insider.run("UPDATE log_leaves SET idx=-1 WHERE idx=:a", a=a)
    world.insider.run("UPDATE log_leaves SET idx=:a WHERE idx=:b", a=a, b=b)
    world.insider.run("UPDATE log_leaves SET idx=:b WHERE idx=-1", b=b)
    world.insider.consistent_tree()  # the tree is consistent, and the checkpoint's prefix is untouched
    world.caught(f"leaf {a} is {P3} seq 2, but that chain's previous leaf is seq 0: "
                 "an entry was appended to the log out of order")


def test_an_entry_inserted_around_the_engine(world: World) -> None:
    body, digest = seal({"chain": P3, "seq": 3, "kind": "note", "forged": True})
    world.insider.run("INSERT INTO audit_log (chain, seq, hash, body) VALUES (:c, 3, :h, :b)", c=P3, h=digest, b=body)
    world.caught(f"{P3} seq 3 is neither in the log nor pending")


def test_a_checkpoint_signed_by_another_key(world: World, tmp_path: Path) -> None:
    """Someone rewrote the log and signed a checkpoint of it with a key of their own, under the city's origin."""
    changed = world.insider.rewrite_chain(P1, 3, rationale="over the cap, approved anyway")
    world.insider.relog({(P1, s): h for s, h in changed})
    other = generate_key(cps.key_name(ORIGIN))
    with reading(world.writer.db) as conn:
        size = tlog.tree_size(conn)
        forged = sign_note(Checkpoint(ORIGIN, size, tlog.root(conn, size)).to_text(), [other])
    (tmp_path / "forged.txt").write_text(forged)
    world.caught("does not verify with the trusted key", note=forged, note_file=tmp_path / "forged.txt")
    assert not world.api(forged, [other.verifier]).failures  # it is only as good as the key one trusts


def test_a_proof_for_another_tree_size(world: World) -> None:
    cp, _ = open_checkpoint(world.note, [world.key.verifier])
    h = world.writer.entries(P1)[0].hash
    with reading(world.writer.db) as conn:
        now = tlog.prove(conn, h)  # a proof in today's tree, not the checkpoint's
        assert now["size"] > cp.size
        at_cp = tlog.prove(conn, h, cp.size)
    path = [bytes.fromhex(x) for x in now["proof"]]
    with pytest.raises(MerkleError):
        verify_inclusion(bytes.fromhex(h), now["index"], cp.size, path, cp.root)
    with pytest.raises(MerkleError):
        verify_inclusion(bytes.fromhex(h), now["index"], now["size"], path, cp.root)
    verify_inclusion(bytes.fromhex(h), at_cp["index"], cp.size, [bytes.fromhex(x) for x in at_cp["proof"]], cp.root)
    with reading(world.writer.db) as conn, pytest.raises(MerkleError, match="no proof in a tree of size"):
        tlog.prove(conn, world.writer.entries(P3)[0].hash, cp.size)  # P3 came after the checkpoint


def test_a_forged_root(world: World, tmp_path: Path) -> None:
    cp, _ = open_checkpoint(world.note, [world.key.verifier])
    text, rest = world.note.split("\n\n", 1)
    lines = text.split("\n")
    import base64

    lines[2] = base64.b64encode(bytes(32)).decode()
    edited = "\n".join(lines) + "\n\n" + rest  # the root changed, the city's signature kept
    (tmp_path / "edited.txt").write_text(edited)
    world.caught("does not verify with the trusted key", note=edited, note_file=tmp_path / "edited.txt")
    # a forged root signed with the city's own key (an insider who has it): not the tree the log holds
    signed = sign_note(Checkpoint(ORIGIN, cp.size, bytes(32)).to_text(), [world.key])
    (tmp_path / "signed.txt").write_text(signed)
    world.caught("is not an extension of the checkpoint", note=signed, note_file=tmp_path / "signed.txt")
    # and a stored checkpoint whose root was edited in the database
    world.insider.run("UPDATE log_checkpoints SET root=:r", r="00" * 32)
    world.caught("stored checkpoint 1", "does not match the tree re-derived from the entries")


def test_a_consistency_proof_from_a_truncated_tree(world: World, tmp_path: Path) -> None:
    """The log cut back to before mini-0003 and grown again with other entries: no proof links the two."""
    with world.writer.db.begin() as conn:
        later = cps.checkpoint(conn, [world.key], "2026-03-03T09:00:00Z")["note"]
    (tmp_path / "later.txt").write_text(later)
    cut = world.insider.leaf_of(P3, 1)
    world.insider.delete_chain(P3)
    world.insider.run("DELETE FROM log_nodes WHERE ((idx + 1) * (1 << level)) - 1 >= :n", n=cut)
    world.insider.run("DELETE FROM log_tiles WHERE key < :p AND ((idx + 1) * (1 << (4 * (level + 1)))) - 1 >= :n",
                      n=cut, p=tree.PARTS)
    world.insider.run("DELETE FROM log_tiles WHERE key >= :p AND (idx * (1 << (4 * level))) - 1 >= :n",
                      n=cut, p=tree.PARTS)
    world.insider.run("DELETE FROM log_checkpoints WHERE n > 1")
    world.insider.run("UPDATE meta SET value='2' WHERE key='next_id:mini'")
    for _ in range(3):
        world.writer.intake("mini", {**MINI_DATA, "vendor": "Someone Else"}, actor="ana")
    old, _ = open_checkpoint(later, [world.key.verifier])
    with reading(world.writer.db) as conn:
        size = tlog.tree_size(conn)
        assert size > old.size
        nodes = tlog.Nodes(conn)
        proof = nodes.run(lambda node: merkle.consistency_proof(old.size, size, node))
        now = tlog.root(conn, size)
        assert not logcheck.check_tree(conn).failures  # the regrown tree is consistent with itself
    with pytest.raises(MerkleError):
        verify_consistency(old.size, size, old.root, now, proof)
    result = world.runner.invoke(cli, ["--db", world.url, "log", "consistency", str(tmp_path / "later.txt")])
    assert result.exit_code == 1, result.output
    world.caught("is not an extension of the checkpoint", note=later, note_file=tmp_path / "later.txt")
    assert not world.api().failures  # the first checkpoint, before mini-0003, still holds
