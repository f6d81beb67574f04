"""Shared helpers for the API tests (this module holds no tests of its own).

The client drives the ASGI app in-process through ``httpx.ASGITransport`` (Starlette's
TestClient warns about its httpx backend, and warnings are errors here).
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from grove_jobs.auth.tokens import SCOPES, create_token
from grove_jobs.configs.store import create_config
from grove_jobs.db.engine import Database
from grove_jobs.demo import MOCK_HEALTH_CHECK
from grove_jobs.schema.grove_object import parse_grove_object
from grove_jobs.settings import Settings, load_settings
from scheduler.api.app import create_app


@dataclass
class ApiClient:
    """A synchronous client for an in-process app; ``token`` is sent unless overridden."""

    app: FastAPI
    token: str | None = None
    default_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str | bool | None = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = {**self.default_headers, **(headers or {})}
        bearer = self.token if token is True else token
        if bearer:
            sent.setdefault("Authorization", f"Bearer {bearer}")

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://grove.test") as c:
                return await c.request(method, url, headers=sent, **kwargs)

        # A worker thread gets its own event loop: the caller's thread may already run one
        # (Playwright's sync API keeps a loop running for the whole session).
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)


def api_settings(db: Database, **overrides: Any) -> Settings:
    """Settings for an in-process app over ``db`` (overrides win)."""
    return load_settings(database_url=db.url, **overrides)


def make_token(db: Database, *scopes: str, name: str | None = None, **kwargs: Any) -> str:
    """A fresh token secret with ``scopes`` (all of them when none are given)."""
    chosen = set(scopes or SCOPES)
    record, secret = create_token(
        db,
        name=name or f"t-{'-'.join(sorted(chosen))}-{uuid.uuid4().hex[:8]}",
        scopes=chosen,
        created_by="test",
        **kwargs,
    )
    del record
    return secret


def mock_config(**changes: Any) -> dict[str, Any]:
    """The original mock health check config, with dotted-path ``changes`` applied."""
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return data


def store(db: Database, data: dict[str, Any]) -> None:
    create_config(db, parse_grove_object(data), actor="seed", source="cli")


def seeded_app(db: Database, **overrides: Any) -> FastAPI:
    """The API over ``db`` after storing the mock health check config."""
    store(db, mock_config())
    return create_app(db, api_settings(db, **overrides))


def admin_client(app: FastAPI, db: Database) -> ApiClient:
    """A client whose token (named ``admin``) has every scope."""
    return ApiClient(app, make_token(db, name="admin"))


def path_for(template: str, values: dict[str, str] | None = None) -> str:
    """A concrete URL for a route template (``{config_id}`` -> mock-health-check, ...)."""
    filled = {"config_id": "mock-health-check", "execution_id": "1", **(values or {})}
    return template.format(**filled)


def all_scopes_but(scope: str) -> Iterable[str]:
    return [s for s in SCOPES if s != scope]
