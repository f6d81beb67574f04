"""Signal aggregation: periods, the aggregate query, the portable upsert, and reading
aggregations back as evaluator ``Signals``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, distinct, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z
from grove_jobs.contrib.content.evaluator import Signals, utility_to_score
from grove_jobs.contrib.content.tables import SignalAggregationRow, SignalEventRow

PERIOD_DAYS: dict[str, int | None] = {"all_time": None, "last_30d": 30, "last_7d": 7}
# Bound on bind parameters per IN (...) list: SQLite allows 32766 per statement, and plans
# stay sane on PostgreSQL too.
IN_CHUNK = 1000


def period_start(period: str, at: datetime) -> datetime | None:
    """The window's first instant (None: since the beginning); windows end at ``at``."""
    days = PERIOD_DAYS[period]
    return None if days is None else at - timedelta(days=days)


def chunked(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` values."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def upsert(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    update_columns: list[str],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE on SQLite and PostgreSQL alike."""
    if not rows:
        return
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in update_columns}
    )
    session.execute(stmt, rows)


@dataclass(frozen=True)
class Aggregate:
    """One document's signals over one period."""

    document_id: str
    retrievals: int = 0
    citations: int = 0
    query_diversity: int = 0
    utility_score: float | None = None  # raw mean in [-1, 1]
    event_count: int = 0


def aggregate(
    session: Session, document_ids: Sequence[str], period: str, at: datetime
) -> dict[str, Aggregate]:
    """Aggregate the signal events of ``document_ids`` over ``period`` ending at ``at``.

    retrievals and citations count events of that kind; queryDiversity counts distinct query
    hashes (any kind); utilityScore is the mean utility of events that carry one. Documents
    without events in the window get zeros (and no utility).
    """
    E = SignalEventRow
    start = period_start(period, at)
    result = {doc_id: Aggregate(doc_id) for doc_id in document_ids}
    for ids in chunked(list(document_ids)):
        stmt = (
            select(
                E.document_id,
                func.sum(case((E.kind == "retrieval", 1), else_=0)),
                func.sum(case((E.kind == "citation", 1), else_=0)),
                func.count(distinct(E.query_hash)),
                func.avg(E.utility),
                func.count(),
            )
            .where(E.document_id.in_(ids), E.at <= at)
            .group_by(E.document_id)
        )
        if start is not None:
            stmt = stmt.where(E.at >= start)
        for doc_id, retrievals, citations, diversity, utility, count in session.execute(stmt):
            result[doc_id] = Aggregate(
                document_id=doc_id,
                retrievals=int(retrievals or 0),
                citations=int(citations or 0),
                query_diversity=int(diversity or 0),
                utility_score=None if utility is None else float(utility),
                event_count=int(count),
            )
    return result


def store_aggregates(
    session: Session, aggregates: Sequence[Aggregate], period: str, at: datetime
) -> int:
    """Upsert aggregates for ``period`` (computed at ``at``); returns the rows written."""
    rows = [
        {
            "document_id": a.document_id,
            "period": period,
            "retrievals": a.retrievals,
            "citations": a.citations,
            "query_diversity": a.query_diversity,
            "utility_score": a.utility_score,
            "event_count": a.event_count,
            "computed_at": at,
        }
        for a in aggregates
    ]
    keys = ["document_id", "period"]
    values = [name for name in (rows[0] if rows else {}) if name not in keys]
    upsert(session, SignalAggregationRow.__table__, rows, keys, values)
    return len(rows)


def refresh_aggregates(
    session: Session, document_ids: Sequence[str], periods: Sequence[str], at: datetime
) -> int:
    """Recompute and upsert every period for these documents; returns the rows written."""
    written = 0
    for period in periods:
        written += store_aggregates(
            session, list(aggregate(session, document_ids, period, at).values()), period, at
        )
    return written


@dataclass(frozen=True)
class StoredSignals:
    """Signals as the evaluator sees them, plus where they came from."""

    signals: Signals
    raw_utility: float | None
    event_count: int
    computed_at: datetime

    def snapshot(self, period: str) -> dict[str, Any]:
        """The JSON recorded with an advancement event."""
        return {
            **self.signals.to_json(),
            "rawUtility": self.raw_utility,
            "eventCount": self.event_count,
            "period": period,
            "computedAt": iso_z(self.computed_at),
        }


def read_signals(
    session: Session, document_ids: Sequence[str], period: str
) -> dict[str, StoredSignals]:
    """Stored aggregations for ``period``; documents without events in it are left out."""
    A = SignalAggregationRow
    found: dict[str, StoredSignals] = {}
    for ids in chunked(list(document_ids)):
        stmt = select(A).where(A.document_id.in_(ids), A.period == period, A.event_count > 0)
        for row in session.scalars(stmt):
            found[row.document_id] = StoredSignals(
                signals=Signals(
                    retrievals=row.retrievals,
                    citations=row.citations,
                    query_diversity=row.query_diversity,
                    utility_score=utility_to_score(row.utility_score),
                ),
                raw_utility=row.utility_score,
                event_count=row.event_count,
                computed_at=row.computed_at,
            )
    return found
