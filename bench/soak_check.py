"""The soak test's checker: pure functions over execution rows and log lines.

What is checked, and how (the rows keep only their LAST attempt's ``started_at``, so earlier
attempts are reconstructed from log lines):

- an attempt STARTS at the row's ``started_at`` (its last attempt) or, for earlier attempts, at
  the handler's first log line of that attempt (the synthetic handler logs first thing:
  "processing …", "failing attempt …", "hanging on purpose …");
- an attempt that was retried ENDS at the engine's "retry scheduled" line (written in the same
  transaction as the retry, at ``completed_at``) or at the rescue line ("… stopped
  heartbeating …"); the last attempt ends at ``completed_at``.

Invariants: one execution per (config, tick) and one start per (execution, attempt); every fire
time in the window has a row (a row skipped by the misfire policy counts: that IS the policy);
nothing is left running; a config never has more than ``maxConcurrent`` attempts in flight
(intervals from the points above; timestamps are taken just before each transaction commits,
so overlaps shorter than ``overlap_tolerance`` are clock noise, not admissions); each retry
starts within ``tolerance`` of its policy delay after the previous attempt ended, except when
it came due during an injected fault window (those are counted, not judged); no attempt's
handler logs anything after a later attempt of the same execution has started
(``overlappingAttempts``: lease fencing stopped it before the rescue).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from grove_jobs import schedule as cron
from grove_jobs.engine.dispatch import RETRY_LOG_PREFIX
from grove_jobs.engine.retry import retry_delay
from grove_jobs.schema.job_config import RetryPolicy

START_MARKERS = ("processing ", "failing attempt ", "hanging on purpose")
END_MARKERS = (RETRY_LOG_PREFIX, "stopped heartbeating")
ACTIVE = ("queued", "running", "retrying")


@dataclass(frozen=True)
class ConfigSpec:
    id: str
    cron: str
    timezone: str
    max_concurrent: int
    retry: RetryPolicy


@dataclass(frozen=True)
class ExecRow:
    id: int
    config_id: str
    trigger: str
    status: str
    attempt: int
    scheduled_for: datetime | None
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class LogRow:
    execution_id: int
    attempt: int
    at: datetime
    message: str


@dataclass(frozen=True)
class Attempt:
    execution_id: int
    config_id: str
    number: int
    start: datetime | None
    end: datetime | None


Window = tuple[datetime, datetime]


def _starts(logs: list[LogRow]) -> dict[tuple[int, int], list[datetime]]:
    starts: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for line in logs:
        if line.message.startswith(START_MARKERS):
            starts[(line.execution_id, line.attempt)].append(line.at)
    return starts


def _ends(logs: list[LogRow]) -> dict[tuple[int, int], datetime]:
    ends: dict[tuple[int, int], datetime] = {}
    for line in logs:
        if line.message.startswith(END_MARKERS[0]) or END_MARKERS[1] in line.message:
            key = (line.execution_id, line.attempt)
            ends[key] = min(ends.get(key, line.at), line.at)
    return ends


def duplicate_ticks(execs: list[ExecRow]) -> int:
    """Executions beyond the first for the same (config, scheduled tick)."""
    counts = Counter((e.config_id, e.scheduled_for) for e in execs if e.scheduled_for)
    return sum(n - 1 for n in counts.values() if n > 1)


def duplicate_attempts(logs: list[LogRow]) -> int:
    """Attempts that started more than once (a run executed twice)."""
    return sum(len(times) - 1 for times in _starts(logs).values() if len(times) > 1)


def overlapping_attempts(logs: list[LogRow]) -> list[tuple[int, int]]:
    """(execution, attempt) pairs whose handler logged after a later attempt of the same
    execution had started: two attempts of one run working at once. The engine's own lines
    (retry scheduled, rescue) are not the handler's work and are left out."""
    handler = [
        line
        for line in logs
        if not line.message.startswith(END_MARKERS[0]) and END_MARKERS[1] not in line.message
    ]
    last: dict[tuple[int, int], datetime] = {}
    for line in handler:
        key = (line.execution_id, line.attempt)
        last[key] = max(last.get(key, line.at), line.at)
    starts: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for (execution_id, number), times in _starts(handler).items():
        starts[execution_id].append((number, min(times)))
    overlapping = []
    for (execution_id, attempt), ended in sorted(last.items()):
        later = [at for number, at in starts[execution_id] if number > attempt]
        if later and ended > min(later):
            overlapping.append((execution_id, attempt))
    return overlapping


def missed_ticks(
    configs: list[ConfigSpec], execs: list[ExecRow], start: datetime, end: datetime
) -> list[tuple[str, datetime]]:
    """Fire times in (start, end] with no execution row at all."""
    seen = {(e.config_id, e.scheduled_for) for e in execs if e.scheduled_for}
    missing = []
    for config in configs:
        for fire in cron.fires_between(config.cron, config.timezone, start, end):
            if (config.id, fire) not in seen:
                missing.append((config.id, fire))
    return missing


def stuck(execs: list[ExecRow]) -> dict[str, int]:
    """Executions still active once the system has settled, by status."""
    return dict(Counter(e.status for e in execs if e.status in ACTIVE))


def attempts(execs: list[ExecRow], logs: list[LogRow]) -> list[Attempt]:
    """Every attempt of every execution with its start and end (None when not recorded)."""
    starts, ends = _starts(logs), _ends(logs)
    result = []
    for e in execs:
        for number in range(1, e.attempt + 1):
            key = (e.id, number)
            last = number == e.attempt
            start = e.started_at if last else min(starts.get(key, []), default=None)
            end = ends.get(key)
            if last and e.status not in ACTIVE and end is None:
                end = e.completed_at
            result.append(Attempt(e.id, e.config_id, number, start, end))
    return result


def concurrency_violations(
    configs: list[ConfigSpec], runs: list[Attempt], overlap_tolerance: float = 0.25
) -> list[tuple[str, datetime, int]]:
    """(config, when, how many) each time a config had more attempts in flight than its
    maxConcurrent. Intervals are half-open: one run ending as another starts is no overlap."""
    caps = {c.id: c.max_concurrent for c in configs}
    slack = timedelta(seconds=overlap_tolerance)
    events: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for run in runs:
        if run.start is None or run.end is None or run.end - run.start <= slack:
            continue
        events[run.config_id].append((run.start + slack, 1))
        events[run.config_id].append((run.end, -1))
    violations = []
    for config_id, items in events.items():
        level = 0
        for when, delta in sorted(items):  # -1 sorts before +1 at the same instant
            level += delta
            if delta > 0 and level > caps.get(config_id, 1):
                violations.append((config_id, when, level))
    return violations


def retry_delays(
    configs: list[ConfigSpec],
    runs: list[Attempt],
    *,
    tolerance: float = 1.0,
    faults: list[Window] = (),
) -> dict[str, Any]:
    """Each retry's observed delay (next start minus previous end) against its policy."""
    policies = {c.id: c.retry for c in configs}
    by_key = {(r.execution_id, r.number): r for r in runs}
    checked = excluded = unmeasured = 0
    errors: list[float] = []  # |observed - expected| of each checked retry
    violations: list[dict[str, Any]] = []
    for run in runs:
        following = by_key.get((run.execution_id, run.number + 1))
        if following is None:
            continue
        if run.end is None or following.start is None:
            unmeasured += 1  # e.g. log lines lost with a SIGKILLed sidecar
            continue
        expected = retry_delay(policies[run.config_id], run.number)
        due = run.end + timedelta(seconds=expected)
        if any(low <= due <= high for low, high in faults):
            excluded += 1
            continue
        checked += 1
        observed = (following.start - run.end).total_seconds()
        errors.append(abs(observed - expected))
        if abs(observed - expected) > tolerance:
            violations.append(
                {
                    "executionId": run.execution_id,
                    "attempt": run.number,
                    "expected": expected,
                    "observed": round(observed, 3),
                    "due": due.isoformat(),
                }
            )
    return {
        "checked": checked,
        "excludedDuringFaults": excluded,
        "unmeasured": unmeasured,
        "errors": errors,
        "violations": violations,
    }


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))]


def schedule_lag(execs: list[ExecRow], runs: list[Attempt]) -> list[float]:
    """Seconds from each scheduled tick to its first attempt's start."""
    firsts = {r.execution_id: r.start for r in runs if r.number == 1 and r.start is not None}
    return [
        (firsts[e.id] - e.scheduled_for).total_seconds()
        for e in execs
        if e.trigger == "schedule" and e.scheduled_for is not None and e.id in firsts
    ]


def check(
    configs: list[ConfigSpec],
    execs: list[ExecRow],
    logs: list[LogRow],
    *,
    start: datetime,
    end: datetime,
    faults: list[Window] = (),
    steady_from: datetime | None = None,
) -> dict[str, Any]:
    """Every invariant and measure over one soak; ``violations`` sums what must be 0.
    Schedule lag is measured over ticks from ``steady_from`` on (after the warm-up)."""
    runs = attempts(execs, logs)
    missed = missed_ticks(configs, execs, start, end)
    concurrency = concurrency_violations(configs, runs)
    retries = retry_delays(configs, runs, faults=faults)
    leftover = stuck(execs)
    overlapping = overlapping_attempts(logs)
    steady = steady_from or start
    lags = schedule_lag(
        [e for e in execs if e.scheduled_for and e.scheduled_for >= steady],
        [r for r in runs if r.start and r.start <= end],
    )
    minutes = (end - start).total_seconds() / 60
    finished = [
        e
        for e in execs
        if e.status not in (*ACTIVE, "skipped")
        and e.completed_at
        and start <= e.completed_at <= end
    ]
    result = {
        "duplicateExecutions": duplicate_ticks(execs),
        "duplicateAttempts": duplicate_attempts(logs),
        "overlappingAttempts": len(overlapping),
        "missedTicks": len(missed),
        "stuckRunning": leftover.get("running", 0),
        "unfinished": sum(leftover.values()),
        "maxConcurrentExceeded": len(concurrency),
        "retryDelayViolations": len(retries["violations"]),
        # Early is an engine bug (the not-before ignored); late is usually a saturated machine.
        "retriesEarly": sum(1 for v in retries["violations"] if v["observed"] < v["expected"]),
        "retriesLate": sum(1 for v in retries["violations"] if v["observed"] > v["expected"]),
        "retriesChecked": retries["checked"],
        "retriesExcludedDuringFaults": retries["excludedDuringFaults"],
        "retriesUnmeasured": retries["unmeasured"],
        "retryDelayErrorSeconds": {
            "p50": _round(percentile(retries["errors"], 0.5)),
            "p99": _round(percentile(retries["errors"], 0.99)),
            "max": _round(max(retries["errors"], default=None)),
        },
        "executionsPerMinute": round(len(finished) / minutes, 1) if minutes > 0 else None,
        "attemptsPerMinute": round(
            sum(1 for r in runs if r.start and start <= r.start <= end) / minutes, 1
        )
        if minutes > 0
        else None,
        "scheduleLagSeconds": {
            "p50": _round(percentile(lags, 0.5)),
            "p99": _round(percentile(lags, 0.99)),
            "max": _round(max(lags, default=None)),
        },
        "statuses": dict(Counter(e.status for e in execs)),
        "examples": {
            "missedTicks": [(c, f.isoformat()) for c, f in missed[:5]],
            "overlappingAttempts": overlapping[:5],
            "maxConcurrentExceeded": [(c, w.isoformat(), n) for c, w, n in concurrency[:5]],
            "retryDelayViolations": retries["violations"][:5],
        },
    }
    result["violations"] = sum(
        result[key]
        for key in (
            "duplicateExecutions",
            "duplicateAttempts",
            "overlappingAttempts",
            "missedTicks",
            "stuckRunning",
            "maxConcurrentExceeded",
            "retryDelayViolations",
        )
    )
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
