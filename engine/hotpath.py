"""The statements of one transition, compiled once per dialect and run on the DBAPI cursor.

A transition runs three statements (lock-and-read, append, update). Built per
call as SQLAlchemy Core, they cost more than the database work itself:
``bench/bench_advance.py`` measured the statement building and then the
per-execute machinery (execution context, result wrapping, events) at
~165 µs and then ~40% of what remained. So the SQL is still written once in
Core, compiled by SQLAlchemy for the connection's own dialect (``?`` for
SQLite, ``%(name)s`` with casts for psycopg), and executed on the DBAPI
cursor of the SQLAlchemy connection, inside SQLAlchemy's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

from . import storage as st

_P, _A, _M = st.proposals, st.audit_log, st.meta


def _meta(key: str) -> Any:
    return select(_M.c.value).where(_M.c.key == literal_column(f"'{key}'")).scalar_subquery()


#: The registry chain's real end: its last seq, read from the entries themselves (an index seek), so that a
#: registry head in ``meta`` rolled back to before a revocation cannot make the write path judge by it.
_REGISTRY_END = (select(func.max(_A.c.seq)).where(_A.c.chain == literal_column("'registry'"))
                 .scalar_subquery().label("registry_end"))
_POSITION = (_meta("registry_seq").label("registry_seq"), _meta("registry_head").label("registry_head"), _REGISTRY_END)
#: The registry's recorded position and its chain's real end, read in one statement (one snapshot).
POSITION = _POSITION

#: The proposal row, the chain's last entry (to check the row against it) and the registry's position
#: (to judge roles by the registry's replay), in one round trip.
LOCK = (select(_P, _A.c.body.label("head_body"), _A.c.hash.label("head_hash"), *_POSITION)
        .select_from(_P.outerjoin(_A, (_A.c.chain == _P.c.id) & (_A.c.seq == _P.c.seq)))
        .where(_P.c.id == bindparam("pid")))
#: PostgreSQL: a row lock that waited for another writer re-reads the *locked* row at its new version, but
#: not the rows joined to it nor its subqueries (READ COMMITTED's re-check), so the last entry and the
#: registry's position are read after the lock, apart: never older than what the writer before saw.
LOCK_FOR_UPDATE = select(_P).where(_P.c.id == bindparam("pid")).with_for_update(of=_P)
HEAD = (select(_A.c.body, _A.c.hash, *_POSITION)
        .where(_A.c.chain == bindparam("pid"), _A.c.seq == bindparam("seq")))
APPEND = st.audit_log.insert().values(chain=bindparam("a_chain"), seq=bindparam("a_seq"), hash=bindparam("a_hash"),
                                      body=bindparam("a_body"))
BUMP = _P.update().where(_P.c.id == bindparam("b_id")).values(seq=bindparam("b_seq"), head=bindparam("b_head"))
MOVE = _P.update().where(_P.c.id == bindparam("b_id")).values(
    state=bindparam("b_state"), seq=bindparam("b_seq"), head=bindparam("b_head"), data=bindparam("b_data"),
    due_at=bindparam("b_due"), entered_at=bindparam("b_entered"))


@dataclass(frozen=True)
class Prepared:
    """One statement as SQL text for a dialect, with its parameter order and result columns."""

    sql: str
    order: tuple[str, ...] | None  # positional parameter names (qmark), or None for named parameters
    columns: tuple[str, ...]

    @classmethod
    def of(cls, statement: ClauseElement, dialect: Dialect) -> Prepared:
        compiled = statement.compile(dialect=dialect)
        order = tuple(compiled.positiontup or ()) if dialect.positional else None
        columns = tuple(c.name for c in getattr(statement, "selected_columns", ()))
        return cls(compiled.string, order, columns)

    def _execute(self, conn: Connection, params: dict[str, Any]) -> Any:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(self.sql, params if self.order is None else tuple(params[n] for n in self.order))
        return cursor

    def run(self, conn: Connection, params: dict[str, Any]) -> None:
        """Execute a statement that returns no rows."""
        self._execute(conn, params).close()

    def first(self, conn: Connection, params: dict[str, Any]) -> SimpleNamespace | None:
        """The first row, as attributes named for the statement's columns."""
        cursor = self._execute(conn, params)
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else SimpleNamespace(**dict(zip(self.columns, row, strict=True)))


@dataclass(frozen=True)
class Statements:
    """The hot path's statements for one database."""

    lock_: Prepared
    append: Prepared
    bump: Prepared
    move: Prepared
    head: Prepared | None  # PostgreSQL only (see LOCK_FOR_UPDATE)

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> Statements:
        if dialect.name == "postgresql":
            return cls(*(Prepared.of(s, dialect) for s in (LOCK_FOR_UPDATE, APPEND, BUMP, MOVE, HEAD)))
        return cls(*(Prepared.of(s, dialect) for s in (LOCK, APPEND, BUMP, MOVE)), None)

    def lock(self, conn: Connection, pid: str) -> SimpleNamespace | None:
        """The proposal row, locked, with its chain's last entry (``head_body``, ``head_hash``) and the
        registry's position (``registry_seq``, ``registry_head``)."""
        row = self.lock_.first(conn, {"pid": pid})
        if row is not None and self.head is not None:
            last = self.head.first(conn, {"pid": pid, "seq": row.seq})
            row.head_body, row.head_hash = (last.body, last.hash) if last else (None, None)
            row.registry_seq, row.registry_head, row.registry_end = (
                (last.registry_seq, last.registry_head, last.registry_end) if last else (None, None, None))
        return row
