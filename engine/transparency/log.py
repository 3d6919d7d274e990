"""The transparency log in the database: one Merkle tree over every audit entry, its origins and checkpoints.

Every entry of every chain is a leaf (its hash already is the RFC 9162 §2.1.1
leaf hash ``sha256(0x00 || bytes)``). The tree is stored as Trillian stores
it (see ``merkle.py``): ``log_nodes(level, idx, hash)`` holds each complete
subtree once, written when its last leaf arrives and never changed, and
``log_leaves(idx, chain, seq, hash)`` names the entry of each leaf, so a
proof for an entry hash finds its index with one indexed read. A root or a
proof then costs O(log n) primary-key reads, never a re-scan.

How entries get in (measured, see ``bench/bench_tlog.py``):

- SQLite: in the entry's own transaction. Writers are already serialised by
  ``BEGIN IMMEDIATE``, so the append costs only its few statements, and the
  tree always covers every committed entry.
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
checkpoints need (``log_origins``). Level 0 of the tree is not stored twice:
node ``(0, i)`` is ``log_leaves.hash`` of leaf ``i``. Checkpoints are in
``checkpoints.py``, verification in ``logcheck.py``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from typing import Any

from pathways.errors import PathwaysError, UsageError

from .merkle import append_leaf, root_at
from .proofs import MerkleError, hash_children

#: The sequencer's advisory lock (PostgreSQL). Advisory locks are per database, not per schema, so the
#: key names the schema too: two pathways schemas in one database have a sequencer each.
SEQUENCER_LOCK = "721819, hashtext(current_schema())"
#: PostgreSQL mode: "sequencer" (default) or "transaction" (a global lock in every writer; for the bench).
PG_MODE_ENV = "PATHWAYS_LOG_PG"
BATCH = 1000


class LogError(PathwaysError):
    """The transparency log cannot do what was asked (not started, no such entry...), exit 1."""


# --- raw statements on the DBAPI cursor (the write path's cost; see engine/hotpath.py) --------------------


def _cursor(conn: Any) -> tuple[Any, bool]:
    """The DBAPI cursor of an SQLAlchemy connection, and whether it is PostgreSQL."""
    return conn.connection.dbapi_connection.cursor(), conn.dialect.name == "postgresql"


def _sql(pg: bool, sql: str) -> str:
    return sql.replace("?", "%s") if pg else sql


#: Whether the log sequences entries: the flag, or any leaf (a deleted flag does not stop a started log).
_STARTED = "((SELECT value FROM meta WHERE key = 'log') = 'on' OR EXISTS (SELECT 1 FROM log_leaves))"


def _size(cur: Any, pg: bool) -> tuple[bool, int]:
    """(sequencing, tree size) in one round trip."""
    cur.execute("SELECT (SELECT value FROM meta WHERE key = 'log'), (SELECT max(idx) FROM log_leaves)")
    flag, last = cur.fetchone()
    return flag == "on" or last is not None, 0 if last is None else last + 1


def _frontier(size: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up a tree of ``size`` leaves (its compact range), largest first."""
    out, at = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, at >> level))
            at += 1 << level
    return out


@functools.lru_cache(maxsize=256)
def _fetch_sql(leaves: int, nodes: int, pg: bool) -> str:
    """One statement reading ``leaves`` leaf rows (level 0) and ``nodes`` stored nodes, each by primary key.

    A UNION ALL of primary-key lookups: one index seek each, one round trip, and a text that depends only
    on the two counts, so the driver keeps it prepared (SQLite's statement cache; psycopg prepares a
    statement run often). Measured (bench/bench_tlog.py part 3): 40% less than one statement per node,
    and a join from a VALUES list of keys cost 2x. Only the text is cached, never a hash.
    """
    parts = (["SELECT 0, idx, hash FROM log_leaves WHERE idx = ?"] * leaves
             + ["SELECT level, idx, hash FROM log_nodes WHERE level = ? AND idx = ?"] * nodes)
    return _sql(pg, " UNION ALL ".join(parts))


def fetch_nodes(cur: Any, pg: bool, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes named by ``keys`` (distinct; level 0: the leaf rows), in one statement; missing ones absent."""
    leaves, nodes = [], []
    for level, idx in keys:
        if level:
            nodes += (level, idx)
        else:
            leaves.append(idx)
    if not leaves and not nodes:
        return {}
    cur.execute(_fetch_sql(len(leaves), len(nodes) // 2, pg), leaves + nodes)
    return {(lv, i): bytes(h) for lv, i, h in cur.fetchall()}


def _write(cur: Any, pg: bool, size: int, leaves: list[tuple[str, int, bytes]]) -> int:
    """Append ``leaves`` (chain, seq, hash) to a tree of ``size``; returns the new size."""
    if not leaves:
        return size
    if len(leaves) > 1:
        wanted = _frontier(size)
    else:  # one leaf reads only the left siblings it completes: one per trailing 1-bit of its index
        wanted = [(level, (size >> level) - 1) for level in range((size ^ (size + 1)).bit_length() - 1)]
    store = fetch_nodes(cur, pg, wanted) if wanted else {}

    def node(level: int, idx: int) -> bytes:
        try:
            return store[level, idx]
        except KeyError:
            raise LogError(f"the log's node ({level}, {idx}) is missing: run 'pathways verify'") from None

    rows = []
    for n, (_, _, h) in enumerate(leaves, size):
        for level, idx, value in append_leaf(n, h, node):
            store[level, idx] = value
            if level:  # level 0 is the leaf row itself
                rows.append((level, idx, value))
    if len(leaves) == 1:  # the write path: one statement each (executemany costs more for one row)
        cur.execute(_sql(pg, "INSERT INTO log_leaves (idx, chain, seq, hash) VALUES (?, ?, ?, ?)"), (size, *leaves[0]))
        if rows:  # half the leaves (even indexes) complete no node
            cur.execute(_sql(pg, "INSERT INTO log_nodes (level, idx, hash) VALUES "
                             + ",".join(["(?, ?, ?)"] * len(rows))), [v for r in rows for v in r])
        return size + 1
    cur.executemany(_sql(pg, "INSERT INTO log_leaves (idx, chain, seq, hash) VALUES (?, ?, ?, ?)"),
                    [(n, c, s, h) for n, (c, s, h) in enumerate(leaves, size)])
    cur.executemany(_sql(pg, "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)"), rows)
    return size + len(leaves)


def _drain(cur: Any, pg: bool, size: int, limit: int | None = None) -> tuple[int, int]:
    """Integrate the committed queue (PostgreSQL, the sequencer lock held); returns (new size, count)."""
    cur.execute("DELETE FROM log_pending WHERE id IN (SELECT id FROM log_pending ORDER BY id"
                + (f" LIMIT {int(limit)}" if limit else "") + ") RETURNING id, chain, seq, hash")
    rows = sorted(cur.fetchall())
    return _write(cur, pg, size, [(c, s, bytes(h)) for _, c, s, h in rows]), len(rows)


def append(conn: Any, chain: str, seq: int, digest: str) -> None:
    """The write path's hook: log one entry just appended in this transaction (see the module docstring)."""
    cur, pg = _cursor(conn)
    try:
        leaf = (chain, seq, bytes.fromhex(digest))
        if not pg:
            started, size = _size(cur, pg)
            if started:
                _write(cur, pg, size, [leaf])
            return
        if os.environ.get(PG_MODE_ENV) == "transaction":
            cur.execute(f"SELECT pg_advisory_xact_lock({SEQUENCER_LOCK})")
            started, size = _size(cur, pg)
            if started:
                _write(cur, pg, size, [leaf])
            return
        cur.execute(f"SELECT {_STARTED}, pg_try_advisory_xact_lock({SEQUENCER_LOCK})")
        started, got = cur.fetchone()
        if not started:
            return
        if not got:
            cur.execute("INSERT INTO log_pending (chain, seq, hash) VALUES (%s, %s, %s)", leaf)
            return
        size = _drain(cur, pg, _size(cur, pg)[1], BATCH)[0]
        _write(cur, pg, size, [leaf])
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


class Nodes:
    """``node(level, idx)`` over the stored tree, prefetched in one query for a known set of lookups."""

    def __init__(self, conn: Any) -> None:
        self.cur, self.pg = _cursor(conn)

    def run(self, compute: Any) -> Any:
        """Call ``compute(node)`` twice: once to learn which nodes it reads, then on those nodes, fetched at once."""
        wanted: list[tuple[int, int]] = []

        def record(level: int, idx: int) -> bytes:
            wanted.append((level, idx))
            return bytes(32)

        compute(record)
        store = fetch_nodes(self.cur, self.pg, set(wanted))

        def node(level: int, idx: int) -> bytes:
            try:
                return store[level, idx]
            except KeyError:
                raise LogError(f"the log's node ({level}, {idx}) is missing: the stored tree was cut") from None

        return compute(node)

    def close(self) -> None:
        self.cur.close()


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


def _ranges(start: int, end: int) -> list[tuple[int, int]]:
    """The complete nodes of leaves ``[start, end)``, largest first (as ``merkle.subtree_hash`` folds them)."""
    out, at, width = [], start, end - start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            out.append((level, at >> level))
            at += 1 << level
    return out


def _fold(parts: list[bytes]) -> bytes:
    h = parts[-1]
    for p in reversed(parts[:-1]):
        h = hash_children(p, h)
    return h


def _inclusion_plan(index: int, size: int) -> list[list[tuple[int, int]]]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]) as the stored nodes each element folds from, leaf to root.

    The same walk as ``merkle.inclusion_proof`` (tests hold them equal), without hashing, so that every
    node a proof needs is fetched in ONE query. Until the walk enters a complete subtree it splits the
    ragged right edge (at most one step per 1-bit of ``size``): a left sibling is one node, a right one
    may fold from several. Inside a complete subtree of ``2**L`` leaves the siblings are simply
    ``(level, (index >> level) ^ 1)`` for each level below ``L``.
    """
    top, start, end = [], 0, size
    while (end - start) & (end - start - 1):  # not a power of two: the ragged right edge
        k = 1 << ((end - start - 1).bit_length() - 1)
        if index < start + k:
            top.append(_ranges(start + k, end))
            end = start + k
        else:
            level = k.bit_length() - 1
            top.append([(level, start >> level)])
            start += k
    levels = (end - start).bit_length() - 1
    return [[(level, (index >> level) ^ 1)] for level in range(levels)] + top[::-1]


def prove(conn: Any, digest: str, size: int | None = None, *, with_root: bool = True) -> dict[str, Any]:
    """The RFC 9162 inclusion proof of entry ``digest`` in the tree of ``size`` (default: the whole tree).

    Two queries whatever the size: the leaf's index (by its hash's index) and every node of the path
    and of the root; O(log n) rows (bench/bench_tlog.py times it against leaf hashes).
    """
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raise UsageError(f"'{digest}' is not an entry hash (64 hex digits)") from None
    cur, pg = _cursor(conn)
    try:
        if size is None:  # the whole tree
            cur.execute(_sql(pg, "SELECT idx, chain, seq, (SELECT max(idx) FROM log_leaves) + 1 FROM log_leaves "
                                 "WHERE hash = ?"), (raw,))
        else:  # a tree larger than the log shows as a missing node (below), so its size is not read here
            cur.execute(_sql(pg, "SELECT idx, chain, seq FROM log_leaves WHERE hash = ?"), (raw,))
        row = cur.fetchone()
        if row is None:
            raise LogError(f"no entry {digest} in the log (not an entry hash, or not yet sequenced)")
        idx, chain, seq = row[:3]
        size = row[3] if size is None else size

        def too_big() -> MerkleError:
            return MerkleError(f"entry {digest[:12]} is leaf {idx}; no proof in a tree of size {size} "
                               f"(the log has {_size(cur, pg)[1]} leaves)")

        if type(size) is not int or not idx < size:
            raise too_big()
        plan, top = _inclusion_plan(idx, size), (_ranges(0, size) if with_root else [])
        keys = [k for part in plan for k in part]  # distinct; the root's nodes may repeat some
        store = fetch_nodes(cur, pg, set(keys).union(top) if top else keys)
        try:
            path = [store[part[0]] if len(part) == 1 else _fold([store[k] for k in part]) for part in plan]
            root_hash = _fold([store[k] for k in top]) if top else None
        except KeyError as missing:
            if size > _size(cur, pg)[1]:
                raise too_big() from None
            raise LogError(f"the log's node {missing} is missing: the stored tree was cut") from None
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

    With ``new_origin`` (the key was lost), start a new identity for the log; the tree goes on.
    """
    if not isinstance(origin, str) or not origin.strip() or "\n" in origin:
        raise UsageError("--origin must be one line of text, e.g. 'Springfield procurement log'")
    cur, pg = _cursor(conn)
    try:
        if pg:
            cur.execute(f"SELECT pg_advisory_xact_lock({SEQUENCER_LOCK})")
        sequencing, size = _size(cur, pg)
        known = origins(conn)
        if known and not new_origin:
            raise LogError(f"the log is already started (origin '{known[-1]['origin']}'); a lost key starts a new "
                           "origin: 'pathways log init --new-origin --origin NAME --key NEWFILE'")
        if new_origin and not known:
            raise UsageError("--new-origin: the log has no origin yet; run 'pathways log init' without it")
        if any(o["origin"] == origin for o in known):
            raise UsageError(f"origin '{origin}' was used before; a new origin needs a new name")
        added = 0
        if not sequencing:  # a database from before the log
            leaves = commit_order(conn)
            for i in range(0, len(leaves), BATCH):
                size = _write(cur, pg, size, leaves[i:i + BATCH])
            added = len(leaves)
            cur.execute("DELETE FROM meta WHERE key = 'log'")
            cur.execute("INSERT INTO meta (key, value) VALUES ('log', 'on')")
        elif pg:
            size, added = _drain(cur, pg, size)
        n = len(known) + 1
        reason = "new origin (the previous key was lost)" if new_origin else "log started"
        cur.execute(_sql(pg, "INSERT INTO log_origins (n, origin, vkey, size, at, reason) VALUES (?,?,?,?,?,?)"),
                    (n, origin, vkey, size, at, reason))
        return {"origin": origin, "vkey": vkey, "size": size, "sequenced": added, "reason": reason}
    finally:
        cur.close()
