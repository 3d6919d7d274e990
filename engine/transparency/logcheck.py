"""Verifying the log: re-derived from the entries, and checked against a checkpoint published earlier.

:func:`check_tree` trusts no log table: every leaf must name an entry and
carry that entry's hash, each chain's leaves must come in seq order,
every entry must be in the tree or (PostgreSQL) pending, and every stored
node must be the RFC 9162 hash of the leaves below it, recomputed level by
level from the entries. Each stored checkpoint must match the tree at its
size; each is named with its origin.

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

from dataclasses import dataclass, field
from typing import Any

from ..errors import VerificationFailed
from .checkpoints import checkpoints
from .log import LogError, Nodes, _frontier, integrate, origins, root, tree_size
from .merkle import consistency_proof
from .note import NoteError, VerifierKey, open_checkpoint
from .proofs import MerkleError, hash_children, verify_consistency

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


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete node of the tree over ``leaves``, level by level (level 0 is the leaves)."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _entry_leaves(conn: Any, report: LogReport) -> tuple[list[bytes], list[tuple[str, int]]]:
    """The hashes of the entries the leaves name, in tree order; findings for leaves that do not fit."""
    hashes, names, last = [], [], {}
    rows = conn.exec_driver_sql(
        "SELECT l.idx, l.chain, l.seq, l.hash, a.hash FROM log_leaves l "
        "LEFT JOIN audit_log a ON a.chain = l.chain AND a.seq = l.seq ORDER BY l.idx")
    for idx, chain, seq, leaf, entry in rows:
        leaf = bytes(leaf)
        if idx != len(hashes):
            report.fail(len(hashes), f"leaves {len(hashes)} to {idx - 1} are missing from the log")
            return hashes, names
        if entry is None:
            report.fail(idx, f"leaf {idx} names {chain} seq {seq}, an entry that is not in the database: "
                             "it was deleted")
        elif entry != leaf.hex():
            report.fail(idx, f"leaf {idx} is {chain} seq {seq}, logged with hash {leaf.hex()}, but that entry "
                             f"now has hash {entry}: the entry was rewritten after it was logged")
        if seq != last.get(chain, 0) + 1:
            report.fail(idx, f"leaf {idx} is {chain} seq {seq}, but that chain's previous leaf is seq "
                             f"{last.get(chain, 0)}: an entry was appended to the log out of order")
        last[chain] = seq
        hashes.append(bytes.fromhex(entry) if entry else leaf)
        names.append((chain, seq))
    return hashes, names


def check_tree(conn: Any) -> LogReport:
    """Re-derive the whole log from the entries (see the module docstring)."""
    report = LogReport(size=tree_size(conn))
    known = origins(conn)
    if not known:
        report.notes.append("no transparency log (start one with 'pathways log init --key FILE --origin NAME')")
        return report
    leaves, _ = _entry_leaves(conn, report)
    levels = _levels(leaves)
    stored: dict[int, dict[int, bytes]] = {}
    for level, idx, h in conn.exec_driver_sql("SELECT level, idx, hash FROM log_nodes"):
        stored.setdefault(level, {})[idx] = bytes(h)
    for level, want in enumerate(levels):
        have = stored.pop(level, {})
        bad = next((i for i, h in enumerate(want) if have.get(i) != h), None)
        if bad is not None:
            span = f"leaves {bad << level} to {((bad + 1) << level) - 1}"
            what = "is missing" if bad not in have else "does not hash from the entries below it"
            report.fail(bad << level, f"node ({level}, {bad}) over {span} {what}: the stored tree was edited")
        extra = sorted(set(have) - set(range(len(want))))
        if extra:
            report.fail(extra[0] << level, f"node ({level}, {extra[0]}) is beyond the {len(leaves)} leaves")
    for level in sorted(stored):
        report.fail(None, f"{len(stored[level])} stored nodes at level {level} are above the tree's top")
    missing = conn.exec_driver_sql(
        "SELECT a.chain, a.seq FROM audit_log a LEFT JOIN log_leaves l ON l.chain = a.chain AND l.seq = a.seq "
        "LEFT JOIN log_pending p ON p.chain = a.chain AND p.seq = a.seq "
        "WHERE l.idx IS NULL AND p.id IS NULL ORDER BY a.chain, a.seq LIMIT 5").all()
    for chain, seq in missing:
        report.fail(None, f"{chain} seq {seq} is neither in the log nor pending: it was inserted around the engine")
    for cp in checkpoints(conn):
        at = _origin_of(known, cp["origin"])
        ok = cp["size"] <= len(leaves) and _tree_root(levels, cp["size"]).hex() == cp["root"]
        report.notes.append(f"checkpoint {cp['n']}: size {cp['size']}, origin '{cp['origin']}' ({at})"
                            + ("" if ok else " DOES NOT MATCH the tree"))
        if not ok:
            report.fail(None, f"stored checkpoint {cp['n']} (size {cp['size']}, origin '{cp['origin']}') does not "
                              "match the tree re-derived from the entries: the log was rewritten after it was signed")
    report.failures = report.failures[:MAX_FINDINGS]
    return report


def _origin_of(known: list[dict[str, Any]], origin: str) -> str:
    rows = [o for o in known if o["origin"] == origin]
    if not rows:
        return "an origin this database does not record"
    return f"origin {rows[0]['n']} of {len(known)}, from tree size {rows[0]['size']}, {rows[0]['reason']}"


def _tree_root(levels: list[list[bytes]], size: int) -> bytes:
    from .merkle import root_at

    return root_at(size, lambda level, idx: levels[level][idx])


def against(conn: Any, note: str | bytes, vkeys: list[VerifierKey | str]) -> LogReport:
    """Check that the log extends a checkpoint published earlier (signed by one of ``vkeys``)."""
    report = LogReport()
    try:
        cp, names = open_checkpoint(note, vkeys)
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
    _bracket(conn, report, cp.size, vkeys)
    return report


def _walk_down(conn: Any, report: LogReport, size: int) -> None:
    """The stored tree matches the checkpoint: find the first leaf whose entry no longer matches it."""
    entry_report = LogReport()
    leaves, names = _entry_leaves(conn, entry_report)
    if len(leaves) < size:
        report.fail(len(leaves), f"the log's leaves stop at {len(leaves)}; the checkpoint covers {size}")
        return
    levels = _levels(leaves[:size])
    nodes = Nodes(conn)
    try:
        for level, idx in _frontier(size):
            if levels[level][idx] == nodes.run(lambda node, lv=level, i=idx: node(lv, i)):
                continue
            while level > 0:  # the stored node is the checkpoint's; follow the child that differs
                left, right = (nodes.run(lambda node, lv=level - 1, i=c: node(lv, i)) for c in (2 * idx, 2 * idx + 1))
                if hash_children(left, right) != nodes.run(lambda node, lv=level, i=idx: node(lv, i)):
                    report.fail(idx << level, f"the entries under leaves {idx << level} to "
                                              f"{((idx + 1) << level) - 1} differ from the checkpoint's tree "
                                              "(the stored nodes below were edited too)")
                    return
                level, idx = level - 1, (2 * idx if levels[level - 1][2 * idx] != left else 2 * idx + 1)
            chain, seq = names[idx]
            stored = nodes.run(lambda node, i=idx: node(0, i))
            report.fail(idx, f"leaf {idx} ({chain} seq {seq}) differs from the checkpoint: the checkpoint's tree "
                             f"has {stored.hex()} there, the entry now hashes to {leaves[idx].hex()}")
            return
    except (LogError, MerkleError, IndexError) as error:
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


__all__ = ["LogReport", "against", "check_tree", "integrate"]
