"""Alert rules as pure functions over a config's recent executions, evaluated at ``at``.

Each rule answers two questions: is it firing now (open an incident, if none is open), and
which open incidents are over. Nothing here touches the database or the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from grove_jobs import schedule as cron
from grove_jobs.clock import iso_z
from grove_jobs.schema.job_config import Alerts

CONSECUTIVE_FAILURES = "consecutive_failures"
SLOW_RUN = "slow_run"
MISSED_SCHEDULE = "missed_schedule"
RULES = (CONSECUTIVE_FAILURES, SLOW_RUN, MISSED_SCHEDULE)
RULE_LABELS = {
    CONSECUTIVE_FAILURES: "Failing repeatedly",
    SLOW_RUN: "Slow run",
    MISSED_SCHEDULE: "Missed schedule",
}

FAILED = frozenset({"failed", "timed_out"})
SUCCEEDED = frozenset({"success", "partial"})
MIN_RUNS_FOR_P95 = 5
# How far back a missing tick is looked for: an outage longer than this is already visible in
# next_run_at lagging, which the rule also checks.
MISSED_LOOKBACK = timedelta(hours=6)
RECHECK_SCAN = 50  # ticks looked at past the anchor for one without a run (then: recheck early)


@dataclass(frozen=True)
class Run:
    """The facts about one execution that the rules need."""

    id: int
    status: str
    trigger: str
    scheduled_for: datetime | None
    started_at: datetime | None
    completed_at: datetime | None

    @property
    def missed(self) -> bool:
        """A tick the scheduler recorded as missed (skipped by the misfire policy)."""
        return self.status == "skipped" and self.trigger == "misfire"


@dataclass(frozen=True)
class ConfigState:
    """A config as the rules see it: its alert policy, schedule and recent runs."""

    config_id: str
    alerts: Alerts
    runs: list[Run]  # newest first (by id)
    enabled: bool = False
    cron_expression: str | None = None
    timezone: str = "UTC"
    next_run_at: datetime | None = None
    schedule_since: datetime | None = None  # last save: ticks before it never had to run


@dataclass(frozen=True)
class Finding:
    """A rule firing for a config."""

    rule: str
    summary: str
    execution_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenIncident:
    id: int
    rule: str
    details: dict[str, Any]
    opened_at: datetime
    execution_id: int | None = None


def _finished(runs: list[Run]) -> list[Run]:
    # Cancelled and skipped runs say nothing about whether the job works.
    return [r for r in runs if r.status in FAILED | SUCCEEDED and r.completed_at is not None]


def consecutive_failures(state: ConfigState) -> Finding | None:
    """The newest N finished runs all failed or timed out."""
    limit = state.alerts.consecutive_failures
    if limit <= 0:
        return None
    streak: list[Run] = []
    for run in _finished(state.runs):
        if run.status not in FAILED:
            break
        streak.append(run)
    if len(streak) < limit:
        return None
    return Finding(
        CONSECUTIVE_FAILURES,
        f"{len(streak)} runs in a row failed (threshold {limit})",
        streak[0].id,
        # "since": when the first run of the streak ended, which people ask first.
        {"failures": len(streak), "threshold": limit, "since": _iso(streak[-1].completed_at)},
    )


def _iso(value: datetime | None) -> str | None:
    return iso_z(value, timespec="seconds") if value is not None else None


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def slow_run(state: ConfigState, at: datetime) -> Finding | None:
    """A running run has run longer than k x p95 of recent successful durations."""
    factor = state.alerts.slow_run_factor
    if factor <= 0:
        return None
    durations = [
        (r.completed_at - r.started_at).total_seconds()
        for r in state.runs
        if r.status in SUCCEEDED and r.started_at and r.completed_at
    ]
    if len(durations) < MIN_RUNS_FOR_P95:
        return None
    limit = factor * p95(durations)
    for run in state.runs:
        if run.status == "running" and run.started_at is not None:
            elapsed = (at - run.started_at).total_seconds()
            if elapsed > limit:
                return Finding(
                    SLOW_RUN,
                    f"run {run.id} has run {elapsed:.0f}s, over {factor:g} x p95 ({limit:.1f}s)",
                    run.id,
                    {"elapsedSeconds": round(elapsed, 1), "limitSeconds": round(limit, 1)},
                )
    return None


def missed_schedule(state: ConfigState, at: datetime) -> Finding | None:
    """A tick older than the grace has no execution (or only a "missed" one), or the schedule
    itself is stuck (next_run_at far in the past while enabled)."""
    grace = state.alerts.missed_schedule_grace_seconds
    if grace <= 0 or not state.enabled or not state.cron_expression:
        return None
    cutoff = at - timedelta(seconds=grace)
    if state.next_run_at is not None and state.next_run_at < cutoff:
        return Finding(
            MISSED_SCHEDULE,
            f"no sidecar has fired the tick due at {iso_z(state.next_run_at, timespec='seconds')}",
            None,
            {"scheduledFor": iso_z(state.next_run_at, timespec="seconds")},
        )
    # The newest tick that has a run and is past the grace: any fire after it and before the
    # cutoff has none. Starting there keeps this to a fire or two per config and pass.
    ran = [
        r.scheduled_for
        for r in state.runs
        if r.scheduled_for is not None and not r.missed and r.scheduled_for <= cutoff
    ]
    if not ran:
        return None  # nothing to anchor on: a stuck schedule shows in next_run_at above
    since = max(ran)
    if state.schedule_since is not None:
        since = max(since, state.schedule_since)
    since = max(since, at - MISSED_LOOKBACK)
    fires = cron.fires_between(state.cron_expression, state.timezone, since, cutoff, limit=10_000)
    if not fires:
        return None
    # Only the newest tick past the grace is reported: once a later tick runs, an older gap is
    # history (visible as such), and re-checking it would reopen a resolved incident forever.
    fire = fires[-1]
    return Finding(
        MISSED_SCHEDULE,
        f"the tick of {iso_z(fire, timespec='seconds')} has no run within {grace}s",
        None,
        {"scheduledFor": iso_z(fire, timespec="seconds")},
    )


def evaluate(state: ConfigState, at: datetime) -> list[Finding]:
    """Every rule firing for this config at ``at``."""
    findings = [consecutive_failures(state), slow_run(state, at), missed_schedule(state, at)]
    return [f for f in findings if f is not None]


def resolved(state: ConfigState, incidents: list[OpenIncident]) -> list[OpenIncident]:
    """Open incidents that are over: the newest finished run succeeded after the incident
    opened (a slow run must also have ended, or it would reopen at once), or, for a missed
    schedule, a run exists for a later tick."""
    finished = _finished(state.runs)
    newest = finished[0] if finished else None
    running = {r.id for r in state.runs if r.status == "running"}
    over = []
    for incident in incidents:
        succeeded = (
            newest is not None
            and newest.status in SUCCEEDED
            and newest.completed_at is not None
            and newest.completed_at >= incident.opened_at
        )
        if incident.rule == SLOW_RUN and incident.execution_id in running:
            succeeded = False
        if succeeded or (incident.rule == MISSED_SCHEDULE and _later_tick_ran(state, incident)):
            over.append(incident)
    return over


def _later_tick_ran(state: ConfigState, incident: OpenIncident) -> bool:
    missed_at = incident.details.get("scheduledFor")
    return missed_at is not None and any(
        r.scheduled_for is not None
        and not r.missed
        and iso_z(r.scheduled_for, timespec="seconds") > missed_at
        for r in state.runs
    )


def recheck_at(state: ConfigState, at: datetime) -> datetime | None:
    """The earliest instant at which the passing of time alone could make a rule fire for
    this config (no new run, no edit); None when only new runs or edits could. Running runs
    are looked at on every pass, so ``slow_run`` needs no entry here. Errs early: an early
    recheck costs one evaluation, a late one a missed alert."""
    grace = state.alerts.missed_schedule_grace_seconds
    if grace <= 0 or not state.enabled or not state.cron_expression:
        return None
    delay = timedelta(seconds=grace)
    candidates = [state.next_run_at + delay] if state.next_run_at is not None else []
    ran = {r.scheduled_for for r in state.runs if r.scheduled_for is not None and not r.missed}
    if ran:
        # missed_schedule fires for a tick without a run once it is past the grace; the first
        # such tick after its anchor (the newest tick with a run, as of now) is the earliest.
        cutoff = at - delay
        since = max((t for t in ran if t <= cutoff), default=min(ran))
        if state.schedule_since is not None:
            since = max(since, state.schedule_since)
        since = max(since, at - MISSED_LOOKBACK)
        fire = since
        for _ in range(RECHECK_SCAN):
            fire = cron.next_fire(state.cron_expression, state.timezone, fire)
            if fire not in ran:
                break
        candidates.append(fire + delay)
    return min(candidates) if candidates else None
