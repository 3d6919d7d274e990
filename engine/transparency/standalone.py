"""The stdlib-only verifiers as one block of source, for the export bundle's ``verify.py``.

A reviewer runs ``python3 -I verify.py`` with no project installed, so the
bundle cannot import this package. Instead, ``proofs.py``, ``ed25519.py``
and ``note.py`` each mark the code a verifier needs with ``# BEGIN
STANDALONE`` / ``# END STANDALONE``; :func:`standalone_source` copies those
blocks verbatim, behind the few stdlib imports and the two error classes
they expect (``MerkleError``, ``NoteError``), so the code the bundle runs is
byte for byte the code the test suite runs. Every name the blocks define is
either prefixed (``_ed_``, ``_merkle_``, ``note_``) or specific
(``verify_inclusion``, ``ed25519_verify``), so it can sit beside a script's
own ``verify`` or ``main``.
"""

from __future__ import annotations

import inspect
from types import ModuleType

from . import ed25519, note, proofs

_BEGIN, _END = "# BEGIN STANDALONE", "# END STANDALONE"

_FUTURE = "from __future__ import annotations  # the blocks' annotations, on any Python 3.7+\n"
_HEADER = '''\
# --- Generated from engine/transparency ({modules}) by standalone_source(). ---
# --- Do not edit: regenerate. Standard library only.                       ---
import base64
import hashlib
from dataclasses import dataclass


class MerkleError({base}):
    """A Merkle proof or root does not verify, or its input is malformed."""


class NoteError({base}):
    """A signed note or checkpoint is malformed or does not verify."""

'''


def block(module: ModuleType) -> str:
    """The text between the module's STANDALONE markers, markers included."""
    source = inspect.getsource(module)
    start, end = source.find(_BEGIN), source.find(_END)
    if start < 0 or end < start:
        raise RuntimeError(f"{module.__name__} has no STANDALONE block")  # a packaging bug, not a user error
    return source[start : source.index("\n", end) + 1]


def standalone_source(error_base: str = "Exception", *, future_import: bool = True) -> str:
    """Source of the Merkle, Ed25519 and signed-note verifiers, ready to paste into a script.

    The text starts with ``from __future__ import annotations`` (the blocks
    annotate with forward references and ``X | None``), so it goes at the top
    of the script, after its docstring; a script that has that import already
    passes ``future_import=False`` and may then put the text anywhere.
    ``error_base`` names the class both errors derive from (a script may pass
    its own failure class, defined before this text).
    """
    modules = (proofs, ed25519, note)
    names = ", ".join(m.__name__.rsplit(".", 1)[1] + ".py" for m in modules)
    head = (_FUTURE if future_import else "") + _HEADER.format(modules=names, base=error_base)
    return head + "\n\n".join(block(m) for m in modules)
