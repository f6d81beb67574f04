"""health-check: each check passing and failing, severities against alertThreshold, and a run
that fails names its failing checks after logging every check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grove_jobs.db.engine import Database
from grove_jobs.jobs.builtin import health_check
from grove_jobs.jobs.builtin.health_check import (
    HealthCheckFailed,
    HealthCheckParameters,
    api_url,
    run,
)
from grove_jobs.jobs.database import close_databases
from grove_jobs.settings import Settings
from tests.integration.test_jobs_support import closed_port, make_context


@pytest.fixture
def url(db: Database, migrated_url: str) -> Iterator[str]:
    yield migrated_url
    close_databases()


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/healthz" else 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def api_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _params(checks: list[str], threshold: str = "error") -> HealthCheckParameters:
    return HealthCheckParameters.model_validate({"checks": checks, "alertThreshold": threshold})


def _settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]


def test_every_check_passing(url: str, tmp_path: Path, api_server: ThreadingHTTPServer) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = _settings(data_dir, api_host="127.0.0.1", api_port=api_server.server_address[1])
    ctx, recorder = make_context(url, settings=settings)

    result = run(_params(["database", "storage", "api", "rag"]), ctx)

    checks = {c["name"]: c for c in result.data["checks"]}
    assert list(checks) == ["database", "storage", "api", "rag"]
    assert checks["database"]["severity"] == "ok" and checks["database"]["latencyMs"] >= 0
    assert checks["storage"]["severity"] == "ok"
    if url.startswith("sqlite"):  # the database file's directory; nothing local on PostgreSQL
        assert checks["storage"]["freeBytes"] > 0
    else:
        assert "nothing stored locally" in checks["storage"]["message"]
    assert checks["api"]["severity"] == "ok" and checks["api"]["status"] == 200
    assert checks["api"]["url"].endswith("/healthz")
    # No RAG backend exists to configure: a warning, below the "error" threshold.
    assert checks["rag"]["severity"] == "warning"
    assert result.data["worst"] == "warning"
    assert (result.items_processed, result.items_total) == (4, 4)
    assert len(recorder.messages()) == 5  # one line per check and the verdict
    assert not list(data_dir.iterdir())  # the storage probe cleans up after itself


def test_database_unreachable_is_critical(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nothing"
    ctx, recorder = make_context(dead, settings=_settings(tmp_path))
    try:
        with pytest.raises(HealthCheckFailed, match=r"database \(critical: unreachable"):
            run(_params(["database", "storage"], threshold="critical"), ctx)
    finally:
        close_databases()
    # Every check ran and was logged before the run failed.
    assert [m.split(":")[0] for m in recorder.messages()] == ["database", "storage"]


def _sqlite_in(directory: Path) -> str:
    return f"sqlite:///{directory / 'grove.db'}"


def test_storage_failing(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    ctx, _ = make_context(_sqlite_in(not_a_dir), settings=_settings(tmp_path))
    with pytest.raises(HealthCheckFailed, match="storage"):
        run(_params(["storage"]), ctx)

    missing = make_context(_sqlite_in(tmp_path / "missing"), settings=_settings(tmp_path))[0]
    result = health_check.check_storage(missing)
    assert (result.severity, "does not exist" in result.message) == ("error", True)


def test_storage_checks_where_the_database_really_is(tmp_path: Path) -> None:
    """The data directory only matters when the SQLite file is in it: a missing one is no
    problem with the database elsewhere (the first Run Now on a fresh machine failed)."""
    never_created = _settings(tmp_path / "never-created")
    beside = make_context(_sqlite_in(tmp_path), settings=never_created)[0]
    sqlite = health_check.check_storage(beside)
    assert sqlite.severity == "ok" and sqlite.details["path"] == str(tmp_path)
    server = "postgresql+psycopg://grove@db.invalid:5432/grove"
    postgres = health_check.check_storage(make_context(server, settings=never_created)[0])
    assert postgres.severity == "ok" and "nothing stored locally" in postgres.message
    memory = health_check.check_storage(make_context("sqlite://", settings=never_created)[0])
    assert memory.severity == "ok"
    default = Settings(data_dir=tmp_path / "data")  # type: ignore[arg-type]
    assert health_check.storage_dir(default.effective_database_url) == tmp_path / "data"


def test_storage_low_on_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Usage:
        total, used, free = 100 * 2**30, 99 * 2**30, 2**30 // 2  # 0.5 % free

    monkeypatch.setattr(health_check.shutil, "disk_usage", lambda _: Usage())
    ctx = make_context(_sqlite_in(tmp_path), settings=_settings(tmp_path))[0]
    result = health_check.check_storage(ctx)
    assert result.severity == "critical" and "only 0.5 GiB free" in result.message


def test_api_failing(
    url: str, tmp_path: Path, api_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _settings(tmp_path, api_host="127.0.0.1", api_port=closed_port())
    ctx, recorder = make_context(url, settings=closed)
    with pytest.raises(HealthCheckFailed) as failed:
        run(_params(["database", "api"]), ctx)
    assert "1 check(s) at or above error: api (error: GET http://127.0.0.1:" in str(failed.value)
    assert failed.value.failing[0].name == "api"
    assert recorder.messages("info")[0].startswith("database: ok")
    assert recorder.messages("error")[0].startswith("api: error")

    # A server that answers, but not 2xx.
    port = api_server.server_address[1]
    monkeypatch.setattr(health_check, "api_url", lambda _: f"http://127.0.0.1:{port}/nope")
    result = health_check.check_api(make_context(url, settings=_settings(tmp_path))[0])
    assert (result.severity, result.details["status"]) == ("error", 503)


def test_api_url() -> None:
    base = Settings(api_host="0.0.0.0", api_port=9000)
    assert api_url(base) == "http://127.0.0.1:9000/healthz"
    assert api_url(base.model_copy(update={"api_host": "::1"})) == "http://[::1]:9000/healthz"
    assert api_url(base.model_copy(update={"api_enabled": False})) is None


def test_threshold_decides_what_fails(url: str, tmp_path: Path) -> None:
    ctx, _ = make_context(url, settings=_settings(tmp_path))
    with pytest.raises(HealthCheckFailed, match=r"rag \(warning: no RAG backend configured\)"):
        run(_params(["database", "rag"], threshold="warning"), ctx)
    passed = run(_params(["database", "rag"], threshold="error"), ctx)
    assert passed.data["alertThreshold"] == "error" and passed.status == "success"
