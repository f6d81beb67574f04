"""The alert rules as pure functions over constructed histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from grove_jobs.alerts import rules
from grove_jobs.alerts.rules import ConfigState, OpenIncident, Run
from grove_jobs.schema.job_config import Alerts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _run(rid: int, status: str, minute: int, seconds: float = 5.0, *, tick: bool = True) -> Run:
    start = T0 + timedelta(minutes=minute)
    end = None if status == "running" else start + timedelta(seconds=seconds)
    trigger = "misfire" if status == "skipped" else "schedule"
    return Run(rid, status, trigger, start if tick else None, start, end)


def _state(runs: list[Run], **alerts) -> ConfigState:
    return ConfigState(
        "c",
        Alerts.model_validate(alerts),
        sorted(runs, key=lambda r: -r.id),
        enabled=True,
        cron_expression="* * * * *",
        timezone="UTC",
        next_run_at=T0 + timedelta(minutes=len(runs)),
        schedule_since=T0 - timedelta(hours=1),
    )


def test_failures_count_only_an_unbroken_streak_of_finished_runs():
    runs = [_run(1, "failed", 0), _run(2, "success", 1), _run(3, "failed", 2)]
    runs += [_run(4, "cancelled", 3), _run(5, "timed_out", 4)]
    assert rules.consecutive_failures(_state(runs, consecutiveFailures=3)) is None
    finding = rules.consecutive_failures(_state(runs, consecutiveFailures=2))
    assert (finding.execution_id, finding.details["failures"]) == (5, 2)
    assert rules.consecutive_failures(_state(runs, consecutiveFailures=0)) is None


def test_slow_run_needs_five_durations_and_uses_their_p95():
    done = [_run(i, "success", i, seconds=10) for i in range(1, 5)]
    running = _run(9, "running", 10)
    at = running.started_at + timedelta(seconds=100)
    assert rules.slow_run(_state([*done, running]), at) is None  # only 4 durations
    done.append(_run(5, "success", 5, seconds=20))
    assert rules.p95([10, 10, 10, 10, 20]) == 20
    state = _state([*done, running], slowRunFactor=3)
    assert rules.slow_run(state, running.started_at + timedelta(seconds=60)) is None
    assert rules.slow_run(state, running.started_at + timedelta(seconds=61)).execution_id == 9


def test_missed_schedule_checks_the_newest_tick_past_the_grace():
    runs = [_run(i, "success", i) for i in range(5)]
    state = _state(runs, missedScheduleGraceSeconds=90)
    # Ticks of minutes 0-4 have runs; minute 5 is past the grace at 6:31 and has none.
    assert rules.missed_schedule(state, T0 + timedelta(minutes=6, seconds=29)) is None
    found = rules.missed_schedule(state, T0 + timedelta(minutes=6, seconds=31))
    assert found.details["scheduledFor"] == "2026-03-01T12:05:00Z"
    # A tick recorded only as missed (skipped by the misfire policy) counts as missed too.
    missed = _state([*runs, _run(6, "skipped", 5)], missedScheduleGraceSeconds=90)
    assert rules.missed_schedule(missed, T0 + timedelta(minutes=6, seconds=31)) is not None
    stuck = ConfigState("c", Alerts(), runs, True, "* * * * *", "UTC", T0, T0)
    assert "no sidecar has fired" in rules.missed_schedule(stuck, T0 + timedelta(hours=1)).summary


def test_incidents_resolve_on_a_later_success_or_a_later_tick():
    opened = T0 + timedelta(minutes=3)
    failures = OpenIncident(1, rules.CONSECUTIVE_FAILURES, {}, opened)
    missed = OpenIncident(
        2, rules.MISSED_SCHEDULE, {"scheduledFor": "2026-03-01T12:02:00Z"}, opened
    )
    slow = OpenIncident(3, rules.SLOW_RUN, {}, opened, execution_id=7)
    incidents = [failures, missed, slow]
    # Ticks 0 and 1 ran, both failed: nothing is over.
    runs = [_run(1, "failed", 0), _run(2, "failed", 1)]
    assert rules.resolved(_state(runs), incidents) == []
    # Tick 4 ran (still failing): the missed tick is over.
    runs.append(_run(3, "failed", 4))
    assert rules.resolved(_state(runs), incidents) == [missed]
    # A success after the incidents opened ends them, except a slow run still running.
    runs += [_run(7, "running", 5), _run(8, "success", 6)]
    assert rules.resolved(_state(runs), incidents) == [failures, missed]


def test_recheck_waits_for_the_first_tick_without_a_run():
    at = datetime(2026, 3, 1, 12, 7, 30, tzinfo=UTC)
    ticks = [at.replace(minute=m, second=0) for m in (0, 5)]  # every five minutes, both ran
    runs = [Run(n, "success", "schedule", t, t, t) for n, t in enumerate(reversed(ticks))]
    state = ConfigState(
        "c",
        Alerts(missed_schedule_grace_seconds=600),
        runs,
        enabled=True,
        cron_expression="*/5 * * * *",
        next_run_at=at.replace(minute=10, second=0),
    )
    # The 12:05 tick ran although it is within the grace: the first tick that could be missed
    # is 12:10, so nothing can fire before 12:20.
    assert rules.recheck_at(state, at) == at.replace(minute=20, second=0)
    assert rules.recheck_at(replace(state, enabled=False), at) is None
