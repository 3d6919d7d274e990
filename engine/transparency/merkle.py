"""Building the Merkle log: stored nodes, roots and proofs (RFC 9162 §2.1).

The tree is the RFC 9162 (Certificate Transparency v2.0, §2.1) Merkle tree,
laid out as Trillian stores it (github.com/google/trillian, "compact ranges"):
only *complete* subtrees are stored, addressed as ``(level, index)``, the
subtree of ``2**level`` leaves that starts at leaf ``index * 2**level``.
Appending leaf ``n`` stores ``(0, n)`` and every parent it completes, so each
node is written once and never changed: the table is append-only like the
chain. A subtree that runs to the right edge of a tree whose size is not a
power of two is never stored; :func:`subtree_hash` folds it from the complete
nodes it decomposes into.

Every function takes ``node(level, index) -> bytes``, a lookup of one stored
node (a database query, a dict): a root, an inclusion proof or a consistency
proof costs O(log n) lookups, never a rescan of the leaves
(:func:`count_lookups` measures it). The verifiers, which must run without
the project, are in ``proofs.py``; this module is the log's side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .proofs import EMPTY_ROOT, MerkleError, hash_children

#: ``node(level, index)``: the hash of the complete subtree of ``2**level``
#: leaves starting at leaf ``index * 2**level``.
NodeLookup = Callable[[int, int], bytes]


def _check_size(size: int, what: str = "tree size") -> None:
    if type(size) is not int or size < 0:
        raise MerkleError(f"{what} must be a non-negative integer, got {size!r}")


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def completed_nodes(n: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` nodes that appending leaf ``n`` (0-based) completes, bottom up.

    Leaf ``n`` itself, then each parent whose right-most leaf it is: one per
    trailing 1-bit of ``n``. On average two nodes per leaf.
    """
    _check_size(n, "leaf index")
    nodes, level, index = [(0, n)], 0, n
    while index & 1:
        level, index = level + 1, index >> 1
        nodes.append((level, index))
    return nodes


def append_leaf(n: int, leaf_hash: bytes, node: NodeLookup) -> list[tuple[int, int, bytes]]:
    """The ``(level, index, hash)`` rows to store when leaf ``n`` is appended.

    ``node`` is only asked for left siblings, which are already stored.
    """
    rows, h = [(0, n, leaf_hash)], leaf_hash
    for level, index in completed_nodes(n)[1:]:
        h = hash_children(node(level - 1, 2 * index), h)
        rows.append((level, index, h))
    return rows


def subtree_hash(start: int, end: int, node: NodeLookup) -> bytes:
    """The RFC 9162 hash of leaves ``[start, end)``, a subtree of some tree.

    ``start`` must be a multiple of a power of two at least ``end - start``
    (every node of an RFC 9162 tree is). A complete range is one lookup; a
    right-edge range is its binary decomposition into complete subtrees,
    largest first, folded from the right: O(log n) lookups.
    """
    width = end - start
    if width <= 0:
        raise MerkleError(f"empty leaf range [{start}, {end})")
    if width & (width - 1) == 0:
        level = width.bit_length() - 1
        if start % width:
            raise MerkleError(f"leaf range [{start}, {end}) is not a subtree")
        return node(level, start >> level)
    if start % (1 << width.bit_length()):
        raise MerkleError(f"leaf range [{start}, {end}) is not a subtree")
    parts, at = [], start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            parts.append(node(level, at >> level))
            at += 1 << level
    h = parts.pop()
    while parts:
        h = hash_children(parts.pop(), h)
    return h


def root_at(size: int, node: NodeLookup) -> bytes:
    """The root of the tree's first ``size`` leaves, from stored nodes."""
    _check_size(size)
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, node)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root of a tree over ``leaf_hashes``, computed in memory (for small trees and checks)."""
    store: dict[tuple[int, int], bytes] = {}
    for n, leaf in enumerate(leaf_hashes):
        for level, index, h in append_leaf(n, leaf, lambda lv, i: store[lv, i]):
            store[level, index] = h
    return root_at(len(leaf_hashes), lambda lv, i: store[lv, i])


def inclusion_proof(index: int, size: int, node: NodeLookup) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]): sibling hashes, leaf to root."""
    _check_size(size)
    _check_size(index, "leaf index")
    if index >= size:
        raise MerkleError(f"leaf index {index} is outside a tree of size {size}")
    path, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start += k
    return path[::-1]


def consistency_proof(old_size: int, new_size: int, node: NodeLookup) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[new_size]); empty when the sizes are equal."""
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if not 0 < old_size <= new_size:
        raise MerkleError(f"no consistency proof from tree size {old_size} to {new_size}")
    path, start, end, m, complete = [], 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append(subtree_hash(start, end, node))
    return path[::-1]


def count_lookups(size: int, index: int | None = None, old_size: int | None = None) -> dict[str, int]:
    """Node lookups that a root, an inclusion proof and a consistency proof take, without a store.

    For benchmarks: ``count_lookups(1_000_000)`` shows each is O(log n)
    (at most ~2 log2 n), whatever the size. Hashes are dummies; only the
    number of ``node`` calls is counted.
    """
    calls = [0]

    def node(level: int, i: int) -> bytes:
        calls[0] += 1
        return bytes(32)

    def measure(run: Callable[[], object]) -> int:
        calls[0] = 0
        run()
        return calls[0]

    index = size // 3 if index is None else index
    old = max(1, size // 3) if old_size is None else old_size
    return {
        "root": measure(lambda: root_at(size, node)),
        "inclusion": measure(lambda: inclusion_proof(index, size, node)),
        "consistency": measure(lambda: consistency_proof(old, size, node)),
    }
