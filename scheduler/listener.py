"""LISTEN/NOTIFY on PostgreSQL: Run Now and ticks wake the dispatcher within milliseconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from grove_jobs.db.dialect import NOTIFY_CHANNEL

log = logging.getLogger("grove_jobs.scheduler")


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener(threading.Thread):
    """Calls ``on_notify`` for every notification; reconnects after a database restart.
    Polling (every poll interval) remains the fallback, so a lost notification only delays."""

    def __init__(self, url: str, on_notify: Callable[[], None]):
        super().__init__(name="pg-listener", daemon=True)
        self._dsn = _libpq_dsn(url)
        self._on_notify = on_notify
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        backoff = 0.1
        while not self._stop_event.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    backoff = 0.1
                    # A missed wake-up while reconnecting is covered by polling; wake once now.
                    self._on_notify()
                    while not self._stop_event.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._on_notify()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", exc)
                self._stop_event.wait(backoff)
                backoff = min(backoff * 2, 5.0)
