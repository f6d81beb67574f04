"""The engine's database contract on SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, insert, select, update

from grove_jobs.configs.store import get_config, set_enabled, update_config
from grove_jobs.configs.transfer import parse_objects
from grove_jobs.db.dialect import NOTIFY_CHANNEL
from grove_jobs.db.tables import ExecutionLogRow, JobConfigRow, JobExecutionRow
from grove_jobs.engine import dispatch, leases
from grove_jobs.engine.dispatch import Outcome
from grove_jobs.engine.enqueue import cancel_execution, retry_execution, run_now
from grove_jobs.engine.tick import tick
from grove_jobs.exceptions import InvalidTransition, ValidationFailed
from grove_jobs.executions.queries import execution_logs, get_execution
from tests.factories import create, queued_rows, synthetic_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _executions(db, config_id):
    with db.read() as session:
        return list(
            session.scalars(
                select(JobExecutionRow)
                .where(JobExecutionRow.config_id == config_id)
                .order_by(JobExecutionRow.id)
            )
        )


def _set_next_run(db, config_id, when):
    with db.write() as session:
        session.execute(
            update(JobConfigRow).where(JobConfigRow.id == config_id).values(next_run_at=when)
        )


# --------------------------------------------------------------------------- tick


def test_next_run_is_computed_from_now_on_create(db):
    record = create(db, synthetic_config("every-5", cron="*/5 * * * *", enabled=True), at=T0)
    assert record.next_run_at == T0 + timedelta(minutes=5)


def test_tick_is_idempotent(db):
    create(db, synthetic_config("every-min", cron="* * * * *", enabled=True), at=T0)
    due = T0 + timedelta(minutes=1)
    assert tick(db, at=due).queued == 1
    _set_next_run(db, "every-min", due)  # as if a second sidecar saw the same tick
    assert tick(db, at=due).queued == 0
    rows = _executions(db, "every-min")
    assert [(r.status, r.scheduled_for) for r in rows] == [("queued", due)]
    assert get_config(db, "every-min").next_run_at == due + timedelta(minutes=1)


def test_one_tick_advances_configs_that_share_a_fire_time_and_those_that_do_not(db):
    """A burst sends what its configs share (fire time, next fire time) once, not per row;
    a tick mixing shared and distinct times still queues and advances each config rightly."""
    for config_id in ("a", "b"):
        create(db, synthetic_config(config_id, cron="*/2 * * * *", enabled=True), at=T0)
    create(db, synthetic_config("c", cron="0 * * * *", enabled=True), at=T0)
    _set_next_run(db, "c", T0 + timedelta(seconds=90))
    at = T0 + timedelta(minutes=2)
    assert tick(db, at=at).queued == 3
    assert {cid: get_config(db, cid).next_run_at for cid in "abc"} == {
        "a": T0 + timedelta(minutes=4),
        "b": T0 + timedelta(minutes=4),
        "c": T0 + timedelta(hours=1),
    }
    fired = {cid: [r.scheduled_for for r in _executions(db, cid)] for cid in "abc"}
    assert fired == {"a": [at], "b": [at], "c": [T0 + timedelta(seconds=90)]}


def test_nothing_due_is_a_no_op(db):
    create(db, synthetic_config("later", cron="0 3 * * *", enabled=True), at=T0)
    result = tick(db, at=T0 + timedelta(minutes=1))
    assert (result.configs, result.queued) == (0, 0)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # next_run_at 10 minutes ago, grace 90 s: fires at -10..-2 min are late, -1 min and now
        # are on time.
        ("skip", {"queued": 2, "skipped": 9}),
        ("run_once", {"queued": 2, "skipped": 9}),
        ("run_all", {"queued": 11, "skipped": 0}),
    ],
)
def test_misfire_policies_with_on_time_fires(db, policy, expected):
    data = synthetic_config("m", cron="* * * * *", enabled=True, misfire=policy, grace=90)
    data["payload"]["limits"]["overlapPolicy"] = "queue"
    create(db, data, at=T0)
    now = T0 + timedelta(minutes=20)
    _set_next_run(db, "m", now - timedelta(minutes=10))
    tick(db, at=now)
    statuses = [r.status for r in _executions(db, "m")]
    assert statuses.count("queued") == expected["queued"]
    assert statuses.count("skipped") == expected["skipped"]
    assert get_config(db, "m").next_run_at == now + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("policy", "queued", "skipped"),
    [("skip", 0, 3), ("run_once", 1, 2), ("run_all", 3, 0)],
)
def test_misfire_policies_after_an_outage(db, policy, queued, skipped):
    """Three hourly ticks missed while no sidecar ran; the newest is 30 minutes late."""
    data = synthetic_config("h", cron="0 * * * *", enabled=True, misfire=policy, grace=60)
    data["payload"]["limits"]["overlapPolicy"] = "queue"
    create(db, data, at=T0)
    now = T0 + timedelta(hours=3, minutes=30)
    tick(db, at=now)
    rows = _executions(db, "h")
    assert [r.status for r in rows].count("queued") == queued
    assert [r.status for r in rows].count("skipped") == skipped
    assert {r.scheduled_for for r in rows} == {T0 + timedelta(hours=h) for h in (1, 2, 3)}
    if policy == "run_once":
        (run,) = [r for r in rows if r.status == "queued"]
        assert run.scheduled_for == T0 + timedelta(hours=3)
        assert run.trigger == "misfire"
    for row in rows:
        if row.status == "skipped":
            assert "missed" in row.error


def test_saving_a_new_schedule_never_backfills(db):
    create(db, synthetic_config("c", cron="0 2 * * *", enabled=True), at=T0)
    record = get_config(db, "c")
    data = record.object.to_json_dict()
    data["payload"]["schedule"]["cronExpression"] = "0 3 * * *"
    later = T0 + timedelta(days=3, hours=5)
    updated = update_config(
        db,
        parse_objects(data)[0],
        expected_version=record.version,
        actor="t",
        source="ui",
        at=later,
    )
    assert updated.next_run_at == datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
    assert tick(db, at=later).queued == 0


def test_reenabling_computes_from_now(db):
    create(db, synthetic_config("r", cron="0 * * * *", enabled=True), at=T0)
    off = set_enabled(db, "r", False, actor="t", source="ui", at=T0)
    assert off.next_run_at is None
    later = T0 + timedelta(days=2, minutes=10)
    on = set_enabled(db, "r", True, actor="t", source="ui", at=later)
    assert on.next_run_at == later.replace(minute=0) + timedelta(hours=1)
    assert tick(db, at=later).queued == 0


def test_overlap_skip_records_a_skipped_tick_and_queue_queues(db):
    create(db, synthetic_config("o", cron="* * * * *", enabled=True, overlap="skip"), at=T0)
    create(db, synthetic_config("q", cron="* * * * *", enabled=True, overlap="queue"), at=T0)
    first = T0 + timedelta(minutes=1)
    tick(db, at=first)
    dispatch.claim(db, worker_id="w", limit=10, at=first)
    tick(db, at=first + timedelta(minutes=1))
    assert [r.status for r in _executions(db, "o")] == ["running", "skipped"]
    assert "maxConcurrent" in _executions(db, "o")[1].error
    assert [r.status for r in _executions(db, "q")] == ["running", "queued"]


# --------------------------------------------------------------------------- run now


def test_run_now_is_idempotent_per_request_id(db):
    create(db, synthetic_config("s"))
    first = run_now(db, "s", requested_by="alice", request_id="click-1", at=T0)
    again = run_now(db, "s", requested_by="alice", request_id="click-1", at=T0)
    other = run_now(db, "s", requested_by="alice", request_id="click-2", at=T0)
    assert first.id == again.id != other.id
    assert (first.status, first.trigger, first.requested_by) == ("queued", "manual", "alice")


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_run_now_wakes_listening_sidecars_once_per_new_run(db):
    """The insert itself notifies (one statement, autocommit): a listener hears the config id
    when the run is new, and nothing when a repeated request returns the stored run."""
    create(db, synthetic_config("s"))
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        first = run_now(db, "s", requested_by="alice", request_id="click-1", at=T0)
        assert [n.payload for n in listener.notifies(timeout=2.0, stop_after=1)] == ["s"]
        again = run_now(db, "s", requested_by="alice", request_id="click-1", at=T0)
        assert again.id == first.id
        assert list(listener.notifies(timeout=0.3)) == []
    assert [r.status for r in _executions(db, "s")] == ["queued"]


def test_run_now_validates_overrides_by_field(db):
    create(db, synthetic_config("s"))
    with pytest.raises(ValidationFailed) as info:
        run_now(db, "s", requested_by="a", parameter_overrides={"items": -1})
    assert [e.path for e in info.value.errors] == ["parameters.items"]
    assert _executions(db, "s") == []
    ok = run_now(db, "s", requested_by="a", parameter_overrides={"items": 7})
    (claimed,) = dispatch.claim(db, worker_id="w", limit=1, at=ok.queued_at)
    assert claimed.parameters["items"] == 7


def test_max_concurrent_holds_under_50_concurrent_run_now_calls(db):
    create(db, synthetic_config("limited", max_concurrent=3))
    barrier = threading.Barrier(10)

    def click(n: int) -> None:
        barrier.wait()
        for i in range(5):
            run_now(db, "limited", requested_by="t", request_id=f"{n}-{i}", at=T0)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_executions(db, "limited")) == 50
    # Several "sidecars" claim at once; the limit must hold across all of them.
    claimed: list = []
    barrier2 = threading.Barrier(4)

    def sidecar(name: str) -> None:
        barrier2.wait()
        for _ in range(3):
            claimed.extend(dispatch.claim(db, worker_id=name, limit=5, at=T0))

    threads = [threading.Thread(target=sidecar, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running = [r for r in _executions(db, "limited") if r.status == "running"]
    assert len(claimed) == len(running) == 3


def test_a_capped_configs_backlog_does_not_hold_back_other_configs(db):
    # A backlog of one config at its limit fills the front of the queue, well past any window
    # of candidates a claim reads at once; the runs of other configs behind it still start.
    create(db, synthetic_config("backlog", max_concurrent=1))
    create(db, synthetic_config("other", max_concurrent=8))
    with db.write() as session:
        session.execute(
            insert(JobExecutionRow), queued_rows(["backlog"] * 100, T0 - timedelta(minutes=1))
        )
        session.execute(insert(JobExecutionRow), queued_rows(["other"] * 5, T0))
    claimed = dispatch.claim(db, worker_id="w", limit=8, at=T0)
    assert sorted(r.config_id for r in claimed) == ["backlog"] + ["other"] * 5
    # The backlog's running run keeps it at its limit: the next claim takes nothing of it, and
    # waiting runs of a config at its limit are no reason to look again before a slot frees.
    assert dispatch.complete_and_claim(db, [], [], {}, worker_id="w", limit=8, at=T0) == (
        dispatch.Claimed([], None, T0)
    )


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_runs_passed_over_for_a_locked_config_are_looked_for_again_soon(db):
    create(db, synthetic_config("edited"))
    run = run_now(db, "edited", requested_by="t", at=T0)
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as other:
        # Another transaction holds the config's row: a save, a tick, another sidecar's claim.
        other.execute("SELECT 1 FROM job_configs WHERE id = 'edited' FOR UPDATE")
        claimed = dispatch.complete_and_claim(db, [], [], {}, worker_id="w", limit=2, at=T0)
        soon = T0 + timedelta(seconds=dispatch.LOCKED_RETRY_SECONDS)
        assert claimed == dispatch.Claimed([], soon, T0)
    claimed = dispatch.complete_and_claim(db, [], [], {}, worker_id="w", limit=2, at=T0)
    assert [r.execution_id for r in claimed.runs] == [run.id]
    assert claimed.next_due is None


def test_a_claim_takes_a_capped_config_up_to_its_limit(db):
    create(db, synthetic_config("three", max_concurrent=3))
    with db.write() as session:
        session.execute(insert(JobExecutionRow), queued_rows(["three"] * 40, T0))
    assert len(dispatch.claim(db, worker_id="w", limit=8, at=T0)) == 3
    assert dispatch.claim(db, worker_id="w", limit=8, at=T0) == []


# --------------------------------------------------------------------------- retries


def _fail(db, run, at, worker="w"):
    outcome = Outcome(
        execution_id=run.execution_id,
        attempt=run.attempt,
        status="failed",
        error="boom",
        max_attempts=run.max_attempts,
        retry=run.retry,
    )
    return dispatch.complete(db, [outcome], [], {}, worker_id=worker, at=at)


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [("fixed", [10, 10, 10]), ("exponential", [10, 20, 35])],
)
def test_retry_delays_are_exact_and_durable(db, backoff, expected):
    data = synthetic_config(
        "flaky", max_attempts=4, backoff=backoff, initial_delay=10, max_delay=35
    )
    create(db, data)
    execution = run_now(db, "flaky", requested_by="t", at=T0)
    now = T0
    for attempt, delay in enumerate(expected, start=1):
        (run,) = dispatch.claim(db, worker_id="w", limit=1, at=now)
        assert run.attempt == attempt
        assert _fail(db, run, now) == 1
        row = _executions(db, "flaky")[0]
        assert (row.status, row.run_after) == ("retrying", now + timedelta(seconds=delay))
        # Not a moment early: the backoff is data (run_after), not a sleeping worker.
        assert (
            dispatch.claim(db, worker_id="w", limit=1, at=row.run_after - timedelta(seconds=1))
            == []
        )
        now = row.run_after
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=now)
    _fail(db, run, now)
    final = get_execution(db, execution.id)
    assert (final.status, final.attempt) == ("failed", 4)


def test_a_claim_that_leaves_slots_empty_says_when_the_next_retry_is_due(db):
    create(db, synthetic_config("flaky", max_attempts=2, backoff="fixed", initial_delay=10))
    create(db, synthetic_config("quick"))
    run_now(db, "flaky", requested_by="t", at=T0)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=T0)
    failed = Outcome(
        execution_id=run.execution_id,
        attempt=1,
        status="failed",
        max_attempts=run.max_attempts,
        retry=run.retry,
    )
    # The failure, its retry and the claim share one transaction; the claim finds nothing due
    # and reports the retry's not-before, so the sidecar can sleep until exactly then.
    ended = T0 + timedelta(seconds=1)
    claimed = dispatch.complete_and_claim(db, [failed], [], {}, worker_id="w", limit=2, at=ended)
    assert claimed == dispatch.Claimed([], ended + timedelta(seconds=10), ended)
    # With every slot filled the lookup is skipped: the sidecar claims again when one frees.
    quick = run_now(db, "quick", requested_by="t", at=ended)
    claimed = dispatch.complete_and_claim(db, [], [], {}, worker_id="w", limit=1, at=ended)
    assert [r.execution_id for r in claimed.runs] == [quick.id]
    assert claimed.next_due is None
    # Once it is due, the retry is claimed and nothing else is waiting.
    due = ended + timedelta(seconds=10)
    claimed = dispatch.complete_and_claim(db, [], [], {}, worker_id="w", limit=2, at=due)
    assert [(r.execution_id, r.attempt) for r in claimed.runs] == [(run.execution_id, 2)]
    assert claimed.next_due is None


def test_each_retry_is_logged_with_its_end_and_next_start(db):
    # The attempt history the soak checker relies on: one engine line per retried attempt.
    create(db, synthetic_config("logged", max_attempts=3, backoff="fixed", initial_delay=7))
    run_now(db, "logged", requested_by="t", at=T0)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=T0)
    assert _fail(db, run, T0 + timedelta(seconds=2)) == 1
    # A late, rejected report (another worker) must not log a retry.
    assert _fail(db, run, T0 + timedelta(seconds=3), worker="other") == 0
    with db.read() as session:
        lines = session.execute(
            select(ExecutionLogRow.attempt, ExecutionLogRow.at, ExecutionLogRow.message)
        ).all()
    assert [(a, at) for a, at, _ in lines] == [(1, T0 + timedelta(seconds=2))]
    assert lines[0].message.startswith(f"{dispatch.RETRY_LOG_PREFIX}: attempt 1 failed")
    assert "(in 7s)" in lines[0].message


def test_rescue_gives_a_dead_workers_run_its_next_attempt_once(db):
    create(db, synthetic_config("r", max_attempts=2, initial_delay=5))
    run_now(db, "r", requested_by="t", at=T0)
    (run,) = dispatch.claim(db, worker_id="dead", limit=1, at=T0)
    assert leases.rescue(db, lease_seconds=30, at=T0 + timedelta(seconds=29)) == []
    later = T0 + timedelta(seconds=31)
    assert leases.rescue(db, lease_seconds=30, at=later) == [run.execution_id]
    assert leases.rescue(db, lease_seconds=30, at=later) == []
    row = _executions(db, "r")[0]
    assert (row.status, row.attempt, row.run_after) == (
        "retrying",
        1,
        later + timedelta(seconds=5),
    )
    # The presumed-dead worker wakes up and reports success: nothing changes.
    late = Outcome(execution_id=run.execution_id, attempt=1, status="success", max_attempts=2)
    assert dispatch.complete(db, [late], [], {}, worker_id="dead", at=later) == 0
    assert _executions(db, "r")[0].status == "retrying"
    with db.read() as session:
        lines = session.scalar(select(func.count()).select_from(ExecutionLogRow))
    assert lines == 1


def test_rescue_fails_a_run_with_no_attempts_left(db):
    create(db, synthetic_config("r1", max_attempts=1))
    run_now(db, "r1", requested_by="t", at=T0)
    dispatch.claim(db, worker_id="dead", limit=1, at=T0)
    leases.rescue(db, lease_seconds=10, at=T0 + timedelta(minutes=1))
    row = _executions(db, "r1")[0]
    assert row.status == "failed"
    assert "stopped heartbeating" in row.error


def test_heartbeat_extends_the_lease(db):
    create(db, synthetic_config("hb"))
    run_now(db, "hb", requested_by="t", at=T0)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=T0)
    leases.heartbeat(
        db, worker_id="w", running=[(run.execution_id, 1)], at=T0 + timedelta(seconds=25)
    )
    assert leases.rescue(db, lease_seconds=30, at=T0 + timedelta(seconds=40)) == []


def test_hand_back_returns_runs_without_spending_an_attempt(db):
    create(db, synthetic_config("hb", max_attempts=2, max_concurrent=3))
    for n in range(3):
        run_now(db, "hb", requested_by="t", request_id=f"hb{n}", at=T0)
    mine = dispatch.claim(db, worker_id="w", limit=2, at=T0)
    (theirs,) = dispatch.claim(db, worker_id="other", limit=1, at=T0)
    running = [(r.execution_id, r.attempt) for r in [*mine, theirs]]
    # Only this sidecar's runs go back; another sidecar's run is left alone.
    assert leases.hand_back(db, worker_id="w", running=running, at=T0) == 2
    again = dispatch.claim(db, worker_id="w2", limit=3, at=T0)
    assert sorted(r.execution_id for r in again) == sorted(r.execution_id for r in mine)
    assert {r.attempt for r in again} == {1}


# --------------------------------------------------------------------------- cancel / retry


def test_cancel_queued_and_running(db):
    create(db, synthetic_config("c", max_concurrent=2))
    queued = run_now(db, "c", requested_by="t", at=T0)
    running = run_now(db, "c", requested_by="t", at=T0)
    dispatch.claim(db, worker_id="w", limit=1, at=T0)  # claims the older one
    assert cancel_execution(db, running.id, requested_by="bob").status == "cancelled"
    flagged = cancel_execution(db, queued.id, requested_by="bob")
    assert (flagged.status, flagged.cancel_requested) == ("running", True)
    assert leases.cancel_requested(db, [queued.id, running.id]) == {queued.id, running.id}
    with pytest.raises(InvalidTransition):
        cancel_execution(db, running.id, requested_by="bob")


def test_retry_of_a_failed_run_starts_a_new_run(db):
    create(db, synthetic_config("f"))
    first = run_now(db, "f", requested_by="t", parameter_overrides={"items": 3}, at=T0)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=T0)
    _fail(db, run, T0)
    again = retry_execution(db, first.id, requested_by="bob", request_id="r1", at=T0)
    assert (again.trigger, again.parameter_overrides, again.status) == (
        "retry",
        {"items": 3},
        "queued",
    )
    assert retry_execution(db, first.id, requested_by="bob", request_id="r1").id == again.id


def test_nul_characters_in_handler_output_do_not_block_a_batch(db):
    """PostgreSQL rejects NUL in text and JSONB; the engine must still record the run."""
    create(db, synthetic_config("nul"))
    run_now(db, "nul", requested_by="t", at=T0)
    (run,) = dispatch.claim(db, worker_id="w", limit=1, at=T0)
    outcome = Outcome(
        execution_id=run.execution_id,
        attempt=1,
        status="failed",
        error="bad\x00byte",
        result={"k\x00": "v\x00"},
        max_attempts=1,
    )
    log = dispatch.LogEntry(run.execution_id, 1, T0, "info", "line\x00with nul")
    assert dispatch.complete(db, [outcome], [log], {}, worker_id="w", at=T0) == 1
    row = _executions(db, "nul")[0]
    assert (row.status, row.error) == ("failed", "bad\ufffdbyte")
    assert execution_logs(db, row.id)[0].message == "line\ufffdwith nul"


def test_nul_characters_in_overrides_are_rejected_by_field(db):
    create(db, synthetic_config("nul-o"))
    with pytest.raises(ValidationFailed) as info:
        run_now(db, "nul-o", requested_by="t", parameter_overrides={"hang": "x\x00"})
    assert [e.path for e in info.value.errors] == ["parameters.hang"]
