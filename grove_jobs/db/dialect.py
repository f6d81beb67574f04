"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, text
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
    module = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).on_conflict_do_nothing(
        index_elements=index_elements,
        index_where=text(index_where) if index_where is not None else None,
    )
    # executemany without RETURNING: psycopg pipelines one small prepared statement, which is
    # much cheaper than building and parsing one giant multi-row statement per tick.
    return session.execute(stmt, rows).rowcount


def lock_rows(session: Session, stmt: Select, of=None) -> Select:
    """Row locks on PostgreSQL that skip rows another sidecar holds.

    NO KEY UPDATE (not UPDATE) so inserting executions that reference a locked config is not
    blocked. SQLite needs nothing: its write transactions are already serialised.
    """
    if session.bind.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, key_share=True, of=of)
    return stmt


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
    raw = session.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)
