"""A per-key token bucket: a steady rate with a burst of up to one minute's allowance."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``per_minute`` requests per key per minute; time comes in as a monotonic ``now``."""

    def __init__(self, per_minute: int, *, burst: int | None = None):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else per_minute)
        self._buckets: dict[object, _Bucket] = {}
        self._lock = threading.Lock()  # API handlers run in a thread pool

    def acquire(self, key: object, now: float) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate
