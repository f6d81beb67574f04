"""Every write the dashboard makes: permission check, the service call, then a cache clear.

Run Now and Retry carry request ids kept in ``st.session_state``: a double click, or the rerun
Streamlit does after a click, sends the same id again, and the service returns the run it
already queued instead of starting a second one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import data
from dashboard.context import database
from dashboard.identity import can, current_user, require
from grove_jobs.alerts.acks import Acknowledgement, acknowledge_incident
from grove_jobs.auth.audit import restore_revision
from grove_jobs.configs import store as config_store
from grove_jobs.configs.store import (
    archive_config,
    create_config,
    duplicate_config,
    update_config,
)
from grove_jobs.db.records import ConfigRecord
from grove_jobs.engine.backfill import BackfillResult
from grove_jobs.engine.backfill import backfill as backfill_config
from grove_jobs.engine.enqueue import cancel_execution, new_request_id, retry_execution, run_now
from grove_jobs.exceptions import NotFound
from grove_jobs.executions.bulk import BulkOutcome, cancel_runs, retry_runs
from grove_jobs.executions.queries import get_execution
from grove_jobs.schema.execution import Execution
from grove_jobs.schema.grove_object import GroveObject

# Clicks on the same Run Now within this window are one request, whatever the run is doing.
DEBOUNCE_SECONDS = 2.0
_REQUESTS = "_run_requests"


@dataclass(frozen=True)
class Queued:
    """The outcome of Run Now / Retry: the execution, and whether an earlier click made it."""

    execution: Execution
    repeated: bool


def save(obj: GroveObject, *, expected_version: int) -> ConfigRecord:
    """Save an edited object; VersionConflict when someone saved since ``expected_version``."""
    require("config.edit", obj.id)
    try:
        return update_config(
            database(), obj, expected_version=expected_version, actor=current_user(), source="ui"
        )
    finally:
        data.clear()


def create(obj: GroveObject) -> ConfigRecord:
    """Store a new object (AlreadyExists when the id is taken)."""
    require("config.create", obj.id)
    try:
        return create_config(database(), obj, actor=current_user(), source="ui")
    finally:
        data.clear()


def set_enabled(config_id: str, enabled: bool, *, expected_version: int) -> ConfigRecord:
    """Switch a schedule (or a rule) on or off."""
    require("config.enable", config_id)
    try:
        return config_store.set_enabled(
            database(),
            config_id,
            enabled,
            expected_version=expected_version,
            actor=current_user(),
            source="ui",
        )
    finally:
        data.clear()


def duplicate(config_id: str) -> ConfigRecord:
    """Copy a config under a free id (disabled)."""
    require("config.duplicate", config_id)
    try:
        return duplicate_config(database(), config_id, actor=current_user(), source="ui")
    finally:
        data.clear()


def archive(config_id: str) -> ConfigRecord:
    """Soft delete: no more runs, history kept."""
    require("config.archive", config_id)
    try:
        return archive_config(database(), config_id, actor=current_user(), source="ui")
    finally:
        data.clear()


def restore(config_id: str, revision_id: int, *, expected_version: int) -> ConfigRecord:
    """Make the config what it was after ``revision_id`` (as a new version)."""
    require("config.restore", config_id)
    try:
        return restore_revision(
            database(),
            config_id,
            revision_id,
            actor=current_user(),
            source="ui",
            expected_version=expected_version,
        )
    finally:
        data.clear()


def _request_id(scope: str) -> tuple[str, int | None]:
    """The request id for a click in ``scope``: the previous one while it is still a duplicate
    (within the debounce window, or its run has not been picked up yet), else a fresh one."""
    requests: dict[str, dict[str, Any]] = st.session_state.setdefault(_REQUESTS, {})
    entry = requests.get(scope)
    if entry is not None:
        recent = time.monotonic() - entry["issued"] < DEBOUNCE_SECONDS
        waiting = False
        if not recent and entry.get("execution_id") is not None:
            try:
                run = get_execution(database(), entry["execution_id"])
                waiting = run.status == "queued"
            except NotFound:
                waiting = False
        if recent or waiting:
            return entry["id"], entry.get("execution_id")
    request_id = new_request_id()
    requests[scope] = {"id": request_id, "issued": time.monotonic(), "execution_id": None}
    return request_id, None


def _remember(scope: str, execution: Execution) -> None:
    st.session_state[_REQUESTS][scope]["execution_id"] = execution.id


def start_run(config_id: str, overrides: dict[str, Any] | None = None) -> Queued:
    """Run Now (optionally with parameter overrides; ValidationFailed names the fields)."""
    require("run.start", config_id)
    scope = f"run:{config_id}:{'overrides' if overrides else 'plain'}"
    request_id, previous = _request_id(scope)
    try:
        execution = run_now(
            database(),
            config_id,
            requested_by=current_user(),
            request_id=request_id,
            parameter_overrides=overrides or None,
            allow_destructive=can("run.destructive"),
        )
    finally:
        data.clear()
    _remember(scope, execution)
    return Queued(execution, repeated=previous == execution.id)


def retry(execution_id: int) -> Queued:
    """Start a new run of a finished one; retrying the same run twice returns the first retry."""
    require("run.retry", str(execution_id))
    scope = f"retry:{execution_id}"
    requests: dict[str, dict[str, Any]] = st.session_state.setdefault(_REQUESTS, {})
    entry = requests.setdefault(
        scope, {"id": f"retry-{execution_id}-{new_request_id()[:16]}", "issued": 0.0}
    )
    previous = entry.get("execution_id")
    try:
        execution = retry_execution(
            database(),
            execution_id,
            requested_by=current_user(),
            request_id=entry["id"],
            allow_destructive=can("run.destructive"),
        )
    finally:
        data.clear()
    entry["execution_id"] = execution.id
    return Queued(execution, repeated=previous == execution.id)


def backfill(config_id: str, start: str, end: str, *, dry_run: bool) -> BackfillResult:
    """Backfill runs for [start, end) (dates or ISO instants); ValidationFailed names
    ``from``, ``to`` or ``max``. Idempotent: a repeat adds nothing."""
    require("run.backfill", config_id)
    try:
        return backfill_config(
            database(), config_id, start, end, requested_by=current_user(), dry_run=dry_run
        )
    finally:
        if not dry_run:
            data.clear()


def cancel(execution_id: int) -> Execution:
    """Cancel a waiting or running run."""
    require("run.cancel", str(execution_id))
    try:
        return cancel_execution(database(), execution_id, requested_by=current_user())
    finally:
        data.clear()


def retry_many(execution_ids: list[int]) -> BulkOutcome:
    """Retry the selected finished runs; each is re-checked by the service and audited."""
    require("run.retry", ",".join(map(str, execution_ids)))
    # One prefix per selection: a rerun of the same click retries nothing twice.
    scope = f"bulk-retry:{','.join(map(str, sorted(execution_ids)))}"
    requests: dict[str, dict[str, Any]] = st.session_state.setdefault(_REQUESTS, {})
    entry = requests.setdefault(scope, {"id": f"bulk-{new_request_id()[:16]}", "issued": 0.0})
    try:
        return retry_runs(
            database(), execution_ids, actor=current_user(), request_prefix=entry["id"]
        )
    finally:
        data.clear()


def cancel_many(execution_ids: list[int]) -> BulkOutcome:
    """Cancel the selected waiting or running runs; finished ones are refused."""
    require("run.cancel", ",".join(map(str, execution_ids)))
    try:
        return cancel_runs(database(), execution_ids, actor=current_user())
    finally:
        data.clear()


def acknowledge(incident_id: int) -> Acknowledgement:
    """Record that the current user is on an open alert (it still notifies on resolve)."""
    require("alert.ack", str(incident_id))
    try:
        return acknowledge_incident(database(), incident_id, actor=current_user())
    finally:
        data.clear()
