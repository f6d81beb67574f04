"""What every API handler needs: the database, settings, the sidecar (if any) and the limiter."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from fastapi import Request

from grove_jobs.auth.ratelimit import RateLimiter
from grove_jobs.auth.tokens import ApiToken, touch_token
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.settings import Settings

log = logging.getLogger("grove_jobs.api")
TOUCH_INTERVAL_SECONDS = 60.0  # last_used_at is informational: one write a minute per token


class TickSource(Protocol):
    """The parts of a running Sidecar that /healthz and /metrics read."""

    last_tick_at: datetime | None
    last_tick_ms: float | None


@dataclass
class ApiContext:
    """Shared, long-lived state of one API app (``app.state.grove``)."""

    db: Database
    settings: Settings
    sidecar: TickSource | None = None
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    limiter: RateLimiter = field(init=False)
    _touched: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _touch_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.trigger_rate_per_minute)

    def touch(self, token: ApiToken) -> None:
        """Record a token's use, at most once a minute; a failure here must not fail a request."""
        now = self.monotonic()
        with self._touch_lock:
            last = self._touched.get(token.id)
            if last is not None and now - last < TOUCH_INTERVAL_SECONDS:
                return
            self._touched[token.id] = now
        try:
            touch_token(self.db, token.id, at=self.clock())
        except Exception:
            log.warning("could not record last use of token %s", token.name, exc_info=True)


def get_context(request: Request) -> ApiContext:
    """FastAPI dependency: the app's ApiContext."""
    return request.app.state.grove
