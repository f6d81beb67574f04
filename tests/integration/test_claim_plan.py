"""The claim reads the queue index in order and stops after its batch, even when statistics
lag a burst. On a table not analyzed since thousands of runs were queued, the planner reads
every waiting run through the configs and sorts them all, so each claim cost in proportion to
the queue; the claim's transaction turns explicit sorts off (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import insert, text

from grove_jobs.clock import utcnow
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.engine import claim_statements as sql
from grove_jobs.engine import dispatch
from tests.factories import create, queued_rows, synthetic_config

pytestmark = pytest.mark.postgres
CONFIGS = 16
WAITING = 12_000  # at 4,000 the planner still guessed right, on PostgreSQL 15


@pytest.fixture
def burst(postgres_url: str) -> Iterator[Database]:
    """A fresh database, never analyzed, with a burst of waiting runs over 16 configs."""
    migrate.upgrade(postgres_url)
    db = Database(postgres_url)
    try:
        for n in range(CONFIGS):
            create(db, synthetic_config(f"c{n}", max_concurrent=64))
        rows = queued_rows([f"c{n % CONFIGS}" for n in range(WAITING)], utcnow())
        with db.write() as session:
            # No autovacuum ANALYZE may land between the burst and the plans.
            session.execute(text("ALTER TABLE job_executions SET (autovacuum_enabled = false)"))
            session.execute(insert(JobExecutionRow), rows)
        yield db
    finally:
        db.dispose()


def _plan(db: Database, *, as_the_claim: bool) -> str:
    stmt = sql.candidates(backfill=False, typed=True, locking=True)
    with db.write() as session:
        if as_the_claim:
            session.execute(sql.instant())  # what the claim's transaction runs first
        query = stmt.params(at=utcnow(), lim=32, types=["synthetic"]).compile(
            dialect=session.get_bind().dialect,
            compile_kwargs={"literal_binds": True, "render_postcompile": True},
        )
        plan = session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {query}")).scalars().all()
        session.rollback()
    return "\n".join(plan)


def test_a_claim_after_a_burst_reads_the_queue_index_in_order(burst: Database) -> None:
    plan = _plan(burst, as_the_claim=True)
    assert "Sort" not in plan, plan
    # It read its batch, not the queue: 32 rows out of the queue index, once.
    scan = next(line for line in plan.splitlines() if "ix_job_executions_queue" in line)
    assert scan.strip().startswith("->  Index Scan using ix_job_executions_queue"), plan
    assert scan.endswith("rows=32 loops=1)"), plan
    assert len(dispatch.claim(burst, worker_id="w", limit=8, job_types={"synthetic"})) == 8


def test_without_the_claims_settings_the_planner_sorts_the_whole_burst(burst: Database) -> None:
    """What the claim guards against, so the test above cannot pass by luck of statistics."""
    assert "Sort" in _plan(burst, as_the_claim=False)
