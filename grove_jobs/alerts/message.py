"""Alert messages written for people: which job, what happened, since when, and a link.

Everything is rendered from the notification's JSON payload, so a redelivery a day later
says the same thing, and the link follows ``GROVE_DASHBOARD_URL`` as it is when sending.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from grove_jobs.clock import humanize_duration

HEADLINES = {
    "consecutive_failures": "is failing",
    "slow_run": "has a run that is taking unusually long",
    "missed_schedule": "missed its schedule",
}


def link(dashboard_url: str | None, config_id: str, execution_id: int | None) -> str | None:
    """The run on the Runs page (its status, logs and a link to its config) when there is
    one, else the config's inspector page."""
    if not dashboard_url:
        return None
    base = dashboard_url.rstrip("/")
    if execution_id is not None:
        return f"{base}/runs?{urlencode({'run': execution_id})}"
    return f"{base}/inspector?{urlencode({'config': config_id})}"


def _when(value: str | None) -> str:
    if not value:
        return "unknown"
    return value.replace("T", " ").replace("Z", " UTC")


def compose(payload: dict[str, Any], dashboard_url: str | None = None) -> tuple[str, str]:
    """(title, body) in plain text for an ``opened`` or ``resolved`` notification."""
    incident = payload.get("incident", {})
    config_id = str(incident.get("configId", "?"))
    name = str(incident.get("jobName") or config_id)
    rule = str(incident.get("rule", ""))
    headline = HEADLINES.get(rule, rule.replace("_", " "))
    details = incident.get("details") or {}
    opened_at = incident.get("openedAt") or payload.get("at")
    url = link(dashboard_url, config_id, incident.get("executionId"))
    job = name if name == config_id else f"{name} ({config_id})"
    if payload.get("event") == "resolved":
        title = f"Resolved: {name} {headline}"
        lines = [f"{job} is back to normal.", f"It {headline} from {_when(opened_at)}"]
        span = _span(opened_at, payload.get("at"))
        lines[-1] += f" to {_when(payload.get('at'))}" + (f" ({span})." if span else ".")
    else:
        title = f"{name} {headline}"
        lines = [f"{job} {headline}: {incident.get('summary', '')}.".replace("..", ".")]
        lines.append(f"Since: {_when(details.get('since') or opened_at)}")
        if details.get("lastError"):
            lines.append(f"Last error: {details['lastError']}")
    if url:
        lines.append(f"Open: {url}")
    return title, "\n".join(lines)


def _span(start: str | None, end: str | None) -> str | None:
    try:
        seconds = (_parse(end) - _parse(start)).total_seconds()
    except (TypeError, ValueError):
        return None
    return humanize_duration(seconds) if seconds >= 0 else None


def _parse(value: str | None) -> datetime:
    if value is None:
        raise TypeError("no instant")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
