"""Cached reads for the dashboard, and dashboard-only queries.

Every read goes through ``st.cache_data`` with a short TTL: a rerun (a click, a keystroke) is
served from memory, while changes made elsewhere (the sidecar, the CLI, another browser) show
up within seconds. Every write in ``dashboard.actions`` calls :func:`clear` afterwards, so the
user who made a change sees it at once.

Cached values are pickled per hit, so the console caches lean rows (``CardRow``), not models;
its result set is the exception: at 10,000 configs unpickling it was half of a warm rerun, so
it is one shared, immutable object (``st.cache_resource``, same TTL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

from dashboard.context import database
from grove_jobs.alerts import store as alert_store
from grove_jobs.alerts.rules import RULE_LABELS
from grove_jobs.configs import query as configs_query
from grove_jobs.configs.query import ConfigQuery, ConfigView, count_by_type, list_configs
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import find_config
from grove_jobs.configs.upcoming import ScheduledConfig, scheduled_configs
from grove_jobs.db.records import ConfigRecord
from grove_jobs.exceptions import NotFound
from grove_jobs.executions.queries import (
    ExecutionPage,
    execution_history,
    execution_logs,
    get_execution,
)
from grove_jobs.executions.runs import RunFilter, RunsPage, job_types_of, list_runs
from grove_jobs.schema.execution import Execution, LogLine, Revision
from grove_jobs.schema.job_config import JobConfigPayload
from grove_jobs.schema.registry import get_type, json_path_get

LIVE_TTL = 1  # the status of a run that may be running right now
LIST_TTL = 3  # the console grid and history tables
# Generic cards show this many scalar payload fields as chips.
GENERIC_CHIPS = 3


@dataclass(frozen=True)
class CardRow:
    """What one console card shows; plain values so a cache hit is a cheap unpickle."""

    id: str
    type: str
    title: str
    description: str
    icon: str | None
    version: int
    status: str  # meta.status
    enabled: bool | None  # None: the type has no on/off switch
    runnable: bool
    job_type: str | None = None
    job_type_installed: bool = True  # False: shown and refused, never run here
    cron: str | None = None
    timezone: str | None = None
    batch_size: int | None = None
    max_attempts: int | None = None
    backoff: str | None = None
    next_run_at: datetime | None = None
    last_status: str | None = None
    last_at: datetime | None = None
    last_duration: float | None = None
    last_items: int | None = None
    last_items_total: int | None = None
    chips: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()  # maintenance windows may cover configs by tag


@dataclass(frozen=True)
class ConsoleData:
    """The console's result set: matching cards plus the registry metrics over them."""

    rows: tuple[CardRow, ...]  # tuples: one object is shared by every session
    metrics: tuple[tuple[str, int], ...]


def _card_row(view: ConfigView, data: dict[str, Any]) -> CardRow:
    """``data`` is ``view.to_json()``, computed once per view by the caller."""
    record, last = view.record, view.last_run
    obj = record.object
    experience = get_type(obj.type)
    title = obj.meta.title or (
        json_path_get(data, experience.title_path) if experience.title_path else None
    )
    enabled = (
        bool(json_path_get(data, experience.enabled_path)) if experience.enabled_path else None
    )
    common: dict[str, Any] = {
        "id": obj.id,
        "type": obj.type,
        "title": str(title or obj.id),
        "description": obj.meta.description,
        "icon": obj.meta.icon,
        "version": record.version,
        "status": obj.meta.status,
        "enabled": enabled,
        "runnable": isinstance(obj.payload, JobConfigPayload),
        "next_run_at": record.next_run_at,
        "tags": tuple(obj.meta.tags),
    }
    if last is not None:
        common.update(
            last_status=last.status,
            last_at=last.started_at or last.queued_at,
            last_duration=last.duration_seconds,
            last_items=last.items_processed,
            last_items_total=last.items_total,
        )
    payload = obj.payload
    if isinstance(payload, JobConfigPayload):
        return CardRow(
            **common,
            job_type=payload.job_type,
            job_type_installed=payload.installed,
            cron=payload.schedule.cron_expression,
            timezone=payload.schedule.timezone,
            batch_size=payload.limits.batch_size,
            max_attempts=payload.retry.max_attempts,
            backoff=payload.retry.backoff_strategy,
        )
    return CardRow(**common, chips=_generic_chips(data["payload"], experience.enabled_path))


def _generic_chips(
    payload: dict[str, Any], enabled_path: str | None
) -> tuple[tuple[str, str], ...]:
    """The first few scalar payload fields, for types the dashboard knows nothing about."""
    skip = enabled_path.rsplit(".", 1)[-1] if enabled_path else None
    chips = []
    for key, value in payload.items():
        if key == skip or isinstance(value, dict | list) or value in (None, ""):
            continue
        chips.append((key, str(value)))
        if len(chips) == GENERIC_CHIPS:
            break
    return tuple(chips)


@st.cache_resource(ttl=LIST_TTL, show_spinner=False, max_entries=64)
def console(
    type_name: str, text: str, filters: tuple[tuple[str, str], ...], sort: str | None
) -> ConsoleData:
    """Cards of one type matching search and filters, sorted: one list_configs call."""
    query = ConfigQuery(type=type_name, text=text or None, filters=dict(filters), sort=sort)
    views = list_configs(database(), query)
    documents = [v.to_json() for v in views]
    metrics = [
        (m.label, sum(1 for d in documents if m.predicate(d))) for m in get_type(type_name).metrics
    ]
    rows = tuple(_card_row(v, d) for v, d in zip(views, documents, strict=True))
    return ConsoleData(rows, tuple(metrics))


@dataclass(frozen=True)
class ActiveAlert:
    """An open alert incident, as the card and the inspector show it."""

    rule: str
    label: str
    summary: str
    opened_at: datetime


@st.cache_data(ttl=LIST_TTL, show_spinner=False)
def active_alerts() -> dict[str, tuple[ActiveAlert, ...]]:
    """Open incidents per config id: one query serves the whole grid."""
    grouped: dict[str, list[ActiveAlert]] = {}
    for row in alert_store.open_incidents(database()):
        grouped.setdefault(row.config_id, []).append(
            ActiveAlert(
                rule=row.rule,
                label=RULE_LABELS.get(row.rule, row.rule),
                summary=str((row.details or {}).get("summary", "")),
                opened_at=row.opened_at,
            )
        )
    return {config_id: tuple(alerts) for config_id, alerts in grouped.items()}


@st.cache_data(ttl=LIST_TTL, show_spinner=False)
def type_counts() -> dict[str, int]:
    """Non-archived objects per type (the console's type buttons)."""
    return count_by_type(database())


@st.cache_data(ttl=LIST_TTL, show_spinner=False)
def config_choices() -> list[tuple[str, str, str]]:
    """(id, type, title) of every non-archived object, for the inspector's picker."""
    return configs_query.config_choices(database())


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, max_entries=256)
def config(config_id: str) -> ConfigRecord | None:
    """One stored object, or None (deleted, or a typo in the URL)."""
    return find_config(database(), config_id)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, max_entries=256)
def latest_execution(config_id: str) -> Execution | None:
    """The newest run of a config (index-backed: ORDER BY id DESC LIMIT 1)."""
    page = execution_history(database(), config_id, limit=1)
    return page.items[0] if page.items else None


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, max_entries=256)
def execution(execution_id: int) -> Execution | None:
    """One run by id, or None."""
    try:
        return get_execution(database(), execution_id)
    except NotFound:
        return None


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, max_entries=256)
def tail_logs(execution_id: int, limit: int = 20) -> list[LogLine]:
    """The last ``limit`` log lines of a run."""
    return execution_logs(database(), execution_id, limit=limit, tail=True)


@st.cache_data(ttl=LIST_TTL, show_spinner=False, max_entries=256)
def logs(execution_id: int) -> list[LogLine]:
    """Every log line of a run (up to the service's limit), oldest first."""
    return execution_logs(database(), execution_id, limit=5000)


@st.cache_data(ttl=LIST_TTL, show_spinner=False, max_entries=256)
def history_page(config_id: str, before_id: int | None, limit: int) -> ExecutionPage:
    """One keyset page of a config's runs, newest first."""
    return execution_history(database(), config_id, limit=limit, before_id=before_id)


@st.cache_data(ttl=LIST_TTL, show_spinner=False, max_entries=64)
def recent_executions(config_id: str, limit: int) -> list[Execution]:
    """The newest ``limit`` runs of a config, for the history charts."""
    return execution_history(database(), config_id, limit=limit).items


@st.cache_data(ttl=LIST_TTL, show_spinner=False, max_entries=64)
def revisions(config_id: str, limit: int = 50) -> list[Revision]:
    """A config's saved versions, newest first."""
    return list_revisions(database(), config_id, limit=limit)


def latest_revision(config_id: str) -> Revision | None:
    """Who saved last (uncached: only read when a save conflicts)."""
    revisions = list_revisions(database(), config_id, limit=1)
    return revisions[0] if revisions else None


@st.cache_data(ttl=LIST_TTL, show_spinner=False, max_entries=64)
def runs_page(runs: RunFilter, before_id: int | None, limit: int) -> RunsPage:
    """One keyset page of runs across every job (the Runs page)."""
    return list_runs(database(), runs, limit=limit, before_id=before_id)


@st.cache_data(ttl=LIST_TTL, show_spinner=False)
def job_types() -> dict[str, str]:
    """Config id -> job type of every job config."""
    return job_types_of(database())


@dataclass(frozen=True)
class Incident:
    """An alert incident as the Alerts page lists it."""

    id: int
    config_id: str
    rule: str
    label: str
    summary: str
    opened_at: datetime
    resolved_at: datetime | None
    execution_id: int | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@st.cache_data(ttl=LIST_TTL, show_spinner=False, max_entries=16)
def incidents(state: str, limit: int) -> list[Incident]:
    """Incidents newest first: ``open``, ``resolved`` or ``all``."""
    return [
        Incident(
            id=row.id,
            config_id=row.config_id,
            rule=row.rule,
            label=RULE_LABELS.get(row.rule, row.rule),
            summary=str((row.details or {}).get("summary", "")),
            opened_at=row.opened_at,
            resolved_at=row.resolved_at,
            execution_id=row.execution_id,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
        )
        for row in alert_store.list_incidents(database(), state=state, limit=limit)
    ]


@st.cache_data(ttl=LIST_TTL, show_spinner=False)
def scheduled() -> list[ScheduledConfig]:
    """Every active job config's schedule, enabled or not (the Upcoming page)."""
    views = list_configs(database(), ConfigQuery(type="job-config"))
    return scheduled_configs(view.record for view in views)


READS = (
    console,
    active_alerts,
    type_counts,
    config_choices,
    config,
    latest_execution,
    execution,
    tail_logs,
    logs,
    history_page,
    recent_executions,
    revisions,
    runs_page,
    job_types,
    incidents,
    scheduled,
)


def clear() -> None:
    """Drop every cached read; called after each write so its author sees it at once."""
    for read in READS:
        read.clear()
