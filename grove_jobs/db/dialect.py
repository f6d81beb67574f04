"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

NOTIFY_CHANNEL = "grove_jobs"


def insert_ignore(
    session: Session,
    table,
    rows: list[dict[str, Any]],
    index_elements: list[str],
    *,
    index_where: str | None = None,
):
    """INSERT ... ON CONFLICT (index_elements) [WHERE index_where] DO NOTHING for each row;
    returns how many rows were inserted. The unique index, not a check-then-insert, is what
    makes enqueueing idempotent; ``index_where`` names a partial index's predicate."""
    if not rows:
        return 0
    if session.bind.dialect.name == "postgresql" and len(rows) > 1 and _scalar_columns(table, rows):
        stmt, params = unnest_insert(session, table, rows, index_elements, index_where)
        return session.execute(stmt, params).rowcount
    module = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).on_conflict_do_nothing(
        index_elements=index_elements,
        index_where=text(index_where) if index_where is not None else None,
    )
    # executemany without RETURNING: SQLite runs one prepared statement per row in-process.
    return session.execute(stmt, rows).rowcount


def insert_or_get(
    executor: Connection | Session,
    table,
    row: dict[str, Any],
    index_elements: list[str],
    *,
    wake: str | None = None,
):
    """Insert ``row`` unless a row with the same ``index_elements`` exists; the stored row
    either way. The insert returns the new row itself: a second read only on a conflict.

    With ``wake`` (a notification payload), PostgreSQL also wakes listening sidecars in the same
    statement, only when the row is new: atomic with the insert even in autocommit mode, and
    without a round trip of its own."""
    dialect = _dialect_name(executor)
    woken = wake is not None and dialect == "postgresql"
    stmt = _insert_returning(dialect, table, tuple(index_elements), tuple(row) if woken else None)
    inserted = executor.execute(stmt, {**row, "wake": wake} if woken else row).one_or_none()
    if inserted is not None:
        return inserted
    key = [table.c[name] == row[name] for name in index_elements]
    return executor.execute(select(table).where(*key)).one()


def _dialect_name(executor: Connection | Session) -> str:
    bind = executor if isinstance(executor, Connection) else executor.get_bind()
    return bind.dialect.name


@cache
def _insert_returning(
    dialect: str, table, index_elements: tuple[str, ...], woken_columns: tuple[str, ...] | None
):
    # Built once per table: Run Now is on the path of every click and API call.
    module = postgresql if dialect == "postgresql" else sqlite
    insert = module.insert(table)
    if woken_columns is None:
        return insert.on_conflict_do_nothing(index_elements=list(index_elements)).returning(
            *table.c
        )
    # INSERT inside a CTE needs its values as named parameters; the outer SELECT calls
    # pg_notify once per inserted row (none on a conflict).
    values = {name: bindparam(name, type_=table.c[name].type) for name in woken_columns}
    inserted = (
        insert.values(values)
        .on_conflict_do_nothing(index_elements=list(index_elements))
        .returning(*table.c)
        .cte("inserted")
    )
    notified = func.pg_notify(literal(NOTIFY_CHANNEL), bindparam("wake", type_=String))
    return select(inserted, notified.label("notified")).select_from(inserted)


def _scalar_columns(table, rows: list[dict[str, Any]]) -> bool:
    """True when every column of the batch is a scalar (JSON values have no array form)."""
    return not any(isinstance(table.c[name].type, JSON) for name in rows[0])


def unnest_rows(
    session: Session, kinds: dict[str, Any], rows: list[dict[str, Any]], key: Sequence[str]
) -> tuple[dict[str, str], str, dict[str, Any]]:
    """A batch of rows as a set PostgreSQL reads in one statement: for each name of ``kinds``
    (name -> SQL type), the expression that reads it; the ``unnest(...) AS u(...)`` to read
    them from; and the bound parameters.

    A column whose value differs between rows is an array (bind-processed, then unnested); one
    with the same value in every row is sent once, as a constant: dumping arrays element by
    element is most of the client's cost for a burst, whose runs share their fire time. At
    least the ``key`` columns are arrays, so a single row still makes one row of the set.
    """
    dialect = session.bind.dialect
    quote = dialect.identifier_preparer.quote
    first = rows[0]
    varying = [n for n in kinds if any(r[n] != first[n] for r in rows)] or list(key)
    exprs: dict[str, str] = {}
    casts: list[str] = []
    params: dict[str, Any] = {}
    for index, (name, kind) in enumerate(kinds.items()):
        process = kind.bind_processor(dialect)
        sql_type = kind.compile(dialect=dialect)
        if name in varying:
            values = [row[name] for row in rows]
            params[f"a{index}"] = [process(v) for v in values] if process else values
            casts.append(f"CAST(:a{index} AS {sql_type}[])")
            exprs[name] = f"u.{quote(name)}"
        else:
            params[f"k{index}"] = process(first[name]) if process else first[name]
            exprs[name] = f"CAST(:k{index} AS {sql_type})"
    source = f"unnest({', '.join(casts)}) AS u({', '.join(quote(n) for n in varying)})"
    return exprs, source, params


def unnest_insert(session: Session, table, rows, index_elements, index_where):
    """``INSERT ... SELECT ... FROM unnest(...) ON CONFLICT ... DO NOTHING`` for PostgreSQL:
    one statement for the batch (rowcount: rows inserted), at the cost of a set-based SQL."""
    quote = session.bind.dialect.identifier_preparer.quote
    kinds = {name: table.c[name].type for name in rows[0]}
    exprs, source, params = unnest_rows(session, kinds, rows, index_elements)
    target = ", ".join(quote(c) for c in index_elements)
    where = f" WHERE {index_where}" if index_where else ""
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in kinds)}) "
        f"SELECT {', '.join(exprs.values())} FROM {source} "
        f"ON CONFLICT ({target}){where} DO NOTHING"
    )
    return text(sql), params


def one_of(session: Session, column, values: Collection[Any]):
    """``column IN values``; on PostgreSQL ``column = ANY(array)``.

    One array parameter keeps the statement's text, and the plan psycopg prepares for it, the
    same whatever the number of values. An IN list renders and parses a placeholder per value
    (a tenth of an alert pass over a thousand configs) and each new length is a new statement.
    """
    if _dialect_name(session) == "postgresql":
        return column == any_(bindparam(None, list(values), postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def lock_rows(session: Session, stmt: Select, of=None) -> Select:
    """Row locks on PostgreSQL that skip rows another sidecar holds.

    NO KEY UPDATE (not UPDATE) so inserting executions that reference a locked config is not
    blocked. SQLite needs nothing: its write transactions are already serialised.
    """
    return skip_locked(stmt, of) if session.bind.dialect.name == "postgresql" else stmt


def skip_locked(stmt: Select, of=None) -> Select:
    """``FOR NO KEY UPDATE SKIP LOCKED`` (PostgreSQL): see :func:`lock_rows`."""
    return stmt.with_for_update(skip_locked=True, key_share=True, of=of)


def notify(session: Session, payload: str = "") -> None:
    """Wake listening sidecars when the transaction commits (PostgreSQL only)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": payload},
        )


def database_now(session: Session) -> datetime:
    """The database server's clock, as an aware UTC datetime.

    Leases are judged by this one clock, so sidecars on hosts whose clocks disagree still agree
    on whose heartbeat is stale. On PostgreSQL it is ``now()``, the start of the current
    transaction (never later than the statement that stamps or compares with it); SQLite's
    clock is that of the host the one sidecar runs on.
    """
    if session.bind.dialect.name == "postgresql":
        return session.scalar(text("SELECT now()")).astimezone(UTC)
    # SQLite's 'now' reads this same host clock but keeps only milliseconds: a run queued in
    # the same millisecond (its times have microseconds) would not be due yet.
    return datetime.now(UTC)
