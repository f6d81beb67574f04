"""signal-aggregation against a real database: the stored aggregates equal a hand-written SQL
computation, chunks follow the batch size, reruns upsert, and a stop leaves whole chunks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, func, select, text

from grove_jobs.clock import utcnow
from grove_jobs.contrib.content.signal_aggregation import SignalAggregationParameters, run
from grove_jobs.contrib.content.tables import SignalAggregationRow
from grove_jobs.db.base import UTCDateTime
from grove_jobs.db.engine import Database
from grove_jobs.engine.context import JobCancelled
from grove_jobs.jobs.database import close_databases
from tests.integration.test_jobs_support import add_documents, add_signals, make_context

PERIODS = ["all_time", "last_30d", "last_7d"]
DOCS = 23

# Written independently of the handler: correlated subqueries instead of one GROUP BY.
EXPECTED_SQL = text(
    """
    SELECT d.id,
      (SELECT COUNT(*) FROM signal_events e WHERE e.document_id = d.id
         AND e.kind = 'retrieval' AND e.at >= :start AND e.at <= :end) AS retrievals,
      (SELECT COUNT(*) FROM signal_events e WHERE e.document_id = d.id
         AND e.kind = 'citation' AND e.at >= :start AND e.at <= :end) AS citations,
      (SELECT COUNT(DISTINCT e.query_hash) FROM signal_events e WHERE e.document_id = d.id
         AND e.at >= :start AND e.at <= :end) AS query_diversity,
      (SELECT AVG(e.utility) FROM signal_events e WHERE e.document_id = d.id
         AND e.at >= :start AND e.at <= :end) AS utility_score,
      (SELECT COUNT(*) FROM signal_events e WHERE e.document_id = d.id
         AND e.at >= :start AND e.at <= :end) AS event_count
    FROM documents d
    WHERE d.archived_at IS NULL
    ORDER BY d.id
    """
).bindparams(bindparam("start", type_=UTCDateTime), bindparam("end", type_=UTCDateTime))
WINDOW = {
    "all_time": timedelta(days=100 * 365),
    "last_30d": timedelta(days=30),
    "last_7d": timedelta(days=7),
}


@pytest.fixture
def url(db: Database, migrated_url: str) -> Iterator[str]:
    yield migrated_url
    close_databases()


def _params(periods: list[str] = PERIODS) -> SignalAggregationParameters:
    return SignalAggregationParameters.model_validate({"periods": periods})


def _populate(db: Database, now: datetime) -> None:
    rng = random.Random(7)
    created = now - timedelta(days=90)
    docs = [{"id": f"doc-{n:02d}", "tier": "seed", "created_at": created} for n in range(DOCS)]
    docs.append({"id": "doc-archived", "tier": "seed", "created_at": created, "archived_at": now})
    add_documents(db, docs)
    events = []
    for n in range(DOCS - 1):  # the last document never gets a signal
        for _ in range(rng.randrange(0, 25)):
            events.append(
                {
                    "document_id": f"doc-{n:02d}",
                    "kind": rng.choice(["retrieval", "retrieval", "citation", "query"]),
                    "query_hash": rng.choice([None, "q1", "q2", "q3", "q4"]),
                    "utility": rng.choice([None, round(rng.uniform(-1, 1), 3)]),
                    "at": now - timedelta(days=rng.uniform(0, 45)),
                }
            )
    # Either side of each window's start, and one in the future (after the run: excluded).
    for days in (7, 30):
        for delta in (timedelta(hours=-1), timedelta(hours=1)):
            events.append(
                {
                    "document_id": "doc-00",
                    "kind": "citation",
                    "query_hash": f"edge-{days}-{delta.total_seconds()}",
                    "utility": 1.0,
                    "at": now - timedelta(days=days) + delta,
                }
            )
    events.append({"document_id": "doc-01", "kind": "retrieval", "at": now + timedelta(days=1)})
    events.append({"document_id": "doc-archived", "kind": "retrieval", "at": now})
    add_signals(db, events)


def _stored(db: Database, period: str) -> list[tuple]:
    A = SignalAggregationRow
    with db.read() as session:
        rows = session.execute(
            select(
                A.document_id,
                A.retrievals,
                A.citations,
                A.query_diversity,
                A.utility_score,
                A.event_count,
            )
            .where(A.period == period)
            .order_by(A.document_id)
        ).all()
    return [tuple(r) for r in rows]


def _expected(db: Database, period: str, at: datetime) -> list[tuple]:
    with db.read() as session:
        rows = session.execute(EXPECTED_SQL, {"start": at - WINDOW[period], "end": at}).all()
    return [tuple(r) for r in rows]


def _assert_equal(stored: list[tuple], expected: list[tuple]) -> None:
    assert [r[0] for r in stored] == [r[0] for r in expected]
    for got, want in zip(stored, expected, strict=True):
        assert got[:4] == tuple(int(v) if isinstance(v, int | float) else v for v in want[:4])
        assert got[5] == want[5]
        if want[4] is None:
            assert got[4] is None
        else:
            assert got[4] == pytest.approx(float(want[4]))


def test_aggregates_equal_a_hand_written_sql_computation(db: Database, url: str) -> None:
    _populate(db, utcnow())
    ctx, recorder = make_context(url, batch_size=5)

    result = run(_params(), ctx)

    at = datetime.fromisoformat(result.data["computedAt"].replace("Z", "+00:00"))
    for period in PERIODS:
        _assert_equal(_stored(db, period), _expected(db, period, at))
    # Archived documents are left alone; a document without signals gets zeros.
    assert "doc-archived" not in [r[0] for r in _stored(db, "all_time")]
    assert _stored(db, "all_time")[-1] == (f"doc-{DOCS - 1:02d}", 0, 0, 0, None, 0)
    assert result.items_processed == DOCS and result.items_total == DOCS
    assert result.data["chunks"] == 5  # 23 documents, 5 at a time
    assert result.data["aggregatesUpserted"] == DOCS * 3
    assert recorder.progress[-1] == (DOCS, DOCS)
    assert [p for p, _ in recorder.progress] == [0, 5, 10, 15, 20, 23]
    assert "upserted 69 aggregates for 23 documents in 5 chunks" in recorder.text()


def test_edges_of_the_windows(db: Database, url: str) -> None:
    now = utcnow()
    add_documents(db, [{"id": "doc", "tier": "seed", "created_at": now - timedelta(days=90)}])
    add_signals(
        db,
        [
            {"document_id": "doc", "kind": "citation", "at": now - timedelta(days=d, hours=h)}
            for d, h in ((7, -1), (7, 1), (30, -1), (30, 1), (-1, 0))
        ],
    )
    run(_params(), make_context(url)[0])
    citations = {p: _stored(db, p)[0][2] for p in PERIODS}
    # (7d - 1h) is in both windows, (7d + 1h) and (30d - 1h) only in 30d, (30d + 1h) only in
    # all time; the one a day in the future is in none.
    assert citations == {"last_7d": 1, "last_30d": 3, "all_time": 4}


def test_rerun_upserts(db: Database, url: str) -> None:
    now = utcnow()
    _populate(db, now)
    run(_params(["last_7d"]), make_context(url, batch_size=100)[0])
    before = {r[0]: r for r in _stored(db, "last_7d")}
    add_signals(db, [{"document_id": "doc-05", "kind": "retrieval", "at": utcnow()}] * 3)

    result = run(_params(["last_7d"]), make_context(url, batch_size=100)[0])

    after = {r[0]: r for r in _stored(db, "last_7d")}
    assert set(after) == set(before)  # updated in place, no duplicates
    assert after["doc-05"][1] == before["doc-05"][1] + 3
    assert {k: v for k, v in after.items() if k != "doc-05"} == {
        k: v for k, v in before.items() if k != "doc-05"
    }
    at = datetime.fromisoformat(result.data["computedAt"].replace("Z", "+00:00"))
    with db.read() as session:
        computed = set(session.scalars(select(SignalAggregationRow.computed_at)))
        count = session.scalar(select(func.count()).select_from(SignalAggregationRow))
    assert computed == {at} and count == DOCS


def test_a_stop_leaves_whole_chunks(db: Database, url: str) -> None:
    _populate(db, datetime.now(UTC))
    # progress: (0, n) then one report per chunk; stop after the second chunk.
    ctx, _ = make_context(url, batch_size=4, cancel_when=lambda r: len(r.progress) > 2)

    with pytest.raises(JobCancelled):
        run(_params(), ctx)

    for period in PERIODS:
        assert [r[0] for r in _stored(db, period)] == [f"doc-{n:02d}" for n in range(8)]
