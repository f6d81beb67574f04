"""A local webhook receiver for the alert tests: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    raw: bytes


class Receiver(ThreadingHTTPServer):
    """Answers 500 to the first ``failures`` POSTs, then 200 "ok"; keeps every body it got
    (``bodies``: parsed JSON, or None for other content) and every request (``requests``)."""

    def __init__(self, failures: int):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures = failures
        self.bodies: list[dict | None] = []
        self.requests: list[Received] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
        with self.server.lock:
            self.server.bodies.append(json.loads(raw) if is_json else None)
            self.server.requests.append(Received(self.path, dict(self.headers.items()), raw))
            failing = len(self.server.bodies) <= self.server.failures
        if self.path == "/missing":
            self.send_response(404)
        else:
            self.send_response(500 if failing else 200)
        # Slack's incoming webhooks answer "ok"; the others ignore the body.
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

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
