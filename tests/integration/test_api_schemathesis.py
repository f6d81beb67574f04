"""Schemathesis over the OpenAPI document, with a token holding every scope: whatever it
generates (valid and invalid input), the API never answers 5xx. Bounded to a few seconds per
operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.demo import seed
from grove_jobs.engine.enqueue import run_now
from grove_jobs.settings import Settings
from scheduler.api.app import create_app
from scheduler.api.context import ApiContext
from tests.integration.test_api_support import api_settings, make_token

MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def api_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "grove.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    seed(db, actor="seed")
    for i in range(3):
        run_now(db, "mock-health-check", requested_by="seed", request_id=f"seed-{i}")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def auth_headers(api_db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(api_db, name='schemathesis')}"}


# The schema is loaded at import (schemathesis' fixture-based loader does not work with this
# pytest), from an app whose database is attached by the fixture below; building routes and
# the OpenAPI document never touches the database.
APP = create_app(None, Settings())  # type: ignore[arg-type]
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _attach_database(api_db: Database) -> None:
    # A high trigger rate: the point is to exercise the handlers, not the limiter.
    APP.state.grove = ApiContext(
        db=api_db, settings=api_settings(api_db, trigger_rate_per_minute=100_000)
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_server_errors(case: schemathesis.Case, auth_headers: dict[str, str]) -> None:
    response = case.call(headers=auth_headers)
    case.validate_response(response, checks=[not_a_server_error], headers=auth_headers)
