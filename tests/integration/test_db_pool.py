"""The PostgreSQL pool checks a connection before use only after it sat idle: a connection that
died while idle is replaced unseen; one that died within the window fails one statement, which
invalidates it, and the next statement gets a new connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from grove_jobs.db import engine
from grove_jobs.db.engine import Database

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _backend_pid(db: Database) -> int:
    with db.read() as session:
        return session.scalar(text("SELECT pg_backend_pid()"))


def _terminate(db_url: str, pid: int) -> None:
    """Terminate a backend and wait until it is gone (the signal is asynchronous)."""
    admin = Database(db_url, pool_size=1)
    try:
        with admin.write() as session:
            # With a timeout, pg_terminate_backend waits for the backend to exit.
            query = text("SELECT pg_terminate_backend(:pid, 5000)")
            assert session.scalar(query, {"pid": pid})
    finally:
        admin.dispose()


# The window is set per test, so a slow machine cannot move a checkout across it.


def test_a_connection_that_died_while_idle_is_replaced_unseen(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout is "idle"
    db = Database(db_url, pool_size=1)
    try:
        pid = _backend_pid(db)
        _terminate(db_url, pid)
        assert _backend_pid(db) != pid  # checked on checkout, replaced, no error
    finally:
        db.dispose()


def test_a_connection_that_died_within_the_window_fails_once(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 3600.0)
    db = Database(db_url, pool_size=1)
    try:
        pid = _backend_pid(db)
        _terminate(db_url, pid)
        with pytest.raises(DBAPIError) as info:
            _backend_pid(db)  # used again at once: taken as alive, unchecked
        assert info.value.connection_invalidated
        assert _backend_pid(db) != pid
    finally:
        db.dispose()
