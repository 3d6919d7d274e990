"""Verifying the log: re-derived from the entries, and checked against a checkpoint published earlier.

:func:`check_tree` trusts no log table: every leaf must name an entry and
carry that entry's hash, each chain's leaves must come in seq order,
every entry must be in the tree or (PostgreSQL) pending, every complete
tile must be stored and be, byte for byte, the RFC 9162 hashes recomputed
from the entries (so must any node row a database from before tiles
kept). It streams: leaves in index order folded into a compact range
(O(log n) hashes), tiles and node rows ordered by their last leaf and
compared as that leaf completes them, so memory does not grow with the
tree. It reports every problem (the first :data:`MAX_FINDINGS`, then a
count), going on past a hole in the leaves. Each stored checkpoint must
match the tree at its size; each is named with its origin.
:func:`verify_log` is ``verify``'s log part (one snapshot).

:func:`against` is what the database cannot do alone: a checkpoint kept
outside it (signature checked with a key the reviewer trusts, not one the
database names) must be a prefix of today's tree (RFC 9162 §2.1.4
consistency). That catches a chain rewritten whole and re-hashed, a
proposal deleted with its entries, the last registry entries removed: any
change to the first ``size`` leaves changes the root. Where the stored
tree still matches the checkpoint, the walk down from it names the first
leaf whose entry differs; where the log tables were rewritten too, the
signed checkpoints kept in the database bracket the range that disagrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pathways.errors import UsageError

from ..errors import VerificationFailed
from .checkpoints import checkpoints
from .log import LogError, Nodes, integrate, origins, root, started, tree_size
from .merkle import consistency_proof
from .note import NoteError, VerifierKey, open_checkpoint
from .proofs import EMPTY_ROOT, MerkleError, hash_children, verify_consistency
from .rederive import _STREAM, Positions, Tiles, last_leaf, node_text
from .tree import frontier

LOG = "log"
MAX_FINDINGS = 10


@dataclass
class LogReport:
    """What the log check found: lines to show, and failures (``VerificationFailed`` with chain "log")."""

    size: int = 0
    notes: list[str] = field(default_factory=list)
    failures: list[VerificationFailed] = field(default_factory=list)

    def fail(self, leaf: int | None, reason: str) -> None:
        self.failures.append(VerificationFailed(LOG, leaf, reason))

    def as_dict(self) -> dict[str, Any]:
        """The shape of a chain's report (``verify --json``), with the log's own keys added."""
        first = self.failures[0] if self.failures else None
        return {"chain": LOG, "ok": not self.failures, "entries": self.size, "head": None,
                "seq": first.seq if first else None, "error": first.reason if first else None,
                "size": self.size, "notes": self.notes,
                "failures": [{"leaf": f.seq, "reason": f.reason} for f in self.failures]}


#: Every leaf in tree order, with the entry it names (NULL: deleted) and that chain's previous leaf's seq.
_LEAVES = ("SELECT l.idx, l.chain, l.seq, l.hash, a.hash, lag(l.seq) OVER (PARTITION BY l.chain ORDER BY l.idx) "
           "FROM log_leaves l LEFT JOIN audit_log a ON a.chain = l.chain AND a.seq = l.seq ORDER BY l.idx")
_RANGE = ("SELECT l.idx, l.chain, l.seq, l.hash, a.hash FROM log_leaves l "
          "LEFT JOIN audit_log a ON a.chain = l.chain AND a.seq = l.seq WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx")
#: Stored nodes (the layout before tiles) in the order a left-to-right walk completes them: by their last
#: leaf, then bottom up.
_NODES = "SELECT level, idx, hash FROM log_nodes ORDER BY ((CAST(idx AS BIGINT) + 1) << level) - 1, level"
#: Tiles in the same order.
#: What a deleted entry re-derives to (no leaf hash is all zeros): the walk down then finds it.
_GONE = bytes(32)


class _Range:
    """A compact range (RFC 9162 / Trillian): the complete subtrees of leaves pushed so far, O(log n) hashes."""

    def __init__(self) -> None:
        self.stack: list[bytes] = []

    def push(self, n: int, h: bytes) -> list[tuple[int, int, bytes]]:
        """Append leaf ``n`` (counted from the range's start); the ``(level, idx, hash)`` nodes it completes."""
        self.stack.append(h)
        done, level = [], 0
        while n & 1:
            right = self.stack.pop()
            h = hash_children(self.stack.pop(), right)
            self.stack.append(h)
            level, n = level + 1, n >> 1
            done.append((level, n, h))
        return done

    def root(self) -> bytes:
        h = self.stack[-1]
        for p in reversed(self.stack[:-1]):
            h = hash_children(p, h)
        return h


def _entry_hash(entry: str | None) -> bytes:
    return bytes.fromhex(entry) if entry else _GONE


def check_tree(conn: Any) -> LogReport:
    """Re-derive the whole log from the entries (see the module docstring), streaming: memory stays flat.

    Leaves come in index order and are folded into a compact range; the stored nodes come ordered by
    their last leaf, so each is compared with the node that leaf completes as it arrives. Every problem
    is reported, the first :data:`MAX_FINDINGS` in full and the rest counted, as ``verify`` does for
    chains: a hole in the leaves is named and the walk goes on past it (the nodes over the hole, and
    checkpoints beyond it, cannot be re-derived and are said to be unchecked).
    """
    report = LogReport(size=tree_size(conn))
    known = origins(conn)
    if not started(conn):
        report.notes.append("no transparency log (a database from before the log: start it with "
                            "'pathways log init --key FILE --origin NAME')")
        return report
    if not known:
        report.notes.append("the log has no origin yet: name it and make its key with "
                            "'pathways log init --key FILE --origin NAME' (checkpoints need both)")
    signed = checkpoints(conn)
    want: dict[int, bytes] = {}  # checkpoint size -> the re-derived root at that size
    sizes = {cp["size"] for cp in signed}
    if 0 in sizes:
        want[0] = EMPTY_ROOT
    found = [0]

    def fail(leaf: int | None, reason: str) -> None:
        found[0] += 1
        if len(report.failures) < MAX_FINDINGS:
            report.fail(leaf, reason)

    tree, expected, hole = Positions(), 0, None  # hole: the first leaf position missing, if any
    nodes = iter(conn.exec_driver_sql(_NODES, execution_options=_STREAM))
    pending = next(nodes, None)
    tiles = Tiles(conn)
    for idx, chain, seq, leaf, entry, prev in conn.exec_driver_sql(_LEAVES, execution_options=_STREAM):
        leaf = bytes(leaf)
        if idx < expected:  # only a negative index sorts before 0
            fail(None, f"a leaf at index {idx} ({chain} seq {seq}) is not a position in the tree")
            continue
        if idx > expected:
            fail(expected, f"leaves {expected} to {idx - 1} are missing from the log")
            hole = expected if hole is None else hole
        if entry is None:
            fail(idx, f"leaf {idx} names {chain} seq {seq}, an entry that is not in the database: it was deleted")
        elif entry != leaf.hex():
            fail(idx, f"leaf {idx} is {chain} seq {seq}, logged with hash {leaf.hex()}, but that entry "
                      f"now has hash {entry}: the entry was rewritten after it was logged")
        if seq != (prev or 0) + 1:
            fail(idx, f"leaf {idx} is {chain} seq {seq}, but that chain's previous leaf is seq {prev or 0}: "
                      "an entry was appended to the log out of order")
        done = tree.push(idx, bytes.fromhex(entry) if entry else leaf)
        expected = idx + 1
        while pending is not None and last_leaf(pending[0], pending[1]) <= idx:
            level, i, stored = pending
            derived = done.get((level, i))
            if derived is not None and derived != bytes(stored):
                fail(i << level, f"{node_text(level, i)} (a row from before tiles) does not hash from the entries "
                                 "below it: the stored tree was edited")
            pending = next(nodes, None)  # a node over a hole cannot be re-derived: the hole is the finding
        tiles.check(idx, done, fail)
        if expected in sizes and hole is None:
            want[expected] = tree.root()
    if pending is not None:
        fail(pending[1] << pending[0], f"node ({pending[0]}, {pending[1]}) is beyond the {expected} leaves")
    tiles.beyond(expected, fail)
    for _ in nodes:  # drain the cursor
        pass
    missing = conn.exec_driver_sql(
        "SELECT a.chain, a.seq FROM audit_log a LEFT JOIN log_leaves l ON l.chain = a.chain AND l.seq = a.seq "
        "LEFT JOIN log_pending p ON p.chain = a.chain AND p.seq = a.seq "
        "WHERE l.idx IS NULL AND p.id IS NULL ORDER BY a.chain, a.seq LIMIT ?"
        if conn.dialect.name == "sqlite" else
        "SELECT a.chain, a.seq FROM audit_log a LEFT JOIN log_leaves l ON l.chain = a.chain AND l.seq = a.seq "
        "LEFT JOIN log_pending p ON p.chain = a.chain AND p.seq = a.seq "
        "WHERE l.idx IS NULL AND p.id IS NULL ORDER BY a.chain, a.seq LIMIT %s", (MAX_FINDINGS + 1,)).all()
    for chain, seq in missing[:MAX_FINDINGS]:
        fail(None, f"{chain} seq {seq} is neither in the log nor pending: it was inserted around the engine")
    if len(missing) > MAX_FINDINGS:
        found[0] += 1  # at least one more; its count is not worth a scan of its own
    for cp in signed:
        at = _origin_of(known, cp["origin"])
        if hole is not None and cp["size"] > hole:
            report.notes.append(f"checkpoint {cp['n']}: size {cp['size']}, origin '{cp['origin']}' ({at}) NOT "
                                f"CHECKED: leaf {hole} is missing, so the tree cannot be re-derived to its size")
            continue
        ok = cp["size"] in want and want[cp["size"]].hex() == cp["root"]
        report.notes.append(f"checkpoint {cp['n']}: size {cp['size']}, origin '{cp['origin']}' ({at})"
                            + ("" if ok else " DOES NOT MATCH the tree"))
        if not ok:
            fail(None, f"stored checkpoint {cp['n']} (size {cp['size']}, origin '{cp['origin']}') does not "
                       "match the tree re-derived from the entries: the log was rewritten after it was signed")
    if found[0] > len(report.failures):
        report.notes.append(f"{found[0] - len(report.failures)} more problem(s) found, not listed "
                            f"(the first {MAX_FINDINGS} are)")
    return report


def _origin_of(known: list[dict[str, Any]], origin: str) -> str:
    rows = [o for o in known if o["origin"] == origin]
    if not rows:
        return "an origin this database does not record"
    return f"origin {rows[0]['n']} of {len(known)}, from tree size {rows[0]['size']}, {rows[0]['reason']}"


def against(conn: Any, note: str | bytes, vkeys: Sequence[VerifierKey | str]) -> LogReport:
    """Check that the log extends a checkpoint published earlier (signed by one of ``vkeys``)."""
    report = LogReport()
    try:
        cp, names = open_checkpoint(note, list(vkeys))
    except NoteError as error:
        report.fail(None, f"the checkpoint does not verify with the trusted key: {error.message}")
        return report
    known = origins(conn)
    report.notes.append(f"checkpoint of size {cp.size} signed by {', '.join(names)}; origin '{cp.origin}': "
                        f"{_origin_of(known, cp.origin)}")
    if known and cp.origin not in {o["origin"] for o in known}:
        report.fail(None, f"the checkpoint's origin '{cp.origin}' is not one of this log's origins "
                          f"({', '.join(o['origin'] for o in known)})")
    size = report.size = tree_size(conn)
    if cp.size > size:
        report.fail(size, f"the log has {size} leaves, fewer than the {cp.size} the checkpoint covers: "
                          f"leaves {size} to {cp.size - 1} were removed")
    else:
        try:
            stored = root(conn, cp.size)
        except LogError as error:
            stored = None
            report.fail(None, f"the stored tree cannot give the root at size {cp.size}: {error.message}")
        if stored == cp.root:
            _walk_down(conn, report, cp.size)
            if not report.failures and cp.size:
                now = root(conn, size)
                nodes = Nodes(conn)
                try:
                    proof = nodes.run(lambda node: consistency_proof(cp.size, size, node))
                finally:
                    nodes.close()
                verify_consistency(cp.size, size, cp.root, now, proof)
                report.notes.append(f"the log ({size} leaves) extends the checkpoint ({cp.size} leaves): "
                                    f"consistency proof of {len(proof)} hashes verified")
            return report
        if stored is not None:
            report.fail(None, f"the log's root at size {cp.size} is {stored.hex()}, not the checkpoint's "
                              f"{cp.root.hex()}: the log is not an extension of the checkpoint")
    _bracket(conn, report, cp.size, list(vkeys))
    return report


class _Gap(Exception):
    def __init__(self, idx: int) -> None:
        self.idx = idx


def _derive(conn: Any, start: int, end: int) -> bytes:
    """The hash of leaves ``[start, end)`` re-derived from the entries they name, streamed."""
    tree, n = _Range(), start
    sql = _RANGE if conn.dialect.name == "sqlite" else _RANGE.replace("?", "%s")
    for idx, _, _, _, entry in conn.exec_driver_sql(sql, (start, end), execution_options=_STREAM):
        if idx != n:
            raise _Gap(n)
        tree.push(idx - start, _entry_hash(entry))
        n += 1
    if n != end:
        raise _Gap(n)
    return tree.root()


def _walk_down(conn: Any, report: LogReport, size: int) -> None:
    """The stored tree matches the checkpoint: find the first leaf whose entry no longer matches it.

    Each complete subtree of the checkpoint's tree is re-derived from the entries (streamed); where one
    differs from the stored node, the walk follows the child that differs: at most twice the leaves read.
    """
    nodes = Nodes(conn)

    def stored(level: int, idx: int) -> bytes:
        return nodes.run(lambda node: node(level, idx))

    try:
        for level, idx in frontier(size):
            if _derive(conn, idx << level, (idx + 1) << level) == stored(level, idx):
                continue
            while level > 0:  # the stored node is the checkpoint's; follow the child that differs
                left, right = stored(level - 1, 2 * idx), stored(level - 1, 2 * idx + 1)
                if hash_children(left, right) != stored(level, idx):
                    report.fail(idx << level, f"the entries under leaves {idx << level} to "
                                              f"{((idx + 1) << level) - 1} differ from the checkpoint's tree "
                                              "(the stored nodes below were edited too)")
                    return
                level, idx = level - 1, 2 * idx
                if _derive(conn, idx << level, (idx + 1) << level) == left:
                    idx += 1
            row = conn.exec_driver_sql(
                _RANGE if conn.dialect.name == "sqlite" else _RANGE.replace("?", "%s"), (idx, idx + 1)).first()
            _, chain, seq, leaf, entry = row
            now = f"the entry now hashes to {entry}" if entry else "the entry is not in the database: it was deleted"
            report.fail(idx, f"leaf {idx} ({chain} seq {seq}) differs from the checkpoint: the checkpoint's tree "
                             f"has {bytes(leaf).hex()} there, {now}")
            return
    except _Gap as gap:
        report.fail(gap.idx, f"leaf {gap.idx} is missing from the log: the checkpoint covers {size} leaves")
    except (LogError, MerkleError) as error:
        report.fail(None, f"the stored tree under the checkpoint is incomplete: {error}")
    finally:
        nodes.close()


def _bracket(conn: Any, report: LogReport, size: int, vkeys: list[VerifierKey | str]) -> None:
    """The stored tree was rewritten: bracket the disagreement with the signed checkpoints the database kept."""
    agree, differ = 0, size
    for cp in checkpoints(conn):
        try:
            old, _ = open_checkpoint(cp["note"], vkeys)  # only checkpoints the trusted key signed count
            now = root(conn, old.size) if 0 < old.size <= report.size else None
        except (NoteError, LogError, MerkleError):
            continue
        if now == old.root and old.size <= size:
            agree = max(agree, old.size)
        elif now != old.root and old.size <= size:
            differ = min(differ, old.size)
    differ = differ if differ > agree else size
    report.fail(agree, f"the first {agree} leaves agree with a signed checkpoint; the change is among leaves "
                       f"{agree} to {differ - 1} (the stored tree was rewritten, so it cannot say which)")


def verify_log(db: Any, against_note: str | bytes | None = None, vkeys: Sequence[VerifierKey | str] = ()) -> LogReport:
    """``verify``'s log part, in one snapshot of ``db`` (an SQLAlchemy engine, or an ``Engine``).

    The tree re-derived from the entries (:func:`check_tree`) and, with ``against_note`` (a checkpoint
    published earlier, its text), that the log extends it (:func:`against`), trusting only ``vkeys``:
    never the keys the database names. Failures of ``against`` come first.
    """
    from ..storage import reading

    if against_note is not None and not vkeys:
        raise UsageError("checking against a checkpoint needs the log's published key (the database's own "
                         "record of its key proves nothing)")
    with reading(getattr(db, "db", db)) as conn:
        report = check_tree(conn)
        if against_note is not None:
            found = against(conn, against_note, vkeys)
            report.notes += found.notes
            report.failures = found.failures + report.failures
    return report


__all__ = ["LogReport", "against", "check_tree", "integrate", "verify_log"]
