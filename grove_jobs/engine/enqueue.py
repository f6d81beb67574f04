"""Run Now, Retry and Cancel: the use cases that create or stop executions on request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Row, bindparam, select, update
from sqlalchemy.orm import Session

from grove_jobs.clock import utcnow
from grove_jobs.db.dialect import insert_or_get, notify
from grove_jobs.db.engine import Database
from grove_jobs.db.records import RECORD_COLUMNS, config_record, execution_record
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.exceptions import FieldError, InvalidTransition, NotFound, ValidationFailed
from grove_jobs.jobs.registry import UnknownJobType, find_job_type
from grove_jobs.schema.builtin_types import JOB_CONFIG
from grove_jobs.schema.execution import Execution, ExecutionStatus, Trigger
from grove_jobs.schema.grove_object import nul_errors, pydantic_errors
from grove_jobs.schema.job_config import JobConfigPayload, untagged_parameters
from grove_jobs.schema.markers import destructive_changes

_EXECUTIONS = JobExecutionRow.__table__


DESTRUCTIVE_DENIED = (
    "is destructive: overriding it for one run needs the editor role (dashboard), a token "
    "with the write scope (API) or --allow-destructive (CLI)"
)


def validate_overrides(
    payload: JobConfigPayload, overrides: dict[str, Any] | None, *, allow_destructive: bool = False
) -> None:
    """Overrides must produce valid parameters for the job type, and may change a field
    marked ``Destructive`` only when ``allow_destructive``; errors name ``parameters.X``."""
    if not overrides:
        return
    if found := nul_errors(overrides, "parameters"):
        raise ValidationFailed(found)
    if "jobType" in overrides and overrides["jobType"] != payload.job_type:
        raise ValidationFailed([FieldError("parameters.jobType", "cannot be overridden")])
    kind = find_job_type(payload.job_type)
    if kind is None:
        raise ValidationFailed(
            [FieldError("payload.jobType", str(UnknownJobType(payload.job_type)))]
        )
    merged = {**payload.parameters_json(), **untagged_parameters(payload.job_type, overrides)}
    try:
        parameters = kind.parameters.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_errors(exc, "parameters")) from exc
    changed = destructive_changes(payload.parameters, parameters)
    if changed and not allow_destructive:
        raise ValidationFailed([FieldError(f"parameters.{f}", DESTRUCTIVE_DENIED) for f in changed])


# Run Now reads one row this way, without the ORM's identity map (it is on the path of every
# click and API call).
_RUNNABLE = select(JobConfigRow.type, JobConfigRow.status, *RECORD_COLUMNS).where(
    JobConfigRow.id == bindparam("id")
)


def _runnable_row(executor: Connection | Session, config_id: str) -> Row:
    """The row of a config that may get runs: it exists, is a job config, not archived."""
    row = executor.execute(_RUNNABLE, {"id": config_id}).one_or_none()
    if row is None:
        raise NotFound("config", config_id)
    if row.type != JOB_CONFIG.type:
        raise ValidationFailed([FieldError("meta.type", f"{row.type} cannot be run")])
    if row.status == "archived":
        raise ValidationFailed([FieldError("meta.status", "archived configs cannot be run")])
    return row


def runnable_payload(executor: Connection | Session, config_id: str) -> JobConfigPayload:
    """The payload of a config that may get runs: it exists, is a job config, not archived."""
    payload = config_record(_runnable_row(executor, config_id)).object.payload
    assert isinstance(payload, JobConfigPayload)
    return payload


def run_now(
    db: Database,
    config_id: str,
    *,
    requested_by: str,
    request_id: str | None = None,
    parameter_overrides: dict[str, Any] | None = None,
    trigger: Trigger = "manual",
    scheduled_for: datetime | None = None,
    at: datetime | None = None,
    allow_destructive: bool = False,
    trace_parent: str | None = None,
) -> Execution:
    """Queue a manual run. The same ``request_id`` always returns the same execution, so a
    double click, a Streamlit rerun or a retried API call never starts two runs.
    ``scheduled_for`` is the run's logical time when it is not the request time (a retry of a
    past run keeps that run's). Overrides that change a ``Destructive`` parameter need
    ``allow_destructive`` (the caller's right). ``trace_parent``, a valid W3C traceparent,
    makes the run's attempts part of the caller's trace."""
    at = at or utcnow()
    request_id = request_id or uuid.uuid4().hex
    # Two statements and no transaction around them on PostgreSQL (the insert wakes the
    # sidecars itself): Run Now is a click's and an API call's whole latency. A config archived
    # between the read and the insert still gets this one run, as it would under READ
    # COMMITTED in one transaction.
    with db.statements() as connection:
        payload = runnable_payload(connection, config_id)
        validate_overrides(payload, parameter_overrides, allow_destructive=allow_destructive)
        stored = insert_or_get(
            connection,
            _EXECUTIONS,
            {
                "config_id": config_id,
                "trigger": trigger,
                "status": ExecutionStatus.QUEUED.value,
                "attempt": 0,
                "max_attempts": payload.retry.max_attempts,
                "request_id": request_id,
                "requested_by": requested_by,
                "scheduled_for": scheduled_for,
                "queued_at": at,
                "run_after": at,
                "items_processed": 0,
                "items_failed": 0,
                "parameter_overrides": parameter_overrides or None,
                "cancel_requested": False,
                "trace_parent": trace_parent,
            },
            ["config_id", "request_id"],
            wake=config_id,
        )
        return execution_record(stored)


def retry_execution(
    db: Database,
    execution_id: int,
    *,
    requested_by: str,
    request_id: str | None = None,
    at: datetime | None = None,
    allow_destructive: bool = False,
) -> Execution:
    """Start a new manual run of a finished execution's config, with the same overrides
    (which are checked again, destructive ones included, against the config as it is now)."""
    with db.read() as session:
        row = session.get(JobExecutionRow, execution_id)
        if row is None:
            raise NotFound("execution", execution_id)
        if row.status in ("queued", "running", "retrying"):
            raise InvalidTransition(execution_id, row.status, "retry")
        config_id, overrides = row.config_id, row.parameter_overrides
        # Retrying last night's failed run processes last night, not today.
        logical = row.scheduled_for or row.queued_at
    return run_now(
        db,
        config_id,
        requested_by=requested_by,
        request_id=request_id or f"retry-{execution_id}-{uuid.uuid4().hex[:12]}",
        parameter_overrides=overrides,
        trigger="retry",
        scheduled_for=logical,
        at=at,
        allow_destructive=allow_destructive,
    )


def cancel_execution(
    db: Database, execution_id: int, *, requested_by: str, at: datetime | None = None
) -> Execution:
    """Cancel a run: waiting runs end at once; a running one is flagged and its sidecar stops
    it (cooperatively, or by killing its worker) within a couple of seconds."""
    at = at or utcnow()
    with db.write() as session:
        row = session.get(JobExecutionRow, execution_id)
        if row is None:
            raise NotFound("execution", execution_id)
        if row.status in ("queued", "retrying"):
            session.execute(
                update(JobExecutionRow)
                .where(JobExecutionRow.id == execution_id, JobExecutionRow.status == row.status)
                .values(
                    status=ExecutionStatus.CANCELLED.value,
                    completed_at=at,
                    error=f"cancelled by {requested_by} before it started",
                    cancel_requested=True,
                )
            )
        elif row.status == "running":
            session.execute(
                update(JobExecutionRow)
                .where(JobExecutionRow.id == execution_id, JobExecutionRow.status == "running")
                .values(cancel_requested=True, error=f"cancelled by {requested_by}")
            )
            notify(session, f"cancel:{execution_id}")
        else:
            raise InvalidTransition(execution_id, row.status, "cancel")
        session.flush()
        session.refresh(row)
        return execution_record(row)


def new_request_id() -> str:
    """A fresh idempotency key for a Run Now click."""
    return uuid.uuid4().hex
