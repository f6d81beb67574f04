"""The database and settings a handler uses, opened from its run context.

A worker process runs many attempts one after another; opening an engine per attempt would
pay for a new connection pool every time, so each process keeps one ``Database`` per URL.
The cache is keyed by process id too: an engine must never be shared across a fork.
"""

from __future__ import annotations

import os
import threading

from grove_jobs.db.engine import Database
from grove_jobs.engine.context import JobContext
from grove_jobs.settings import Settings, load_settings

# A worker runs one handler at a time; two connections cover a handler plus a nested read.
POOL_SIZE = 2

_lock = threading.Lock()
_databases: dict[tuple[int, str], Database] = {}
_settings: dict[int, Settings] = {}


def settings_for(ctx: JobContext) -> Settings:
    """The context's settings, else this process's environment (read once)."""
    if isinstance(ctx.settings, Settings):
        return ctx.settings
    pid = os.getpid()
    with _lock:
        if pid not in _settings:
            _settings[pid] = load_settings()
        return _settings[pid]


def database_for(ctx: JobContext) -> Database:
    """The process-wide ``Database`` for the run's database URL (created on first use)."""
    url = ctx.database_url or settings_for(ctx).effective_database_url
    key = (os.getpid(), url)
    with _lock:
        database = _databases.get(key)
        if database is None:
            database = _databases[key] = Database(url, pool_size=POOL_SIZE)
        return database


def close_databases() -> None:
    """Dispose every cached engine of this process (tests; orderly shutdown)."""
    with _lock:
        pid = os.getpid()
        for key in [k for k in _databases if k[0] == pid]:
            _databases.pop(key).dispose()
        # Engines inherited across a fork belong to the parent: forget, never dispose, them.
        _databases.clear()
        _settings.clear()
