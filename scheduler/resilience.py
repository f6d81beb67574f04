"""tenacity at the database boundary: ride out restarts and killed connections."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

log = logging.getLogger("grove_jobs.scheduler")
T = TypeVar("T")


def _transient(exc: BaseException) -> bool:
    # Connection-level failures only: a constraint violation or a bug must surface, not loop.
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "database unavailable (%s: %s); retrying %s, attempt %d",
        type(exc).__name__,
        str(exc).splitlines()[0] if exc else "",
        getattr(state.fn, "__name__", "call"),
        state.attempt_number,
    )


def db_retry(give_up_after: float = 3600.0) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Retry a database call on connection errors with capped exponential backoff."""
    return retry(
        retry=retry_if_exception(_transient),
        wait=wait_exponential(multiplier=0.1, max=5),
        stop=stop_after_delay(give_up_after),
        before_sleep=_log_retry,
        reraise=True,
    )
