"""Job types from outside the project, run by real sidecar processes on SQLite and PostgreSQL:
a module found through GROVE_JOB_MODULES, the example package's entry point, the run's
logical time reaching the handler, permanent errors, bad plugins, types nobody has."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from grove_jobs.db.tables import JobConfigRow
from grove_jobs.engine.backfill import backfill
from grove_jobs.engine.enqueue import retry_execution, run_now
from grove_jobs.executions.queries import execution_logs
from tests.factories import create, synthetic_config
from tests.reliability.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow

TEAM_MODULE = textwrap.dedent(
    """
    from pydantic import BaseModel, Field

    from grove_jobs import JobContext, JobResult, PermanentError, job_type


    class ReportParams(BaseModel):
        region: str = Field(min_length=2)
        broken: bool = False


    @job_type("team-report", parameters=ReportParams, title="Team report")
    def team_report(params: ReportParams, ctx: JobContext) -> JobResult:
        if params.broken:
            raise PermanentError("the region was retired")
        ctx.log.info(f"report for {params.region} at {ctx.scheduled_for.isoformat()}")
        start = ctx.interval.start.isoformat() if ctx.interval.start else None
        return JobResult(
            items_processed=1,
            data={
                "scheduledFor": ctx.scheduled_for.isoformat(),
                "intervalStart": start,
                "trigger": ctx.trigger,
            },
        )
    """
)


@pytest.fixture
def team_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A module outside the project, on the sidecars' path, named in GROVE_JOB_MODULES."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "team_jobs_report.py").write_text(TEAM_MODULE)
    monkeypatch.syspath_prepend(str(plugins))  # this process validates configs of the type too
    from grove_jobs.jobs.discovery import discover

    discover("team_jobs_report")
    return {"GROVE_JOB_MODULES": "team_jobs_report", "PYTHONPATH": str(plugins)}


def _config(config_id: str, job_type: str, parameters: dict, **schedule) -> dict:
    data = synthetic_config(config_id, max_attempts=3, initial_delay=0)
    data["payload"]["jobType"] = job_type
    data["payload"]["parameters"] = parameters
    data["payload"]["schedule"].update(schedule)
    return data


def test_module_type_gets_its_tick_and_keeps_it_on_retry(db, team_module, start_sidecar):
    create(db, _config("report", "team-report", {"region": "eu"}, cronExpression="0 2 * * *"))
    start_sidecar(**team_module)
    result = backfill(db, "report", "2026-03-01", "2026-03-03", requested_by="test")
    assert len(result.created) == 2
    runs = [wait_for(db, eid, {"success"}) for eid in result.created]
    assert [r.result["scheduledFor"] for r in runs] == [
        "2026-03-01T02:00:00+00:00",
        "2026-03-02T02:00:00+00:00",
    ]
    assert runs[1].result["intervalStart"] == "2026-03-01T02:00:00+00:00"
    assert runs[0].trigger == "backfill" and runs[0].result["trigger"] == "backfill"
    # Retrying a past run processes that run's tick, not today.
    again = retry_execution(db, runs[0].id, requested_by="test")
    assert (
        wait_for(db, again.id, {"success"}).result["scheduledFor"] == runs[0].result["scheduledFor"]
    )
    # Manual runs are for the time they were requested.
    manual = run_now(db, "report", requested_by="test")
    done = wait_for(db, manual.id, {"success"})
    assert done.scheduled_for is None
    requested = datetime.fromisoformat(done.result["scheduledFor"])
    assert abs(requested - done.queued_at) < timedelta(seconds=1)


def test_permanent_error_fails_without_retries(db, team_module, start_sidecar):
    create(db, _config("broken", "team-report", {"region": "eu", "broken": True}))
    start_sidecar(**team_module)
    run = run_now(db, "broken", requested_by="test")
    failed = wait_for(db, run.id, {"failed", "retrying"})
    assert failed.status == "failed" and failed.attempt == 1 and failed.max_attempts == 3
    assert failed.error_kind == "permanent"
    assert "the region was retired" in failed.error


def test_example_package_job_runs_through_the_sidecar(db, start_sidecar):
    create(db, _config("acme", "acme-export", {"bucket": "reports", "days": 2}))
    start_sidecar()
    result = backfill(db, "acme", "2026-03-10", "2026-03-11", requested_by="test")
    run = wait_for(db, result.created[0], {"success"})
    # acme-export exports the days that end at its tick: the 8th and the 9th.
    assert run.result["days"] == ["2026-03-08", "2026-03-09"]
    messages = [line.message for line in execution_logs(db, run.id)]
    assert "exported 2026-03-09 to reports" in messages


def test_a_module_that_cannot_be_imported_stops_the_sidecar(migrated_url, tmp_path):
    env = {"GROVE_DATABASE_URL": migrated_url, "GROVE_JOB_MODULES": "team_jobs_nowhere"}
    done = subprocess.run(
        [sys.executable, "-m", "grove_jobs.cli", "scheduler"],
        cwd=ROOT,
        env={**os.environ, **env, "GROVE_API_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "team_jobs_nowhere" in done.stderr and "ModuleNotFoundError" in done.stderr


def test_runs_of_a_type_no_sidecar_has_fail_naming_it(db, start_sidecar):
    create(db, synthetic_config("orphaned"))
    with db.write() as session:  # a config whose plugin was uninstalled since it was saved
        row = session.get(JobConfigRow, "orphaned")
        payload = copy.deepcopy(row.payload)
        payload["jobType"] = payload["parameters"]["jobType"] = "retired-type"
        session.execute(
            update(JobConfigRow)
            .where(JobConfigRow.id == "orphaned")
            .values(payload=payload, version=row.version + 1)
        )
    create(db, synthetic_config("healthy", items=1))
    start_sidecar()
    stuck = run_now(db, "orphaned", requested_by="test")
    fine = run_now(db, "healthy", requested_by="test")
    assert wait_for(db, fine.id, {"success"}).status == "success"
    failed = wait_for(db, stuck.id, {"failed"}, timeout=30)
    assert "retired-type" in failed.error and "GROVE_JOB_MODULES" in failed.error
    assert failed.completed_at - failed.queued_at >= timedelta(seconds=3)  # after the lease
