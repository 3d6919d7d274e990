"""The log's Merkle tree as stored: leaf rows and tiles, how leaves are written, how nodes are read.

The tree is the RFC 9162 §2.1 tree with Trillian's ``(level, index)`` node
addressing (see ``merkle.py``). Two tables hold it:

- ``log_leaves(idx, chain, seq, hash)``: leaf ``idx``, which is node ``(0, idx)``.
- ``log_tiles(key, level, idx, hashes)``: each complete *tile*, as C2SP
  tlog-tiles cuts the tree (https://c2sp.org/tlog-tiles), with height
  :data:`HEIGHT` = 4: tile ``(L, j)`` is the complete subtree whose 16
  bottom nodes are ``(4L, 16j)`` .. ``(4L, 16j + 15)``; its row holds all
  31 of its node hashes, bottom row first, root last (992 bytes). It is
  written once, in the transaction of the leaf that completes it, and
  never changed.

A node inside a complete tile is a slice of that tile's row. Above level 0
each tile is also stored as it stood at each width 1..15 (a *partial* tile,
key :func:`part_key`, written when the tile below it completes), so a node
in the ragged right edge is a slice too; at level 0 the edge is the last
< 16 leaves, folded. One statement reads what a root, a proof or an append
needs, by primary key (tiles) or a short key range (leaves).

Why tiles (measured, bench/RESULTS.md "transparency log costs"): one row
per node made every other append read its left siblings and write node
rows (a page each at commit); now 15 appends in 16 are ONE statement
(:data:`NEXT_LEAF`), the 16th reads its block and writes its tile and its
parent's partial tile. A proof at 1,000,000 leaves reads the leaf and
about eight tile rows instead of making about twenty B-tree seeks.

Databases written before tiles kept one row per node in ``log_nodes``. That
table is no longer read or written (``verify`` still checks the rows it
holds); such a log has no tiles, and reads say so with the command that
builds them (``pathways log init``, :func:`retile`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from pathways.errors import PathwaysError

from .proofs import hash_children

HEIGHT = 4
WIDTH = 1 << HEIGHT
HASH = 32
TILE_BYTES = (2 * WIDTH - 1) * HASH
#: Where each level of a tile starts in its row, in hashes: 16 bottom nodes, then 8, 4, 2, the root.
_OFFSET = [2 * WIDTH - (2 * WIDTH >> r) for r in range(HEIGHT + 1)]
ROOT_AT = _OFFSET[HEIGHT] * HASH + 1  # SQL substr() is 1-based
#: A tile's row key: ``level * 2**40 + idx`` (one integer: SQLite's rowid; one tile level is one key range).
KEY_SHIFT = 40
#: Partial tiles (level >= 1) live above this key: see :func:`part_key`.
PARTS = 1 << 62

#: SQLite's write path: the next leaf in one statement (``cursor.lastrowid`` is its index: ``idx`` is the rowid).
#: Nothing is inserted in a database whose log is not started (no flag, no leaf): the NULL chain
#: breaks NOT NULL, which OR IGNORE turns into "no row" (rowcount 0). A hash already in the log is
#: also "no row", and the caller tells the two apart. A VALUES subquery, not INSERT ... SELECT:
#: SQLite copies an INSERT ... SELECT that reads its own table through a temporary table (2x).
NEXT_LEAF = (
    "INSERT OR IGNORE INTO log_leaves (idx, chain, seq, hash) VALUES ("
    "coalesce((SELECT max(idx) FROM log_leaves) + 1, 0), "
    "CASE WHEN EXISTS (SELECT 1 FROM log_leaves) OR (SELECT value FROM meta WHERE key = 'log') = 'on' "
    "THEN ? END, ?, ?)"
)
RETILE = "'pathways log init --key FILE --origin NAME' (a log from before tiles gets them; nothing else changes)"


class LogError(PathwaysError):
    """The transparency log cannot do what was asked (not started, no such entry, a node missing...), exit 1."""


def _sql(pg: bool, sql: str) -> str:
    return sql.replace("?", "%s") if pg else sql


def frontier(size: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up a tree of ``size`` leaves (its compact range), largest first."""
    return ranges(0, size)


def ranges(start: int, end: int) -> list[tuple[int, int]]:
    """The complete nodes of leaves ``[start, end)``, largest first (as ``merkle.subtree_hash`` folds them)."""
    out, at, width = [], start, end - start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            out.append((level, at >> level))
            at += 1 << level
    return out


def fold(parts: list[bytes]) -> bytes:
    """The hash of a right-edge subtree from its complete parts, largest first (folded from the right)."""
    h = parts[-1]
    for p in reversed(parts[:-1]):
        h = hash_children(p, h)
    return h


def _perfect(hashes: list[bytes]) -> bytes:
    """The root of a complete subtree from its 2**k bottom hashes, in order."""
    while len(hashes) > 1:
        hashes = [hash_children(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def build_tile(bottom: list[bytes]) -> bytes:
    """A tile's row from its 16 bottom hashes: every level, bottom first, root last."""
    out, row = list(bottom), list(bottom)
    while len(row) > 1:
        row = [hash_children(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        out += row
    return b"".join(out)


def tile_key(level: int, idx: int) -> int:
    return (level << KEY_SHIFT) + idx


def part_key(level: int, idx: int, width: int) -> int:
    """The key of tile ``(level, idx)`` as it stood with ``width`` (1..15) of its 16 bottom nodes (level >= 1)."""
    return PARTS + (level << (KEY_SHIFT + HEIGHT)) + (idx << HEIGHT) + width


def build_part(bottom: list[bytes]) -> bytes:
    """A partial tile's row: the nodes complete over its first ``len(bottom)`` bottom nodes, zeros elsewhere."""
    out = [bytes(HASH)] * (2 * WIDTH - 1)
    row, r = list(bottom), 0
    while row:
        out[_OFFSET[r] : _OFFSET[r] + len(row)] = row
        row = [hash_children(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        r += 1
    return b"".join(out)


def tile_last_leaf(level: int, idx: int) -> int:
    """The last leaf under tile ``(level, idx)``: the tile is complete once the tree is larger than this."""
    return ((idx + 1) << (HEIGHT * (level + 1))) - 1


def _place(level: int, idx: int) -> tuple[int, int, int, int]:
    """Node ``(level, idx)`` as (tile level, tile index, level in the tile, position in that level)."""
    t, r = divmod(level, HEIGHT)
    j = idx >> (HEIGHT - r)
    return t, j, r, idx - (j << (HEIGHT - r))


def tile_node(row: bytes, r: int, pos: int) -> bytes:
    at = (_OFFSET[r] + pos) * HASH
    return row[at : at + HASH]


@functools.lru_cache(maxsize=512)
def _fetch_sql(tiles: int, leaf_ranges: int, pg: bool) -> str:
    """One statement: tiles (whole or partial) by primary key, and ranges of leaves.

    A UNION ALL: one index seek per part, one round trip, and a text that depends only on the counts, so
    the driver keeps it prepared. Only the text is cached, never a hash.
    """
    blob = "hashes" if pg else "CAST(hashes AS BLOB)"  # SQLite: an edited cell may be text; bytea cannot
    parts = [f"SELECT 1, key, {blob} FROM log_tiles WHERE key = ?"] * tiles + [
        "SELECT 0, idx, hash FROM log_leaves WHERE idx >= ? AND idx < ?"
    ] * leaf_ranges
    return _sql(pg, " UNION ALL ".join(parts))


def fetch_nodes(cur: Any, pg: bool, keys: Iterable[tuple[int, int]], stored: int) -> dict[tuple[int, int], bytes]:
    """The nodes named by ``keys`` in a stored tree of ``stored`` leaves, in one statement; missing ones absent.

    A node in a complete tile is a slice of the tile; one in the ragged edge is a slice of the partial
    tile that was as wide as it needs, or (level 0) folded from at most 15 leaves. Written for the
    proof's cost (one pass to plan, one to answer, integer keys throughout): in CPython the bookkeeping
    per node costs about as much as the B-tree seeks the tiles save.
    """
    plan: list[tuple[int, int, bool, int, int]] = []  # (level, idx, in a tile, key or first, offset or end)
    tiles: set[int] = set()
    leaf_ranges: set[tuple[int, int]] = set()
    for level, idx in set(keys):
        t, r = divmod(level, HEIGHT)
        j = idx >> (HEIGHT - r)
        if (j + 1) << (HEIGHT * (t + 1)) <= stored:  # its tile is complete
            key = (t << KEY_SHIFT) + j
            tiles.add(key)
            plan.append((level, idx, True, key, (_OFFSET[r] + idx - (j << (HEIGHT - r))) * HASH))
        elif t:  # in the partial tile that was as wide as this node needs
            key = part_key(t, j, ((idx + 1) << r) - (j << HEIGHT))
            tiles.add(key)
            plan.append((level, idx, True, key, (_OFFSET[r] + idx - (j << (HEIGHT - r))) * HASH))
        else:  # folded from leaves
            leaf_ranges.add((idx << r, (idx + 1) << r))
            plan.append((level, idx, False, idx << r, (idx + 1) << r))
    if not plan:
        return {}
    cur.execute(_fetch_sql(len(tiles), len(leaf_ranges), pg), [*tiles, *(v for rng in leaf_ranges for v in rng)])
    found: list[dict[int, bytes]] = [{}, {}]  # leaves by idx, tiles (whole or partial) by key
    for kind, key, data in cur.fetchall():
        found[kind][key] = bytes(data)
    leaves, rows = found
    out: dict[tuple[int, int], bytes] = {}
    for level, idx, in_tile, a, b in plan:
        if in_tile:
            row = rows.get(a)
            if row is not None and len(row) == TILE_BYTES:
                out[level, idx] = row[b : b + HASH]
            continue
        under = [leaves.get(n) for n in range(a, b)]
        if None not in under:
            out[level, idx] = under[0] if b - a == 1 else _perfect(under)  # type: ignore[arg-type]
    return out


def missing(level: int, idx: int, stored: int) -> LogError:
    t, j, _, _ = _place(level, idx)
    if tile_last_leaf(t, j) < stored:
        return LogError(
            f"the log's tile ({t}, {j}), which holds node ({level}, {idx}), is missing: in a database "
            f"from before tiles run {RETILE}; otherwise the stored tree was cut ('pathways verify')"
        )
    return LogError(
        f"the log cannot fold node ({level}, {idx}): leaves or tiles under it are missing ('pathways verify')"
    )


def write(cur: Any, pg: bool, size: int, leaves: list[tuple[str, int, bytes]]) -> int:
    """Append ``leaves`` (chain, seq, hash) to a tree of ``size``: leaf rows, then the tiles they complete."""
    if not leaves:
        return size
    if len(leaves) == 1:  # the write path: one statement (executemany costs more for one row)
        cur.execute(_sql(pg, "INSERT INTO log_leaves (idx, chain, seq, hash) VALUES (?, ?, ?, ?)"), (size, *leaves[0]))
    else:
        cur.executemany(
            _sql(pg, "INSERT INTO log_leaves (idx, chain, seq, hash) VALUES (?, ?, ?, ?)"),
            [(n, c, s, h) for n, (c, s, h) in enumerate(leaves, size)],
        )
    for n in range(size, size + len(leaves)):
        completed_by(cur, pg, n)
    return size + len(leaves)


def completed_by(cur: Any, pg: bool, n: int, *, have: set[tuple[int, int]] | None = None) -> None:
    """Store the tiles that leaf ``n`` (already in ``log_leaves``) completes: one read and one insert each.

    Tile ``(0, j)`` completes with leaf ``16j + 15``, tile ``(1, j)`` with the 256th leaf, and so on. A
    tile whose lower tiles are not all there (a database from before tiles) is left out, not guessed:
    ``verify`` reports it and :func:`retile` builds it. With ``have`` (the tiles already stored),
    only the missing ones are written.
    """
    level, j = 0, n >> HEIGHT
    if n % WIDTH != WIDTH - 1:
        return
    while True:
        if have is None or (level, j) not in have:
            if level == 0:
                cur.execute(
                    _sql(pg, "SELECT hash FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx"),
                    (j << HEIGHT, (j + 1) << HEIGHT),
                )
            else:
                cur.execute(
                    _sql(
                        pg,
                        f"SELECT substr(hashes, {ROOT_AT}, {HASH}) FROM log_tiles WHERE key >= ? "
                        "AND key < ? ORDER BY key",
                    ),
                    (tile_key(level - 1, j << HEIGHT), tile_key(level - 1, (j + 1) << HEIGHT)),
                )
            bottom = [bytes(h) for (h,) in cur.fetchall()]
            if len(bottom) != WIDTH:
                return
            cur.execute(
                _sql(pg, "INSERT INTO log_tiles (key, level, idx, hashes) VALUES (?, ?, ?, ?)"),
                (tile_key(level, j), level, j, build_tile(bottom)),
            )
            if have is not None:
                have.add((level, j))
        if j % WIDTH != WIDTH - 1:
            _part_of_parent(cur, pg, level, j, have)
            return
        level, j = level + 1, j >> HEIGHT


def _part_of_parent(cur: Any, pg: bool, level: int, j: int, have: set[tuple[int, int]] | None) -> None:
    """Tile ``(level, j)`` is complete but not the last of its parent: store the parent as it now stands.

    Partial tiles make the ragged right edge a slice too (no folding in a proof): one more read and
    insert per 16 leaves. Written only above level 0 (the edge of level 0 is the last < 16 leaves).
    """
    parent, width = j >> HEIGHT, (j & (WIDTH - 1)) + 1
    if have is not None and (-1, part_key(level + 1, parent, width)) in have:
        return
    cur.execute(
        _sql(pg, f"SELECT substr(hashes, {ROOT_AT}, {HASH}) FROM log_tiles WHERE key >= ? AND key <= ? ORDER BY key"),
        (tile_key(level, parent << HEIGHT), tile_key(level, j)),
    )
    bottom = [bytes(h) for (h,) in cur.fetchall()]
    if len(bottom) != width:
        return
    cur.execute(
        _sql(pg, "INSERT INTO log_tiles (key, level, idx, hashes) VALUES (?, ?, ?, ?)"),
        (part_key(level + 1, parent, width), level + 1, (parent << HEIGHT) + width, build_part(bottom)),
    )
    if have is not None:
        have.add((-1, part_key(level + 1, parent, width)))


def retile(cur: Any, pg: bool, size: int) -> int:
    """Build every complete tile a log from before tiles lacks (in tree order); the number built."""
    cur.execute("SELECT key FROM log_tiles")
    have = {(-1, k) if k >= PARTS else (k >> KEY_SHIFT, k & ((1 << KEY_SHIFT) - 1)) for (k,) in cur.fetchall()}
    before = len(have)
    for n in range(WIDTH - 1, size, WIDTH):
        completed_by(cur, pg, n, have=have)
    return len(have) - before


class Nodes:
    """``node(level, idx)`` over the stored tree, prefetched in one query for a known set of lookups."""

    def __init__(self, conn: Any) -> None:
        self.cur, self.pg = conn.connection.dbapi_connection.cursor(), conn.dialect.name == "postgresql"
        self.cur.execute("SELECT max(idx) FROM log_leaves")
        last = self.cur.fetchone()[0]
        self.stored = 0 if last is None else last + 1

    def run(self, compute: Any) -> Any:
        """Call ``compute(node)`` twice: once to learn which nodes it reads, then on those nodes, fetched at once."""
        wanted: list[tuple[int, int]] = []

        def record(level: int, idx: int) -> bytes:
            wanted.append((level, idx))
            return bytes(32)

        compute(record)
        store = fetch_nodes(self.cur, self.pg, wanted, self.stored)

        def node(level: int, idx: int) -> bytes:
            try:
                return store[level, idx]
            except KeyError:
                raise missing(level, idx, self.stored) from None

        return compute(node)

    def close(self) -> None:
        self.cur.close()


def inclusion_plan(index: int, size: int) -> list[list[tuple[int, int]]]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]) as the nodes each element folds from, leaf to root.

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
            top.append(ranges(start + k, end))
            end = start + k
        else:
            level = k.bit_length() - 1
            top.append([(level, start >> level)])
            start += k
    levels = (end - start).bit_length() - 1
    return [[(level, (index >> level) ^ 1)] for level in range(levels)] + top[::-1]
