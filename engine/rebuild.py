"""Restoring the caches from the chains after a finding: ``pathways rebuild``.

Every table but the append-only evidence is a cache of the chains, so a
city whose ``users``, ``proposals``, ``pathway_versions`` or ``meta`` rows
were edited can restore them without hand-editing: the registry's replay
gives the users and the registry head, each chain's replay gives its
proposal row, and the proposal counters are set at or past every number in
use (never lowered: a number is never reused). The rules text of a version
is the one thing a chain cannot give back (entries hold its sha256, not its
text): a row whose text no longer hashes to what was published is restored
from a definition file that does (``--rules FILE``).

The evidence itself cannot be rebuilt: a chain that does not verify, a
missing confidential value or attached file, stays a finding, and is
listed as not restored. The rebuild is recorded in the registry chain (kind
``rebuild``) with the tables, keys and columns it changed, never their
values (the registry travels in bundles). Only an admin may rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text

from pathways import Pathway
from pathways.model import ADMIN

from . import storage as st
from .audit import REGISTRY
from .errors import Refused
from .verification import derive

if TYPE_CHECKING:
    from .runtime import Engine


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild changed and what it could not restore."""

    changed: list[dict[str, Any]]
    unrecoverable: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "unrecoverable": self.unrecoverable}


def rebuild(engine: Engine, *, actor: str, rules: Iterable[Pathway] = ()) -> Rebuilt:
    """Re-derive every cache in one transaction (writers wait); recorded in the registry chain."""
    offered = {(p.id, p.version, p.sha256): p for p in rules}
    with engine.db.begin() as conn:
        if engine.db.dialect.name == "postgresql":  # nobody writes while the caches are rewritten
            conn.execute(text("LOCK TABLE proposals, users, meta, pathway_versions, responses IN EXCLUSIVE MODE"))
        first = derive(conn, compiled={}, keep=False)
        reg = first.registry
        if first.reports[0].error is not None and reg.seq == 0:
            raise Refused([f"the registry chain does not verify ({first.reports[0].error}): the caches cannot "
                           "be derived from it"])
        if ADMIN not in (reg.roles(actor) or ()):
            reason = f"{actor} may not rebuild: only a user with the '{ADMIN}' role may"
            engine._registry(conn, "refusal", actor, trigger="rebuild", reasons=[reason])
            refused = Refused([reason])
        else:
            refused = None
            changed = _rules(conn, reg, offered) + _users(conn, reg) + _registry_head(conn, reg)
            derived = derive(conn, compiled=engine._compiled, keep=True)
            changed += (_proposals(conn, derived.proposals) + _counters(conn, derived.counters)
                        + _responses(conn, derived.proposals))
            removed = {c["key"] for c in changed if c["table"] == "proposals" and c["columns"][0].startswith(
                "(row removed")}
            unrecoverable = [f"{r.chain} seq {r.error.seq}: {r.error.reason}" for r in derived.reports
                             if r.error is not None and r.chain != REGISTRY and r.chain not in derived.proposals
                             and r.chain not in removed]
            engine._registry(conn, "rebuild", actor, input={"changed": changed, "unrecoverable": len(unrecoverable)})
            engine._reg = type(engine._reg)()  # the in-memory replay is rebuilt on the next write
    if refused:
        raise refused
    return Rebuilt(changed, unrecoverable)


def _rules(conn: Any, reg: Any, offered: dict[tuple[str, int, str], Pathway]) -> list[dict[str, Any]]:
    """Rows of published versions: missing or edited ones from the definition files offered, if they match."""
    from pathways import loads

    from .verification import _rules_problem

    pv, out = st.pathway_versions, []
    rows = {(r.pathway_id, r.version): r for r in conn.execute(select(pv))}
    for key, pub in sorted(reg.publications.items()):
        row = rows.get(key)
        broken = row is None or _rules_problem(row, pub.sha256, {}) is not None
        source = row.source if row is not None and not broken else None
        if broken:
            found = offered.get((pub.id, pub.version, pub.sha256))
            if found is None:
                continue  # stays a finding: say which file would restore it
            source = found.source
        title = loads(source, f"<{pub.id} v{pub.version}>").title  # type: ignore[arg-type]
        want = {"pathway_id": pub.id, "version": pub.version, "sha256": pub.sha256, "source": source,
                "title": title, "published_at": pub.at, "published_by": pub.actor}
        columns = sorted(k for k in want if row is None or getattr(row, k) != want[k])
        if columns:
            conn.execute(pv.delete().where(pv.c.pathway_id == pub.id, pv.c.version == pub.version))
            conn.execute(pv.insert().values(**want))
            out.append({"table": "pathway_versions", "key": f"{pub.id} v{pub.version}", "columns": columns})
    for key in sorted(set(rows) - set(reg.publications)):
        conn.execute(pv.delete().where(pv.c.pathway_id == key[0], pv.c.version == key[1]))
        out.append({"table": "pathway_versions", "key": f"{key[0]} v{key[1]}", "columns": ["(row removed)"]})
    return out


def _users(conn: Any, reg: Any) -> list[dict[str, Any]]:
    u, out = st.users, []
    rows = {r.name: r for r in conn.execute(select(u))}
    granted = reg.users()
    for name in sorted(set(rows) | set(granted)):
        row = rows.get(name)
        if name not in granted:
            conn.execute(u.delete().where(u.c.name == name))
            out.append({"table": "users", "key": name, "columns": ["(row removed)"]})
            continue
        want = {"name": name, "roles": json.dumps(sorted(granted[name])), "created_at": reg.created[name]}
        columns = sorted(k for k in want if row is None or (st.cell(row.roles) != sorted(granted[name])
                                                             if k == "roles" else getattr(row, k) != want[k]))
        if columns:
            conn.execute(u.delete().where(u.c.name == name))
            conn.execute(u.insert().values(**want))
            out.append({"table": "users", "key": name, "columns": columns})
    return out


def _set_meta(conn: Any, key: str, value: str) -> bool:
    m = st.meta
    have = conn.execute(select(m.c.value).where(m.c.key == key)).first()
    if have is not None and have.value == value:
        return False
    conn.execute(m.delete().where(m.c.key == key))
    conn.execute(m.insert().values(key=key, value=value))
    return True


def _registry_head(conn: Any, reg: Any) -> list[dict[str, Any]]:
    return [{"table": "meta", "key": key, "columns": ["value"]}
            for key, value in (("registry_head", reg.head), ("registry_seq", str(reg.seq)))
            if _set_meta(conn, key, value)]


def _counters(conn: Any, counters: dict[str, int]) -> list[dict[str, Any]]:
    m, out = st.meta, []
    for pathway_id, last in sorted(counters.items()):
        key = f"next_id:{pathway_id}"
        have = conn.execute(select(m.c.value).where(m.c.key == key)).scalar()
        keep = max(last, st.number(have) or 0)
        if _set_meta(conn, key, str(keep)):
            out.append({"table": "meta", "key": key, "columns": ["value"]})
    return out


def _responses(conn: Any, derived: dict[str, Any]) -> list[dict[str, Any]]:
    """Which opportunity each response answers, as its intake entry names it."""
    r, out = st.responses, []
    want = {pid: d.links.parent["id"] for pid, d in derived.items() if d.links is not None and d.links.parent}
    have = dict(conn.execute(select(r.c.child, r.c.parent)).all())
    for child in sorted(set(want) | set(have)):
        if have.get(child) == want.get(child):
            continue
        conn.execute(r.delete().where(r.c.child == child))
        if child in want:
            conn.execute(r.insert().values(child=child, parent=want[child]))
        out.append({"table": "responses", "key": child,
                    "columns": ["parent"] if child in want else ["(row removed: no such response)"]})
    return out


def _proposals(conn: Any, derived: dict[str, Any]) -> list[dict[str, Any]]:
    p, out = st.proposals, []
    rows = {r.id: r for r in conn.execute(select(p))}
    for pid, d in sorted(derived.items()):
        want = {**d.row(), "data": json.dumps(d.data)}
        row = rows.get(pid)
        columns = sorted(k for k in want if row is None or (
            st.cell(row.data) != d.data if k == "data" else getattr(row, k) != want[k]))
        if columns:
            conn.execute(p.delete().where(p.c.id == pid))
            conn.execute(p.insert().values(**want))
            out.append({"table": "proposals", "key": pid,
                        "columns": columns if row is not None else ["(row restored)"]})
    chained = {r[0] for r in conn.execute(select(st.audit_log.c.chain).where(st.audit_log.c.seq == 1))}
    for pid in sorted(set(rows) - chained):
        conn.execute(p.delete().where(p.c.id == pid))
        out.append({"table": "proposals", "key": pid, "columns": ["(row removed: no entries)"]})
    return out
