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

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

from . import storage as st

_P = st.proposals
#: The proposal row and the actor's roles (one round trip, not two).
LOCK = (select(_P, st.users.c.roles.label("actor_roles"))
        .select_from(_P.outerjoin(st.users, st.users.c.name == bindparam("actor")))
        .where(_P.c.id == bindparam("pid")))
LOCK_FOR_UPDATE = LOCK.with_for_update(of=_P)
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

    lock: Prepared
    append: Prepared
    bump: Prepared
    move: Prepared

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> Statements:
        lock = LOCK_FOR_UPDATE if dialect.name == "postgresql" else LOCK
        return cls(*(Prepared.of(s, dialect) for s in (lock, APPEND, BUMP, MOVE)))
