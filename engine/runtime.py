"""The engine: proposals run through pinned pathway versions, every event on the record.

``Engine`` is the one writer. ``intake`` and ``advance`` each run in ONE
database transaction: lock the proposal (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``SELECT ... FOR UPDATE``), check the actor's role, evaluate the
guards against the stored proposal, fire the trigger on the pathway
version's cached ``transitions`` machine, append the audit entry, update the
state and chain head, commit. A refusal is appended as an entry of kind
``refusal`` in the same way, then raised. So a state change and its entry
commit together or not at all, and two people clicking at once serialise on
the lock: one wins, the other is refused from the new stage.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pathways import Pathway, load, loads
from pathways.errors import NotFound, UsageError
from pathways.fields import FieldProblem, check_data, clean_text
from pathways.model import ADMIN, CLOCK
from pathways.structure import hint

from . import storage as st
from .admission import admit
from .attachments import AttachmentFile
from .audit import GENESIS, REGISTRY, conceal, make_entry, seal, timestamp
from .deadlines import due_at
from .errors import Conflict, InvalidData, Refused
from .hotpath import Statements
from .machines import Compiled, compile_pathway
from .verification import ChainReport, verify_chains

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
ROLE_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Record:
    """One proposal as read in one snapshot: what ``show`` says, its rules, entries and secrets."""

    shown: dict[str, Any]
    pathway: Pathway
    entries: list[st.AuditEntry]
    secrets: list[dict[str, Any]]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Engine:
    """Proposals, users and published pathways in one database.

    ``url`` is ``sqlite:///FILE`` or ``postgresql://...``; the schema is
    created if missing. ``clock`` returns the current time (tests pass a
    fake one; the audit timestamps come from it).
    """

    def __init__(self, url: str = "sqlite:///pathways.db", *, clock: Callable[[], dt.datetime] = _utcnow,
                 synchronous: str = "FULL") -> None:
        self.url = url
        self.db = st.connect(url, synchronous=synchronous)
        self.clock = clock
        self._sql = Statements.for_dialect(self.db.dialect)
        self._pathways: dict[tuple[str, int, str], Pathway] = {}
        self._compiled: dict[tuple[str, int, str], Compiled] = {}

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- users and the registry chain -------------------------------------------------

    def _append(self, conn: Any, chain: str, seq: int, entry: dict[str, Any]) -> str:
        body, digest = seal(entry)
        self._sql.append.run(conn, {"a_chain": chain, "a_seq": seq, "a_hash": digest, "a_body": body})
        return digest

    def _lock_registry(self, conn: Any) -> str:
        """Lock the registry head (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already
        serialises writers) and return it. Taken *before* a check-then-insert (publish,
        add_user), so two people doing the same thing at once cannot both pass the check."""
        query = select(st.meta.c.value).where(st.meta.c.key == "registry_head")
        if self.db.dialect.name == "postgresql":
            query = query.with_for_update()
        return conn.execute(query).scalar_one()

    def _registry(self, conn: Any, kind: str, actor: str, **fields: Any) -> str:
        """Append one event to the registry chain (publications, users), its head row locked."""
        head = self._lock_registry(conn)
        seq = conn.execute(select(func.count()).select_from(st.audit_log)
                           .where(st.audit_log.c.chain == REGISTRY)).scalar() + 1
        entry = make_entry(chain=REGISTRY, seq=seq, prev=head, at=timestamp(self.clock()), kind=kind,
                           actor=actor, **fields)
        digest = self._append(conn, REGISTRY, seq, entry)
        conn.execute(st.meta.update().where(st.meta.c.key == "registry_head").values(value=digest))
        return digest

    def add_user(self, name: str, roles: Iterable[str], *, actor: str | None = None) -> list[str]:
        """Create a user, or add roles to one; recorded in the registry chain. Returns their roles.

        The first user gets the built-in ``admin`` role too; after that only an
        admin may grant roles (a refused grant is recorded). ``--as`` names who
        acts, it does not prove it: whoever can reach the database is trusted,
        and the registry chain keeps who granted what.
        """
        name, roles = name.strip(), [r.strip() for r in roles]
        if name == CLOCK or not USER_NAME.fullmatch(name):
            raise UsageError(f"'{name}' cannot be a user name: use letters, digits and . _ @ - (e.g. ana.lopez)"
                             + ("; the clock is built in" if name == CLOCK else ""))
        if not roles or CLOCK in roles or not all(ROLE_NAME.fullmatch(r) for r in roles):
            raise UsageError("give one or more --role, each a lower-case name (not 'clock', which only the "
                             "engine's clock holds)")
        refused = None
        with self.db.begin() as conn:
            self._lock_registry(conn)
            row = conn.execute(select(st.users.c.roles).where(st.users.c.name == name)).first()
            have = json.loads(row.roles) if row else []
            merged = sorted(set(have) | set(roles))
            first = conn.execute(select(func.count()).select_from(st.users)).scalar() == 0
            by = actor or name
            if first:
                merged = sorted({*merged, ADMIN})
            elif merged != have and ADMIN not in (self._roles(conn, by) or []):
                reason = f"{by} may not grant roles: only a user with the '{ADMIN}' role may"
                self._registry(conn, "refusal", by, trigger="users add", input={"name": name, "roles": roles},
                               reasons=[reason])
                refused = Refused([reason])
            if refused is None and merged != have:
                if row is None:
                    conn.execute(st.users.insert().values(name=name, roles=json.dumps(merged),
                                                          created_at=timestamp(self.clock())))
                else:
                    conn.execute(st.users.update().where(st.users.c.name == name).values(roles=json.dumps(merged)))
                self._registry(conn, "user", by, input={"name": name, "roles": merged})
        if refused:
            raise refused
        return merged

    def roles_in_use(self) -> set[str]:
        """Every role some published pathway declares (to catch a misspelt --role)."""
        return {role for p in self.pathways() for role in self.pathway(p["id"], p["version"]).roles}

    def users(self) -> list[dict[str, Any]]:
        with st.reading(self.db) as conn:
            rows = conn.execute(select(st.users).order_by(st.users.c.name)).all()
        return [{"name": r.name, "roles": json.loads(r.roles), "created_at": r.created_at} for r in rows]

    def _roles(self, conn: Any, actor: str) -> list[str] | None:
        raw = conn.execute(select(st.users.c.roles).where(st.users.c.name == actor)).scalar()
        return None if raw is None else json.loads(raw)

    # --- pathways ----------------------------------------------------------------------

    def publish(self, source: str | os.PathLike[str] | Pathway, *, actor: str) -> tuple[Pathway, bool]:
        """Store a pathway version. Returns (pathway, True if newly stored).

        The same content again is a no-op; the same id+version with other
        content raises ``Conflict`` (raise ``version`` to change the rules).
        """
        pathway = source if isinstance(source, Pathway) else load(source)
        return self.publish_all([pathway], actor=actor)[0]

    def publish_all(self, pathways: Iterable[Pathway], *, actor: str) -> list[tuple[Pathway, bool]]:
        """Store several versions in one transaction: all of them, or none (a folder of definitions)."""
        pathways = list(pathways)
        out: list[tuple[Pathway, bool]] = []
        with self.db.begin() as conn:
            self._lock_registry(conn)
            if self._roles(conn, actor) is None:  # recorded, committed, then raised below
                reason = f"unknown user '{actor}': add them first with 'pathways users add'"
                for pathway in pathways:
                    self._registry(conn, "refusal", actor, trigger="publish", pathway=pathway.ref, reasons=[reason])
                refused: Refused | None = Refused([reason])
            else:
                refused = None
                for pathway in pathways:
                    if self._stored(conn, pathway):
                        out.append((pathway, False))
                        continue
                    conn.execute(st.pathway_versions.insert().values(
                        pathway_id=pathway.id, version=pathway.version, sha256=pathway.sha256,
                        source=pathway.source, title=pathway.title, published_at=timestamp(self.clock()),
                        published_by=actor))
                    self._registry(conn, "publish", actor, pathway=pathway.ref)
                    out.append((pathway, True))
        if refused:
            raise refused
        return out

    def _stored(self, conn: Any, pathway: Pathway) -> bool:
        """Whether this exact version is published; ``Conflict`` if its id+version holds other rules."""
        pv = st.pathway_versions
        stored = conn.execute(select(pv.c.sha256).where(pv.c.pathway_id == pathway.id,
                                                         pv.c.version == pathway.version)).scalar()
        if stored is not None and stored != pathway.sha256:
            raise Conflict(f"{pathway.id} version {pathway.version} is already published with other content "
                           f"(sha256 {stored[:12]}, yours {pathway.sha256[:12]}); raise 'version' to "
                           "publish changed rules")
        return stored is not None

    def pathway(self, pathway_id: str, version: int | None = None) -> Pathway:
        """A published version (the latest by default)."""
        with st.reading(self.db) as conn:
            return self._pathway_for(conn, pathway_id, version)

    def pathways(self) -> list[dict[str, Any]]:
        with st.reading(self.db) as conn:
            rows = conn.execute(select(st.pathway_versions).order_by(
                st.pathway_versions.c.pathway_id, st.pathway_versions.c.version)).all()
        return [{"id": r.pathway_id, "version": r.version, "title": r.title, "sha256": r.sha256,
                 "published_at": r.published_at, "published_by": r.published_by} for r in rows]

    def _pathway_for(self, conn: Any, pathway_id: str, version: int | None, sha256: str | None = None) -> Pathway:
        """A stored version, parsed once and cached (a version never changes: the key includes its sha256)."""
        if version is not None and sha256 is not None and (pathway_id, version, sha256) in self._pathways:
            return self._pathways[(pathway_id, version, sha256)]
        pv = st.pathway_versions
        query = select(pv).where(pv.c.pathway_id == pathway_id)
        query = query.where(pv.c.version == version) if version is not None else query.order_by(pv.c.version.desc())
        row = conn.execute(query.limit(1)).first()
        if row is None:
            known = [r[0] for r in conn.execute(select(pv.c.pathway_id).distinct())]
            raise NotFound(f"no published pathway '{pathway_id}'" + (f" version {version}" if version else "")
                           + (hint(pathway_id, known) or (f"; published: {', '.join(known)}" if known
                                                           else "; publish one with 'pathways publish FILE'")))
        key = (row.pathway_id, row.version, row.sha256)
        if key not in self._pathways:
            pathway = loads(row.source, f"<{row.pathway_id} v{row.version}>")
            if pathway.sha256 != row.sha256:
                raise Conflict(f"stored pathway {row.pathway_id} v{row.version} does not match its sha256")
            self._pathways[key] = pathway
        return self._pathways[key]

    def _compiled_for(self, conn: Any, pathway_id: str, version: int | None, sha256: str | None = None) -> Compiled:
        """The state machine and compiled guards of a stored version, built once (only writers need them)."""
        if version is not None and sha256 is not None and (pathway_id, version, sha256) in self._compiled:
            return self._compiled[(pathway_id, version, sha256)]  # the hot path: no query
        pathway = self._pathway_for(conn, pathway_id, version, sha256)  # the latest, when version is None
        key = (pathway.id, pathway.version, pathway.sha256)
        if key not in self._compiled:
            self._compiled[key] = compile_pathway(pathway)
        return self._compiled[key]

    # --- proposals -----------------------------------------------------------------------

    def _lock(self, conn: Any, proposal_id: str, actor: str) -> Any:
        """The proposal row, locked, with ``actor_roles`` (JSON, or None for an unknown actor)."""
        row = self._sql.lock.first(conn, {"pid": proposal_id, "actor": actor})
        if row is None:
            raise NotFound(f"no proposal '{proposal_id}' (see 'pathways list')")
        return row

    def _store_extras(self, conn: Any, chain: str, seq: int, kept: dict[str, tuple],
                      files: list[AttachmentFile]) -> None:
        for name, (salt, value) in kept.items():
            conn.execute(st.secrets.insert().values(chain=chain, seq=seq, field=name, salt=salt,
                                                    value=json.dumps(value)))
        if files:  # stored once by content; a second writer of the same file at the same moment is no error
            insert = (pg_insert if self.db.dialect.name == "postgresql" else sqlite_insert)(st.attachments)
            conn.execute(insert.on_conflict_do_nothing(index_elements=["sha256"]),
                         [{"sha256": f.sha256, "size": f.size, "content": f.content} for f in files])

    def intake(self, pathway_id: str, data: Mapping[str, Any], *, actor: str,
               attachments: Iterable[str | os.PathLike[str]] = ()) -> str:
        """Open a proposal on the latest published version of a pathway; returns its id."""
        files = [AttachmentFile.read(a) for a in attachments]
        return self._intake(pathway_id, dict(data), actor, files)

    def _intake(self, pathway_id: str, data: dict[str, Any], actor: str, files: list[AttachmentFile]) -> str:
        now = self.clock()
        try:
            actor = clean_text("--as", actor)
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        with self.db.begin() as conn:
            compiled = self._compiled_for(conn, pathway_id, None)
            pathway = compiled.pathway
            if self._roles(conn, actor) is None:  # recorded, committed, then raised below
                reason = f"unknown user '{actor}': add them first with 'pathways users add'"
                self._registry(conn, "refusal", actor, trigger="intake", pathway=pathway.ref, reasons=[reason])
                refused = Refused([reason])
            else:
                refused = None
                clean, problems = check_data(pathway, data, intake=True)
                if problems:
                    raise InvalidData(problems)
                if self.db.dialect.name == "postgresql":  # numbering: one intake per pathway at a time
                    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"intake:{pathway.id}"})
                count = conn.execute(select(func.count()).select_from(st.proposals)
                                     .where(st.proposals.c.pathway_id == pathway.id)).scalar()
                pid = f"{pathway.id}-{count + 1:04d}"
                shown, kept = conceal(clean, pathway.confidential)
                entry = make_entry(chain=pid, seq=1, prev=GENESIS, at=timestamp(now), kind="intake", actor=actor,
                                   dest=pathway.initial, pathway=pathway.ref, input=shown,
                                   attachments=[f.ref for f in files])
                digest = self._append(conn, pid, 1, entry)
                self._store_extras(conn, pid, 1, kept, files)
                conn.execute(st.proposals.insert().values(
                    id=pid, pathway_id=pathway.id, version=pathway.version, sha256=pathway.sha256,
                    state=pathway.initial, data=json.dumps(clean), seq=1, head=digest, created_at=timestamp(now),
                    entered_at=timestamp(now), due_at=due_at(pathway, pathway.initial, clean, now)))
        if refused:
            raise refused
        return pid

    def advance(self, proposal_id: str, trigger: str, *, actor: str, rationale: str | None = None,
                updates: Mapping[str, Any] | None = None,
                attachments: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Any]:
        """Fire ``trigger`` on a proposal, or record the refusal and raise ``Refused``.

        Returns ``{"id", "trigger", "from", "to", "seq", "hash"}``.
        """
        files = [AttachmentFile.read(a) for a in attachments]
        return self._advance(proposal_id, trigger, actor, rationale, dict(updates or {}), files, clock=False)

    def _advance(self, pid: str, trigger: str, actor: str, rationale: str | None, updates: dict[str, Any],
                 files: list[AttachmentFile], *, clock: bool, expect_seq: int | None = None) -> Any:
        now = self.clock()
        try:
            rationale = clean_text("--rationale", (rationale or "").strip()) or None
            actor = clean_text("--as", actor)
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        with self.db.begin() as conn:
            row = self._lock(conn, pid, actor)
            if expect_seq is not None and row.seq != expect_seq:
                return None  # the clock's view is stale: someone acted since it looked; it looks again next tick
            compiled = self._compiled_for(conn, row.pathway_id, row.version, row.sha256)
            pathway = compiled.pathway
            roles = [CLOCK] if clock else (None if row.actor_roles is None else json.loads(row.actor_roles))
            data = json.loads(row.data)
            entered = dt.datetime.fromisoformat(row.entered_at.replace("Z", "+00:00"))
            t = pathway.transition(row.state, trigger)
            admission = admit(pathway, row.state, trigger, actor=actor, roles=roles, rationale=rationale,
                              updates=updates, attached=bool(files))
            reasons, role, clean = list(admission.reasons), admission.role, admission.updates
            conditions: list[dict[str, Any]] = []
            if t is not None and admission.inputs_ok:
                context = compiled.context(data, proposal_id=pid, state=row.state,
                                           days_in_stage=(now - entered).days, inputs=clean,
                                           rationale=rationale or "", actor=actor, roles=roles or [], now=now)
                results = compiled.guards.run(t, context)
                conditions = [r.as_entry() for r in results]
                reasons += [r.reason() for r in results if not r.result]
            shown, kept = conceal(clean, pathway.confidential)
            seq = row.seq + 1
            common = dict(chain=pid, seq=seq, prev=row.head, at=timestamp(now), actor=actor, role=role,
                          trigger=trigger, source=row.state, pathway=pathway.ref, conditions=conditions,
                          rationale=rationale, input=shown, attachments=[f.ref for f in files])
            if reasons:
                digest = self._append(conn, pid, seq, make_entry(kind="refusal", dest=t.dest if t else None,
                                                                 reasons=reasons, **common))
                self._store_extras(conn, pid, seq, kept, files)  # what was attempted is evidence too
                self._sql.bump.run(conn, {"b_id": pid, "b_seq": seq, "b_head": digest})
            else:
                dest = compiled.fire(row.state, trigger)
                digest = self._append(conn, pid, seq, make_entry(kind="transition", dest=dest, **common))
                self._store_extras(conn, pid, seq, kept, files)
                data.update(clean)
                if dest != row.state:  # a new stage: its clock starts now
                    entered = now
                self._sql.move.run(conn, {"b_id": pid, "b_state": dest, "b_seq": seq, "b_head": digest,
                                     "b_data": json.dumps(data), "b_due": due_at(pathway, dest, data, entered),
                                     "b_entered": timestamp(entered)})
        if reasons:
            raise Refused(reasons, seq=seq, hash=digest)
        return {"id": pid, "trigger": trigger, "from": row.state, "to": dest, "seq": seq, "hash": digest}

    def tick(self) -> list[dict[str, Any]]:
        """Fire every due deadline transition, as the clock. Returns what moved or was refused.

        A firing the rules refuse (say, a protest is pending) is recorded once;
        the clock tries again only after something else is recorded on that
        proposal, so an hourly cron does not fill the trail with the same refusal.
        """
        now = timestamp(self.clock())
        p = st.proposals
        with st.reading(self.db) as conn:
            due = conn.execute(select(p.c.id, p.c.state, p.c.pathway_id, p.c.version, p.c.sha256, p.c.seq)
                               .where(p.c.due_at <= now).order_by(p.c.id)).all()
            work = []
            for r in due:
                stage = self._pathway_for(conn, r.pathway_id, r.version, r.sha256).stages[r.state]
                if not (stage.deadline and stage.deadline.fires):
                    continue
                body = conn.execute(select(st.audit_log.c.body).where(
                    st.audit_log.c.chain == r.id, st.audit_log.c.seq == r.seq)).scalar_one()
                last = json.loads(body)
                if (last["kind"], last["actor"], last["trigger"]) == ("refusal", CLOCK, stage.deadline.fires):
                    continue  # already refused; nothing has changed since
                work.append((r.id, stage.deadline.fires, r.seq))
        out = []
        for pid, trigger, seq in work:
            try:
                moved = self._advance(pid, trigger, CLOCK, "deadline passed", {}, [], clock=True, expect_seq=seq)
            except Refused as refused:
                out.append({"id": pid, "trigger": trigger, "refused": True, "reasons": refused.reasons})
            else:
                if moved is not None:
                    out.append(moved)
        return out

    # --- reading -------------------------------------------------------------------------

    def _row(self, conn: Any, pid: str) -> Any:
        row = conn.execute(select(st.proposals).where(st.proposals.c.id == pid)).first()
        if row is None:
            raise NotFound(f"no proposal '{pid}' (see 'pathways list')")
        return row

    def show(self, proposal_id: str) -> dict[str, Any]:
        """A proposal's state, data and the triggers available now."""
        with st.reading(self.db) as conn:
            return self._show(conn, proposal_id)

    def record(self, proposal_id: str) -> Record:
        """Everything a report or an export needs, read in one snapshot so its parts agree."""
        with st.reading(self.db) as conn:
            shown = self._show(conn, proposal_id)
            return Record(shown, self._pathway_for(conn, shown["pathway"], shown["version"], shown["sha256"]),
                          self._entries(conn, proposal_id), self._secrets(conn, proposal_id))

    def _show(self, conn: Any, proposal_id: str) -> dict[str, Any]:
        row = self._row(conn, proposal_id)
        pathway = self._pathway_for(conn, row.pathway_id, row.version, row.sha256)
        stage = pathway.stages[row.state]
        available = [{"trigger": t.trigger, "to": t.dest, "roles": list(pathway.roles_for(row.state, t)),
                      "requires": list(t.requires), "updates": list(t.updates)} for t in pathway.leaving(row.state)]
        now = timestamp(self.clock())
        return {"id": row.id, "pathway": row.pathway_id, "version": row.version, "sha256": row.sha256,
                "title": pathway.title, "state": row.state, "stage": stage.description, "final": stage.final,
                "outcome": stage.outcome, "data": json.loads(row.data),
                "confidential": sorted(pathway.confidential), "entered_at": row.entered_at, "due_at": row.due_at,
                "overdue": bool(row.due_at and row.due_at < now), "seq": row.seq, "head": row.head,
                "available": available}

    def list(self, *, pathway: str | None = None, state: str | None = None,
             overdue: bool = False) -> list[dict[str, Any]]:
        """Proposals, filtered; a filter naming no published pathway or stage is a usage error."""
        self._check_filters(pathway, state)
        p = st.proposals
        query = select(p.c.id, p.c.pathway_id, p.c.version, p.c.state, p.c.entered_at, p.c.due_at).order_by(p.c.id)
        if pathway:
            query = query.where(p.c.pathway_id == pathway)
        if state:
            query = query.where(p.c.state == state)
        now = timestamp(self.clock())
        if overdue:
            query = query.where(p.c.due_at.is_not(None), p.c.due_at < now)
        with st.reading(self.db) as conn:
            rows = conn.execute(query).all()
        return [{"id": r.id, "pathway": r.pathway_id, "version": r.version, "state": r.state,
                 "entered_at": r.entered_at, "due_at": r.due_at, "overdue": bool(r.due_at and r.due_at < now)}
                for r in rows]

    def _check_filters(self, pathway: str | None, state: str | None) -> None:
        """A misspelt filter would silently list nothing: say so, with a hint."""
        published = self.pathways()
        if pathway and pathway not in {p["id"] for p in published}:
            raise NotFound(f"--pathway: no published pathway '{pathway}'"
                           f"{hint(pathway, sorted({p['id'] for p in published}))}")
        if state:
            stages = {s for p in published if not pathway or p["id"] == pathway
                      for s in self.pathway(p["id"], p["version"]).stages}
            if state not in stages:
                raise UsageError(f"--state: no stage '{state}'{hint(state, sorted(stages))}")

    def entries(self, chain: str) -> list[st.AuditEntry]:
        """The stored entries of one chain, in seq order (bytes as hashed)."""
        with st.reading(self.db) as conn:
            if chain != REGISTRY:
                self._row(conn, chain)
            return self._entries(conn, chain)

    def _entries(self, conn: Any, chain: str) -> list[st.AuditEntry]:
        rows = conn.execute(select(st.audit_log).where(st.audit_log.c.chain == chain)
                            .order_by(st.audit_log.c.seq)).all()
        return [st.AuditEntry(chain=r.chain, seq=r.seq, hash=r.hash, body=r.body) for r in rows]

    def history(self, proposal_id: str) -> list[dict[str, Any]]:
        """Every entry of a proposal, parsed, with its hash."""
        out = []
        for row in self.entries(proposal_id):
            entry = json.loads(row.body)
            entry["hash"] = row.hash
            out.append(entry)
        return out

    def secrets(self, chain: str) -> list[dict[str, Any]]:
        """Confidential values of a chain with their salts (for private exports)."""
        with st.reading(self.db) as conn:
            return self._secrets(conn, chain)

    def _secrets(self, conn: Any, chain: str) -> list[dict[str, Any]]:
        rows = conn.execute(select(st.secrets).where(st.secrets.c.chain == chain)
                            .order_by(st.secrets.c.seq, st.secrets.c.field)).all()
        return [{"seq": r.seq, "field": r.field, "salt": r.salt, "value": json.loads(r.value)} for r in rows]

    def attachment(self, sha256: str) -> bytes:
        with st.reading(self.db) as conn:
            content = conn.execute(select(st.attachments.c.content).where(st.attachments.c.sha256 == sha256)).scalar()
        if content is None:
            raise NotFound(f"no attachment {sha256}")
        return content

    def verify(self, ids: Iterable[str] = (), *, raise_on_failure: bool = True) -> list[ChainReport]:
        """Verify chains (all of them, registry included, when ``ids`` is empty)."""
        with st.reading(self.db) as conn:
            reports = verify_chains(conn, list(ids))
        failed = next((r for r in reports if r.error), None)
        if failed and raise_on_failure:
            raise failed.error  # type: ignore[misc]
        return reports
