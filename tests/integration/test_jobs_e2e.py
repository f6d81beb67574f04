"""End to end: the demo seed, then advancement-batch run by a real ``grove-jobs scheduler``
process (worker pool and all): the dry run announces, the real run does exactly that."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grove_jobs.configs.query import ConfigQuery, list_configs
from grove_jobs.configs.store import get_config
from grove_jobs.contrib.content.demo_content import generate
from grove_jobs.contrib.content.tables import (
    AdvancementEventRow,
    DocumentRow,
    SignalAggregationRow,
    SignalEventRow,
)
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ConfigRevisionRow, JobConfigRow
from grove_jobs.demo import seed
from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import execution_logs, get_execution
from grove_jobs.schema.execution import Execution
from tests.integration.test_jobs_support import events, tiers

ROOT = Path(__file__).resolve().parents[2]
COUNTED = (JobConfigRow, ConfigRevisionRow, DocumentRow, SignalEventRow, SignalAggregationRow)


def _counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            row.__tablename__: session.scalar(select(func.count()).select_from(row)) or 0
            for row in COUNTED
        }


def test_demo_seed_is_idempotent(db: Database) -> None:
    seed(db, actor="test")
    first = _counts(db)
    assert first["documents"] == 200
    assert 3000 <= first["signal_events"] <= 20000
    assert first["signal_aggregations"] == 600  # every document, every period
    rules = list_configs(db, ConfigQuery(type="advancement-rule"))
    assert len(rules) == 4
    with db.read() as session:
        spread = dict(
            session.execute(select(DocumentRow.tier, func.count()).group_by(DocumentRow.tier)).all()
        )
    assert set(spread) == {"seed", "sprout", "sapling", "tree", "grove"}

    changes = seed(db, actor="test")

    assert {c.action for c in changes} == {"unchanged"}
    assert _counts(db) == first
    daily = get_config(db, "daily-advancement").object.payload
    assert (daily.schedule.cron_expression, daily.schedule.timezone) == ("0 2 * * *", "UTC")


def test_demo_content_is_deterministic() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert generate(at) == generate(at)
    assert generate(at) != generate(at, seed=1)


# --------------------------------------------------------------------------- the real sidecar


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite database (the sidecar's embedded default)."""
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def sidecar(sqlite_db: Database, tmp_path: Path) -> Iterator[subprocess.Popen]:
    log_path = tmp_path / "sidecar.log"
    env = {
        **os.environ,
        "GROVE_DATABASE_URL": sqlite_db.url,
        "GROVE_DATA_DIR": str(tmp_path / "data"),
        "GROVE_WORKERS": "2",
        "GROVE_TICK_INTERVAL_SECONDS": "0.5",
        "GROVE_POLL_INTERVAL_SECONDS": "0.2",
        "GROVE_API_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "grove_jobs.cli", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 20
        while "started" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait(db: Database, execution_id: int, timeout: float = 30.0) -> Execution:
    deadline = time.monotonic() + timeout
    execution = get_execution(db, execution_id)
    while execution.is_active:
        assert time.monotonic() < deadline, f"execution {execution_id} still {execution.status}"
        time.sleep(0.05)
        execution = get_execution(db, execution_id)
    return execution


def _moves(result: dict, kind: str) -> dict[str, tuple[str, str, str]]:
    return {
        o["documentId"]: (o["fromTier"], o["toTier"], o["ruleId"])
        for o in result["outcomes"]
        if o["outcome"] == kind
    }


@pytest.mark.slow
def test_dry_run_then_real_run_through_the_sidecar(sqlite_db: Database, sidecar) -> None:
    db = sqlite_db
    seed(db, actor="test")
    before = tiers(db)

    overrides = {"dryRun": True}
    queued = run_now(
        db,
        "daily-advancement",
        requested_by="e2e",
        parameter_overrides=overrides,
        allow_destructive=True,  # dryRun is marked Destructive: overriding it takes an editor
    )
    dry = _wait(db, queued.id)

    assert dry.status == "success", dry.error
    announced = _moves(dry.result or {}, "would_advance")
    assert len(announced) >= 5
    assert tiers(db) == before and events(db) == []
    assert (dry.result or {})["evaluated"] == dry.items_processed == 100  # the config's batch

    real = _wait(db, run_now(db, "daily-advancement", requested_by="e2e").id)

    assert real.status == "success", real.error
    assert _moves(real.result or {}, "advanced") == announced
    after = tiers(db)
    assert {d: after[d] for d in announced} == {d: to for d, (_, to, _) in announced.items()}
    assert {d: t for d, t in after.items() if d not in announced} == {
        d: t for d, t in before.items() if d not in announced
    }
    recorded = events(db)
    assert {e.document_id: (e.from_tier, e.to_tier, e.rule_id) for e in recorded} == announced
    assert {e.execution_id for e in recorded} == {real.id}
    with db.read() as session:
        linked = session.scalar(
            select(func.count()).where(AdvancementEventRow.execution_id == real.id)
        )
    assert linked == len(announced)
    logs = [line.message for line in execution_logs(db, real.id)]
    assert any(f"{len(announced)} advanced" in m for m in logs)
