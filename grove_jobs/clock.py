"""The one place that reads the wall clock (everything else takes ``at`` as an argument), and
the one ISO 8601 form timestamps leave the process in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)


@overload
def iso_z(value: datetime, *, timespec: str = "auto") -> str: ...
@overload
def iso_z(value: None, *, timespec: str = "auto") -> None: ...
def iso_z(value: datetime | None, *, timespec: str = "auto") -> str | None:
    """ISO 8601 with ``Z`` for UTC (``2026-03-08T02:00:00Z``), as JSON output carries times;
    None stays None. ``timespec`` is ``datetime.isoformat``'s."""
    if value is None:
        return None
    return value.isoformat(timespec=timespec).replace("+00:00", "Z")
