"""Whole entries a public output cannot show: each replaced by its hash alone, marked ``redacted``, with why.

Staff text is checked when it is recorded (``engine.disclosure``), but entries
recorded before those checks (entry format 1, and format 2 before values given
with ``--set`` were checked) may quote a confidential value inside their hashed
bytes. Such bytes cannot be edited: the next entry's ``prev`` and the
transparency log commit to them. So a public bundle leaves the entry out and
puts this one canonical JSON line (RFC 8785) in its place in ``trail.jsonl``::

    {"hash": H, "prev": P, "proposal": ID, "reason": WHY, "redacted": true, "seq": N}

What a reviewer can still check (the bundle's ``verify.py`` does): line N+1's
``prev`` is ``H`` (those bytes are intact, so the chain links *through* the
redacted entry), line N-1 hashes to ``P``, ``seq`` is the line number, and in
a bundle exported under the city's transparency log ``H`` is a leaf of the
signed tree (its inclusion proof). What it cannot: that the hidden bytes
really hold ``P`` and were lawful by the rules (the entry's kind, actor, stage
and values are gone with it); the replay resumes from the next entry's own
``from`` and times. ``pathways verify`` on the city's database judges the
entry whole. A private bundle never redacts.

Which entries: those whose stored bytes, as written or decoded, hold a
spelling of a kept value (the same needles as the disclosure check, so the
final check of the whole bundle then passes, or still names what is left).
The reason names the fields, never the values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pathways.canonical import canonical_bytes

from .disclosure import Needle, describe, scan

#: The keys of a redacted line, exactly (the bundle's verify.py accepts no others).
KEYS = frozenset({"hash", "prev", "proposal", "reason", "redacted", "seq"})


def reason(fields: Iterable[str], version: int) -> str:
    """Why an entry is redacted: which kept values its bytes quote (named, not shown), and why it stands."""
    quoted = ", ".join(describe(f) for f in sorted(set(fields)))
    before = (
        "entry format 1, recorded before staff text was checked"
        if version < 2
        else "recorded before values given with --set were checked"
    )
    return (
        f"its hashed bytes quote {quoted} ({before}); they cannot be edited without breaking the chain, "
        "so the whole entry is left out of this public bundle"
    )


def unpublishable(
    entries: Iterable[Mapping[str, Any]], bodies: Iterable[bytes], needles: Iterable[Needle]
) -> dict[int, str]:
    """``{seq: reason}`` for each entry whose stored bytes hold a spelling of a kept value (or a salt)."""
    found = list(needles)
    out: dict[int, str] = {}
    for e, body in zip(entries, bodies, strict=True):
        hits = scan({"entry": body}, found)
        if hits:
            out[e["seq"]] = reason((h.field for h in hits), e.get("v", 1))
    return out


def redacted_line(proposal: str, seq: int, digest: str, prev: str, why: str) -> bytes:
    """The line that stands for a redacted entry in a public ``trail.jsonl`` (canonical JSON, no newline)."""
    return canonical_bytes(
        {"hash": digest, "prev": prev, "proposal": proposal, "reason": why, "redacted": True, "seq": seq}
    )
