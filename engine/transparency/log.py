"""The transparency log in the database: one Merkle tree over every audit entry, its origins and checkpoints.

Every entry of every chain is a leaf (its hash already is the RFC 9162 §2.1.1
leaf hash ``sha256(0x00 || bytes)``). ``log_leaves(idx, chain, seq, hash)``
names the entry of each leaf, so a proof for an entry hash finds its index
with one indexed read; the nodes above are stored in tiles of 16 (C2SP
tlog-tiles, see ``tree.py``), each written once when its last leaf arrives.
A root or a proof then costs O(log n / 4) primary-key reads, never a re-scan.

How entries get in (measured, see ``bench/bench_tlog.py``):

- SQLite: in the entry's own transaction. Writers are already serialised by
  ``BEGIN IMMEDIATE``, so the append costs only its statement (one, 15 times
  in 16: ``tree.NEXT_LEAF``), and the tree always covers every committed entry.
- PostgreSQL: a sequencer, as Trillian does it. A global position taken in
  the writer's transaction would serialise every writer through its commit
  (fsync included). Instead each writer tries ``pg_try_advisory_xact_lock``:
  whoever gets it integrates the committed queue and its own entry; the
  others put their entry in ``log_pending`` and go on. Nobody waits. The
  queue is drained by the next writer, by ``integrate`` (``log checkpoint``,
  ``tick``), so a checkpoint covers everything committed before it.

The log starts with the database: ``storage.create_schema`` sets ``meta``
``log=on`` in a new database, so every entry is sequenced from the first. A
database from before the log has no flag: ``pathways log init`` (:func:`init`)
sequences the entries already there, in commit order, and sets it. ``log
init --key FILE --origin NAME`` also names the log and makes its key, which
checkpoints need (``log_origins``); in a database from before tiles it
builds them (``tree.retile``). Checkpoints are in ``checkpoints.py``,
verification in ``logcheck.py``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pathways.errors import UsageError

from .merkle import root_at
from .proofs import MerkleError
from .tree import (
    NEXT_LEAF,
    LogError,
    Nodes,
    _sql,
    completed_by,
    fetch_nodes,
    fold,
    inclusion_plan,
    missing,
    ranges,
    retile,
    write,
)

#: The sequencer's advisory lock (PostgreSQL). Advisory locks are per database, not per schema, so the
#: key names the schema too: two pathways schemas in one database have a sequencer each.
SEQUENCER_LOCK = "721819, hashtext(current_schema())"
#: PostgreSQL mode: "sequencer" (default) or "transaction" (a global lock in every writer; for the bench).
PG_MODE_ENV = "PATHWAYS_LOG_PG"
BATCH = 1000


# --- raw statements on the DBAPI cursor (the write path's cost; see engine/hotpath.py) --------------------


def _cursor(conn: Any) -> tuple[Any, bool]:
    """The DBAPI cursor of an SQLAlchemy connection, and whether it is PostgreSQL."""
    return conn.connection.dbapi_connection.cursor(), conn.dialect.name == "postgresql"


#: Whether the log sequences entries: the flag, or any leaf (a deleted flag does not stop a started log).
_STARTED = "((SELECT value FROM meta WHERE key = 'log') = 'on' OR EXISTS (SELECT 1 FROM log_leaves))"


def _size(cur: Any, pg: bool) -> tuple[bool, int]:
    """(sequencing, tree size) in one round trip."""
    cur.execute("SELECT (SELECT value FROM meta WHERE key = 'log'), (SELECT max(idx) FROM log_leaves)")
    flag, last = cur.fetchone()
    return flag == "on" or last is not None, 0 if last is None else last + 1


def _drain(cur: Any, pg: bool, size: int, limit: int | None = None) -> tuple[int, int]:
    """Integrate the committed queue (PostgreSQL, the sequencer lock held); returns (new size, count)."""
    cur.execute("DELETE FROM log_pending WHERE id IN (SELECT id FROM log_pending ORDER BY id"
                + (f" LIMIT {int(limit)}" if limit else "") + ") RETURNING id, chain, seq, hash")
    rows = sorted(cur.fetchall())
    return write(cur, pg, size, [(c, s, bytes(h)) for _, c, s, h in rows]), len(rows)


def append(conn: Any, chain: str, seq: int, digest: str) -> None:
    """The write path's hook: log one entry just appended in this transaction (see the module docstring)."""
    cur, pg = _cursor(conn)
    try:
        leaf = (chain, seq, bytes.fromhex(digest))
        if not pg:  # one statement, 15 times in 16 (see tree.NEXT_LEAF)
            cur.execute(NEXT_LEAF, leaf)
            if cur.rowcount == 1:
                completed_by(cur, pg, cur.lastrowid)
            elif _size(cur, pg)[0]:
                raise LogError(f"{chain} seq {seq} cannot be logged: the log already has a leaf with its hash "
                               f"{digest} (the log's tables were edited): run 'pathways verify'")
            return
        if os.environ.get(PG_MODE_ENV) == "transaction":
            cur.execute(f"SELECT pg_advisory_xact_lock({SEQUENCER_LOCK})")
            started, size = _size(cur, pg)
            if started:
                write(cur, pg, size, [leaf])
            return
        cur.execute(f"SELECT {_STARTED}, pg_try_advisory_xact_lock({SEQUENCER_LOCK})")
        started, got = cur.fetchone()
        if not started:
            return
        if not got:
            cur.execute("INSERT INTO log_pending (chain, seq, hash) VALUES (%s, %s, %s)", leaf)
            return
        size = _drain(cur, pg, _size(cur, pg)[1], BATCH)[0]
        write(cur, pg, size, [leaf])
    finally:
        cur.close()


def integrate(conn: Any) -> int:
    """Sequence every committed pending entry (waits for the sequencer lock on PostgreSQL); the tree size."""
    cur, pg = _cursor(conn)
    try:
        if pg:
            cur.execute(f"SELECT pg_advisory_xact_lock({SEQUENCER_LOCK})")
            while True:
                size, count = _drain(cur, pg, _size(cur, pg)[1], BATCH)
                if count < BATCH:
                    break
        return tree_size(conn)
    finally:
        cur.close()


# --- reading ---------------------------------------------------------------------------------------------


def _state(conn: Any) -> tuple[bool, int]:
    """(started, tree size), on a cursor of its own."""
    cur, pg = _cursor(conn)
    try:
        return _size(cur, pg)
    finally:
        cur.close()


def started(conn: Any) -> bool:
    return _state(conn)[0]


def tree_size(conn: Any) -> int:
    return _state(conn)[1]


def origins(conn: Any) -> list[dict[str, Any]]:
    """The log's identities in order: origin, verifier key, from which tree size, why."""
    rows = conn.exec_driver_sql("SELECT n, origin, vkey, size, at, reason FROM log_origins ORDER BY n").all()
    return [dict(r._mapping) for r in rows]


def current_origin(conn: Any) -> dict[str, Any]:
    found = origins(conn)
    if not found:
        raise LogError("the transparency log has no origin yet (checkpoints need the log's name and key): "
                       "run 'pathways log init --key FILE --origin NAME'")
    return found[-1]


def leaf_index(conn: Any, digest: str) -> tuple[int, str, int]:
    """(index, chain, seq) of the leaf whose hash is ``digest`` (hex)."""
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raise UsageError(f"'{digest}' is not an entry hash (64 hex digits)") from None
    cur, pg = _cursor(conn)
    try:
        cur.execute(_sql(pg, "SELECT idx, chain, seq FROM log_leaves WHERE hash = ?"), (raw,))
        row = cur.fetchone()
    finally:
        cur.close()
    if row is None:
        raise LogError(f"no entry {digest} in the log (not an entry hash, or not yet sequenced)")
    return row[0], row[1], row[2]


def root(conn: Any, size: int) -> bytes:
    nodes = Nodes(conn)
    try:
        return nodes.run(lambda node: root_at(size, node))
    finally:
        nodes.close()


def prove(conn: Any, digest: str, size: int | None = None, *, with_root: bool = True) -> dict[str, Any]:
    """The RFC 9162 inclusion proof of entry ``digest`` in the tree of ``size`` (default: the whole tree).

    Two queries whatever the size: the leaf's index (by its hash's index) with the stored tree's size,
    then every node of the path and of the root, from O(log n / 4) tile rows (see ``tree``) by primary
    key (bench/bench_tlog.py times it against leaf hashes).
    """
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raise UsageError(f"'{digest}' is not an entry hash (64 hex digits)") from None
    cur, pg = _cursor(conn)
    try:
        cur.execute(_sql(pg, "SELECT idx, chain, seq, (SELECT max(idx) FROM log_leaves) + 1 FROM log_leaves "
                             "WHERE hash = ?"), (raw,))
        row = cur.fetchone()
        if row is None:
            raise LogError(f"no entry {digest} in the log (not an entry hash, or not yet sequenced)")
        idx, chain, seq, stored = row
        size = stored if size is None else size

        def too_big() -> MerkleError:
            return MerkleError(f"entry {digest[:12]} is leaf {idx}; no proof in a tree of size {size} "
                               f"(the log has {stored} leaves)")

        if type(size) is not int or not idx < size or size > stored:
            raise too_big()
        plan, top = inclusion_plan(idx, size), (ranges(0, size) if with_root else [])
        keys = [k for part in plan for k in part]  # distinct; the root's nodes may repeat some
        store = fetch_nodes(cur, pg, set(keys).union(top) if top else keys, stored)
        try:
            path = [store[part[0]] if len(part) == 1 else fold([store[k] for k in part]) for part in plan]
            root_hash = fold([store[k] for k in top]) if top else None
        except KeyError as gone:
            raise missing(*gone.args[0], stored) from None
    finally:
        cur.close()
    return {"hash": digest, "chain": chain, "seq": seq, "index": idx, "size": size,
            "root": root_hash.hex() if root_hash else None,
            "proof": [p.hex() for p in path]}


# --- starting the log ------------------------------------------------------------------------------------


def commit_order(conn: Any) -> list[tuple[str, int, bytes]]:
    """Every entry not yet in the log, in the order they were committed, as far as the entries can tell.

    There is no global commit counter before the log, so the order is each
    entry's ``at`` (the engine's clock, taken inside the transaction), made
    non-decreasing along each chain (a clock set back never puts seq 5
    before seq 4), then the registry first at equal times (an intake names
    the registry position it was judged under), then chain id and seq.
    """
    have = {(c, s) for c, s in conn.exec_driver_sql("SELECT chain, seq FROM log_leaves")}
    keyed, last = [], {}
    rows = conn.exec_driver_sql("SELECT chain, seq, hash, body FROM audit_log ORDER BY chain, seq")
    for chain, seq, digest, body in rows:
        if (chain, seq) in have:
            continue
        at = max(json.loads(bytes(body))["at"], last.get(chain, ""))
        last[chain] = at
        keyed.append(((at, chain != "registry", chain, seq), (chain, seq, bytes.fromhex(digest))))
    keyed.sort(key=lambda k: k[0])
    return [leaf for _, leaf in keyed]


def init(conn: Any, origin: str, vkey: str, at: str, *, new_origin: bool = False) -> dict[str, Any]:
    """Name the log and its key (sequencing what is there first, in a database from before the log).

    With ``new_origin`` (the key was lost), start a new identity for the log; the tree goes on. A log
    from before tiles (see ``tree``) gets its tiles first; when that is all there was to do, it is done
    (``retiled_only``) rather than refused as already started.
    """
    if not isinstance(origin, str) or not origin.strip() or "\n" in origin:
        raise UsageError("--origin must be one line of text, e.g. 'Springfield procurement log'")
    cur, pg = _cursor(conn)
    try:
        if pg:
            cur.execute(f"SELECT pg_advisory_xact_lock({SEQUENCER_LOCK})")
        sequencing, size = _size(cur, pg)
        known = origins(conn)
        size, added = _drain(cur, pg, size) if pg and sequencing else (size, 0)
        tiled = retile(cur, pg, size) if sequencing else 0
        if known and not new_origin and tiled:
            return {"origin": known[-1]["origin"], "vkey": known[-1]["vkey"], "size": size, "sequenced": 0,
                    "reason": f"{tiled} tiles built (the log was started before tiles)", "retiled_only": True}
        if known and not new_origin:
            raise LogError(f"the log is already started (origin '{known[-1]['origin']}'); a lost key starts a new "
                           "origin: 'pathways log init --new-origin --origin NAME --key NEWFILE'")
        if new_origin and not known:
            raise UsageError("--new-origin: the log has no origin yet; run 'pathways log init' without it")
        if any(o["origin"] == origin for o in known):
            raise UsageError(f"origin '{origin}' was used before; a new origin needs a new name")
        if not sequencing:  # a database from before the log
            leaves = commit_order(conn)
            for i in range(0, len(leaves), BATCH):
                size = write(cur, pg, size, leaves[i:i + BATCH])
            added = len(leaves)
            cur.execute("DELETE FROM meta WHERE key = 'log'")
            cur.execute("INSERT INTO meta (key, value) VALUES ('log', 'on')")
        n = len(known) + 1
        reason = "new origin (the previous key was lost)" if new_origin else "log started"
        cur.execute(_sql(pg, "INSERT INTO log_origins (n, origin, vkey, size, at, reason) VALUES (?,?,?,?,?,?)"),
                    (n, origin, vkey, size, at, reason))
        return {"origin": origin, "vkey": vkey, "size": size, "sequenced": added, "reason": reason,
                "retiled": tiled}
    finally:
        cur.close()
