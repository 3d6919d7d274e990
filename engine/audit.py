"""Audit entries: canonical bytes, chained hashes, and chain verification.

Each event is one JSON object stored as its RFC 8785 (JSON Canonicalization
Scheme) bytes, exactly as hashed; nothing is ever re-serialised from columns.
An entry's hash is the RFC 6962 Merkle *leaf* hash of those bytes,
``sha256(0x00 || bytes)``, so a transparency log (a Merkle tree over the
entries) can be layered on later without re-hashing. Each entry names its
chain (a proposal id, or ``registry`` for publications and users), its
``seq`` (1..n) and the hash of the entry before it (``prev``; 64 zeros for
the first): changing, removing or reordering any entry breaks the walk.

Confidential field values never appear in an entry: the entry carries
``{"salted_sha256": sha256(salt || canonical(value))}`` and the value and its
random salt live in ``audit_secrets``. A public export drops the secrets and
still verifies; a private one can prove each value against its entry; and the
salt stops anyone from confirming a guessed value (a price, say) by hashing it.

From format version 3 every proposal entry also carries ``data``: the salted
hash of the proposal's whole data after the entry (:func:`data_digest`), so
the write path can check the cached ``proposals.data`` against the chain
before judging guards on it, at the cost of one hash. One salt per chain,
kept in ``audit_secrets`` as ``:data`` (value null) at the first entry that
records a digest: a public bundle cannot confirm a guess at the data.

Everything here is a pure function, tested without a database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets as _random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pathways.canonical import NotCanonical, canonical_bytes, parse_canonical

from .errors import VerificationFailed

#: RFC 6962 §2.1: leaf hashes are prefixed with 0x00, interior nodes with 0x01.
LEAF_PREFIX = b"\x00"
#: ``prev`` of the first entry of every chain.
GENESIS = "0" * 64
#: Format version of a proposal entry (the ``v`` key): 3 adds ``data`` and ``calendar`` (see ``make_entry``).
ENTRY_VERSION = 3
#: Format version of a registry entry: version 3 changed only proposal entries, so the registry stays at 2.
REGISTRY_VERSION = 2
#: Format versions a verifier accepts (older entries keep verifying as they are).
VERSIONS = (1, 2, 3)
#: The ``audit_secrets`` field holding the salt of a chain's data digests (its value is null).
DATA_SECRET = ":data"
REGISTRY = "registry"


def timestamp(moment: dt.datetime) -> str:
    """UTC with microseconds and a Z: ``2026-11-25T08:41:40.123456Z``.

    ``isoformat`` gives the same text as ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` for years 1000-9999 at a
    third of the cost (the replay computes a due time per stage it enters).
    """
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")[:26] + "Z"


def leaf_hash(body: bytes) -> str:
    """The RFC 6962 leaf hash of an entry's canonical bytes, in hex."""
    return hashlib.sha256(LEAF_PREFIX + body).hexdigest()


def seal(entry: dict[str, Any]) -> tuple[bytes, str]:
    """Canonical bytes of an entry and their hash."""
    body = canonical_bytes(entry)
    return body, leaf_hash(body)


def new_salt() -> str:
    return _random.token_hex(16)


def salted_hash(value: Any, salt: str) -> str:
    """``sha256(salt bytes || canonical JSON of value)`` in hex."""
    return hashlib.sha256(bytes.fromhex(salt) + canonical_bytes(value)).hexdigest()


def data_digest(data: Mapping[str, Any], salt: str) -> str:
    """The salted hash a version 3 entry records of the proposal's whole data after it.

    Salted like a confidential value (the data holds them in clear), so the
    digest in a public bundle confirms no guess; one salt per chain, so an
    entry that leaves the data as it was carries the digest before it and
    costs nothing, and the write path needs one extra hash to trust its cache.
    """
    return salted_hash(data, salt)


def conceal(values: Mapping[str, Any], confidential: Collection[str]) -> tuple[dict[str, Any], dict[str, tuple]]:
    """Split field values into what an entry shows and the secrets kept aside.

    A confidential value is shown as ``{"salted_sha256": ...}`` under a fresh
    random salt; ``kept`` maps its name to ``(salt, value)`` for the secrets
    table. Other values are shown as they are.
    """
    shown: dict[str, Any] = {}
    kept: dict[str, tuple[str, Any]] = {}
    for name, value in values.items():
        if name in confidential:
            salt = new_salt()
            shown[name] = {"salted_sha256": salted_hash(value, salt)}
            kept[name] = (salt, value)
        else:
            shown[name] = value
    return shown, kept


def make_entry(
    *,
    chain: str,
    seq: int,
    prev: str,
    at: str,
    kind: str,
    actor: str,
    role: str | None = None,
    trigger: str | None = None,
    source: str | None = None,
    dest: str | None = None,
    pathway: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    rationale: str | None = None,
    input: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    v: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One entry with every DESIGN.md key present (null when not applicable).

    Version 2 (this one) adds, on proposal entries, ``registry`` (the registry
    position the entry acted under: ``{"seq", "head"}``), ``entered`` (when the
    proposal entered the stage it is in after the entry) and ``due`` (that
    stage's deadline, or null); refusals resting on refused ``--set`` values
    name them in ``refused_inputs``. Version 1 entries keep verifying as they are.

    Also in version 2 (extended before its release, ``engine.disclosure``): each attachment is recorded
    under a neutral name (``attachment-N`` plus a plain extension) with ``original``, the salted hash of
    its name (kept as ``:attachment-N``); a refusal whose rationale quotes a confidential value records
    ``rationale`` as ``{"salted_sha256": ...}`` (kept as ``:rationale``) and ``withheld``:
    ``[{"what": "rationale", "quotes": [fields]}]``.

    Version 3 adds, on proposal entries, ``data``: ``{"salted_sha256": data_digest(data after the entry,
    the chain's salt)}``. An entry that does not change the data (a refusal, a transition recording
    nothing) carries the digest of the entry before it; the first version 3 entry of a chain keeps the
    salt as ``:data`` in ``audit_secrets``. It also adds ``calendar``: the record of the calendar the
    entry's ``due`` was counted on, ``{"sha256", "zone", "skipped"}`` (``engine.deadlines``), or null when
    there is no due time. Registry entries are unchanged and stay at version 2 (``REGISTRY_VERSION``, the
    default ``v`` for that chain).
    """
    entry = {
        "v": v if v is not None else REGISTRY_VERSION if chain == REGISTRY else ENTRY_VERSION,
        "proposal": chain,
        "seq": seq,
        "prev": prev,
        "at": at,
        "kind": kind,
        "actor": actor,
        "role": role,
        "trigger": trigger,
        "from": source,
        "to": dest,
        "pathway": pathway,
        "conditions": conditions or [],
        "rationale": rationale,
        "input": input or {},
        "attachments": attachments or [],
    }
    entry.update(extra)
    return entry


@dataclass(frozen=True)
class Stored:
    """An entry as stored: its seq, recorded hash and exact bytes."""

    seq: int
    hash: str
    body: bytes


def linked(chain: str, row: Stored, seq: int, prev: str) -> dict[str, Any]:
    """One stored entry checked as link ``seq`` of ``chain``; returns it parsed, or raises naming ``seq``.

    The entry's seq is the next number (a gap means a deleted entry, a repeat
    a duplicate), its stored bytes hash to its recorded hash (edited bytes),
    they are canonical JSON naming this chain and seq, and ``prev`` is the
    previous entry's hash (reordering, splicing).
    """
    if row.seq != seq:
        reason = (f"entry seq {seq} is missing (next stored is seq {row.seq})" if row.seq > seq
                  else f"entry seq {row.seq} appears out of order or twice")
        raise VerificationFailed(chain, seq, reason)
    actual = leaf_hash(row.body)
    if actual != row.hash:
        raise VerificationFailed(chain, seq, f"stored bytes hash to {actual}, but the entry records "
                                 f"{row.hash}: the entry was altered")
    try:
        entry = parse_canonical(row.body)
    except NotCanonical:
        raise VerificationFailed(chain, seq, "entry bytes are not canonical JSON (RFC 8785)") from None
    except (ValueError, RecursionError):
        raise VerificationFailed(chain, seq, "entry bytes are not JSON") from None
    if not isinstance(entry, dict):
        raise VerificationFailed(chain, seq, "entry bytes are not canonical JSON (RFC 8785)")
    if entry.get("proposal") != chain or entry.get("seq") != seq:
        raise VerificationFailed(chain, seq, f"entry names {entry.get('proposal')} seq {entry.get('seq')}: "
                                 "it belongs elsewhere")
    if entry.get("prev") != prev:
        raise VerificationFailed(chain, seq, f"prev is {entry.get('prev')}, expected {prev} "
                                 "(the hash of the entry before): entries were reordered or replaced")
    return entry


def verify_chain(chain: str, rows: Iterable[Stored], head: str | None = None,
                 count: int | None = None) -> list[dict[str, Any]]:
    """Walk one chain; return its parsed entries or raise at the first bad one.

    Each entry must be the next ``linked`` one. Then the last hash must equal
    the ``head`` the proposal records (a deleted last entry leaves no gap, but
    the head gives it away), and the number of entries its ``count``.
    """
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for row in rows:
        entries.append(linked(chain, row, len(entries) + 1, prev))
        prev = row.hash
    expected = len(entries) + 1
    if count is not None and len(entries) < count:
        raise VerificationFailed(chain, len(entries) + 1, f"entry seq {len(entries) + 1} is missing at the end: "
                                 f"{len(entries)} entries stored, but the proposal records {count}")
    if count is not None and len(entries) > count:
        raise VerificationFailed(chain, count + 1, f"entry seq {count + 1} is stored, but the proposal records "
                                 f"only {count}: an entry was appended outside the engine")
    if head is not None and prev != head:
        last = expected - 1
        raise VerificationFailed(chain, last or 1,
                                 f"the recorded head is {head}, but the last entry (seq {last}) hashes to {prev}: "
                                 "the last entry was replaced or removed, or the head was changed")
    return entries
