"""Verifying stored chains against the proposals that point at them.

The hash walk (``audit.verify_chain``) proves the entries are intact and in
order. This module adds what only the database can say: the proposal's
recorded head and entry count (so a deleted *last* entry is caught), and a
replay of the entries from the initial stage, so a state or a field value
edited in the table without an entry is caught too. Confidential values are
re-checked against the salted hashes their entries carry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pathways.errors import NotFound

from . import storage as st
from .audit import REGISTRY, Stored, salted_hash, verify_chain
from .errors import VerificationFailed


@dataclass(frozen=True)
class ChainReport:
    chain: str
    entries: int
    head: str | None
    error: VerificationFailed | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"chain": self.chain, "ok": self.error is None, "entries": self.entries, "head": self.head,
                "seq": self.error.seq if self.error else None,
                "error": self.error.reason if self.error else None}


def _stored(conn: Any, chain: str) -> list[Stored]:
    rows = conn.execute(select(st.audit_log.c.seq, st.audit_log.c.hash, st.audit_log.c.body)
                        .where(st.audit_log.c.chain == chain).order_by(st.audit_log.c.seq)).all()
    return [Stored(r.seq, r.hash, bytes(r.body)) for r in rows]


def replay(chain: str, entries: list[dict[str, Any]], proposal: Any, secrets: dict[tuple[int, str], Any]) -> None:
    """Re-run the entries; the stored state and data must be what they lead to."""
    if not entries or entries[0].get("kind") != "intake":
        raise VerificationFailed(chain, 1, "the first entry is not the intake")
    state: str | None = None
    data: dict[str, Any] = {}
    where: dict[str, int] = {}
    for e in entries:
        seq = e["seq"]
        if (e.get("pathway") or {}).get("sha256") != proposal.sha256:
            raise VerificationFailed(chain, seq, "entry names another pathway version than the proposal is pinned to")
        for name, value in (e.get("input") or {}).items():
            if isinstance(value, dict) and "salted_sha256" in value:
                secret = secrets.get((seq, name))
                if secret is not None and salted_hash(secret[1], secret[0]) != value["salted_sha256"]:
                    raise VerificationFailed(chain, seq, f"kept value of confidential '{name}' does not match "
                                             "the salted hash in the entry")
        if e["kind"] == "refusal":
            continue
        if e["kind"] == "intake":
            state = e["to"]
        elif e["kind"] == "transition":
            if e["from"] != state:
                raise VerificationFailed(chain, seq, f"entry moves from '{e['from']}', but replay is in '{state}'")
            state = e["to"]
        for name, value in (e.get("input") or {}).items():
            data[name], where[name] = value, seq
    last = entries[-1]["seq"]
    if state != proposal.state:
        raise VerificationFailed(chain, last, f"the proposal's state is '{proposal.state}', but its entries end in "
                                 f"'{state}': the state was changed without an entry")
    stored = json.loads(proposal.data)
    for name in sorted(set(stored) | set(data)):
        have, want = stored.get(name), data.get(name)
        if isinstance(want, dict) and "salted_sha256" in want:
            secret = secrets.get((where[name], name))
            ok = secret is not None and name in stored and salted_hash(have, secret[0]) == want["salted_sha256"]
        else:
            ok = have == want
        if not ok:
            raise VerificationFailed(chain, where.get(name, last), f"field '{name}' holds {have!r}, but the entries "
                                     "record another value: the data was changed without an entry")


def verify_chains(conn: Any, ids: list[str]) -> list[ChainReport]:
    """Verify the named proposals (all chains, registry first, when none are named)."""
    p = st.proposals
    if ids:
        rows = []
        for pid in ids:
            row = conn.execute(select(p).where(p.c.id == pid)).first()
            if row is None and pid != REGISTRY:
                raise NotFound(f"no proposal '{pid}' (see 'pathways list')")
            rows.append(row)
    else:
        rows = [None, *conn.execute(select(p).order_by(p.c.id)).all()]
    reports = []
    for row in rows:
        chain = REGISTRY if row is None else row.id
        stored = _stored(conn, chain)
        try:
            if row is None:
                head = conn.execute(select(st.meta.c.value).where(st.meta.c.key == "registry_head")).scalar()
                entries = verify_chain(chain, stored, head=head)
            else:
                entries = verify_chain(chain, stored, head=row.head, count=row.seq)
                kept = conn.execute(select(st.secrets).where(st.secrets.c.chain == chain)).all()
                secrets = {(s.seq, s.field): (s.salt, json.loads(s.value)) for s in kept}
                replay(chain, entries, row, secrets)
            reports.append(ChainReport(chain, len(entries), stored[-1].hash if stored else None))
        except VerificationFailed as failure:
            reports.append(ChainReport(chain, 0, None, failure))
    return reports

