"""``health-check``: probe the database, storage, the sidecar's API and the RAG backend.

Every check gets a severity (ok < warning < error < critical). All requested checks run and
are logged; then, when any is at or above ``alertThreshold``, the run fails with an error
naming them (so retries and failure alerts apply). Otherwise the result lists every check.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError

from grove_jobs.engine.context import JobContext, JobResult
from grove_jobs.exceptions import GroveError
from grove_jobs.jobs.database import database_for, settings_for
from grove_jobs.jobs.registry import job_type
from grove_jobs.schema.base import CamelModel, unique_items
from grove_jobs.settings import Settings

Level = Literal["ok", "warning", "error", "critical"]
HealthCheckName = Literal["database", "storage", "api", "rag"]
Severity = Literal["warning", "error", "critical"]


class HealthCheckParameters(CamelModel):
    """Probe dependencies; fail the run when a check reaches the alert threshold."""

    checks: list[HealthCheckName] = Field(min_length=1)
    alert_threshold: Severity = "error"

    _check_unique = field_validator("checks")(unique_items)


RANK: dict[str, int] = {"ok": 0, "warning": 1, "error": 2, "critical": 3}

SLOW_DATABASE_MS = 1000.0
SLOW_API_MS = 2000.0
API_TIMEOUT_SECONDS = 3.0
# Free space: (fraction, bytes) below which the level applies; the first match wins.
FREE_SPACE_LEVELS: tuple[tuple[Level, float, int], ...] = (
    ("critical", 0.01, 50 * 2**20),
    ("error", 0.05, 500 * 2**20),
    ("warning", 0.10, 2**30),
)


class HealthCheckFailed(GroveError):
    """At least one check reached the alert threshold."""

    def __init__(self, failing: list[CheckResult], threshold: str):
        self.failing = failing
        listed = "; ".join(f"{c.name} ({c.severity}: {c.message})" for c in failing)
        super().__init__(f"{len(failing)} check(s) at or above {threshold}: {listed}")


@dataclass(frozen=True)
class CheckResult:
    """One probe's verdict."""

    name: str
    severity: Level
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            **self.details,
        }


@job_type(
    "health-check",
    parameters=HealthCheckParameters,
    title="Health Check",
    description="Database latency, storage, the sidecar API and RAG; fails the run when a "
    "check reaches the alert threshold.",
    defaults={"checks": ["database", "storage"], "alertThreshold": "error"},
)
def run(params: HealthCheckParameters, ctx: JobContext) -> JobResult:
    """Run every requested check, log each, and fail when one reaches the threshold."""
    results: list[CheckResult] = []
    for name in params.checks:
        ctx.check()
        result = CHECKS[name](ctx)
        results.append(result)
        _log(ctx, result)
        ctx.progress(len(results), len(params.checks))
    threshold = RANK[params.alert_threshold]
    failing = [r for r in results if RANK[r.severity] >= threshold]
    if failing:
        raise HealthCheckFailed(failing, params.alert_threshold)
    worst = max((r.severity for r in results), key=RANK.__getitem__, default="ok")
    ctx.log.info(f"all {len(results)} checks below {params.alert_threshold} (worst: {worst})")
    return JobResult(
        items_processed=len(results),
        items_total=len(results),
        data={
            "alertThreshold": params.alert_threshold,
            "worst": worst,
            "checks": [r.to_json() for r in results],
        },
    )


def _log(ctx: JobContext, result: CheckResult) -> None:
    line = f"{result.name}: {result.severity} - {result.message}"
    if result.severity == "ok":
        ctx.log.info(line)
    elif result.severity == "warning":
        ctx.log.warn(line)
    else:
        ctx.log.error(line)


def check_database(ctx: JobContext) -> CheckResult:
    """A ``SELECT 1`` round trip: critical when unreachable, warning when slow."""
    started = time.perf_counter()
    try:
        with database_for(ctx).read() as session:
            session.execute(text("SELECT 1")).scalar_one()
    except (SQLAlchemyError, OSError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        return CheckResult("database", "critical", f"unreachable: {detail}")
    ms = round((time.perf_counter() - started) * 1000, 2)
    if ms > SLOW_DATABASE_MS:
        return CheckResult("database", "warning", f"slow round trip: {ms} ms", {"latencyMs": ms})
    return CheckResult("database", "ok", f"round trip {ms} ms", {"latencyMs": ms})


def storage_dir(database_url: str) -> Path | None:
    """Where this deployment stores its data on local disk: the SQLite file's directory; None
    for a database server (PostgreSQL) or an in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().absolute().parent


def check_storage(ctx: JobContext) -> CheckResult:
    """The directory the database file lives in exists, takes a new file, and has space left.
    With PostgreSQL nothing is stored locally, so there is nothing to check here."""
    path = storage_dir(ctx.database_url or settings_for(ctx).effective_database_url)
    if path is None:
        return CheckResult("storage", "ok", "nothing stored locally: the database is a server")
    details: dict[str, Any] = {"path": str(path)}
    if not path.is_dir():
        return CheckResult("storage", "error", f"database directory {path} does not exist", details)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".grove-health-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return CheckResult("storage", "error", f"{path} is not writable: {exc}", details)
    usage = shutil.disk_usage(path)
    fraction = usage.free / usage.total if usage.total else 0.0
    details.update(
        freeBytes=usage.free, totalBytes=usage.total, freePercent=round(fraction * 100, 1)
    )
    free = f"{usage.free / 2**30:.1f} GiB free ({fraction:.0%})"
    for level, min_fraction, min_bytes in FREE_SPACE_LEVELS:
        if fraction < min_fraction or usage.free < min_bytes:
            return CheckResult("storage", level, f"{path} writable, only {free}", details)
    return CheckResult("storage", "ok", f"{path} writable, {free}", details)


def api_url(settings: Settings) -> str | None:
    """The URL the api check probes: a configured one, else the sidecar's own /healthz."""
    # ``health_check_url`` is not a Settings field yet; honouring it when present lets it be
    # added without touching this module.
    configured = getattr(settings, "health_check_url", None)
    if configured:
        return str(configured)
    if not settings.api_enabled:
        return None
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # listening on every interface: loopback reaches it
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}/healthz"


def check_api(ctx: JobContext) -> CheckResult:
    """An HTTP GET with a short timeout: error unless it answers 2xx."""
    url = api_url(settings_for(ctx))
    if url is None:
        return CheckResult("api", "warning", "the sidecar's API is disabled; nothing to probe")
    details: dict[str, Any] = {"url": url}
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=API_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response; left open it warns when collected
        details["status"] = exc.code
        return CheckResult("api", "error", f"GET {url} answered {exc.code}", details)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return CheckResult("api", "error", f"GET {url} failed: {reason}", details)
    ms = round((time.perf_counter() - started) * 1000, 2)
    details.update(status=status, latencyMs=ms)
    if not 200 <= status < 300:
        return CheckResult("api", "error", f"GET {url} answered {status}", details)
    if ms > SLOW_API_MS:
        return CheckResult("api", "warning", f"GET {url} slow: {ms} ms", details)
    return CheckResult("api", "ok", f"GET {url} answered {status} in {ms} ms", details)


def check_rag(ctx: JobContext) -> CheckResult:
    """No RAG backend is configurable yet, which is worth a warning, not an outage."""
    return CheckResult("rag", "warning", "no RAG backend configured")


CHECKS: dict[str, Callable[[JobContext], CheckResult]] = {
    "database": check_database,
    "storage": check_storage,
    "api": check_api,
    "rag": check_rag,
}
