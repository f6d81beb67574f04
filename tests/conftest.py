"""Shared fixtures: fresh SQLite and PostgreSQL databases, and migrated ``Database`` objects.

- ``sqlite_url`` / ``postgres_url``: a fresh, *empty* database per test (nothing migrated).
- ``backend``: ``"sqlite"`` or ``"postgres"``; every fixture below follows it, so a test using
  several of them runs once per backend (ids ``[sqlite]`` / ``[postgres]``; the PostgreSQL
  half carries the ``postgres`` marker).
- ``database_url``: a fresh, empty database on the current backend (migration tests,
  ``grove-jobs db upgrade``).
- ``db_url`` (alias ``migrated_url``): a migrated database with empty tables on the current
  backend.
- ``db``: ``Database(db_url)``; its engine is disposed after the test. ``db.url`` is the URL
  to hand to a CLI subprocess that should see the same data.

Replaying the migrations for every test would dominate the runtime, so each backend is
migrated once per session: on SQLite ``db_url`` copies a migrated template file; on PostgreSQL
it is one migrated database per session whose tables are truncated before each test (creating
databases is slow on a busy server). ``test_migrations.py`` checks that a migrated database
matches the SQLAlchemy metadata.

PostgreSQL comes from ``GROVE_TEST_DATABASE_URL`` (an admin URL that may create databases;
default: the local ``test`` database). When it is unreachable the PostgreSQL tests skip,
unless ``GROVE_REQUIRE_POSTGRES=1`` (CI), which turns that into a failure.
"""

from __future__ import annotations

import copy
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.db.metadata import metadata
from grove_jobs.demo import MOCK_HEALTH_CHECK
from grove_jobs.jobs.discovery import discover
from grove_jobs.settings import normalize_database_url

# Every process discovers its job types once at start; so does the test session.
discover()

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _admin_url() -> str:
    return normalize_database_url(os.environ.get("GROVE_TEST_DATABASE_URL", DEFAULT_ADMIN_URL))


def _url_for(database: str) -> str:
    return make_url(_admin_url()).set(database=database).render_as_string(hide_password=False)


# --------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file under tmp_path."""
    return f"sqlite:///{tmp_path / 'grove.db'}"


@pytest.fixture
def _migrated_sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    target = tmp_path / "grove-migrated.db"
    shutil.copyfile(_sqlite_template, target)
    return f"sqlite:///{target}"


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the admin database (CREATE/DROP DATABASE need it)."""
    url = _admin_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig).split())
        message = f"PostgreSQL at {shown} is unreachable: {reason}"
        if os.environ.get("GROVE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message} (GROVE_REQUIRE_POSTGRES=1 makes this an error)")
        pytest.skip(f"{message}; set GROVE_TEST_DATABASE_URL to run the PostgreSQL tests")
    yield engine
    engine.dispose()


def _create_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(_pg_admin: Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped (WITH (FORCE)) after the test."""
    name = f"grove_test_{uuid.uuid4().hex[:12]}"
    _create_database(_pg_admin, name)
    try:
        yield _url_for(name)
    finally:
        _drop_database(_pg_admin, name)


@pytest.fixture(scope="session")
def _pg_session_db(_pg_admin: Engine) -> Iterator[Engine]:
    """One migrated PostgreSQL database for the session (an AUTOCOMMIT engine on it)."""
    name = f"grove_test_{uuid.uuid4().hex[:12]}"
    _create_database(_pg_admin, name)
    url = _url_for(name)
    # pre_ping: a test that kills every connection to its database (pg_terminate_backend)
    # also kills this engine's pooled one; the next test must get a live connection.
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        migrate.upgrade(url)
        yield engine
    finally:
        engine.dispose()
        _drop_database(_pg_admin, name)


@pytest.fixture
def _migrated_postgres_url(_pg_session_db: Engine) -> str:
    with _pg_session_db.connect() as connection:
        # A connection left open by an earlier test (a killed subprocess, an undisposed
        # engine) would make TRUNCATE wait for its lock forever.
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        # DELETE, not TRUNCATE: on tables this small it is much cheaper (no new relation
        # files to create and sync), and tests never rely on ids starting at 1.
        for table in reversed(metadata.sorted_tables):
            connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
    return _pg_session_db.url.render_as_string(hide_password=False)


# --------------------------------------------------------------------------- both


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test run: "sqlite" or "postgres"."""
    return request.param


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> str:
    """A fresh, empty database on the current backend."""
    return request.getfixturevalue(f"{backend}_url")


@pytest.fixture
def db_url(request: pytest.FixtureRequest, backend: str) -> str:
    """A migrated database with empty tables on the current backend."""
    return request.getfixturevalue(f"_migrated_{backend}_url")


@pytest.fixture
def migrated_url(db_url: str) -> str:
    """Another name for ``db_url``."""
    return db_url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated, empty Database on the current backend; its engine is disposed afterwards."""
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


# --------------------------------------------------------------------------- invalid configs


@dataclass(frozen=True)
class InvalidConfig:
    """The original mock config with ``changes`` applied (dotted path -> value); the error
    must be reported at ``path``. Used by the schema unit tests and the CLI tests alike."""

    id: str
    changes: dict[str, Any]
    path: str
    base: dict[str, Any] = field(default_factory=lambda: MOCK_HEALTH_CHECK)

    def build(self) -> dict[str, Any]:
        data = copy.deepcopy(self.base)
        for dotted, value in self.changes.items():
            *parents, leaf = dotted.split(".")
            node = data
            for part in parents:
                node = node[part]
            node[leaf] = value
        return data


_ORPHANS = {"payload.jobType": "orphan-cleanup"}
INVALID_CONFIGS = [
    InvalidConfig(
        "cron-unparsable",
        {"payload.schedule.cronExpression": "61 * * * *"},
        "payload.schedule.cronExpression",
    ),
    InvalidConfig(
        "cron-wrong-field-count",
        {"payload.schedule.cronExpression": "every day"},
        "payload.schedule.cronExpression",
    ),
    InvalidConfig(
        "cron-never-fires",
        {"payload.schedule.cronExpression": "0 0 31 2 *"},
        "payload.schedule.cronExpression",
    ),
    InvalidConfig(
        "timezone-unknown",
        {"payload.schedule.timezone": "Mars/Olympus_Mons"},
        "payload.schedule.timezone",
    ),
    InvalidConfig("max-attempts-0", {"payload.retry.maxAttempts": 0}, "payload.retry.maxAttempts"),
    InvalidConfig(
        "max-attempts-1000", {"payload.retry.maxAttempts": 1000}, "payload.retry.maxAttempts"
    ),
    InvalidConfig(
        "initial-delay-negative",
        {"payload.retry.initialDelaySeconds": -1},
        "payload.retry.initialDelaySeconds",
    ),
    InvalidConfig(
        "max-delay-below-initial",
        {"payload.retry.initialDelaySeconds": 120, "payload.retry.maxDelaySeconds": 60},
        "payload.retry.maxDelaySeconds",
    ),
    InvalidConfig(
        "backoff-unknown",
        {"payload.retry.backoffStrategy": "random"},
        "payload.retry.backoffStrategy",
    ),
    InvalidConfig("batch-size-0", {"payload.limits.batchSize": 0}, "payload.limits.batchSize"),
    InvalidConfig(
        "timeout-0", {"payload.limits.timeoutSeconds": 0}, "payload.limits.timeoutSeconds"
    ),
    InvalidConfig(
        "timeout-huge", {"payload.limits.timeoutSeconds": 10**7}, "payload.limits.timeoutSeconds"
    ),
    InvalidConfig(
        "max-concurrent-0", {"payload.limits.maxConcurrent": 0}, "payload.limits.maxConcurrent"
    ),
    InvalidConfig(
        "job-type-unknown",
        {"payload.jobType": "teleport", "payload.parameters": {"jobType": "teleport"}},
        "payload.jobType",
    ),
    InvalidConfig(
        "parameters-job-type-mismatch",
        {"payload.parameters.jobType": "synthetic"},
        "payload.parameters.jobType",
    ),
    InvalidConfig(
        "checks-unknown", {"payload.parameters.checks": ["disk"]}, "payload.parameters.checks.0"
    ),
    InvalidConfig("checks-empty", {"payload.parameters.checks": []}, "payload.parameters.checks"),
    InvalidConfig(
        "alert-threshold-unknown",
        {"payload.parameters.alertThreshold": "panic"},
        "payload.parameters.alertThreshold",
    ),
    InvalidConfig(
        "orphan-threshold-0",
        {**_ORPHANS, "payload.parameters": {"entityTypes": ["x"], "orphanThresholdDays": 0}},
        "payload.parameters.orphanThresholdDays",
    ),
    InvalidConfig(
        "periods-empty",
        {"payload.jobType": "signal-aggregation", "payload.parameters": {"periods": []}},
        "payload.parameters.periods",
    ),
    InvalidConfig(
        "from-tiers-unknown",
        {"payload.jobType": "advancement-batch", "payload.parameters": {"fromTiers": ["forest"]}},
        "payload.parameters.fromTiers.0",
    ),
    InvalidConfig("display-name-empty", {"payload.displayName": ""}, "payload.displayName"),
    InvalidConfig("display-name-500", {"payload.displayName": "x" * 500}, "payload.displayName"),
    InvalidConfig("meta-id-not-slug", {"meta.id": "Not A Slug"}, "meta.id"),
    InvalidConfig("meta-type-unknown", {"meta.type": "spaceship"}, "meta.type"),
    InvalidConfig("unknown-top-level-field", {"spec": {}}, "spec"),
    InvalidConfig("unknown-meta-field", {"meta.owner": "me"}, "meta.owner"),
    InvalidConfig("unknown-payload-field", {"payload.priority": 1}, "payload.priority"),
    InvalidConfig(
        "unknown-schedule-field", {"payload.schedule.cron": "* * * * *"}, "payload.schedule.cron"
    ),
    InvalidConfig(
        "unknown-parameters-field",
        {"payload.parameters.verbose": True},
        "payload.parameters.verbose",
    ),
]


@pytest.fixture
def invalid_configs() -> list[InvalidConfig]:
    """The whole table, for tests that feed every invalid input at once."""
    return list(INVALID_CONFIGS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Any test taking an ``invalid_config`` argument runs once per row of the table.
    if "invalid_config" in metafunc.fixturenames:
        metafunc.parametrize("invalid_config", INVALID_CONFIGS, ids=[c.id for c in INVALID_CONFIGS])
