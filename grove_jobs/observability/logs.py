"""``GROVE_LOG_FORMAT=text|json`` for every grove-jobs process.

In json mode every line is one object: ``time`` (UTC, milliseconds, ``Z``), ``level`` (lower
case), ``logger``, ``message`` and, where known, ``execution_id``, ``config_id``, ``attempt``,
``worker_id`` and ``exc``. Text mode prints the same fields as ``key=value`` after the message.
The run fields come from a log call's ``extra`` or from :func:`bind_run` (a worker binds the run
it executes, so handler code logging through ``logging`` is attributed without passing ids).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("text", "json")
CONTEXT_FIELDS = ("execution_id", "config_id", "attempt", "worker_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_run: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "grove_log_run", default=None
)


class LogFormatError(ValueError):
    """GROVE_LOG_FORMAT names no known format."""


def log_format(value: str | None = None) -> str:
    """The validated format: ``value`` or ``$GROVE_LOG_FORMAT``, default ``text``."""
    raw = os.environ.get("GROVE_LOG_FORMAT", "text") if value is None else value
    fmt = raw.strip().lower() or "text"
    if fmt not in LOG_FORMATS:
        raise LogFormatError(f"GROVE_LOG_FORMAT: must be 'text' or 'json', not {raw!r}")
    return fmt


def bind_run(**fields: Any) -> None:
    """Attach run fields (execution_id, config_id, attempt, ...) to this context's log lines."""
    _run.set({k: v for k, v in fields.items() if v is not None} or None)


def run_fields(run: Any) -> dict[str, Any]:
    """``extra=`` for a log call about a claimed run."""
    return {"execution_id": run.execution_id, "config_id": run.config_id, "attempt": run.attempt}


class _ContextFilter(logging.Filter):
    """Copies the bound run fields and the process's worker id onto each record."""

    def __init__(self, worker_id: str | None):
        super().__init__()
        self.worker_id = worker_id

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_run.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if self.worker_id and not hasattr(record, "worker_id"):
            record.worker_id = self.worker_id
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in CONTEXT_FIELDS if getattr(record, k, None) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the run fields appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        base = super().formatMessage(record)
        return f"{base} {extra}" if extra else base


def configure_logging(
    level: str | int = "INFO",
    *,
    fmt: str | None = None,
    worker_id: str | None = None,
    stream: Any = None,
) -> str:
    """Install one stderr handler on the root logger in the chosen format (replacing any
    earlier one); uvicorn's loggers propagate to it. Returns the format.

    Raises LogFormatError for a GROVE_LOG_FORMAT other than text or json.
    """
    chosen = log_format(fmt)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(_ContextFilter(worker_id))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own config (when one ran) gives these handlers and stops propagation.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return chosen
