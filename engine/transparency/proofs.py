"""Verifying Merkle inclusion and consistency proofs (RFC 9162 §2.1), stdlib only.

The transparency log is an RFC 9162 (Certificate Transparency v2.0, §2.1)
Merkle tree over audit entries: a leaf is ``sha256(0x00 || data)``, an
interior node ``sha256(0x01 || left || right)``. Audit entry hashes
(``engine.audit.leaf_hash``) already are leaf hashes, so the log never
re-hashes an entry. The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2
step by step; the expected proof lengths come from Trillian's ``proof``
package (github.com/transparency-dev/merkle, ``decompInclProof``), so that a
proof of the wrong length is named as such instead of as a root mismatch.

Why this module stands apart from ``merkle.py`` (which *builds* proofs): an
export bundle's ``verify.py`` runs with ``python3 -I`` and no project code,
so the code between the ``BEGIN STANDALONE`` and ``END STANDALONE`` markers
is copied verbatim into it (see ``engine.transparency.standalone``). That
block uses only ``hashlib`` and a free name ``MerkleError``: here it is the
project's error (a ``PathwaysError``, exit 1), in the bundle a local class
with the same name. Nothing else is imported into the block, and every
malformed input (non-bytes, wrong lengths, sizes out of range) raises
``MerkleError``, never a raw ``ValueError`` or ``IndexError``.
"""

from __future__ import annotations

import hashlib

from pathways.errors import PathwaysError


class MerkleError(PathwaysError):
    """A Merkle proof or root does not verify, or its input is malformed (exit 1)."""


# BEGIN STANDALONE merkle proofs (stdlib only; needs hashlib and a MerkleError class)
#: RFC 9162 §2.1.1: the domain-separation prefixes of leaf and interior node hashes.
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
#: The root of the empty tree: the hash of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def hash_leaf(data: bytes) -> bytes:
    """``sha256(0x00 || data)``: the hash of one leaf."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """``sha256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _merkle_size(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise MerkleError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _merkle_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        shown = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise MerkleError(f"{what} must be {HASH_SIZE} bytes, got {shown}")
    return value


def _merkle_path(proof: object, expected: int, what: str) -> list[bytes]:
    if not isinstance(proof, (list, tuple)):
        raise MerkleError(f"{what} must be a list of hashes, got {type(proof).__name__}")
    if len(proof) != expected:
        raise MerkleError(f"wrong {what} length: got {len(proof)} hashes, expected {expected}")
    return [_merkle_hash(p, f"{what}[{i}]") for i, p in enumerate(proof)]


def inclusion_proof_length(index: int, size: int) -> int:
    """Hashes in the inclusion proof of leaf ``index`` in a tree of ``size`` (Trillian)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Hashes in the consistency proof from ``old_size`` to ``new_size`` (0 < old < new)."""
    shift = (old_size & -old_size).bit_length() - 1
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length() - shift
    border = bin((old_size - 1) >> (inner + shift)).count("1")
    return (0 if old_size == 1 << shift else 1) + inner + border


def _merkle_match(computed: bytes, expected: bytes, what: str) -> None:
    if computed != expected:
        raise MerkleError(f"{what}: computed root {computed.hex()} does not match expected root {expected.hex()}")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root`` (RFC 9162 §2.1.3.2)."""
    index, size = _merkle_size(index, "leaf index"), _merkle_size(size, "tree size")
    if index >= size:
        raise MerkleError(f"leaf index {index} is outside a tree of size {size}")
    leaf_hash, root = _merkle_hash(leaf_hash, "leaf hash"), _merkle_hash(root, "root")
    path = _merkle_path(proof, inclusion_proof_length(index, size), "inclusion proof")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    _merkle_match(r, root, f"inclusion of leaf {index} in tree of size {size}")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> None:
    """Check that the tree of ``new_size`` extends the tree of ``old_size`` (RFC 9162 §2.1.4.2).

    Equal sizes need an empty proof and equal roots. A proof from the empty
    tree proves nothing (every tree extends it), so ``old_size`` 0 is refused
    rather than accepted vacuously, as Trillian's test vectors require.
    """
    old_size, new_size = _merkle_size(old_size, "old tree size"), _merkle_size(new_size, "new tree size")
    if old_size > new_size:
        raise MerkleError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size == 0:
        raise MerkleError("a consistency proof from the empty tree proves nothing (old tree size is 0)")
    if not isinstance(old_root, bytes) or not isinstance(new_root, bytes):
        raise MerkleError("roots must be bytes")
    if old_size == new_size:
        _merkle_path(proof, 0, "consistency proof")
        _merkle_match(new_root, old_root, f"trees of equal size {old_size}")
        return
    old_root, new_root = _merkle_hash(old_root, "old root"), _merkle_hash(new_root, "new root")
    path = _merkle_path(proof, consistency_proof_length(old_size, new_size), "consistency proof")
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    _merkle_match(fr, old_root, f"old tree of size {old_size}")
    _merkle_match(sr, new_root, f"new tree of size {new_size}")


# END STANDALONE merkle proofs
