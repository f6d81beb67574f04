"""API authentication: bearer tokens, one scope declared per route, deny by default.

Authentication runs as ASGI middleware, before routing, body parsing or validation, so nothing
about a request is looked at until its token checks out. Every path needs a token except the
probes and the docs in ``PUBLIC_PATHS``; a route that forgets to declare its scope is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from grove_jobs.auth.tokens import ApiToken, InvalidToken, verify_token
from grove_jobs.auth.tokens import Scope as TokenScope
from scheduler.api.context import ApiContext, get_context

SCOPE_KEY = "x-required-scope"
# Probes stay open, as Prometheus and orchestrators expect; they reveal counts, not content.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/metrics",
        "/metrics/cluster",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
    }
)
REALM = 'Bearer realm="grove-jobs"'

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="A token from `grove-jobs tokens create`; each operation names the scope it "
    "needs (read, run, write or admin) in `x-required-scope`.",
)


def requires(scope: TokenScope) -> dict[str, Any]:
    """Route keyword arguments declaring the scope a route needs (and documenting it)."""
    return {
        "openapi_extra": {SCOPE_KEY: scope},
        "dependencies": [Depends(bearer)],  # puts the security scheme on the operation
    }


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    token: ApiToken

    @property
    def actor(self) -> str:
        return self.token.actor

    @property
    def sees_tracebacks(self) -> bool:
        """Tracebacks name server files and code: only ``write`` tokens get them whole."""
        return "write" in self.token.scopes


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller the middleware authenticated."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:  # only if a route escaped the middleware; refuse rather than guess
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": REALM})
    return principal


def rate_limited(
    principal: Annotated[Principal, Depends(current_principal)],
    ctx: Annotated[ApiContext, Depends(get_context)],
) -> None:
    """FastAPI dependency for trigger routes: a token bucket per token."""
    wait = ctx.limiter.acquire(principal.token.id, ctx.monotonic())
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            f"too many trigger requests for token {principal.token.name!r}; "
            f"limit {ctx.settings.trigger_rate_per_minute}/minute, retry in {seconds}s",
            headers={"Retry-After": str(seconds)},
        )


class _Refused(Exception):
    def __init__(self, status: int, detail: str, challenge: str | None = None):
        self.status, self.detail, self.challenge = status, detail, challenge


class AuthMiddleware:
    """Authenticate every non-public request and check the matched route's scope."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        ctx: ApiContext = scope["app"].state.grove
        header = Request(scope).headers.get("authorization")
        try:
            principal = await run_in_threadpool(_authenticate, ctx, header, _required_scope(scope))
        except _Refused as refused:
            headers = {"WWW-Authenticate": refused.challenge} if refused.challenge else {}
            if refused.status == 503:
                headers["Retry-After"] = "5"
            response = JSONResponse({"detail": refused.detail}, refused.status, headers=headers)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


_UNMATCHED = object()


def _required_scope(scope: Scope) -> object:
    """The scope the matching route declares; None when it declares none; _UNMATCHED when no
    route matches (the router then answers 404/405 to an authenticated caller)."""
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return (getattr(route, "openapi_extra", None) or {}).get(SCOPE_KEY)
    return _UNMATCHED


def _authenticate(ctx: ApiContext, header: str | None, needed: object) -> Principal:
    scheme, _, secret = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _Refused(401, "authentication required: send Authorization: Bearer <token>", REALM)
    try:
        token = verify_token(ctx.db, secret.strip(), at=ctx.clock())
    except InvalidToken as exc:
        challenge = f'{REALM}, error="invalid_token", error_description="{exc.reason}"'
        raise _Refused(401, f"invalid bearer token: {exc.reason}", challenge) from exc
    except OperationalError as exc:
        raise _Refused(503, "database unavailable; try again") from exc
    if needed is None:
        raise _Refused(403, "this route declares no scope, so it is denied to every token")
    if needed is not _UNMATCHED and needed not in token.scopes:
        challenge = f'{REALM}, error="insufficient_scope", scope="{needed}"'
        raise _Refused(403, f"token {token.name!r} lacks the {needed!r} scope", challenge)
    ctx.touch(token)
    return Principal(token)
