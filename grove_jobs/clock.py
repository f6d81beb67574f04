"""The one place that reads the wall clock (everything else takes ``at`` as an argument), and
the one ISO 8601 form timestamps leave the process in."""

from __future__ import annotations

import math
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


def humanize_duration(seconds: float) -> str:
    """Compact duration: '850 ms', '12.3 s', '4 min 05 s', '2 h 03 min', '3 d 04 h'."""
    if not math.isfinite(seconds):
        raise ValueError(f"duration must be a finite number of seconds, got {seconds!r}")
    if seconds < 0:
        # Clock skew between hosts can produce small negatives; show them, don't crash.
        return f"-{humanize_duration(-seconds)}"
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)} ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    if round(seconds) < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes} min {secs:02d} s"
    if round(seconds / 60) < 24 * 60:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days} d {hours:02d} h"
