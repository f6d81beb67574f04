"""The soak checker on constructed histories: a clean one, and one per broken invariant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench import soak_check
from bench.soak_check import ConfigSpec, ExecRow, LogRow
from grove_jobs.engine.dispatch import RETRY_LOG_PREFIX
from grove_jobs.schema.job_config import RetryPolicy

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, backoff_strategy="fixed", initial_delay_seconds=5)
CONFIG = ConfigSpec("c", "* * * * *", "UTC", max_concurrent=1, retry=POLICY)
START, END = T0 - timedelta(seconds=1), T0 + timedelta(minutes=2, seconds=30)


def _s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _clean() -> tuple[list[ExecRow], list[LogRow]]:
    """Ticks 12:00, 12:01, 12:02 ran; the second needed a retry 5 s after its first attempt."""
    execs = [
        ExecRow(1, "c", "schedule", "success", 1, _s(0), _s(0.1), _s(1)),
        ExecRow(2, "c", "schedule", "success", 2, _s(60), _s(66.2), _s(67)),
        ExecRow(3, "c", "schedule", "failed", 1, _s(120), _s(120.1), _s(121)),
    ]
    logs = [
        LogRow(1, 1, _s(0.15), "processing 2 items"),
        LogRow(2, 1, _s(60.15), "failing attempt 1 of 1 on purpose"),
        LogRow(2, 1, _s(61), f"{RETRY_LOG_PREFIX}: attempt 1 failed; attempt 2 not before …"),
        LogRow(2, 2, _s(66.25), "processing 2 items"),
        LogRow(3, 1, _s(120.15), "processing 2 items"),
    ]
    return execs, logs


def _check(execs, logs, **kwargs):
    return soak_check.check([CONFIG], execs, logs, start=START, end=END, **kwargs)


def test_a_clean_history_has_no_violations():
    result = _check(*_clean())
    assert result["violations"] == 0, result
    assert result["retriesChecked"] == 1
    assert result["scheduleLagSeconds"]["p50"] == 0.1
    assert result["executionsPerMinute"] == round(3 / 2.5167, 1)


def test_a_second_row_for_a_tick_is_a_duplicate():
    execs, logs = _clean()
    execs.append(ExecRow(4, "c", "schedule", "success", 1, _s(0), _s(0.2), _s(0.3)))
    assert _check(execs, logs)["duplicateExecutions"] == 1


def test_an_attempt_started_twice_is_a_duplicate():
    execs, logs = _clean()
    logs.append(LogRow(1, 1, _s(0.5), "processing 2 items"))
    assert _check(execs, logs)["duplicateAttempts"] == 1


def test_a_tick_without_a_row_is_missed_but_a_misfire_skip_is_policy():
    execs, logs = _clean()
    result = _check([e for e in execs if e.id != 2], logs)
    assert result["missedTicks"] == 1
    assert result["examples"]["missedTicks"] == [("c", _s(60).isoformat())]
    execs[1] = ExecRow(2, "c", "misfire", "skipped", 0, _s(60), None, _s(130))
    assert _check(execs, logs)["missedTicks"] == 0


def test_a_run_left_running_is_stuck():
    execs, logs = _clean()
    execs[2] = ExecRow(3, "c", "schedule", "running", 1, _s(120), _s(120.1), None)
    assert _check(execs, logs)["stuckRunning"] == 1


def test_overlapping_attempts_beyond_max_concurrent_are_found():
    execs, logs = _clean()
    # A Run Now execution overlapping the second attempt of execution 2 (66.2 .. 67).
    execs.append(ExecRow(5, "c", "manual", "success", 1, None, _s(66.5), _s(70)))
    result = _check(execs, logs)
    assert result["maxConcurrentExceeded"] == 1
    # Back-to-back (one ends as the next starts) is not an overlap.
    execs[-1] = ExecRow(5, "c", "manual", "success", 1, None, _s(67), _s(70))
    assert _check(execs, logs)["maxConcurrentExceeded"] == 0


def test_earlier_attempts_count_toward_concurrency_too():
    execs, logs = _clean()
    # Overlaps attempt 1 of execution 2 (60.15 .. 61), known only from its log lines.
    execs.append(ExecRow(5, "c", "manual", "success", 1, None, _s(60.2), _s(62)))
    assert _check(execs, logs)["maxConcurrentExceeded"] == 1


def test_a_retry_too_early_or_too_late_breaks_the_policy():
    execs, logs = _clean()
    early = ExecRow(2, "c", "schedule", "success", 2, _s(60), _s(63), _s(64))
    result = _check([execs[0], early, execs[2]], logs)
    assert (result["retryDelayViolations"], result["retriesEarly"]) == (1, 1)
    assert result["examples"]["retryDelayViolations"][0]["observed"] == 2.0
    late = ExecRow(2, "c", "schedule", "success", 2, _s(60), _s(67.5), _s(68))
    result = _check([execs[0], late, execs[2]], logs)
    assert (result["retryDelayViolations"], result["retriesLate"]) == (1, 1)
    assert result["retryDelayErrorSeconds"]["max"] == 1.5
    # Due during an injected database fault: counted apart, not judged.
    faulty = _check([execs[0], late, execs[2]], logs, faults=[(_s(65), _s(70))])
    assert (faulty["retryDelayViolations"], faulty["retriesExcludedDuringFaults"]) == (0, 1)


def test_a_rescue_line_ends_an_attempt():
    execs, logs = _clean()
    logs[2] = LogRow(2, 1, _s(61), "worker w stopped heartbeating (lease of 5s expired)")
    assert _check(execs, logs)["retriesChecked"] == 1
    assert _check(execs, logs)["violations"] == 0


def test_a_handler_logging_after_the_next_attempt_began_is_an_overlap():
    execs, logs = _clean()
    # Attempt 1 was rescued, yet its handler finished after attempt 2 had started.
    logs.append(LogRow(2, 1, _s(66.3), "processed 2 items"))
    result = _check(execs, logs)
    assert result["overlappingAttempts"] == 1
    assert result["examples"]["overlappingAttempts"] == [(2, 1)]
    assert result["violations"] >= 1


def test_engine_lines_after_the_next_attempt_are_not_an_overlap():
    execs, logs = _clean()
    # A rescue line stamped late (the rescuer's clock) is the engine's, not the handler's.
    logs.append(LogRow(2, 1, _s(66.3), "worker w stopped heartbeating (lease of 5s expired)"))
    assert _check(execs, logs)["overlappingAttempts"] == 0
