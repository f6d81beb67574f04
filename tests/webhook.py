"""A local webhook receiver for the alert tests: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(ThreadingHTTPServer):
    """Answers 500 to the first ``failures`` POSTs, then 204; keeps every body it got."""

    def __init__(self, failures: int):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures = failures
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.bodies.append(body)
            failing = len(self.server.bodies) <= self.server.failures
        if self.path == "/missing":
            self.send_response(404)
        else:
            self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@contextmanager
def serve(failures: int = 0) -> Iterator[Receiver]:
    """A running receiver that fails its first ``failures`` POSTs; stopped afterwards."""
    server = Receiver(failures)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
