"""Frozen domain records and the explicit row -> record mapping."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Text, cast

from grove_jobs.clock import iso_z
from grove_jobs.db.tables import ConfigRevisionRow, ExecutionLogRow, JobConfigRow, JobExecutionRow
from grove_jobs.jobs import registry as jobs_registry
from grove_jobs.schema import registry as schema_registry
from grove_jobs.schema.execution import Execution, LogLine, Revision
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object
from grove_jobs.schema.meta import GroveMeta
from grove_jobs.schema.registry import get_type


class ConfigRecord(BaseModel):
    """A stored object with the runtime facts that are not part of its editable payload."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    object: GroveObject
    version: int
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return self.object.meta.id

    @property
    def type(self) -> str:
        return self.object.meta.type


class LastRun(BaseModel):
    """The newest execution of a config, summarised for cards and lists."""

    model_config = ConfigDict(frozen=True)

    config_id: str
    execution_id: int
    status: str
    trigger: str
    started_at: datetime | None
    completed_at: datetime | None
    queued_at: datetime
    items_processed: int
    items_total: int | None
    error: str | None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.completed_at:
            return (self.completed_at - self.started_at).total_seconds()
        return None


# What config_record maps, to read as plain rows (``select(*RECORD_COLUMNS)``): building ORM
# objects for a thousand configs that are only read cost as much as validating them. The JSON
# comes as text, so a row whose content was parsed before costs a dict lookup.
RECORD_COLUMNS = (
    cast(JobConfigRow.meta, Text).label("meta"),
    cast(JobConfigRow.payload, Text).label("payload"),
    JobConfigRow.version,
    JobConfigRow.next_run_at,
    JobConfigRow.created_at,
    JobConfigRow.updated_at,
)
# Distinct row contents whose parsed objects a process keeps: about 9 KB each with the key, so
# at most about 35 MB. A deployment with more configs than this re-parses on every list, as
# everything did before.
PARSED_OBJECTS = 4_096


def config_record(row: JobConfigRow) -> ConfigRecord:
    """Map a job_configs row, or a row of :data:`RECORD_COLUMNS`.

    The stored JSON was validated on write, so reading skips the input-only checks (NUL scan,
    unknown top-level keys) and validates meta and payload directly; that still catches rows
    edited behind our back, which then get the full parse and its error list. Rows read as
    text are parsed once per process for each distinct content (see :func:`_parsed_object`).
    """
    if isinstance(row.meta, str):
        registries = (schema_registry.generation(), jobs_registry.generation())
        obj = _parsed_object(row.meta, row.payload, row.created_at, row.updated_at, registries)
    else:
        obj = _parse_object(row.meta, row.payload, row.created_at, row.updated_at)
    return ConfigRecord.model_construct(  # the fields come straight from typed columns
        object=obj,
        version=row.version,
        next_run_at=row.next_run_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@lru_cache(maxsize=PARSED_OBJECTS)
def _parsed_object(
    meta: str, payload: str, created_at: datetime, updated_at: datetime, registries: tuple
) -> GroveObject:
    """The object a row's content parses to, shared (objects are frozen) by every read of it.

    Keyed by the content itself, not by id and version, which two databases (or a row edited
    behind our back) can share with other content; and by the registries' generations, since
    a job type installed later parses the same row differently.
    """
    return _parse_object(json.loads(meta), json.loads(payload), created_at, updated_at)


def _parse_object(
    meta: dict[str, Any], payload: dict[str, Any], created_at: datetime, updated_at: datetime
) -> GroveObject:
    meta = {**meta, "createdAt": iso_z(created_at), "updatedAt": iso_z(updated_at)}
    try:
        return GroveObject(
            meta=GroveMeta.model_validate(meta),
            payload=get_type(meta["type"]).payload_model.model_validate(
                payload, context={"stored": True}
            ),
        )
    except (ValidationError, KeyError, TypeError):
        return parse_grove_object({"meta": meta, "payload": payload}, stored=True)


def execution_record(row: JobExecutionRow) -> Execution:
    """Map a job_executions row."""
    return Execution(
        id=row.id,
        job_config_id=row.config_id,
        status=row.status,
        trigger=row.trigger,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        scheduled_for=row.scheduled_for,
        request_id=row.request_id,
        requested_by=row.requested_by,
        queued_at=row.queued_at,
        run_after=row.run_after,
        started_at=row.started_at,
        completed_at=row.completed_at,
        heartbeat_at=row.heartbeat_at,
        worker_id=row.worker_id,
        items_processed=row.items_processed,
        items_total=row.items_total,
        items_failed=row.items_failed,
        result=row.result,
        error=row.error,
        error_kind=row.error_kind,
        parameter_overrides=row.parameter_overrides,
        payload_snapshot=row.payload_snapshot,
        cancel_requested=row.cancel_requested,
    )


def log_record(row: ExecutionLogRow) -> LogLine:
    return LogLine(
        id=row.id,
        execution_id=row.execution_id,
        at=row.at,
        level=row.level,
        message=row.message,
        attempt=row.attempt,
    )


def revision_record(row: ConfigRevisionRow) -> Revision:
    return Revision(
        id=row.id,
        config_id=row.config_id,
        version=row.version,
        actor=row.actor,
        source=row.source,
        at=row.at,
        before=row.before,
        after=row.after,
    )


def execution_json(execution: Execution, logs: list[LogLine] | None = None) -> dict[str, Any]:
    """Execution JSON for the CLI and API: camelCase, without the bulky payload snapshot."""
    data = execution.model_dump(
        mode="json", by_alias=True, exclude={"payload_snapshot", "parameter_overrides"}
    )
    data["parameterOverrides"] = execution.parameter_overrides
    if execution.started_at and (end := execution.completed_at):
        data["durationSeconds"] = round((end - execution.started_at).total_seconds(), 3)
    if logs is not None:
        data["logs"] = [line.model_dump(mode="json", by_alias=True) for line in logs]
    return data
