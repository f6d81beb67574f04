"""Serve the API from a background thread of the sidecar (uvicorn without signal handlers:
the sidecar owns SIGTERM/SIGINT and stops the server itself)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

import uvicorn

from grove_jobs.db.engine import Database
from grove_jobs.settings import Settings
from scheduler.api.app import create_app
from scheduler.api.context import TickSource

log = logging.getLogger("grove_jobs.api")
STOP_TIMEOUT_SECONDS = 5.0


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that never touches signal handlers (they belong to the main thread)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """The sidecar's HTTP API on ``settings.api_host:api_port``."""

    def __init__(self, settings: Settings, db: Database, sidecar: TickSource | None = None):
        self.settings = settings
        app = create_app(db, settings, sidecar)
        config = uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            access_log=False,
            log_config=None,  # the sidecar configured logging already
            lifespan="off",
        )
        self.server = _ThreadServer(config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int | None:
        return self._socket.getsockname()[1] if self._socket else None

    def start(self) -> None:
        """Bind now (so a busy port is reported here), then serve in a daemon thread."""
        host, port = self.settings.api_host, self.settings.api_port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self._socket = sock
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="api", daemon=True
        )
        self._thread.start()
        log.info("API listening on http://%s:%d", host, self.port)

    def stop(self) -> None:
        """Ask uvicorn to finish in-flight requests and return; give up after a few seconds."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                self.server.force_exit = True
                self._thread.join(STOP_TIMEOUT_SECONDS)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
