"""API authentication: deny by default, 401 without a usable token, 403 without the scope,
tokens hashed at rest, per-token trigger rate limits.

The route list comes from ``app.routes``, so a route added later is covered automatically.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from grove_jobs.auth.tables import ApiTokenRow
from grove_jobs.auth.tokens import SCOPES, create_token, revoke_token, verify_token
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.settings import Settings
from scheduler.api.app import create_app
from scheduler.api.auth import PUBLIC_PATHS, SCOPE_KEY
from tests.integration.test_api_support import (
    ApiClient,
    all_scopes_but,
    api_settings,
    make_token,
    path_for,
    seeded_app,
)

# Built once at collection: routes do not depend on the database.
_ROUTES = [r for r in create_app(None, Settings()).routes if isinstance(r, APIRoute)]  # type: ignore[arg-type]
PROTECTED = [
    pytest.param(method, route.path, id=f"{method} {route.path}")
    for route in _ROUTES
    if route.path not in PUBLIC_PATHS
    for method in sorted(route.methods)
]


@pytest.fixture
def app(db: Database) -> FastAPI:
    return seeded_app(db)


def _scope_of(app: FastAPI, method: str, path: str) -> str:
    route = next(
        r for r in app.routes if isinstance(r, APIRoute) and r.path == path and method in r.methods
    )
    return (route.openapi_extra or {})[SCOPE_KEY]


def test_every_route_is_public_on_purpose_or_declares_a_scope() -> None:
    public = {r.path for r in create_app(None, Settings()).routes} & PUBLIC_PATHS  # type: ignore[arg-type]
    assert public >= {"/healthz", "/metrics", "/openapi.json"}
    for route in _ROUTES:
        if route.path in PUBLIC_PATHS:
            continue
        assert (route.openapi_extra or {}).get(SCOPE_KEY) in SCOPES, route.path
    assert len(PROTECTED) >= 9


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_token_is_401(app: FastAPI, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = ApiClient(app).request(method, path_for(path), headers=headers, json={})
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_unknown_token_is_401(app: FastAPI, method: str, path: str) -> None:
    forged = "gjt_" + "A" * 43
    response = ApiClient(app, forged).request(method, path_for(path), json={})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_wrong_scope_is_403_and_right_scope_passes(
    app: FastAPI, db: Database, method: str, path: str
) -> None:
    needed = _scope_of(app, method, path)
    others = ApiClient(app, make_token(db, *all_scopes_but(needed)))
    response = others.request(method, path_for(path), json={"jobConfigId": "mock-health-check"})
    assert response.status_code == 403, response.text
    assert needed in response.json()["detail"]
    assert f'scope="{needed}"' in response.headers["WWW-Authenticate"]

    only = ApiClient(app, make_token(db, needed))
    response = only.request(method, path_for(path), json={"jobConfigId": "mock-health-check"})
    assert response.status_code not in (401, 403), response.text


def test_auth_runs_before_body_validation(app: FastAPI, db: Database) -> None:
    bad_body = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    assert ApiClient(app).post("/api/jobs/trigger", **bad_body).status_code == 401
    reader = ApiClient(app, make_token(db, "read"))
    assert reader.post("/api/jobs/trigger", **bad_body).status_code == 403


def test_unknown_paths_need_a_token_too(app: FastAPI, db: Database) -> None:
    assert ApiClient(app).get("/api/nothing-here").status_code == 401
    assert ApiClient(app).get("/admin").status_code == 401
    assert ApiClient(app, make_token(db, "read")).get("/api/nothing-here").status_code == 404


def test_a_route_without_a_declared_scope_is_refused(app: FastAPI, db: Database) -> None:
    app.add_api_route("/api/forgotten", lambda: {"leak": True}, methods=["GET"])
    response = ApiClient(app, make_token(db)).get("/api/forgotten")
    assert response.status_code == 403
    assert "declares no scope" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/openapi.json", "/docs"])
def test_probes_and_docs_are_public(app: FastAPI, path: str) -> None:
    assert ApiClient(app).get(path).status_code == 200


def test_openapi_documents_bearer_auth_and_scopes(app: FastAPI) -> None:
    spec = ApiClient(app).get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    trigger = spec["paths"]["/api/jobs/{config_id}/trigger"]["post"]
    assert trigger[SCOPE_KEY] == "run"
    assert trigger["security"] == [{"bearerToken": []}]
    assert "healthz" not in str(spec["paths"]["/healthz"]["get"].get("security"))


# --------------------------------------------------------------------------- token lifecycle


def test_tokens_are_stored_hashed(db: Database) -> None:
    record, secret = create_token(db, name="ci", scopes={"run"}, created_by="test")
    with db.read() as session:
        row = session.scalars(select(ApiTokenRow)).one()
        stored = [str(getattr(row, c.key)) for c in ApiTokenRow.__table__.columns]
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in value for value in stored)
    assert not any(secret[len(row.prefix) :] in value for value in stored)  # not even the tail
    assert secret.startswith(record.prefix) and len(record.prefix) <= 10
    assert len(secret) >= 40  # 32 random bytes


def test_expired_and_revoked_tokens_are_rejected(app: FastAPI, db: Database) -> None:
    past = utcnow() - timedelta(days=2)
    _, expired = create_token(
        db, name="old", scopes={"read"}, created_by="t", expires_in=timedelta(days=1), at=past
    )
    _, revoked = create_token(db, name="gone", scopes={"read"}, created_by="t")
    _, live = create_token(
        db, name="live", scopes={"read"}, created_by="t", expires_in=timedelta(days=1)
    )
    assert ApiClient(app, revoked).get("/api/jobs").status_code == 200
    revoke_token(db, "gone", revoked_by="test")
    for secret, reason in ((expired, "expired"), (revoked, "revoked")):
        response = ApiClient(app, secret).get("/api/jobs")
        assert response.status_code == 401
        assert reason in response.json()["detail"]
    assert ApiClient(app, live).get("/api/jobs").status_code == 200


def test_a_revoked_name_can_be_reused_but_not_an_active_one(db: Database) -> None:
    from grove_jobs.exceptions import AlreadyExists

    _, first = create_token(db, name="ci", scopes={"run"}, created_by="t")
    with pytest.raises(AlreadyExists):
        create_token(db, name="ci", scopes={"run"}, created_by="t")
    revoke_token(db, "ci", revoked_by="t")
    _, second = create_token(db, name="ci", scopes={"run"}, created_by="t")
    assert verify_token(db, second).name == "ci"
    with pytest.raises(Exception, match="revoked"):
        verify_token(db, first)


def test_last_use_is_recorded(app: FastAPI, db: Database) -> None:
    _, secret = create_token(db, name="watch", scopes={"read"}, created_by="t")
    assert verify_token(db, secret).last_used_at is None
    ApiClient(app, secret).get("/api/jobs")
    assert verify_token(db, secret).last_used_at is not None


# --------------------------------------------------------------------------- rate limit


def test_trigger_is_rate_limited_per_token(db: Database) -> None:
    from tests.integration.test_api_support import mock_config, store

    store(db, mock_config())
    app = create_app(db, api_settings(db, trigger_rate_per_minute=2))
    now = [1000.0]
    app.state.grove.monotonic = lambda: now[0]
    first, second = ApiClient(app, make_token(db, "run")), ApiClient(app, make_token(db, "run"))
    url = "/api/jobs/mock-health-check/trigger"
    assert [first.post(url).status_code for _ in range(2)] == [202, 202]
    limited = first.post(url)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert (
        first.post("/api/jobs/trigger", json={"jobConfigId": "mock-health-check"}).status_code
        == 429
    )
    assert second.post(url).status_code == 202  # buckets are per token
    now[0] += 30  # 2/minute: one request's worth refills in 30 s
    assert first.post(url).status_code == 202
    assert first.post(url).status_code == 429
