"""The transparency log's building blocks: one Merkle log of every audit entry,
checkpoints signed with the log's key and published outside it, and proofs.

What a database cannot prove by itself is that nobody with the file rewrote a
chain whole or dropped its last entries. A checkpoint (a signed tree size and
root) held by someone else can: every later tree must be consistent with it,
and every entry a bundle shows must be included in it.

- ``merkle``: the log's side (pure): which nodes to store when a leaf is
  appended, roots, inclusion and consistency proofs in O(log n) node lookups.
- ``proofs``, ``ed25519``, ``note``: the verifier's side, standard library
  only, so ``standalone.standalone_source()`` can copy it into a bundle's
  ``verify.py``.
- ``keys``: the log's Ed25519 keys and :func:`sign_note` (``cryptography``).

All errors are ``MerkleError`` or ``NoteError`` (``PathwaysError``, exit 1),
or ``UsageError`` (exit 2) for a key file that cannot be read or written.
Nothing here touches the database.
"""

from .ed25519 import verify as ed25519_verify
from .keys import SigningKey, generate_key, load_key, save_key, sign_note
from .merkle import (
    append_leaf,
    completed_nodes,
    consistency_proof,
    count_lookups,
    inclusion_proof,
    root,
    root_at,
    subtree_hash,
)
from .note import Checkpoint, NoteError, NoteSignature, VerifierKey, open_checkpoint, parse_note, verify_note
from .proofs import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    NODE_PREFIX,
    MerkleError,
    hash_children,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
)
from .standalone import standalone_source

__all__ = [
    "EMPTY_ROOT",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "Checkpoint",
    "MerkleError",
    "NoteError",
    "NoteSignature",
    "SigningKey",
    "VerifierKey",
    "append_leaf",
    "completed_nodes",
    "consistency_proof",
    "count_lookups",
    "ed25519_verify",
    "generate_key",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "load_key",
    "open_checkpoint",
    "parse_note",
    "root",
    "root_at",
    "save_key",
    "sign_note",
    "standalone_source",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
]
