"""Lease fencing with real processes on PostgreSQL: a sidecar that is paused, or cut off from
the database, must have stopped its handler before another sidecar starts the next attempt."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow
from grove_jobs.engine.enqueue import run_now
from tests.factories import create, synthetic_config
from tests.reliability.conftest import SidecarProcess, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize(
        "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]
TERMINAL = {"success", "partial", "failed", "timed_out", "cancelled", "skipped"}
# The timings of the report: lease 6 s, heartbeat 1 s (margin 2 s: handlers stop after 4 s).
LEASE_ENV = {"GROVE_LEASE_SECONDS": "6", "GROVE_HEARTBEAT_INTERVAL_SECONDS": "1"}
# Long enough that attempt 1, left alone, would still be working when attempt 2 begins.
LONG_RUN = {"items": 20, "duration": 20, "max_attempts": 2, "initial_delay": 0, "timeout": 120}


def _handler_lines(db: Database, execution_id: int) -> list[ExecutionLogRow]:
    """The handler's own log lines (the rescue's engine line is not the handler's work)."""
    with db.read() as session:
        rows = session.scalars(
            select(ExecutionLogRow)
            .where(ExecutionLogRow.execution_id == execution_id)
            .order_by(ExecutionLogRow.at)
        ).all()
    return [row for row in rows if "stopped heartbeating" not in row.message]


def _wait_for_line(db: Database, execution_id: int, attempt: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(line.attempt == attempt for line in _handler_lines(db, execution_id)):
        if time.monotonic() > deadline:
            raise AssertionError(f"attempt {attempt} of {execution_id} logged nothing")
        time.sleep(0.1)


def _assert_never_overlapped(db: Database, execution_id: int, owner: SidecarProcess) -> None:
    lines = _handler_lines(db, execution_id)
    first = [line.at for line in lines if line.attempt == 1]
    second = [line.at for line in lines if line.attempt == 2]
    assert first and second, [(line.attempt, line.message) for line in lines]
    assert max(first) < min(second), [(line.attempt, line.at, line.message) for line in lines]
    assert not any(line.message.startswith("processed") for line in lines if line.attempt == 1)
    assert "stopping the handler" in owner.output()  # the worker's watchdog stopped it


def _run_with_fault(
    db: Database, start: Callable[..., SidecarProcess], fault: Callable[[], Callable[[], None]]
) -> None:
    """Attempt 1 runs on ``owner``; ``fault()`` hits it and returns how to heal; another
    sidecar rescues the run and runs attempt 2; the fault heals once attempt 2 has finished,
    long after attempt 1 would have, so an unfenced attempt 1 leaves its late lines."""
    create(db, synthetic_config("long", **LONG_RUN))
    owner = start("owner")
    execution = run_now(db, "long", requested_by="test")
    wait_for(db, execution.id, {"running"}, timeout=20)
    _wait_for_line(db, execution.id, 1)
    start("rescuer")
    heal = fault()
    try:
        done = wait_for(db, execution.id, TERMINAL, timeout=90)
    finally:
        heal()
    assert (done.status, done.attempt) == ("success", 2)
    assert owner.process.poll() is None  # it survived the fault, and now it stops cleanly:
    assert owner.terminate() == 0  # everything it buffered is written on the way out
    _assert_never_overlapped(db, execution.id, owner)
    # And it said why attempt 1 ended: it found the worker gone (fenced), or, when a renewal
    # was still being retried as the fault healed, learnt that the run was taken over.
    assert "lease not renewed" in owner.output() or "lease lost" in owner.output()


@pytest.fixture
def start(sidecars, tmp_path: Path, db: Database) -> Callable[..., SidecarProcess]:
    def start_one(name: str, url: str | None = None) -> SidecarProcess:
        sidecar = SidecarProcess(url or db.url, tmp_path / f"{name}.log", **LEASE_ENV)
        sidecars.append(sidecar)
        return sidecar.start()

    return start_one


def test_a_paused_sidecar_has_stopped_its_handler_before_the_next_attempt(db, start):
    owner: list[SidecarProcess] = []

    def starting(name: str) -> SidecarProcess:
        sidecar = start(name)
        owner.append(sidecar)
        return sidecar

    def sigstop() -> Callable[[], None]:
        # The owner's main process only: its workers keep running, as in the report.
        pid = owner[0].process.pid
        os.kill(pid, signal.SIGSTOP)
        return lambda: os.kill(pid, signal.SIGCONT)

    _run_with_fault(db, starting, sigstop)


@pytest.fixture
def roles(db: Database) -> Iterator[Callable[[], str]]:
    """Login roles for the test's sidecars, each a URL of its own; dropped afterwards."""
    created: list[str] = []

    def role_url() -> str:
        name = f"grove_sidecar_{uuid.uuid4().hex[:8]}"
        with db.engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
            connection.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{name}"')
            connection.exec_driver_sql(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{name}"')
            connection.commit()
        created.append(name)
        return make_url(db.url).set(username=name).render_as_string(hide_password=False)

    yield role_url
    with db.engine.connect() as connection:
        for name in created:
            _cut_off(connection, name)
            connection.exec_driver_sql(f'DROP OWNED BY "{name}"')
            connection.exec_driver_sql(f'DROP ROLE "{name}"')
        connection.commit()


def _cut_off(connection, role: str) -> None:
    connection.exec_driver_sql(f'ALTER ROLE "{role}" NOLOGIN')
    connection.execute(
        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role"),
        {"role": role},
    )


def test_a_sidecar_cut_off_from_the_database_has_stopped_its_handler_first(db, start, roles):
    owner_role: list[str] = []

    def starting(name: str) -> SidecarProcess:
        url = roles()
        owner_role.append(make_url(url).username)
        return start(name, url)

    def partition() -> Callable[[], None]:
        # The owner's role may no longer log in and its sessions are gone; the rescuer, under
        # its own role, still connects.
        role = owner_role[0]
        with db.engine.connect() as connection:
            _cut_off(connection, role)
            connection.commit()

        def heal() -> None:
            with db.engine.connect() as connection:
                connection.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN')
                connection.commit()

        return heal

    _run_with_fault(db, starting, partition)
