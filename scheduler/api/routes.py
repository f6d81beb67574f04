"""A decorator-style route table that registers directly on the app.

Routes are added with ``app.add_api_route`` rather than ``include_router``, so ``app.routes``
lists every operation itself: the auth middleware matches them to find their scope, and the
tests enumerate them so that no route escapes the authentication checks. This still holds for
the locked FastAPI (0.165): ``include_router`` adds one opaque ``_IncludedRouter`` entry to
``app.routes`` instead of the router's ``APIRoute`` objects. Each endpoints module has one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from grove_jobs.auth.tokens import Scope
from scheduler.api.auth import requires


@dataclass
class RouteTable:
    """Collects ``(path, endpoint, options)``; ``install`` adds them to an app."""

    tags: list[str]
    _routes: list[tuple[str, Callable[..., Any], dict[str, Any]]] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, scope: Scope | None, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a route; ``scope`` is the token scope it needs (None: public probe)."""

        def decorate(endpoint: Callable[..., Any]) -> Callable[..., Any]:
            extra = requires(scope) if scope else {}
            options.setdefault("response_model", None)
            self._routes.append((path, endpoint, {"methods": [method], **extra, **options}))
            return endpoint

        return decorate

    def get(self, path: str, *, scope: Scope | None, **options: Any):
        return self.route("GET", path, scope=scope, **options)

    def post(self, path: str, *, scope: Scope | None, **options: Any):
        return self.route("POST", path, scope=scope, **options)

    def put(self, path: str, *, scope: Scope | None, **options: Any):
        return self.route("PUT", path, scope=scope, **options)

    def install(self, app: FastAPI) -> None:
        for path, endpoint, options in self._routes:
            app.add_api_route(path, endpoint, tags=list(self.tags), **options)
