"""The Merkle log: upstream vectors, proofs from stored nodes against a naive tree, tampering.

``tests/vectors/merkle`` is transparency-dev/merkle's ``testdata`` (Apache-2.0,
see its README): in each folder the unmutated case verifies and every
mutation (``leafIdx-plus-@1``, ``trailing-garbage``, ...) must raise
``MerkleError``. The generated proofs are checked against a second, naive
implementation of RFC 9162 §2.1 written here from the RFC's recursive
definitions, so a shared mistake would have to be made twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.transparency import (
    EMPTY_ROOT,
    MerkleError,
    append_leaf,
    completed_nodes,
    consistency_proof,
    count_lookups,
    inclusion_proof,
    root,
    root_at,
    standalone_source,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)
from pathways.errors import PathwaysError

VECTORS = Path(__file__).parent / "vectors" / "merkle"


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _run_inclusion(case: dict) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    verify_inclusion(_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))


def _run_consistency(case: dict) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    verify_consistency(case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    assert case["wantErr"] == (path.name != "happy-path.json" and path.name != "matching-root-and-leaf.json")
    if case["wantErr"]:
        with pytest.raises(MerkleError):
            _run_inclusion(case)
    else:
        _run_inclusion(case)


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    if case["wantErr"]:
        with pytest.raises(MerkleError):
            _run_consistency(case)
    else:
        _run_consistency(case)


def test_every_vector_folder_has_exactly_one_passing_case() -> None:
    for folder in {p.parent for p in _cases("inclusion") + _cases("consistency")}:
        passing = [p.name for p in folder.glob("*.json") if not json.loads(p.read_text())["wantErr"]]
        assert len(passing) <= 1, folder
    assert len(_cases("inclusion")) + len(_cases("consistency")) > 150


# --- a naive RFC 9162 §2.1 tree, straight from the recursive definitions ---


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 2 ** math.floor(math.log2(len(leaves) - 1))
    return _h(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 2 ** math.floor(math.log2(len(leaves) - 1))
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    if m == len(leaves):
        return [] if complete else [_mth(leaves)]
    k = 2 ** math.floor(math.log2(len(leaves) - 1))
    if m <= k:
        return _subproof(m, leaves[:k], complete) + [_mth(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [_mth(leaves[:k])]


def _leaf(i: int) -> bytes:
    return _h(b"\x00" + f"entry {i}".encode())


def _store(size: int) -> dict[tuple[int, int], bytes]:
    store: dict[tuple[int, int], bytes] = {}
    for n in range(size):
        for level, index, h in append_leaf(n, _leaf(n), lambda lv, i: store[lv, i]):
            assert (level, index) not in store, "a node is written once"
            store[level, index] = h
    return store


MAX = 70
STORE = _store(MAX)
LEAVES = [_leaf(i) for i in range(MAX)]


def _node(level: int, index: int) -> bytes:
    return STORE[level, index]


def test_append_stores_the_leaf_and_every_parent_it_completes() -> None:
    assert completed_nodes(0) == [(0, 0)]
    assert completed_nodes(7) == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert completed_nodes(10) == [(0, 10)]
    assert len(STORE) == sum(len(completed_nodes(n)) for n in range(MAX)) == 2 * MAX - bin(MAX).count("1")


@pytest.mark.parametrize("size", range(0, MAX + 1))
def test_roots_match_the_naive_tree(size: int) -> None:
    assert root_at(size, _node) == _mth(LEAVES[:size]) == root(LEAVES[:size])


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_proofs_match_the_naive_tree_and_verify(size: int) -> None:
    top = _mth(LEAVES[:size])
    for index in range(size):
        proof = inclusion_proof(index, size, _node)
        assert proof == _path(index, LEAVES[:size])
        verify_inclusion(LEAVES[index], index, size, proof, top)
    for old in range(1, size + 1):
        proof = consistency_proof(old, size, _node)
        assert proof == _subproof(old, LEAVES[:size], True)
        verify_consistency(old, size, _mth(LEAVES[:old]), top, proof)


def test_a_range_that_is_no_subtree_is_refused() -> None:
    for start, end in [(1, 3), (2, 5), (4, 7 + 4)]:
        with pytest.raises(MerkleError, match="is not a subtree"):
            subtree_hash(start, end, _node)
    assert subtree_hash(8, 11, _node) == _mth(LEAVES[8:11])


def test_the_public_surface_is_pinned() -> None:
    import engine.transparency as transparency

    assert sorted(transparency.__all__) == sorted(PUBLIC)
    assert all(hasattr(transparency, name) for name in PUBLIC)


PUBLIC = """EMPTY_ROOT LEAF_PREFIX NODE_PREFIX Checkpoint MerkleError NoteError NoteSignature SigningKey
VerifierKey append_leaf completed_nodes consistency_proof count_lookups ed25519_verify generate_key
hash_children hash_leaf inclusion_proof load_key open_checkpoint parse_note root root_at save_key
sign_note standalone_source subtree_hash verify_consistency verify_inclusion verify_note""".split()


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_proofs_cost_logarithmic_lookups_even_for_a_million_leaves() -> None:
    counts = count_lookups(1_000_000)
    assert max(counts.values()) <= 2 * 20, counts
    assert count_lookups(2**20)["root"] == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda: verify_inclusion("not bytes", 0, 1, [], bytes(32)),  # type: ignore[arg-type]
        lambda: verify_inclusion(bytes(32), -1, 1, [], bytes(32)),
        lambda: verify_inclusion(bytes(32), True, 2, [bytes(32)], bytes(32)),  # type: ignore[arg-type]
        lambda: verify_inclusion(bytes(32), 0, 2, "proof", bytes(32)),  # type: ignore[arg-type]
        lambda: verify_inclusion(bytes(32), 0, 2, [None], bytes(32)),  # type: ignore[list-item]
        lambda: verify_inclusion(bytes(32), 0, 2**64, [], bytes(31)),
        lambda: verify_consistency(3, 2, bytes(32), bytes(32), []),
        lambda: verify_consistency(1, 2, bytes(32), 7, [bytes(32)]),  # type: ignore[arg-type]
        lambda: verify_consistency(1.0, 2, bytes(32), bytes(32), [bytes(32)]),  # type: ignore[arg-type]
        lambda: inclusion_proof(5, 5, _node),
        lambda: consistency_proof(0, 5, _node),
    ],
)
def test_malformed_input_is_a_merkle_error_not_a_crash(call) -> None:
    with pytest.raises(MerkleError) as caught:
        call()
    assert isinstance(caught.value, PathwaysError) and caught.value.exit_code == 1


def test_messages_say_what_did_not_match() -> None:
    proof = inclusion_proof(3, 10, _node)
    with pytest.raises(MerkleError, match="wrong inclusion proof length: got 3 hashes, expected 4"):
        verify_inclusion(LEAVES[3], 3, 10, proof[:3], _mth(LEAVES[:10]))
    with pytest.raises(MerkleError, match=f"computed root {_mth(LEAVES[:10]).hex()} does not match expected root 00"):
        verify_inclusion(LEAVES[3], 3, 10, proof, bytes(32))


@given(data=st.data())
def test_any_flipped_byte_in_a_proof_or_root_is_rejected(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, MAX), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size - 1), label="old")
    proof = inclusion_proof(index, size, _node)
    cproof = consistency_proof(old, size, _node)
    roots = [_mth(LEAVES[:old]), _mth(LEAVES[:size])]
    # a flat byte string of everything a verifier is given; flip one byte of it
    flat = bytearray(b"".join([*proof, *cproof, *roots]))
    at = data.draw(st.integers(0, len(flat) - 1), label="byte")
    flat[at] ^= data.draw(st.integers(1, 255), label="xor")
    parts = [bytes(flat[i : i + 32]) for i in range(0, len(flat), 32)]
    p, c, (r_old, r_new) = parts[: len(proof)], parts[len(proof) : -2], parts[-2:]
    if p != proof or r_new != roots[1]:
        with pytest.raises(MerkleError):
            verify_inclusion(LEAVES[index], index, size, p, r_new)
    if c != cproof or [r_old, r_new] != roots:
        with pytest.raises(MerkleError):
            verify_consistency(old, size, r_old, r_new, c)


def test_the_standalone_copy_verifies_the_vectors_under_python_isolated(tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(
        standalone_source()
        + "\n\nimport base64, json, sys\n"
        + "failed = 0\n"
        + "for path in sys.argv[1:]:\n"
        + "    case = json.load(open(path))\n"
        + "    b = base64.b64decode\n"
        + "    proof = [b(p) for p in case['proof'] or []]\n"
        + "    try:\n"
        + "        if 'leafIdx' in case:\n"
        + "            leaf, index, size = b(case['leafHash']), case['leafIdx'], case['treeSize']\n"
        + "            verify_inclusion(leaf, index, size, proof, b(case['root']))\n"
        + "        else:\n"
        + "            verify_consistency(case['size1'], case['size2'], b(case['root1']), b(case['root2']), proof)\n"
        + "        ok = True\n"
        + "    except MerkleError:\n"
        + "        ok = False\n"
        + "    failed += ok == case['wantErr']\n"
        + "print(failed)\n"
    )
    paths = [str(p) for p in _cases("inclusion") + _cases("consistency")]
    done = subprocess.run([sys.executable, "-I", str(script), *paths], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
