"""Hostile API input gets a clean 4xx and writes nothing; idempotency keys span jobs; readers
never see tracebacks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from grove_jobs.configs.store import get_config
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.engine.enqueue import run_now
from tests.integration.test_api_support import (
    ApiClient,
    admin_client,
    make_token,
    mock_config,
    seeded_app,
    store,
)

JOB = "/api/jobs/mock-health-check"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/grove_jobs/handlers/health_check.py", line 42, in run\n'
    "    raise RuntimeError('disk on fire')\n"
    "RuntimeError: disk on fire\n"
)


@pytest.fixture
def app(db: Database) -> FastAPI:
    return seeded_app(db)


@pytest.fixture
def client(app: FastAPI, db: Database) -> ApiClient:
    return admin_client(app, db)


def executions(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(JobExecutionRow))


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_deeply_nested_put_is_422_and_changes_nothing(client: ApiClient, db: Database) -> None:
    before = get_config(db, "mock-health-check").version
    body = mock_config(**{"payload.parameters.checks": nested(500)})
    response = client.put(JOB, json=body, headers={"If-Match": f'"{before}"'})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["path"].startswith("payload.parameters.checks.0.0")
    assert "nested more than 32 levels deep" in detail[0]["message"]
    assert get_config(db, "mock-health-check").version == before


def test_deeply_nested_trigger_is_422_and_starts_nothing(client: ApiClient, db: Database) -> None:
    for url, body in (
        (f"{JOB}/trigger", {"parameters": {"checks": nested(500)}}),
        ("/api/jobs/trigger", {"jobConfigId": "mock-health-check", "parameters": nested(500)}),
    ):
        response = client.post(url, json=body)
        assert 400 <= response.status_code < 500, response.text
    response = client.post(f"{JOB}/trigger", json={"parameters": {"checks": nested(500)}})
    assert response.json()["detail"][0]["path"].startswith("parameters.checks.0")
    assert executions(db) == 0


def test_one_idempotency_key_names_one_run_across_jobs(app: FastAPI, db: Database) -> None:
    for job in ("second-check", "third-check"):
        store(db, mock_config(**{"meta.id": job}))
    runner = ApiClient(app, make_token(db, "run"))
    headers = {"Idempotency-Key": "deploy-42"}
    first = runner.post(f"{JOB}/trigger", headers=headers)
    assert first.status_code == 202
    for job in ("second-check", "third-check"):
        clash = runner.post(f"/api/jobs/{job}/trigger", headers=headers)
        assert clash.status_code == 409
        assert "already used on job 'mock-health-check'" in clash.json()["detail"]
        by_body = runner.post("/api/jobs/trigger", json={"jobConfigId": job}, headers=headers)
        assert by_body.status_code == 409
    assert executions(db) == 1
    again = runner.post(f"{JOB}/trigger", headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # Another token's keys are its own.
    other = ApiClient(app, make_token(db, "run"))
    assert other.post("/api/jobs/second-check/trigger", headers=headers).status_code == 202


def test_bodies_over_the_cap_are_413(client: ApiClient, db: Database) -> None:
    before = get_config(db, "mock-health-check").version
    big = mock_config(**{"meta.description": "x" * 300_000})
    response = client.put(JOB, json=big, headers={"If-Match": f'"{before}"'})
    assert response.status_code == 413
    assert "at most 262144 bytes" in response.json()["detail"]
    padded = json.dumps({"parameters": {}, "pad": " " * 300_000})
    response = client.post(f"{JOB}/trigger", content=padded)
    assert response.status_code == 413

    async def chunks():  # no Content-Length: sent chunked
        for _ in range(40):
            yield b" " * 10_000
        yield b"{}"

    streamed = client.post(f"{JOB}/trigger", content=chunks())
    assert streamed.status_code == 413
    assert executions(db) == 0 and get_config(db, "mock-health-check").version == before
    # A body under the cap is still served.
    assert client.post(f"{JOB}/trigger", json={}).status_code == 202


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("payload.schedule.cronExpression", "5-1 * * * *", "runs backwards"),
        ("payload.schedule.timezone", "localtime", "the host's zone"),
    ],
)
def test_backward_ranges_and_host_zone_are_422(
    client: ApiClient, field: str, value: str, message: str
) -> None:
    response = client.put(JOB, json=mock_config(**{field: value}), headers={"If-Match": "*"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["path"] == field and message in detail[0]["message"]


def test_read_tokens_see_the_last_line_of_a_traceback(app: FastAPI, db: Database) -> None:
    execution = run_now(db, "mock-health-check", requested_by="seed")
    with db.write() as session:
        session.execute(
            update(JobExecutionRow)
            .where(JobExecutionRow.id == execution.id)
            .values(status="failed", attempt=1, error=TRACEBACK)
        )
    url = f"/api/executions/{execution.id}"
    reader = ApiClient(app, make_token(db, "read"))
    for body in (reader.get(url).json(), reader.get(f"{JOB}/executions").json()["items"][0]):
        assert body["error"] == "RuntimeError: disk on fire"
    assert "/srv/app" not in reader.get(url).text
    writer = ApiClient(app, make_token(db, "read", "write"))
    assert writer.get(url).json()["error"] == TRACEBACK.strip()
