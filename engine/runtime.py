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
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pathways import Pathway, load, loads
from pathways.calendar import WEEKENDS, Calendar
from pathways.city import City
from pathways.city import load as load_city
from pathways.errors import NotFound, UsageError
from pathways.fields import FieldProblem, check_data, free_text, one_line_text
from pathways.model import ADMIN, CLOCK
from pathways.structure import hint

from . import responding
from . import storage as st
from .admission import admit, follows_parent, static_problem
from .attachments import AttachmentFile
from .audit import (
    DATA_SECRET,
    GENESIS,
    REGISTRY,
    Stored,
    conceal,
    data_digest,
    leaf_hash,
    make_entry,
    new_salt,
    salted_hash,
    seal,
    timestamp,
)
from .deadlines import due_at
from .disclosure import (
    ATTACHMENT_SECRET,
    INPUT_TEXT,
    RATIONALE_SECRET,
    free_text_fields,
    free_text_quotes,
    known_needles,
    recorded_attachments,
    withheld_reason,
)
from .duties import Duties
from .errors import Conflict, InvalidData, Refused, Tampered, VerificationFailed
from .evaluation import Panels
from .evaluation.recording import PanelActions
from .hotpath import POSITION, Statements
from .letters import LETTER_SECRET, Letter, compose
from .machines import Compiled, compile_pathway
from .registry import PUBLISHER, ROLE_NAME, USER_NAME, Registry
from .transparency import log as tlog
from .verification import PARALLEL_FROM, ChainReport, verify_chains


@dataclass(frozen=True)
class Record:
    """One proposal as read in one snapshot: what ``show`` says, its rules, entries and secrets."""

    shown: dict[str, Any]
    pathway: Pathway
    entries: list[st.AuditEntry]
    secrets: list[dict[str, Any]]


def row_data(row: Any) -> dict[str, Any]:
    """A proposal row's cached data, parsed (``Tampered`` when it is not the JSON object the engine writes)."""
    data = st.cell(row.data, dict)
    if isinstance(data, st.Unreadable):
        raise Tampered(f"{row.id}'s stored data is not the JSON object the engine writes")
    return data


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Engine(PanelActions):
    """Proposals, users and published pathways in one database.

    ``url`` is ``sqlite:///FILE`` or ``postgresql://...``; with ``create``
    (writers) the schema is created if missing, without it (readers) a
    missing database is a usage error and nothing is created. ``clock``
    returns the current time (tests pass a fake one; the audit timestamps
    come from it). ``calendar`` (by default the given ``city``'s) is what
    deadlines count on: business days skip its holidays and closures,
    ``until`` days end in its zone; with neither, weekends only, in UTC. Each
    deadline records the calendar it was counted on, so changing it later
    never changes what earlier entries say.

    Roles and published versions come from the registry chain's replay, which
    the engine keeps in memory and catches up entry by entry (``_registry_at``):
    the ``users`` and ``pathway_versions`` tables are caches for readers, and
    the write path never takes a role or a rule from them.
    """

    def __init__(self, url: str = "sqlite:///pathways.db", *, clock: Callable[[], dt.datetime] = _utcnow,
                 synchronous: str = "FULL", create: bool = True,
                 city: City | Callable[[], City] | None = None, calendar: Calendar | None = None) -> None:
        self.url = url
        self._calendar = calendar
        self.db = st.connect(url, synchronous=synchronous, create=create)
        self.clock = clock
        self._city = city
        self._sql = Statements.for_dialect(self.db.dialect)
        self._sql_position = POSITION
        self._pathways: dict[tuple[str, int, str], Pathway] = {}
        self._compiled: dict[tuple[str, int, str], Compiled] = {}
        self._reg = Registry()
        self._reg_lock = threading.Lock()
        self._local = threading.local()
        self._held: list[Any] = []

    @property
    def calendar(self) -> Calendar:
        """The calendar deadlines are counted on: the one given, else the given city's, else weekends only in UTC
        (never the configuration in force by default: a library call does not change deadlines by the folder it
        runs in). Read when a deadline first needs it; ``verify`` never does (each entry records its own)."""
        if self._calendar is None:
            self._calendar = self.city.calendar if self._city is not None else WEEKENDS
        return self._calendar

    def close(self) -> None:
        for conn in self._held:
            conn.close()
        self._held.clear()
        self.db.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A write transaction on this thread's own connection, kept between transitions.

        Checking a connection out of the pool and back for every transition
        cost about a tenth of one (``bench/bench_advance.py``); a thread keeps
        one instead, and drops it if the database broke it.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self.db.connect()
            self._held.append(conn)
        try:
            with conn.begin():
                yield conn
        except BaseException:
            if conn.invalidated:
                conn.close()
                self._local.conn = None
            raise

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the registry chain -------------------------------------------------------------

    def _registry_at(self, conn: Any, seq: Any, head: Any, end: Any = None) -> Registry:
        """The registry replayed up to the position the database records (seq, head), caught up if behind.

        Called at the start of a writing transaction, before it writes: the
        entries read are committed ones. New entries are verified and judged
        as they are applied; a position the chain does not hold is refused.
        """
        if seq is None or head is None or not (str(seq).isascii() and str(seq).isdigit()):
            raise Tampered("the registry's head is missing from the database (meta)")
        seq = int(seq)
        if end is not None and int(end) != seq:
            raise Tampered(f"the database records the registry as ending at seq {seq}, but its chain holds "
                           f"{end} entries: the recorded head was moved")
        with self._reg_lock:
            reg = self._reg
            if seq < reg.seq:  # entries once committed never go away, unless someone removed them
                raise Tampered(f"the database records the registry as ending at seq {seq}, but this engine has "
                               f"already read its entries up to seq {reg.seq}: registry entries were removed")
            if seq > reg.seq:
                a = st.audit_log
                rows = conn.execute(select(a.c.seq, a.c.hash, a.c.body).where(
                    a.c.chain == REGISTRY, a.c.seq > reg.seq, a.c.seq <= seq).order_by(a.c.seq)).all()
                try:
                    for r in rows:
                        reg.append(Stored(r.seq, r.hash, bytes(r.body)))
                except VerificationFailed as failure:
                    raise Tampered(f"the registry chain does not verify at seq {failure.seq}: {failure.reason}") \
                        from None
            if reg.hash_at(seq) != head:
                raise Tampered(f"the database records registry seq {seq} with head {head}, which the registry "
                               f"chain does not hold (it has {reg.seq} entries)")
            return reg

    def _registry_now(self, conn: Any, *, lock: bool = False) -> Registry:
        """The registry at the position the database records now (``lock``: serialise registry writers)."""
        m = st.meta
        if lock and self.db.dialect.name == "postgresql":
            conn.execute(select(m.c.key).where(m.c.key.in_(("registry_seq", "registry_head"))).with_for_update())
        # One statement, so one snapshot: under READ COMMITTED two reads could straddle another writer's commit.
        seq, head, end = conn.execute(select(*self._sql_position)).one()
        return self._registry_at(conn, seq, head, end or 0)

    def _registry(self, conn: Any, kind: str, actor: str, **fields: Any) -> str:
        """Append one event to the registry chain; its position is read (with this transaction's own writes)."""
        m = st.meta
        query = select(m.c.key, m.c.value).where(m.c.key.in_(("registry_seq", "registry_head")))
        if self.db.dialect.name == "postgresql":  # registry writers one at a time (a refusal needs no other lock)
            query = query.with_for_update()
        found = dict(conn.execute(query).all())
        seq = int(found["registry_seq"]) + 1
        entry = make_entry(chain=REGISTRY, seq=seq, prev=found["registry_head"], at=timestamp(self.clock()),
                           kind=kind, actor=actor, **fields)
        digest = self._append(conn, REGISTRY, seq, entry)
        conn.execute(m.update().where(m.c.key == "registry_head").values(value=digest))
        conn.execute(m.update().where(m.c.key == "registry_seq").values(value=str(seq)))
        return digest

    def _append(self, conn: Any, chain: str, seq: int, entry: dict[str, Any]) -> str:
        body, digest = seal(entry)
        self._sql.append.run(conn, {"a_chain": chain, "a_seq": seq, "a_hash": digest, "a_body": body})
        tlog.append(conn, chain, seq, digest)  # the transparency log (engine/transparency/log.py)
        return digest

    # --- users ----------------------------------------------------------------------------

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
            reg = self._registry_now(conn, lock=True)
            have = sorted(reg.roles(name) or ())
            merged = sorted(set(have) | set(roles))
            by = actor or name
            if not reg.users():
                merged = sorted({*merged, ADMIN})
            elif merged != have and ADMIN not in (reg.roles(by) or ()):
                reason = f"{by} may not grant roles: only a user with the '{ADMIN}' role may"
                self._registry(conn, "refusal", by, trigger="users add", input={"name": name, "roles": roles},
                               reasons=[reason])
                refused = Refused([reason])
            if refused is None and merged != have:
                self._registry(conn, "user", by, input={"name": name, "roles": merged})
                self._cache_user(conn, name, merged)
        if refused:
            raise refused
        return merged

    def revoke(self, name: str, roles: Iterable[str], *, actor: str) -> list[str]:
        """Take roles away from a user (an admin only; recorded). Returns the roles left.

        The last admin cannot lose ``admin``: nobody could grant anything again.
        """
        roles = sorted({r.strip() for r in roles})
        if not roles:
            raise UsageError("give one or more --role to revoke")
        refused = None
        with self.db.begin() as conn:
            reg = self._registry_now(conn, lock=True)
            have = reg.roles(name)
            if have is None:
                raise NotFound(f"no user '{name}' (see 'pathways users list')"
                               f"{hint(name, list(reg.users()))}")
            left = sorted(have - set(roles))
            reason = None
            if ADMIN not in (reg.roles(actor) or ()):
                reason = f"{actor} may not revoke roles: only a user with the '{ADMIN}' role may"
            elif not set(roles) <= have:
                missing = ", ".join(sorted(set(roles) - have))
                reason = f"{name} does not hold {missing} (holds {', '.join(sorted(have))})"
            elif ADMIN in roles and reg.admins() == {name}:
                reason = f"{name} is the last admin: grant '{ADMIN}' to someone else first"
            if reason:
                self._registry(conn, "refusal", actor, trigger="users revoke",
                               input={"name": name, "roles": roles}, reasons=[reason])
                refused = Refused([reason])
            else:
                self._registry(conn, "revoke", actor, input={"name": name, "roles": left, "revoked": roles})
                self._cache_user(conn, name, left)
        if refused:
            raise refused
        return left

    def _cache_user(self, conn: Any, name: str, roles: list[str]) -> None:
        """The users table, for readers: a cache of the registry entry just appended."""
        u = st.users
        if conn.execute(select(u.c.name).where(u.c.name == name)).first() is None:
            at = conn.execute(select(st.meta.c.value).where(st.meta.c.key == "registry_seq")).scalar()
            created = json.loads(conn.execute(select(st.audit_log.c.body).where(
                st.audit_log.c.chain == REGISTRY, st.audit_log.c.seq == int(at))).scalar())["at"]
            conn.execute(u.insert().values(name=name, roles=json.dumps(roles), created_at=created))
        else:
            conn.execute(u.update().where(u.c.name == name).values(roles=json.dumps(roles)))

    def roles_in_use(self) -> set[str]:
        """Every role some published pathway declares (to catch a misspelt --role)."""
        return {role for p in self.pathways() for role in self.pathway(p["id"], p["version"]).roles}

    def users(self) -> list[dict[str, Any]]:
        with st.reading(self.db) as conn:
            rows = conn.execute(select(st.users).order_by(st.users.c.name)).all()
        out = [{"name": r.name, "roles": st.cell(r.roles, list), "created_at": r.created_at} for r in rows]
        bad = next((u for u in out if isinstance(u["roles"], st.Unreadable)), None)
        if bad:
            raise Tampered(f"the users table holds unreadable roles for {bad['name']}")
        return out

    # --- pathways ----------------------------------------------------------------------

    def publish(self, source: str | os.PathLike[str] | Pathway, *, actor: str) -> tuple[Pathway, bool]:
        """Store a pathway version. Returns (pathway, True if newly stored).

        The same content again is a no-op; the same id+version with other
        content raises ``Conflict`` (raise ``version`` to change the rules).
        """
        pathway = source if isinstance(source, Pathway) else load(source)
        return self.publish_all([pathway], actor=actor)[0]

    def publish_all(self, pathways: Iterable[Pathway], *, actor: str) -> list[tuple[Pathway, bool]]:
        """Store several versions in one transaction: all of them, or none (a folder of definitions).

        Publishing needs the ``admin`` or ``publisher`` role (rules decide what
        happens to vendors); a refused publish is recorded.
        """
        pathways = list(pathways)
        out: list[tuple[Pathway, bool]] = []
        refused: Refused | None = None
        with self.db.begin() as conn:
            reg = self._registry_now(conn, lock=True)
            roles = reg.roles(actor)
            if roles is None or not roles & {ADMIN, PUBLISHER}:  # recorded, committed, then raised below
                reason = (f"unknown user '{actor}': add them first with 'pathways users add'" if roles is None else
                          f"{actor} may not publish: it needs the '{ADMIN}' or '{PUBLISHER}' role "
                          f"(an admin grants it: pathways users add {actor} --role {PUBLISHER})")
                for pathway in pathways:
                    self._registry(conn, "refusal", actor, trigger="publish", pathway=pathway.ref, reasons=[reason])
                refused = Refused([reason])
            else:
                for pathway in pathways:
                    pub = reg.published(pathway.id, pathway.version)
                    if pub is not None and pub.sha256 != pathway.sha256:
                        raise Conflict(f"{pathway.id} version {pathway.version} is already published with other "
                                       f"content (sha256 {pub.sha256[:12]}, yours {pathway.sha256[:12]}); raise "
                                       "'version' to publish changed rules")
                    if pub is not None or any(p is not pathway and p.ref == pathway.ref for p, _ in out):
                        out.append((pathway, False))
                        continue
                    at = timestamp(self.clock())
                    self._registry(conn, "publish", actor, pathway=pathway.ref)
                    pv = st.pathway_versions  # a stale cache row of a version never published goes first
                    conn.execute(pv.delete().where(pv.c.pathway_id == pathway.id, pv.c.version == pathway.version))
                    conn.execute(pv.insert().values(
                        pathway_id=pathway.id, version=pathway.version, sha256=pathway.sha256,
                        source=pathway.source, title=pathway.title, published_at=self._last_registry_at(conn, at),
                        published_by=actor))
                    out.append((pathway, True))
        if refused:
            raise refused
        return out

    def _last_registry_at(self, conn: Any, fallback: str) -> str:
        """The time of the registry entry just appended (caches copy it exactly)."""
        seq = conn.execute(select(st.meta.c.value).where(st.meta.c.key == "registry_seq")).scalar()
        body = conn.execute(select(st.audit_log.c.body).where(st.audit_log.c.chain == REGISTRY,
                                                               st.audit_log.c.seq == int(seq))).scalar()
        return json.loads(body)["at"] if body else fallback

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
        """A stored version, parsed once and cached (a version never changes: the key includes its sha256).

        With ``sha256`` (a proposal's pin, or a publish entry's), the stored
        source must re-hash to exactly it: a row whose text and sha256 were
        both edited is refused, not run.
        """
        if version is not None and sha256 is not None and (pathway_id, version, sha256) in self._pathways:
            return self._pathways[(pathway_id, version, sha256)]
        pv = st.pathway_versions
        query = select(pv).where(pv.c.pathway_id == pathway_id)
        query = query.where(pv.c.version == version) if version is not None else query.order_by(pv.c.version.desc())
        row = conn.execute(query.limit(1)).first()
        if row is None:
            if sha256 is not None:
                raise Tampered(f"the rules of {pathway_id} v{version} (sha256 {sha256}) are missing from the database")
            known = [r[0] for r in conn.execute(select(pv.c.pathway_id).distinct())]
            raise NotFound(f"no published pathway '{pathway_id}'" + (f" version {version}" if version else "")
                           + (hint(pathway_id, known) or (f"; published: {', '.join(known)}" if known
                                                           else "; publish one with 'pathways publish FILE'")))
        key = (row.pathway_id, row.version, sha256 or row.sha256)
        if key not in self._pathways:
            pathway = loads(row.source, f"<{row.pathway_id} v{row.version}>")
            if pathway.sha256 != key[2] or row.sha256 != key[2]:
                raise Tampered(f"the stored rules of {row.pathway_id} v{row.version} do not re-hash to the "
                               f"sha256 {key[2]} they must have")
            self._pathways[key] = pathway
        return self._pathways[key]

    def _compiled_for(self, conn: Any, reg: Registry, pathway_id: str, version: int, sha256: str) -> Compiled:
        """The state machine and guards of a version the registry published with this sha256, built once."""
        key = (pathway_id, version, sha256)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled  # the hot path: no query (it was checked against the registry when built)
        pub = reg.published(pathway_id, version)
        if pub is None or pub.sha256 != sha256:
            raise Tampered(f"{pathway_id} v{version} with sha256 {sha256} was never published (the registry "
                           + (f"published {pub.sha256})" if pub else "has no such version)"))
        self._compiled[key] = compile_pathway(self._pathway_for(conn, pathway_id, version, sha256))
        return self._compiled[key]

    # --- proposals -----------------------------------------------------------------------

    def _store_extras(self, conn: Any, chain: str, seq: int, kept: dict[str, tuple],
                      files: list[AttachmentFile]) -> None:
        for name, (salt, value) in kept.items():
            conn.execute(st.secrets.insert().values(chain=chain, seq=seq, field=name, salt=salt,
                                                    value=json.dumps(value)))
        for f in files:  # stored once by content; a second writer of the same file at the same moment is no error
            insert = (pg_insert if self.db.dialect.name == "postgresql" else sqlite_insert)(st.attachments)
            done = conn.execute(insert.on_conflict_do_nothing(index_elements=["sha256"]).returning(
                st.attachments.c.sha256), {"sha256": f.sha256, "size": f.size, "content": f.content}).first()
            if done is None:  # already stored: it must still be this file
                stored = conn.execute(select(st.attachments.c.content).where(
                    st.attachments.c.sha256 == f.sha256)).scalar()
                if stored is not None and hashlib.sha256(bytes(stored)).hexdigest() != f.sha256:
                    raise Tampered(f"the stored copy of attachment {f.sha256} was altered")

    def _known_needles(self, conn: Any, pid: str, pathway: Pathway, data: Mapping[str, Any],
                       clean: Mapping[str, Any]) -> list[Any]:
        """The confidential values staff text must not quote: every value kept for this proposal so far
        (its data's and refused attempts'), and this entry's own; the replay derives the same set."""
        rows = conn.execute(select(st.secrets.c.seq, st.secrets.c.field, st.secrets.c.value)
                            .where(st.secrets.c.chain == pid)).all()
        # A value still sealed is never searched: a refusal saying "it quotes the price" would tell anyone
        # whether their guess of a sealed bid is right. The replay leaves out the same fields.
        sealed = self._still_sealed(conn, pid, pathway)
        return known_needles(pathway, [{"seq": r.seq, "field": r.field, "value": json.loads(r.value)} for r in rows
                                       if r.field not in sealed],
                             {k: v for k, v in data.items() if k not in sealed},
                             {k: v for k, v in clean.items() if k not in sealed})

    def intake(self, pathway_id: str, data: Mapping[str, Any], *, actor: str,
               attachments: Iterable[str | os.PathLike[str]] = (), parent: str | None = None) -> str:
        """Open a proposal on the latest published version of a pathway; returns its id.

        A response (its pathway ``responds_to`` an opportunity's) names the
        opportunity as ``parent``; it is taken in only while the opportunity is
        in a stage that takes responses, and refused (recorded) after.
        """
        files = [AttachmentFile.read(a) for a in attachments]
        return self._intake(pathway_id, dict(data), actor, files, parent)

    def _intake(self, pathway_id: str, data: dict[str, Any], actor: str, files: list[AttachmentFile],
                parent: str | None = None) -> str:
        now = self.clock()
        try:
            actor = one_line_text("--as", actor)
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        with self.db.begin() as conn:
            reg = self._registry_now(conn)
            pub = reg.latest(pathway_id)
            if pub is None:
                self._pathway_for(conn, pathway_id, None)  # NotFound, with a hint
                raise Tampered(f"pathway {pathway_id} is stored but the registry never published it")
            compiled = self._compiled_for(conn, reg, pub.id, pub.version, pub.sha256)
            pathway = compiled.pathway
            family: dict[str, Any] | None = None
            closed: str | None = None
            if reg.roles(actor) is None:  # recorded, committed, then raised below
                reason = f"unknown user '{actor}': add them first with 'pathways users add'"
                self._registry(conn, "refusal", actor, trigger="intake", pathway=pathway.ref, reasons=[reason])
                refused = Refused([reason])
            else:
                refused = None
                clean, problems = check_data(pathway, data, intake=True)
                if problems:
                    raise InvalidData(problems)
                family, closed, closed_at = responding.take_response(self, conn, reg, pathway, parent,
                                                                     timestamp(now))
                pin = responding.first_pin(conn, parent) if family else None
                if pin is not None and pin != (pathway.id, pathway.version, pathway.sha256):
                    # every response to one opportunity is judged by the same rules: the first one's
                    compiled = self._compiled_for(conn, reg, *pin)
                    pathway = compiled.pathway
                    clean, problems = check_data(pathway, data, intake=True)
                    if problems:
                        raise InvalidData(problems)
            if refused is None and closed:
                # A response refused because the opportunity has closed: recorded in the registry (it has no
                # chain yet), naming the opportunity's position that refused it.
                self._registry(conn, "refusal", actor, trigger="respond", pathway=pathway.ref,
                               input={"parent": closed_at}, reasons=[closed])
                refused = Refused([closed])
            elif refused is None:
                pid = self._next_id(conn, pathway.id)
                texts = [(f"attachment-{i}", f.name) for i, f in enumerate(files, 1)] + free_text_fields(pathway, clean)
                if texts:  # text quoting a confidential value: refused like any invalid intake (no chain yet)
                    quoted = free_text_quotes(texts, known_needles(pathway, [], {}, clean))
                    if quoted:
                        raise InvalidData([withheld_reason(w) for w in quoted])
                shown, kept = conceal(clean, pathway.confidential)
                refs, named = recorded_attachments(files)
                kept.update(named)
                at = timestamp(now)
                due, counted = due_at(pathway, pathway.initial, clean, now, self.calendar)
                salt = kept[DATA_SECRET] = (new_salt(), None)
                entry = make_entry(chain=pid, seq=1, prev=GENESIS, at=at, kind="intake", actor=actor,
                                   dest=pathway.initial, pathway=pathway.ref, input=shown,
                                   attachments=refs, registry={"seq": reg.seq, "head": reg.head},
                                   entered=at, due=due, calendar=counted,
                                   data={"salted_sha256": data_digest(clean, salt[0])},
                                   **({"parent": family} if family else {}))
                digest = self._append(conn, pid, 1, entry)
                self._store_extras(conn, pid, 1, kept, files)
                conn.execute(st.proposals.insert().values(
                    id=pid, pathway_id=pathway.id, version=pathway.version, sha256=pathway.sha256,
                    state=pathway.initial, data=json.dumps(clean), seq=1, head=digest, created_at=at,
                    entered_at=at, due_at=due))
                if family:
                    conn.execute(st.responses.insert().values(child=pid, parent=family["id"]))
        if refused:
            raise refused
        return pid

    def _next_id(self, conn: Any, pathway_id: str) -> str:
        """The next proposal id of a pathway, from its counter (never reused; constant cost at any size).

        A counter behind the numbers in use (a cache edited) is refused rather
        than silently skipped: the id names a chain that already exists.
        """
        m = st.meta
        key = f"next_id:{pathway_id}"
        if self.db.dialect.name == "postgresql":  # numbering: one intake per pathway at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"intake:{pathway_id}"})
        last = conn.execute(select(m.c.value).where(m.c.key == key)).scalar()
        if last is not None and st.number(last) is None:
            raise Tampered(f"the proposal counter of {pathway_id} ({last!r}) is not a number")
        number = st.number(last) + 1 if last is not None else 1
        if last is None:
            conn.execute(m.insert().values(key=key, value=str(number)))
        else:
            conn.execute(m.update().where(m.c.key == key).values(value=str(number)))
        pid = f"{pathway_id}-{number:04d}"
        if conn.execute(select(st.audit_log.c.seq).where(st.audit_log.c.chain == pid).limit(1)).first() is not None:
            raise Tampered(f"the proposal counter of {pathway_id} ({last}) is behind the audit trail: {pid} exists")
        return pid

    def advance(self, proposal_id: str, trigger: str, *, actor: str, rationale: str | None = None,
                updates: Mapping[str, Any] | None = None,
                attachments: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Any]:
        """Fire ``trigger`` on a proposal, or record the refusal and raise ``Refused``.

        Returns ``{"id", "trigger", "from", "to", "seq", "hash"}``.
        """
        files = [AttachmentFile.read(a) for a in attachments]
        return self._advance(proposal_id, trigger, actor, rationale, dict(updates or {}), files, clock=False)

    def _lock(self, conn: Any, proposal_id: str) -> Any:
        """The proposal row, locked, with its last entry and the registry's position (see ``hotpath``)."""
        row = self._sql.lock(conn, proposal_id)
        if row is None:
            raise NotFound(f"no proposal '{proposal_id}' (see 'pathways list')")
        return row

    def _registry_for(self, conn: Any, row: Any) -> Registry:
        """The registry at the position a locked row's read names (the hot path: the one in memory)."""
        mine = self._reg
        if (row.registry_seq, row.registry_head, row.registry_end or 0) == (str(mine.seq), mine.head, mine.seq):
            return mine
        return self._registry_at(conn, row.registry_seq, row.registry_head, row.registry_end or 0)

    def _checked(self, row: Any, pathway: Pathway, reg: Registry,
                 data: Mapping[str, Any] | None = None) -> tuple[str, str | None, dict[str, Any] | None]:
        """The proposal row against its chain's last entry; returns (stage entered at, due, the calendar the due
        was counted on) as the chain says.

        One primary-key read and one parse per transition: a stage, a seq, a
        head or a pin edited in the table (to move a proposal without an
        entry, or run it under other rules) is refused here, before anything
        is written, and so is a last entry that breaks the rules on its face
        (``admission.static_problem``). Entry version 1 did not record the
        dates: the row's are used; before version 3 no calendar was recorded.
        From version 3 the cached data (``data``: the row's, parsed) must
        hash (``audit.data_digest``, about 10 µs) to the digest the last
        entry records, since guards are judged on it; before, only
        ``verify`` can see edited data. The digest is left on the row
        (``row.data_digest``, None before version 3) for ``_data_entry``.
        """
        body = row.head_body
        if body is None or row.head_hash != row.head or leaf_hash(bytes(body)) != row.head:
            raise Tampered(f"{row.id}'s recorded head does not match its last entry (seq {row.seq})")
        last = json.loads(body)
        state = last["from"] if last["kind"] == "refusal" else last["to"]
        pin = last["pathway"]
        if (last["seq"], state, pin["id"], pin["version"], pin["sha256"]) != (
                row.seq, row.state, row.pathway_id, row.version, row.sha256):
            raise Tampered(f"{row.id}'s stored stage or pinned rules differ from its last entry (seq {row.seq}: "
                           f"stage '{state}', {pin['id']} v{pin['version']})")
        named = last.get("registry") or {}
        position = named.get("seq") if last.get("v", 1) >= 2 else reg.position_at_time(last["at"])
        if type(position) is not int or position > reg.seq or reg.hash_at(position) != (
                named.get("head") if last.get("v", 1) >= 2 else reg.hash_at(position)):
            raise Tampered(f"{row.id}'s last entry acted under registry seq {position}, which the registry "
                           f"chain (seq {reg.seq}) does not hold as recorded")
        problem = static_problem(pathway, last, reg.roles(last["actor"], position) if position is not None else None)
        if problem:
            raise Tampered(f"{row.id}'s last entry (seq {row.seq}) breaks its rules: {problem}")
        row.data_digest = None
        if last.get("v", 1) < 2:
            return row.entered_at, row.due_at, None
        if last["v"] >= 3:
            row.data_digest = self._digest_checked(row, last, row_data(row) if data is None else data)
        return last["entered"], last["due"], last.get("calendar")

    @staticmethod
    def _digest_checked(row: Any, last: dict[str, Any], data: Mapping[str, Any]) -> str:
        """The last entry's digest of the data, which the cached data must hash to (``Tampered`` if not)."""
        recorded = last["data"].get("salted_sha256") if isinstance(last.get("data"), dict) else None
        try:
            same = isinstance(recorded, str) and row.data_salt is not None and \
                data_digest(data, row.data_salt) == recorded
        except (TypeError, ValueError):  # a salt that is not hex, data that is not JSON
            same = False
        if not same:
            raise Tampered(f"{row.id}'s stored data differs from what its last entry (seq {row.seq}) records: "
                           "the data was changed without an entry")
        return recorded

    def _data_entry(self, conn: Any, row: Any, seq: int, data: Mapping[str, Any] | None,
                    changed: bool) -> dict[str, str]:
        """The ``data`` digest of entry ``seq`` after a ``_checked`` row: carried when nothing changed, else
        hashed; a chain's first version 3 entry salts its digests anew (kept as ``audit.DATA_SECRET``)."""
        salt, digest = row.data_salt, row.data_digest
        if digest is None:
            salt, changed = new_salt(), True
            conn.execute(st.secrets.insert().values(chain=row.id, seq=seq, field=DATA_SECRET, salt=salt,
                                                    value="null"))
        if changed:
            digest = data_digest(row_data(row) if data is None else data, salt)
        return {"salted_sha256": digest}

    def _advance(self, pid: str, trigger: str, actor: str, rationale: str | None, updates: dict[str, Any],
                 files: list[AttachmentFile], *, clock: bool, expect_seq: int | None = None) -> Any:
        try:
            rationale = free_text("--rationale", (rationale or "").strip()) or None
            actor = one_line_text("--as", actor)
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        with self._transaction() as conn:
            row = self._lock(conn, pid)
            if expect_seq is not None and row.seq != expect_seq:
                return None  # the clock's view is stale: someone acted since it looked; it looks again next tick
            now = self.clock()  # after the lock: entries of one chain are in time order as they are in seq order
            reg = self._registry_for(conn, row)
            compiled = self._compiled_for(conn, reg, row.pathway_id, row.version, row.sha256)
            pathway = compiled.pathway
            data = row_data(row)
            entered_at, due, counted = self._checked(row, pathway, reg, data)
            at = timestamp(now)
            if clock and (due is None or at < due):
                return None  # the cached due time said due, the chain says not yet: the clock does not fire
            held = reg.roles(actor)
            roles = [CLOCK] if clock else (None if held is None or actor == CLOCK else sorted(held))
            entered = dt.datetime.fromisoformat(entered_at.replace("Z", "+00:00"))
            t = pathway.transition(row.state, trigger)
            admission = admit(pathway, row.state, trigger, actor=actor, roles=roles, rationale=rationale,
                              updates=updates, attached=bool(files))
            reasons, role, clean = list(admission.reasons), admission.role, admission.updates
            kids = responding.children(self, conn, reg, pid) if pathway.responses else []
            moved: list[dict[str, Any]] = []
            named_bad: list[str] = []
            approved: dict[str, int] = {}
            seen = responding.seen(kids) if pathway.responses else None
            bodies = self._bodies(conn, pid) if pathway.evaluated_in or pathway.reads_actors else []
            panels = Panels.from_entries(pathway, bodies) if pathway.evaluated_in else None
            duties = Duties.from_entries(pathway, bodies) if pathway.reads_actors else None
            if duties is not None and t is not None:
                reasons += duties.judge(t, actor)
            if t is not None and t.on_parent:
                reasons = [follows_parent(t)]
            elif t is not None and t.names_response and admission.inputs_ok:
                problem = responding.named_problem(kids, trigger, clean.get(t.names_response))
                if problem:  # the replay cannot see the other chains: the refusal names the input it rests on
                    reasons.append(problem)
                    named_bad = [t.names_response]
            conditions: list[dict[str, Any]] = []
            if t is not None and t.guards and admission.inputs_ok:
                context = compiled.context(data, proposal_id=pid, state=row.state,
                                           days_in_stage=(now - entered).days, inputs=clean,
                                           rationale=rationale or "", actor=actor, roles=roles or [], now=now,
                                           evaluations=panels.context(row.state) if panels else None,
                                           responses=seen, actors=duties.context() if duties else None)
                results = compiled.guards.run(t, context)
                conditions = [r.as_entry() for r in results]
                reasons += [r.reason() for r in results if not r.result]
            shown, kept = conceal(clean, pathway.confidential)
            seq = row.seq + 1
            refs, named = recorded_attachments(files)
            kept.update(named)
            recorded: Any = rationale
            withheld: list[dict[str, Any]] = []
            texts = ([("rationale", rationale)] if rationale else []) + [
                (f"attachment-{i}", f.name) for i, f in enumerate(files, 1)] + free_text_fields(pathway, clean)
            if texts:  # staff text quoting a confidential value is refused, and withheld
                withheld = free_text_quotes(texts, self._known_needles(conn, pid, pathway, data, clean))
                for w in withheld:
                    reasons.append(withheld_reason(w))
                    if w["what"] == "rationale":
                        salt = new_salt()
                        recorded = {"salted_sha256": salted_hash(rationale, salt)}
                        kept[RATIONALE_SECRET] = (salt, rationale)
                    elif w["what"].startswith(INPUT_TEXT):  # kept under the field's name, like a confidential one
                        name = w["what"][len(INPUT_TEXT):]
                        salt = new_salt()
                        shown[name] = {"salted_sha256": salted_hash(clean[name], salt)}
                        kept[name] = (salt, clean[name])
            letter = None
            if not reasons and t is not None and t.letter:  # what the city says to the vendor, on the record
                letter = self._compose(conn, pid, pathway, t, {**data, **clean}, now, rationale, bodies, panels)
                leak = responding.letter_leak(self, conn, reg, pid, letter)
                if leak:  # the refusal is recorded without the text: it would put the value on this trail too
                    reasons.append(leak)
                    recorded, named_bad = None, [*named_bad, "rationale"]
                else:
                    kept[LETTER_SECRET] = (letter.salt, letter.html)
            common = dict(chain=pid, seq=seq, prev=row.head, at=at, actor=actor, role=role,
                          trigger=trigger, source=row.state, pathway=pathway.ref, conditions=conditions,
                          rationale=recorded, input=shown, attachments=refs,
                          registry={"seq": reg.seq, "head": reg.head}, **({"responses": seen} if seen else {}),
                          **({"letter": letter.recorded} if letter is not None and not reasons else {}))
            if reasons:
                bad = sorted({*admission.bad_inputs, *named_bad})
                extra: dict[str, Any] = {"refused_inputs": bad} if bad else {}
                if withheld:
                    extra["withheld"] = withheld
                digest = self._append(conn, pid, seq, make_entry(kind="refusal", dest=t.dest if t else None,
                                                                 reasons=reasons, entered=entered_at, due=due,
                                                                 data=self._data_entry(conn, row, seq, data, False),
                                                                 calendar=counted, **common, **extra))
                self._store_extras(conn, pid, seq, kept, files)  # what was attempted is evidence too
                self._sql.bump.run(conn, {"b_id": pid, "b_seq": seq, "b_head": digest})
            elif duties is not None and t is not None and not duties.completes(t):
                # One of several approvals the transition needs: recorded; the proposal stays until the last.
                dest = row.state
                digest = self._append(conn, pid, seq, make_entry(
                    kind="approval", dest=dest, entered=entered_at, due=due, calendar=counted,
                    data=self._data_entry(conn, row, seq, data, False), **common))
                self._store_extras(conn, pid, seq, kept, files)
                self._sql.bump.run(conn, {"b_id": pid, "b_seq": seq, "b_head": digest})
                approved = {"approved": len(duties.approvals.get(trigger, [])) + 1, "of": t.approvals}
            else:
                dest = compiled.fire(row.state, trigger)
                data.update(clean)
                if dest != row.state:  # a new stage: its clock starts now
                    entered, entered_at = now, at
                if dest != row.state or clean:  # nothing else changes a due time (the replay says the same)
                    due, counted = due_at(pathway, dest, data, entered, self.calendar)
                digest = self._append(conn, pid, seq, make_entry(
                    kind="transition", dest=dest, entered=entered_at, due=due, calendar=counted,
                    data=self._data_entry(conn, row, seq, data, bool(clean)), **common))
                self._store_extras(conn, pid, seq, kept, files)
                self._sql.move.run(conn, {"b_id": pid, "b_state": dest, "b_seq": seq, "b_head": digest,
                                     "b_data": json.dumps(data), "b_due": due, "b_entered": entered_at})
                named = clean.get(t.names_response) if t is not None and t.names_response else None
                moved = responding.cascade(self, conn, reg, kids, actor=actor, at=at, parent={
                    "id": pid, "seq": seq, "head": digest, "trigger": trigger, "named": named},
                    rationale=rationale, opportunity=pathway) if kids else []
        if reasons:
            raise Refused(reasons, seq=seq, hash=digest)
        out = {"id": pid, "trigger": trigger, "from": row.state, "to": dest, "seq": seq, "hash": digest, **approved}
        if moved:
            out["responses"] = moved
        return out

    def _compose(self, conn: Any, pid: str, pathway: Pathway, t: Any, data: dict[str, Any], now: dt.datetime,
                 rationale: str | None, bodies: list[dict[str, Any]], panels: Panels | None,
                 opportunity: Pathway | None = None) -> Letter:
        """The letter ``t`` names, with the refusals recorded since the proposal entered its stage."""
        bodies = bodies or self._bodies(conn, pid)
        since = next((i for i in range(len(bodies) - 1, -1, -1) if bodies[i].get("kind") in ("intake", "transition")
                      and bodies[i].get("to") != bodies[i].get("from")), 0)
        refusals = [r for e in bodies[since:] if e.get("kind") == "refusal" for r in e.get("reasons") or []]
        if panels is None and pathway.evaluated_in:
            panels = Panels.from_entries(pathway, bodies)
        return compose(t.letter, pathway=pathway, t=t, proposal_id=pid, data=data, at=now, rationale=rationale,
                       refusals=refusals, panels=panels, city=self.city, opportunity=opportunity)

    @property
    def city(self) -> City:
        """The city's settings (letters' time zone and name): given, or the configuration in force."""
        if self._city is None or callable(self._city):
            self._city = self._city() if callable(self._city) else load_city()
        return self._city

    def letters(self, proposal_id: str) -> list[dict[str, Any]]:
        """Every letter recorded for a proposal: its entry, name, salted hash, salt and text."""
        with st.reading(self.db) as conn:
            self._row(conn, proposal_id)
            kept = {s["seq"]: s for s in self._secrets(conn, proposal_id) if s["field"] == LETTER_SECRET}
            out = []
            for e in self._bodies(conn, proposal_id):
                if isinstance(e.get("letter"), dict):
                    s = kept.get(e["seq"])
                    out.append({"seq": e["seq"], "at": e["at"], "trigger": e.get("trigger"),
                                "name": e["letter"]["name"], "salted_sha256": e["letter"]["salted_sha256"],
                                "salt": s["salt"] if s else None, "html": s["value"] if s else None})
        return out

    def _bodies(self, conn: Any, chain: str) -> list[dict[str, Any]]:
        """A chain's entries, parsed (for its panels: the chain, not a cache, says who scored what)."""
        return [json.loads(e.body) for e in self._entries(conn, chain)]

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
                stage = self._pathway_for(conn, r.pathway_id, r.version, r.sha256).stages.get(r.state)
                if stage is None:
                    raise Tampered(f"{r.id}'s stored stage '{r.state}' is not one of its rules")
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
            secrets = self._secrets(conn, proposal_id)
            sealed = set(shown.get("sealed", ()))
            if sealed:  # nobody reads a bid before its opening through the engine: not its kept values either
                secrets = [s for s in secrets if s["field"] not in sealed
                           and not (":attachments" in sealed and s["field"].startswith(ATTACHMENT_SECRET))]
            return Record(shown, self._pathway_for(conn, shown["pathway"], shown["version"], shown["sha256"]),
                          self._entries(conn, proposal_id), secrets)

    def _show(self, conn: Any, proposal_id: str) -> dict[str, Any]:
        row = self._row(conn, proposal_id)
        pathway = self._pathway_for(conn, row.pathway_id, row.version, row.sha256)
        stage = pathway.stages.get(row.state)
        data = st.cell(row.data, dict)
        if stage is None or isinstance(data, st.Unreadable):
            raise Tampered(f"{proposal_id}'s stored {'stage' if stage is None else 'data'} is not one its rules "
                           "or the engine could have written")
        sealed = self._still_sealed(conn, proposal_id, pathway)
        if sealed:
            data = {k: ({"sealed_until": pathway.fields[k].sealed_until} if k in sealed else v)
                    for k, v in data.items()}
        available = [{"trigger": t.trigger, "to": t.dest, "roles": list(pathway.roles_for(row.state, t)),
                      "requires": list(t.requires), "updates": list(t.updates)} for t in pathway.leaving(row.state)]
        now = timestamp(self.clock())
        return {"id": row.id, "pathway": row.pathway_id, "version": row.version, "sha256": row.sha256,
                "title": pathway.title, "state": row.state, "stage": stage.description, "final": stage.final,
                "outcome": stage.outcome, "data": data,
                "confidential": sorted(pathway.confidential), "types": {n: f.type for n, f in pathway.fields.items()},
                "entered_at": row.entered_at, "due_at": row.due_at,
                "overdue": bool(row.due_at and row.due_at < now), "seq": row.seq, "head": row.head,
                "available": available, **({"sealed": sorted(sealed)} if sealed else {}),
                **({"sealed_fields": {n: {"until": pathway.fields[n].sealed_until,
                                          "confidential": pathway.fields[n].confidential}
                                      for n in sorted(pathway.sealed)}} if pathway.sealed else {}),
                **({"parent": parent} if (parent := self._parent(conn, proposal_id)) else {}),
                **({"responses": self._responses_of(conn, proposal_id)} if pathway.responses else {})}

    def _responses_of(self, conn: Any, pid: str) -> list[dict[str, Any]]:
        r, p = st.responses, st.proposals
        rows = conn.execute(select(p.c.id, p.c.state).select_from(r.join(p, p.c.id == r.c.child))
                            .where(r.c.parent == pid).order_by(p.c.id)).all()
        return [{"id": x.id, "state": x.state} for x in rows]

    def _parent(self, conn: Any, pid: str) -> str | None:
        return conn.execute(select(st.responses.c.parent).where(st.responses.c.child == pid)).scalar()

    def _still_sealed(self, conn: Any, pid: str, pathway: Pathway) -> set[str]:
        """The fields (and ``:attachments``) shown to no one yet: their opportunity has not fired the trigger
        that unseals them. Read from the chain: the opportunity's move is an entry on this response's chain."""
        if not pathway.sealed and not pathway.attachments_sealed_until:
            return set()
        fired = {e["parent"]["trigger"] for e in self._bodies(conn, pid) if isinstance(e.get("parent"), dict)
                 and "trigger" in e["parent"]}
        out = {n for n in pathway.sealed if pathway.fields[n].sealed_until not in fired}
        if pathway.attachments_sealed_until and pathway.attachments_sealed_until not in fired:
            out.add(":attachments")
        return out

    def evaluation(self, proposal_id: str, *, viewer: str | None = None) -> dict[str, Any]:
        """The evaluation sheet of a proposal's panels, as ``viewer`` may see it (None: staff, all of it)."""
        from .evaluation.sheet import evaluation_sheet

        with st.reading(self.db) as conn:
            row = self._row(conn, proposal_id)
            pathway = self._pathway_for(conn, row.pathway_id, row.version, row.sha256)
            if not pathway.evaluated_in:
                raise UsageError(f"{proposal_id} ({pathway.id}) has no evaluation panel")
            roles = self._registry_now(conn).roles(viewer) if viewer else None
            if viewer and roles is None:
                raise NotFound(f"no user '{viewer}' (see 'pathways users list')")
            sheet = evaluation_sheet(pathway, row.state, self._bodies(conn, proposal_id), viewer=viewer, roles=roles)
        return {"id": proposal_id, "pathway": row.pathway_id, **sheet}

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
            parents = dict(conn.execute(select(st.responses.c.child, st.responses.c.parent)).all())
        return [{"id": r.id, "pathway": r.pathway_id, "version": r.version, "state": r.state,
                 "entered_at": r.entered_at, "due_at": r.due_at, "overdue": bool(r.due_at and r.due_at < now),
                 **({"parent": parents[r.id]} if r.id in parents else {})}
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
        out = [{"seq": r.seq, "field": r.field, "salt": r.salt, "value": st.cell(r.value)} for r in rows]
        bad = next((s for s in out if isinstance(s["value"], st.Unreadable)), None)
        if bad:
            raise Tampered(f"the kept value of '{bad['field']}' ({chain} seq {bad['seq']}) is not readable")
        return out

    def attachment(self, sha256: str) -> bytes:
        with st.reading(self.db) as conn:
            content = conn.execute(select(st.attachments.c.content).where(st.attachments.c.sha256 == sha256)).scalar()
        if content is None:
            raise NotFound(f"no attachment {sha256}")
        return content

    def verify(self, ids: Iterable[str] = (), *, raise_on_failure: bool = True,
               workers: int | None = None) -> list[ChainReport]:
        """Verify chains (all of them, registry included, when ``ids`` is empty).

        A whole database is checked by ``workers`` processes, each over a
        range of proposal ids; by default the machine's cores (at most 4) once
        it holds enough proposals to gain from them (``PARALLEL_FROM``).
        """
        split_from = PARALLEL_FROM if workers is None else 1
        workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        with st.reading(self.db) as conn:
            reports = verify_chains(conn, list(ids), self._compiled, url=self.url, workers=workers,
                                    split_from=split_from)
        failed = next((r for r in reports if r.error), None)
        if failed and raise_on_failure:
            raise failed.error  # type: ignore[misc]
        return reports
