"""Tables and connections: SQLite by default, PostgreSQL through the same URL.

Every table but the append-only ones is a *cache* of what the chains say
(``verification`` re-derives it, ``rebuild`` restores it): ``users`` (the
registry's grants and revocations), ``proposals`` (each chain's replay),
``pathway_versions`` (the publish entries; ``source`` is the text whose
canonical form hashes to the published sha256) and ``meta`` (the registry's
head and length, the proposal counters). The evidence itself is append-only:
``audit_log`` (the entries), ``audit_secrets`` (confidential values and their
salts) and ``attachments`` (files by content hash).

The tables are SQLModel classes (one place that names every column). The hot
write path does not use the ORM, whose unit of work costs several times a raw
sqlite3 write here: ``hotpath.py`` writes its statements in Core over these
tables and compiles them once per dialect.

SQLite is set up for an audit log: WAL with ``synchronous=FULL`` (a
transition acknowledged to the user survives a power cut), a busy timeout so
concurrent writers wait instead of failing, foreign keys on, and every
transaction started with ``BEGIN IMMEDIATE`` so two writers serialise at the
start instead of discovering a conflict at commit. On PostgreSQL the runtime
locks the proposal row with ``SELECT ... FOR UPDATE``. On both, triggers
refuse UPDATE and DELETE on the audit tables: entries are append-only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SAEngine
from sqlalchemy import LargeBinary, create_engine, event, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Column, Field, SQLModel

from pathways.errors import UsageError

SCHEMA_VERSION = "2"
READ_ONLY = "pathways_read_only"  # execution option: begin without taking the write lock
BUSY_TIMEOUT_MS = 30_000


class User(SQLModel, table=True):
    """Someone who may act, and the roles they may act in."""

    __tablename__ = "users"
    name: str = Field(primary_key=True)
    roles: str  # JSON list of role names
    created_at: str


class PathwayVersion(SQLModel, table=True):
    """A published pathway version; its YAML text is kept so the rules in force travel with records."""

    __tablename__ = "pathway_versions"
    pathway_id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    sha256: str
    source: str
    title: str
    published_at: str
    published_by: str


class Proposal(SQLModel, table=True):
    """A proposal's current state, pinned pathway version and audit chain head."""

    __tablename__ = "proposals"
    id: str = Field(primary_key=True)
    # No secondary indexes: every transition would pay to update them, and a
    # city's few thousand proposals are listed by a scan in milliseconds.
    pathway_id: str
    version: int
    sha256: str
    state: str
    data: str  # JSON of current field values (confidential ones included: this table is not exported)
    seq: int
    head: str
    created_at: str
    entered_at: str  # when the current stage was entered
    due_at: str | None = None  # deadline of the current stage, if any


class AuditEntry(SQLModel, table=True):
    """One event of one chain, stored as its exact canonical bytes (never rebuilt from columns)."""

    __tablename__ = "audit_log"
    chain: str = Field(primary_key=True)  # a proposal id, or "registry"
    seq: int = Field(primary_key=True)
    hash: str
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Secret(SQLModel, table=True):
    """A confidential value and the salt of the hash its audit entry carries."""

    __tablename__ = "audit_secrets"
    chain: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    field: str = Field(primary_key=True)
    salt: str
    value: str  # JSON


class Attachment(SQLModel, table=True):
    """An attached document, stored once by content hash."""

    __tablename__ = "attachments"
    sha256: str = Field(primary_key=True)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Response(SQLModel, table=True):
    """Which opportunity a response answers (a cache of the response's intake entry, for finding the family)."""

    __tablename__ = "responses"
    child: str = Field(primary_key=True)
    parent: str = Field(index=True)


class Meta(SQLModel, table=True):
    """Small named values: schema version, the registry chain's head and length, proposal counters.

    ``registry_head`` / ``registry_seq`` are the registry chain's last hash and
    seq; ``next_id:<pathway>`` is the last proposal number used on a pathway
    (numbers are never reused, and intake costs the same at any size).
    """

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class LogLeaf(SQLModel, table=True):
    """Leaf ``idx`` of the transparency log: which entry it is (see ``engine.transparency.log``)."""

    __tablename__ = "log_leaves"
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    chain: str
    seq: int
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))  # a proof finds its leaf


class LogNode(SQLModel, table=True):
    """A complete subtree of the log, ``2**level`` leaves from leaf ``idx * 2**level`` (RFC 9162 §2.1)."""

    __tablename__ = "log_nodes"
    __table_args__ = {"sqlite_with_rowid": False}
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogPending(SQLModel, table=True):
    """PostgreSQL: committed entries not yet in the tree (the sequencer's queue; operational, not evidence)."""

    __tablename__ = "log_pending"
    id: int | None = Field(default=None, primary_key=True)
    chain: str
    seq: int
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogOrigin(SQLModel, table=True):
    """The log's identities: its origin line and key from tree size ``size`` on (init, rotation, new origin)."""

    __tablename__ = "log_origins"
    n: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    origin: str
    vkey: str
    size: int
    at: str
    reason: str


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint), as published."""

    __tablename__ = "log_checkpoints"
    n: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    origin: str
    size: int
    root: str  # hex
    note: str
    at: str


users = User.__table__  # type: ignore[attr-defined]
pathway_versions = PathwayVersion.__table__  # type: ignore[attr-defined]
proposals = Proposal.__table__  # type: ignore[attr-defined]
audit_log = AuditEntry.__table__  # type: ignore[attr-defined]
secrets = Secret.__table__  # type: ignore[attr-defined]
attachments = Attachment.__table__  # type: ignore[attr-defined]
meta = Meta.__table__  # type: ignore[attr-defined]
responses = Response.__table__  # type: ignore[attr-defined]
log_leaves = LogLeaf.__table__  # type: ignore[attr-defined]
log_nodes = LogNode.__table__  # type: ignore[attr-defined]
log_pending = LogPending.__table__  # type: ignore[attr-defined]
log_origins = LogOrigin.__table__  # type: ignore[attr-defined]
log_checkpoints = LogCheckpoint.__table__  # type: ignore[attr-defined]

APPEND_ONLY = ("audit_log", "audit_secrets", "attachments", "log_leaves", "log_nodes", "log_origins",
               "log_checkpoints")
#: Cache tables, re-derived from the chains by ``verify`` and restored by ``rebuild``.
CACHES = ("users", "proposals", "pathway_versions", "meta", "responses")

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: entries are never changed or deleted'); END"
    for table in APPEND_ONLY
    for op in ("UPDATE", "DELETE")
]

_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION pathways_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '% is append-only: entries are never changed or deleted', TG_TABLE_NAME; END;
       $$ LANGUAGE plpgsql""",
    *[
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_trigger
                             WHERE tgname = '{table}_{name}' AND tgrelid = '{table}'::regclass) THEN
                CREATE TRIGGER {table}_{name} BEFORE {ops} ON {table}
                FOR EACH {each} EXECUTE FUNCTION pathways_append_only();
              END IF; END $$"""
        for table in APPEND_ONLY
        for name, ops, each in (("append_only", "UPDATE OR DELETE", "ROW"), ("no_truncate", "TRUNCATE", "STATEMENT"))
    ],
]


def _sqlite_setup(engine: SAEngine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Writers take the write lock up front; readers (see ``reading``) do not,
        # so a long verify or export never holds up a transition.
        # On the DBAPI cursor: through ``exec_driver_sql`` this one statement cost a tenth of a transition.
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")
        cursor.close()


@contextmanager
def reading(engine: SAEngine) -> Iterator[Connection]:
    """A transaction for reading only: ONE consistent snapshot, without SQLite's write lock.

    SQLite: a deferred transaction reads one WAL snapshot from its first
    statement on. PostgreSQL: REPEATABLE READ, read only, so that every
    statement of a ``verify`` or an export sees the same committed state
    (under the default READ COMMITTED, a verify running beside writers saw a
    proposal's row and its chain from different moments).
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            conn.execution_options(**{READ_ONLY: True})
        with conn.begin():
            yield conn


class Unreadable:
    """What an edited cache cell that is not the JSON the engine wrote reads as (never equal to a value)."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<unreadable>"


def cell(text: Any, kind: type | None = None) -> Any:
    """A JSON cell of a cache table as a value, or ``Unreadable`` when it is not JSON (or not ``kind``):
    an edited cell is a finding for verify and a refusal for the write path, never a traceback."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return Unreadable()
    return Unreadable() if kind is not None and not isinstance(value, kind) else value


def number(text: Any) -> int | None:
    """A counter cell as an integer, or None when it is not plain ASCII digits (``'²'.isdigit()`` is true)."""
    return int(text) if isinstance(text, str) and text.isascii() and text.isdigit() else None


def missing_database(url: str) -> UsageError:
    where = make_url(url).render_as_string(hide_password=True)
    return UsageError(f"no pathways database at {where}; create one with a writing command "
                      "(e.g. 'pathways users add NAME --role R') or run 'pathways demo'")


def connect(url: str, *, synchronous: str = "FULL", create: bool = True) -> SAEngine:
    """An SQLAlchemy engine for ``url`` with the pragmas and (when ``create``) the schema in place.

    With ``create=False`` (readers: verify, show, list...) nothing is created:
    a database file that does not exist, or a database without the schema,
    is a usage error, so a mistyped ``--db`` never leaves an empty database behind.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"--db '{url}' is not a database URL; use sqlite:///FILE or postgresql://HOST/DB") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UsageError(f"unsupported database '{backend}'; use sqlite:///FILE or postgresql://HOST/DB")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise UsageError("an in-memory database would forget the audit trail; use sqlite:///FILE")
    where = parsed.render_as_string(hide_password=True)
    if not create and backend == "sqlite" and not Path(parsed.database).is_file():
        raise missing_database(url)
    try:
        engine = _create(parsed, synchronous)
        if create:
            create_schema(engine)
        elif not has_schema(engine):
            engine.dispose()
            raise missing_database(url)
    except ModuleNotFoundError as exc:  # a database driver missing from this installation
        raise UsageError(f"cannot open {where}: its driver '{exc.name}' is not installed") from None
    except UsageError:
        raise
    except Exception as exc:
        if backend == "sqlite" and not Path(parsed.database).parent.is_dir():
            raise UsageError(f"cannot open {where}: the folder {Path(parsed.database).parent} does not exist") \
                from None
        raise UsageError(f"cannot open database {where}: {str(exc).splitlines()[0]}") from None
    return engine


def _create(parsed: URL, synchronous: str) -> SAEngine:
    # Every transaction is an ``engine.begin()`` block that commits or rolls back,
    # so the pool's rollback-on-return would only repeat it (a call per transition).
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, pool_reset_on_return=None)
        _sqlite_setup(engine, synchronous)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_reset_on_return=None)


def has_schema(engine: SAEngine) -> bool:
    """Whether the database holds this project's tables (the ``meta`` table says so)."""
    from sqlalchemy import inspect

    with engine.connect() as conn:
        return inspect(conn).has_table("meta")


def create_schema(engine: SAEngine) -> None:
    """Create missing tables and the append-only triggers (idempotent); bring a schema 1 database up to 2."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # two first runs at once must not race on CREATE
            conn.execute(text("SELECT pg_advisory_xact_lock(7218190331)"))
        if engine.dialect.name == "sqlite":
            names = [sql.split()[5] for sql in _SQLITE_TRIGGERS]
            have = conn.exec_driver_sql(
                f"SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name IN ({','.join('?' * len(names))})",
                tuple(names)).scalar()
            if have == len(_SQLITE_TRIGGERS):
                return
        SQLModel.metadata.create_all(conn)
        for sql in _SQLITE_TRIGGERS if engine.dialect.name == "sqlite" else _PG_TRIGGERS:
            conn.execute(text(sql))
        have = {row.key: row.value for row in conn.execute(meta.select())}
        if "registry_seq" not in have and "registry_head" in have:  # schema 1: the counters did not exist
            _migrate_counters(conn)
        registry_empty = conn.execute(select(audit_log.c.seq).where(audit_log.c.chain == "registry").limit(1)).first() \
            is None
        if not have and registry_empty:  # a new database: the transparency log sequences every entry from its first
            conn.execute(meta.insert().values(key="log", value="on"))
        for key, value in (("schema_version", SCHEMA_VERSION), ("registry_head", "0" * 64), ("registry_seq", "0")):
            # A missing registry head over a registry that has entries is a finding, not a fresh start:
            # only 'rebuild' (from the chain) may put it back.
            if key not in have and (key == "schema_version" or registry_empty):
                conn.execute(meta.insert().values(key=key, value=value))
        if have.get("schema_version") not in (None, SCHEMA_VERSION):
            conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=SCHEMA_VERSION))


def _migrate_counters(conn: Connection) -> None:
    """Schema 1 numbered proposals ``count + 1``: record the registry's length and each pathway's last number."""
    from sqlalchemy import func

    seq = conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.chain == "registry")).scalar()
    conn.execute(meta.insert().values(key="registry_seq", value=str(seq)))
    last: dict[str, int] = {}
    for (chain,) in conn.execute(select(audit_log.c.chain).where(audit_log.c.seq == 1)):
        prefix, _, number = chain.rpartition("-")
        if chain != "registry" and number.isdigit():
            last[prefix] = max(last.get(prefix, 0), int(number))
    for prefix, number in last.items():
        conn.execute(meta.insert().values(key=f"next_id:{prefix}", value=str(number)))
