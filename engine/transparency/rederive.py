"""Re-deriving the stored tree from the entries as they stream past (``logcheck.check_tree``'s helpers).

:class:`Positions` folds leaves pushed at their index into complete subtrees, starting again after a
hole; :class:`Tiles` streams the stored tiles (and, per tile level, the partial tiles) in the order
their last leaf arrives and compares each, byte for byte, with the one re-derived from the entries.
Memory stays O(log n): 16 bottom nodes per tile level and one row per stream.
"""

from __future__ import annotations

from typing import Any

from .proofs import hash_children
from .tree import HEIGHT, KEY_SHIFT, PARTS, RETILE, WIDTH, build_part, build_tile, fold, part_key, tile_last_leaf

_STREAM = {"stream_results": True, "yield_per": 2000}  # PostgreSQL: a server-side cursor; SQLite reads lazily

#: Tiles in the order a left-to-right walk completes them (by their last leaf, then bottom up). Where a
#: tile is, is its key (the level and idx columns are only for people).
_TILES = (
    f"SELECT t.level, t.idx, t.hashes FROM (SELECT key >> {KEY_SHIFT} AS level, key & {(1 << KEY_SHIFT) - 1} "
    f"AS idx, {{blob}} AS hashes FROM log_tiles WHERE key < {PARTS}) t "
    f"ORDER BY ((CAST(t.idx AS BIGINT) + 1) << CAST({HEIGHT} * (t.level + 1) AS INTEGER)) - 1, t.level"
)


class Positions:
    """Complete subtrees re-derived from leaves pushed at their positions, across holes in the leaf sequence.

    Like ``logcheck._Range``, but each leaf comes with its index: after a hole the stack starts again, so the
    nodes entirely after a hole are still re-derived (and compared), while nodes over a hole are not.
    """

    def __init__(self) -> None:
        self.stack: list[tuple[int, int, bytes]] = []  # (level, idx, hash), a compact range since the last hole

    def push(self, n: int, h: bytes) -> dict[tuple[int, int], bytes]:
        if self.stack and self.stack[-1][0] == 0 and self.stack[-1][1] != n - 1:
            self.stack = []  # a hole: nothing before it joins anything after it
        self.stack.append((0, n, h))
        done = {(0, n): h}
        while len(self.stack) > 1 and self.stack[-1][1] & 1:
            level, idx, right = self.stack[-1]
            left_level, left_idx, left = self.stack[-2]
            if (left_level, left_idx) != (level, idx - 1):
                break
            self.stack[-2:] = [(level + 1, idx >> 1, hash_children(left, right))]
            done[level + 1, idx >> 1] = self.stack[-1][2]
        return done

    def root(self) -> bytes:
        """The root of leaves ``[0, n)``, when no hole came before (the caller knows)."""
        return fold([h for _, _, h in self.stack])


class Tiles:
    """The stored tiles, streamed in the order their last leaf arrives, each compared byte for byte with the
    tile re-derived from the entries (its 16 bottom nodes kept per tile level as they are completed)."""

    def __init__(self, conn: Any) -> None:
        blob = "CAST(hashes AS BLOB)" if conn.dialect.name == "sqlite" else "hashes"  # an edited cell may be text
        self.rows = iter(conn.exec_driver_sql(_TILES.format(blob=blob), execution_options=_STREAM))
        self.pending = next(self.rows, None)
        self.bottom: dict[int, list[tuple[int, bytes]]] = {}  # tile level -> (index, hash) at its bottom level
        self.conn, self.blob = conn, blob
        self.parts: dict[int, Any] = {}  # tile level -> [its partial tiles in key order, the next one]

    def check(self, idx: int, done: dict[tuple[int, int], bytes], fail: Any) -> None:
        derived = {}
        for (level, i), h in sorted(done.items()):
            t, r = divmod(level, HEIGHT)
            if r:
                continue
            row = self.bottom.setdefault(t, [])
            if row and row[-1][0] != i - 1:
                row.clear()  # a hole: this tile cannot be re-derived
            if row or i % WIDTH == 0:
                row.append((i, h))
                if t and len(row) < WIDTH:
                    self._part(t, i >> HEIGHT, [v for _, v in row], fail)
            if len(row) == WIDTH:
                derived[t, i >> HEIGHT] = build_tile([v for _, v in row])
                row.clear()
        while self.pending is not None and tile_last_leaf(self.pending[0], self.pending[1]) <= idx:
            t, j, stored = self.pending
            mine = derived.pop((t, j), None)
            if mine is not None and mine != bytes(stored):
                fail(
                    j << (HEIGHT * (t + 1)),
                    f"{tile_text(t, j)} does not hash from the entries below it: the stored tree was edited",
                )
            self.pending = next(self.rows, None)
        for t, j in sorted(derived):
            fail(
                j << (HEIGHT * (t + 1)),
                f"{tile_text(t, j)} is missing: the stored tree was edited, or the "
                f"database is from before tiles: {RETILE}",
            )

    def _part(self, t: int, j: int, bottom: list[bytes], fail: Any) -> None:
        """Partial tile ``(t, j)`` of this width must be stored as re-derived (each tile level streamed by key)."""
        if t not in self.parts:
            sql = (
                f"SELECT key, {self.blob} FROM log_tiles WHERE key >= {part_key(t, 0, 0)} "
                f"AND key < {part_key(t + 1, 0, 0)} ORDER BY key"
            )
            rows = iter(self.conn.exec_driver_sql(sql, execution_options=_STREAM))
            self.parts[t] = [rows, next(rows, None)]
        stream, want = self.parts[t], part_key(t, j, len(bottom))
        while stream[1] is not None and stream[1][0] < want:  # partials over a hole are not re-derived
            stream[1] = next(stream[0], None)
        first = j << (HEIGHT * (t + 1))
        text = (
            f"partial tile ({t}, {j}) of width {len(bottom)} over leaves {first} to "
            f"{first + (len(bottom) << (HEIGHT * t)) - 1}"
        )
        if stream[1] is None or stream[1][0] != want:
            fail(
                first, f"{text} is missing: the stored tree was edited, or the database is from before tiles: {RETILE}"
            )
        elif bytes(stream[1][1]) != build_part(bottom):
            fail(first, f"{text} does not hash from the entries below it: the stored tree was edited")

    def beyond(self, count: int, fail: Any) -> None:
        if self.pending is not None:
            fail(
                self.pending[1] << (HEIGHT * (self.pending[0] + 1)),
                f"{tile_text(self.pending[0], self.pending[1])} is beyond the {count} leaves",
            )
        for _ in self.rows:  # drain the cursors
            pass
        for rows, _ in self.parts.values():
            for _ in rows:
                pass


def tile_text(t: int, j: int) -> str:
    return f"tile ({t}, {j}) over leaves {j << (HEIGHT * (t + 1))} to {tile_last_leaf(t, j)}"


def last_leaf(level: int, idx: int) -> int:
    return ((idx + 1) << level) - 1


def node_text(level: int, idx: int) -> str:
    return f"node ({level}, {idx}) over leaves {idx << level} to {last_leaf(level, idx)}"
