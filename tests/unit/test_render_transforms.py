"""execution_tree / history_tree: every status, validated against the catalogs, time passed in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grove_jobs.clock import humanize_duration
from grove_jobs.render import (
    JOB_HISTORY,
    JOB_STATUS,
    RenderTree,
    execution_tree,
    history_tree,
    percentile,
    validate_tree,
)
from grove_jobs.schema.execution import (
    ACTIVE_STATUSES,
    FAILURE_STATUSES,
    STATUS_LABELS,
    Execution,
    ExecutionStatus,
    LogLine,
    phase_of,
)

S = ExecutionStatus
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOT_STARTED = {S.QUEUED, S.SKIPPED}


def make_execution(status: S = S.SUCCESS, **overrides: Any) -> Execution:
    """A plausible execution in ``status``: started 3 minutes before AT, finished if terminal."""
    started = AT - timedelta(minutes=3)
    fields: dict[str, Any] = {
        "id": 1,
        "job_config_id": "mock-health-check",
        "status": status,
        "trigger": "schedule",
        "attempt": 1,
        "max_attempts": 3,
        "queued_at": started - timedelta(seconds=5),
        "run_after": started - timedelta(seconds=5),
        "started_at": None if status in NOT_STARTED else started,
        "completed_at": AT if status not in ACTIVE_STATUSES | {S.SKIPPED} else None,
    }
    fields.update(overrides)
    return Execution(**fields)


def make_logs(count: int, messages: str = "line {i}") -> list[LogLine]:
    levels = ("info", "warn", "error")
    return [
        LogLine(
            id=100 + i,
            execution_id=1,
            at=AT - timedelta(seconds=count - i),
            level=levels[i % 3],
            message=messages.format(i=i),
        )
        for i in range(count)
    ]


def status_tree(execution: Execution, logs: list[LogLine] | None = None, **kw: Any) -> dict:
    kw.setdefault("next_run_at", None)
    kw.setdefault("timezone", "Europe/Paris")
    tree = execution_tree(execution, logs or [], at=AT, **kw)
    data = tree.to_json_dict()
    assert validate_tree(data, JOB_STATUS) == []
    return data


def by_type(tree: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for child in tree["children"]:
        found.setdefault(child["type"], []).append(child["props"])
    return found


def metrics(tree: dict) -> dict[str, dict]:
    [row] = by_type(tree)["JobMetricRow"]
    return {m["label"]: m for m in row["metrics"]}


# --- every status -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(S), ids=str)
def test_every_status_gives_a_valid_tree_with_its_phase(status: S) -> None:
    execution = make_execution(status, items_total=10, items_processed=4, error="it broke")
    tree = status_tree(execution, make_logs(2), next_run_at=AT + timedelta(hours=1))
    types = [child["type"] for child in tree["children"]]
    assert types[:3] == ["JobPhaseIndicator", "JobProgressBar", "JobMetricRow"]
    assert types[-2:] == ["JobLogEntry", "JobLogEntry"]
    assert "NextRunCountdown" in types
    [phase] = by_type(tree)["JobPhaseIndicator"]
    # The phase groups statuses; the run's own status rides along for its badge's word.
    assert (phase["phase"], phase["status"]) == (phase_of(status), status.value)
    has_alert = status in FAILURE_STATUSES or status == S.RETRYING
    assert ("JobErrorAlert" in types) is has_alert
    if has_alert:
        assert by_type(tree)["JobErrorAlert"][0]["status"] == status.value
    # The Status metric says what the badges say: "Timed out", not "timed_out".
    assert metrics(tree)["Status"]["value"] == STATUS_LABELS[status]
    assert tree["meta"] == {"catalog": "job-status", "version": "3", "generatedAt": AT_Z}


AT_Z = "2024-05-01T12:00:00Z"

EXPECTED = [
    # status, attempt, phase, alert (retryable, retryCount) or None
    (S.QUEUED, 1, "queued", None),
    (S.RUNNING, 1, "running", None),
    (S.RETRYING, 2, "retrying", (True, 1)),
    (S.SUCCESS, 1, "complete", None),
    (S.PARTIAL, 1, "complete", None),
    (S.SKIPPED, 1, "complete", None),
    (S.FAILED, 1, "failed", (True, 0)),
    (S.FAILED, 3, "failed", (False, 2)),
    (S.TIMED_OUT, 1, "failed", (False, 0)),
    (S.CANCELLED, 2, "failed", (False, 1)),
]


@pytest.mark.parametrize(("status", "attempt", "phase", "alert"), EXPECTED)
def test_phase_and_error_alert(
    status: S, attempt: int, phase: str, alert: tuple[bool, int] | None
) -> None:
    tree = by_type(status_tree(make_execution(status, attempt=attempt, error="boom")))
    assert tree["JobPhaseIndicator"][0]["phase"] == phase
    if alert is None:
        assert "JobErrorAlert" not in tree
    else:
        retryable, retry_count = alert
        assert tree["JobErrorAlert"] == [
            {
                "error": "boom",
                "retryable": retryable,
                "retryCount": retry_count,
                "status": status.value,
            }
        ]


def test_running_has_progress_and_elapsed_duration_at_the_given_instant() -> None:
    execution = make_execution(S.RUNNING, items_processed=40, items_total=100, items_failed=2)
    tree = status_tree(execution)
    found = by_type(tree)
    assert found["JobPhaseIndicator"] == [
        {"phase": "running", "status": "running", "startedAt": "2024-05-01T11:57:00Z"}
    ]
    assert found["JobProgressBar"] == [{"itemsProcessed": 40, "itemsTotal": 100, "percentage": 40}]
    row = metrics(tree)
    assert row["Duration"]["value"] == humanize_duration(180)
    assert row["Items"]["value"] == "40 / 100"
    assert row["Failed items"] == {"label": "Failed items", "value": 2, "color": "red"}
    assert row["Attempt"]["value"] == "1 of 3"
    assert row["Trigger"]["value"] == "schedule"
    assert row["Status"] == {"label": "Status", "value": "Running", "color": "blue"}


def test_finished_duration_and_retry_attempt_metrics() -> None:
    execution = make_execution(S.SUCCESS, attempt=2, trigger="retry")
    row = metrics(status_tree(execution))
    assert row["Duration"]["value"] == humanize_duration(180)
    assert row["Attempt"] == {"label": "Attempt", "value": "2 of 3", "color": "amber"}
    assert row["Trigger"]["value"] == "retry"
    assert row["Status"]["color"] == "green"
    assert row["Items"]["value"] == 0
    assert row["Failed items"]["color"] == "default"


def test_queued_has_no_duration_and_no_progress_without_a_total() -> None:
    tree = status_tree(make_execution(S.QUEUED))
    assert "JobProgressBar" not in by_type(tree)
    assert metrics(tree)["Duration"]["value"] == "—"
    assert by_type(tree)["JobPhaseIndicator"] == [{"phase": "queued", "status": "queued"}]


@pytest.mark.parametrize(
    ("status", "processed", "total", "percentage"),
    [
        (S.RUNNING, 0, 0, 0),
        (S.SUCCESS, 0, 0, 100),
        (S.RUNNING, 1, 3, 100 / 3),
        (S.PARTIAL, 12, 10, 100),  # over-counting handlers never overflow the bar
    ],
)
def test_progress_percentage(status: S, processed: int, total: int, percentage: float) -> None:
    execution = make_execution(status, items_processed=processed, items_total=total)
    [bar] = by_type(status_tree(execution))["JobProgressBar"]
    assert bar["percentage"] == pytest.approx(percentage)


def test_retrying_phase_names_the_next_attempt_and_its_time() -> None:
    due = AT + timedelta(seconds=44)
    run = make_execution(S.RETRYING, attempt=1, run_after=due, error="boom")
    [phase] = by_type(status_tree(run))["JobPhaseIndicator"]
    assert (phase["phase"], phase["attempt"], phase["nextAttemptAt"]) == (
        "retrying",
        2,
        "2024-05-01T12:00:44Z",
    )
    assert metrics(status_tree(run))["Status"]["value"] == "Retrying"


def test_other_phases_carry_no_next_attempt() -> None:
    [phase] = by_type(status_tree(make_execution(S.QUEUED)))["JobPhaseIndicator"]
    assert "attempt" not in phase and "nextAttemptAt" not in phase


def test_retrying_without_an_error_has_no_alert() -> None:
    tree = by_type(status_tree(make_execution(S.RETRYING, attempt=2)))
    assert "JobErrorAlert" not in tree


@pytest.mark.parametrize(
    ("status", "fragment"),
    [(S.FAILED, "failed"), (S.TIMED_OUT, "timeout"), (S.CANCELLED, "cancelled")],
)
def test_failure_without_a_message_still_explains(status: S, fragment: str) -> None:
    [alert] = by_type(status_tree(make_execution(status)))["JobErrorAlert"]
    assert fragment in alert["error"]


def test_logs_latest_newest_last_with_a_note_when_truncated() -> None:
    logs = make_logs(30)
    tree = status_tree(make_execution(S.RUNNING), list(reversed(logs)), log_limit=5)
    found = by_type(tree)
    assert [e["message"] for e in found["JobLogEntry"]] == [f"line {i}" for i in range(25, 30)]
    assert found["Text"] == [{"text": "Latest 5 of 30 log lines", "variant": "caption"}]
    keys = [c["key"] for c in tree["children"] if c["type"] == "JobLogEntry"]
    assert keys == [f"log-{100 + i}" for i in range(25, 30)]
    first = found["JobLogEntry"][0]
    assert first == {"timestamp": "2024-05-01T11:59:55Z", "level": "warn", "message": "line 25"}


def test_log_limit_zero_and_short_logs() -> None:
    assert "JobLogEntry" not in by_type(status_tree(make_execution(), make_logs(3), log_limit=0))
    found = by_type(status_tree(make_execution(), make_logs(3)))
    assert len(found["JobLogEntry"]) == 3
    assert "Text" not in found


def test_log_text_is_kept_verbatim() -> None:
    hostile = "  <script>alert(1)</script> **bold**  "
    logs = make_logs(1, messages=hostile)
    [entry] = by_type(status_tree(make_execution(), logs))["JobLogEntry"]
    assert entry["message"] == hostile.strip()  # LogLine strips; the tree adds nothing


def test_next_run_countdown_in_utc_with_the_config_timezone() -> None:
    next_run = datetime(2024, 5, 1, 15, 30, tzinfo=timezone(timedelta(hours=2)))
    tree = status_tree(make_execution(), next_run_at=next_run, timezone="Europe/Paris")
    assert by_type(tree)["NextRunCountdown"] == [
        {"nextRunAt": "2024-05-01T13:30:00Z", "timezone": "Europe/Paris"}
    ]
    assert "NextRunCountdown" not in by_type(status_tree(make_execution()))


def test_timestamps_in_other_offsets_become_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    execution = make_execution(
        S.SUCCESS,
        started_at=datetime(2024, 5, 1, 13, 0, tzinfo=plus2),
        completed_at=datetime(2024, 5, 1, 13, 1, tzinfo=plus2),
    )
    [phase] = by_type(status_tree(execution))["JobPhaseIndicator"]
    assert phase == {
        "phase": "complete",
        "status": "success",
        "startedAt": "2024-05-01T11:00:00Z",
        "completedAt": "2024-05-01T11:01:00Z",
    }


def test_inputs_are_checked() -> None:
    execution = make_execution()
    with pytest.raises(ValueError, match="aware"):
        execution_tree(execution, [], next_run_at=None, timezone="UTC", at=datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="aware"):
        execution_tree(execution, [], next_run_at=datetime(2024, 5, 2), timezone="UTC", at=AT)
    with pytest.raises(ValueError, match="IANA"):
        execution_tree(execution, [], next_run_at=None, timezone="Mars/Base", at=AT)
    with pytest.raises(ValueError, match="log_limit"):
        execution_tree(execution, [], next_run_at=None, timezone="UTC", at=AT, log_limit=-1)


def test_pure_same_inputs_same_json() -> None:
    execution = make_execution(S.RUNNING, items_total=5)
    first = execution_tree(execution, make_logs(4), next_run_at=None, timezone="UTC", at=AT)
    second = execution_tree(execution, make_logs(4), next_run_at=None, timezone="UTC", at=AT)
    assert json.dumps(first.to_json_dict()) == json.dumps(second.to_json_dict())
    assert RenderTree.model_validate_json(json.dumps(first.to_json_dict())) == first


_statuses = st.sampled_from(list(S))


@settings(max_examples=80, deadline=None)
@given(
    status=_statuses,
    attempt=st.integers(1, 5),
    extra_attempts=st.integers(0, 3),
    processed=st.integers(0, 500),
    total=st.none() | st.integers(0, 500),
    failed=st.integers(0, 50),
    error=st.none() | st.text(max_size=30),
    started=st.none() | st.integers(-3600, 3600),
    log_count=st.integers(0, 25),
)
def test_any_execution_gives_a_valid_tree(
    status: S,
    attempt: int,
    extra_attempts: int,
    processed: int,
    total: int | None,
    failed: int,
    error: str | None,
    started: int | None,
    log_count: int,
) -> None:
    execution = make_execution(
        status,
        attempt=attempt,
        max_attempts=attempt + extra_attempts,
        items_processed=processed,
        items_total=total,
        items_failed=failed,
        error=error,
        started_at=None if started is None else AT + timedelta(seconds=started),
    )
    tree = execution_tree(
        execution, make_logs(log_count), next_run_at=AT, timezone="Asia/Tokyo", at=AT
    )
    assert validate_tree(tree, JOB_STATUS) == []


# --- history ------------------------------------------------------------------------------------


def _history(durations: dict[int, tuple[S, float | None]]) -> list[Execution]:
    runs = []
    for i, (status, seconds) in durations.items():
        start = AT - timedelta(hours=10 - i)
        runs.append(
            make_execution(
                status,
                id=i,
                started_at=None if status in NOT_STARTED else start,
                completed_at=None if seconds is None else start + timedelta(seconds=seconds),
                queued_at=start - timedelta(seconds=1),
                run_after=start - timedelta(seconds=1),
            )
        )
    return runs


def test_history_tree_components_and_statistics() -> None:
    executions = _history(
        {
            1: (S.SUCCESS, 10),
            2: (S.SUCCESS, 20),
            3: (S.FAILED, 30),
            4: (S.PARTIAL, 40),
            5: (S.TIMED_OUT, 100),
            6: (S.SKIPPED, None),
            7: (S.RUNNING, None),
            8: (S.QUEUED, None),
        }
    )
    tree = history_tree(list(reversed(executions)), timezone="America/New_York", at=AT)
    data = tree.to_json_dict()
    assert validate_tree(data, JOB_HISTORY) == []
    assert [c["type"] for c in data["children"]] == [
        "ExecutionTimeline",
        "DurationChart",
        "SuccessRate",
        "StatusCounts",
    ]
    assert data["meta"] == {"catalog": "job-history", "version": "1", "generatedAt": AT_Z}
    found = {c["type"]: c["props"] for c in data["children"]}

    timeline = found["ExecutionTimeline"]
    assert timeline["timezone"] == "America/New_York"
    assert [r["id"] for r in timeline["runs"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    running = timeline["runs"][6]
    assert running["status"] == "running"
    assert running["durationSeconds"] == 3 * 3600  # elapsed until AT
    assert "completedAt" not in running
    skipped = timeline["runs"][5]
    assert skipped["startedAt"] == "2024-05-01T07:59:59Z"  # queue time when it never started
    assert "durationSeconds" not in skipped

    chart = found["DurationChart"]
    assert [(r["id"], r["durationSeconds"]) for r in chart["runs"]] == [
        (1, 10),
        (2, 20),
        (3, 30),
        (4, 40),
        (5, 100),
    ]
    assert chart["p50"] == 30
    assert chart["p95"] == pytest.approx(88)

    assert found["SuccessRate"] == {"succeeded": 3, "failed": 2, "total": 5, "rate": 0.6}
    assert found["StatusCounts"] == {
        "counts": {
            "queued": 1,
            "running": 1,
            "success": 2,
            "partial": 1,
            "failed": 1,
            "timed_out": 1,
            "skipped": 1,
        }
    }


def test_empty_history_is_valid() -> None:
    data = history_tree([], timezone="UTC", at=AT).to_json_dict()
    assert validate_tree(data, JOB_HISTORY) == []
    found = {c["type"]: c["props"] for c in data["children"]}
    assert found["DurationChart"] == {"runs": [], "timezone": "UTC"}
    assert found["SuccessRate"] == {"succeeded": 0, "failed": 0, "total": 0, "rate": 0}
    assert found["StatusCounts"] == {"counts": {}}


def test_history_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="aware"):
        history_tree([], timezone="UTC", at=datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="IANA"):
        history_tree([], timezone="Nowhere/City", at=AT)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5], 0.5, 5),
        ([5], 0.95, 5),
        ([1, 2], 0.5, 1.5),
        ([4, 1, 3, 2], 0.5, 2.5),
        ([10, 20, 30, 40, 100], 0.95, 88),
        ([1, 2, 3], 0, 1),
        ([1, 2, 3], 1, 3),
    ],
)
def test_percentile(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == pytest.approx(expected)


def test_percentile_of_nothing() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_history_tree_accepts_runs_that_never_started() -> None:
    """Queued and skipped runs have attempt 0 in the database."""
    runs = [
        make_execution(S.QUEUED, id=1, attempt=0, started_at=None, completed_at=None),
        make_execution(S.SKIPPED, id=2, attempt=0, started_at=None, completed_at=AT),
    ]
    tree = history_tree(runs, timezone="UTC", at=AT)
    assert validate_tree(tree.to_json_dict(), JOB_HISTORY) == []
    timeline = tree.to_json_dict()["children"][0]["props"]["runs"]
    assert [r["attempt"] for r in timeline] == [0, 0]
