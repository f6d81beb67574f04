"""Request bodies and documented response shapes of the HTTP API (camelCase on the wire).

Responses are built from the same JSON the CLI prints (``ConfigView.to_json``,
``execution_json``); these models describe them for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grove_jobs.schema.execution import ExecutionStatus


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- errors


class ErrorOut(_Out):
    detail: str


class FieldErrorOut(_Out):
    path: str = Field(description="Dotted JSON path, e.g. payload.schedule.cronExpression")
    message: str


class ValidationErrorOut(_Out):
    detail: list[FieldErrorOut]


class ConflictOut(_Out):
    detail: str
    expectedVersion: int
    currentVersion: int


# --------------------------------------------------------------------------- jobs


class JobStateOut(_Out):
    version: int
    nextRunAt: str | None
    lastRunAt: str | None
    lastStatus: str | None
    lastExecutionId: int | None


class JobOut(_Out):
    meta: dict[str, Any]
    payload: dict[str, Any]
    state: JobStateOut


class JobListOut(_Out):
    items: list[JobOut]
    total: int


class FieldChangeOut(_Out):
    path: str
    before: Any = None
    after: Any = None


class RevisionOut(_Out):
    id: int
    configId: str
    version: int
    actor: str
    source: str
    at: str
    changes: list[FieldChangeOut]


class RevisionListOut(_Out):
    items: list[RevisionOut]


# --------------------------------------------------------------------------- executions


class TriggerIn(_In):
    """Optional body of ``POST /api/jobs/{id}/trigger``."""

    parameters: dict[str, Any] | None = Field(
        default=None,
        description="Overrides merged over the config's parameters for this run only; "
        "validated for the job type (errors name parameters.<field>).",
    )


class TriggerByIdIn(TriggerIn):
    """Body of ``POST /api/jobs/trigger``."""

    jobConfigId: str = Field(min_length=1, max_length=64)


class BackfillIn(_In):
    """Body of ``POST /api/jobs/{id}/backfill``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(
        alias="from",
        min_length=1,
        max_length=40,
        description="First instant, included: ISO with an offset or Z, or YYYY-MM-DD (local "
        "midnight in the config's timezone).",
    )
    to: str = Field(min_length=1, max_length=40, description="Last instant, excluded.")
    dryRun: bool = Field(default=False, description="List the fire times; create nothing.")
    max: int = Field(default=1000, ge=1, le=100_000, description="Refuse more fire times.")


class BackfillOut(_Out):
    created: list[int]
    existing: list[int]
    fireTimes: list[str]


class LogLineOut(_Out):
    id: int
    executionId: int
    at: str
    level: str
    message: str
    attempt: int


class ExecutionOut(_Out):
    id: int
    jobConfigId: str
    status: ExecutionStatus
    trigger: str
    attempt: int
    maxAttempts: int
    requestedBy: str | None = None
    queuedAt: str
    startedAt: str | None = None
    completedAt: str | None = None
    itemsProcessed: int
    itemsTotal: int | None = None
    itemsFailed: int
    result: dict[str, Any] | None = None
    error: str | None = None
    parameterOverrides: dict[str, Any] | None = None


class ExecutionDetailOut(ExecutionOut):
    logs: list[LogLineOut]
    renderTree: dict[str, Any] | None = Field(
        default=None, description="The run's status as a RenderTree (JOB_STATUS catalog)."
    )


class ExecutionPageOut(_Out):
    items: list[ExecutionOut]
    total: int
    next: str | None = Field(description="Relative URL of the next (older) page, or null.")


# --------------------------------------------------------------------------- alerts


class AlertOut(_Out):
    id: int
    configId: str
    rule: Literal["consecutive_failures", "slow_run", "missed_schedule"]
    ruleLabel: str
    summary: str
    openedAt: str
    resolvedAt: str | None
    lastNotifiedAt: str | None
    executionId: int | None
    details: dict[str, Any]


class AlertListOut(_Out):
    items: list[AlertOut]


# --------------------------------------------------------------------------- ops


class HealthOut(_Out):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
    lastTickAt: str | None
    lastTickAgeSeconds: float | None
    scheduleLagSeconds: float | None
    problems: list[str]
