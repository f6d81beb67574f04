"""Presentation helpers: safe text, colours, status badges and times in a config's zone.

Anything that came from data and has to pass through a markdown-taking element (labels,
captions, badges) goes through :func:`safe`; free text is better shown with ``st.text`` or
``st.code``, which never interpret it.
"""

from __future__ import annotations

import colorsys
import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from dashboard.render import code_span, escape_markdown
from grove_jobs import schedule as cron
from grove_jobs.clock import humanize_duration
from grove_jobs.schema.execution import ACTIVE_STATUSES

# Streamlit's named colours (badges, ``:color[text]``), with a representative hue each.
_NAMED_HUES = {"red": 0, "orange": 28, "yellow": 52, "green": 130, "blue": 212, "violet": 275}

FAILED_STATUSES = frozenset({"failed", "timed_out"})
RETRYABLE_STATUSES = frozenset({"failed", "timed_out", "cancelled"})


def safe(text: object) -> str:
    """``text`` escaped for markdown-taking elements: shown literally, never interpreted."""
    return escape_markdown(str(text))


def colored(text: str, hex_color: str | None) -> str:
    """Markdown showing ``text`` (already safe) in a registry ``#RRGGBB`` colour."""
    if hex_color and re.fullmatch(r"#[0-9A-Fa-f]{6}", hex_color):
        return f':color[{text}]{{foreground="{hex_color}"}}'
    return f":{named_color(hex_color)}[{text}]"


def literal(text: object) -> str:
    """Markdown inline code showing ``text`` verbatim: unlike :func:`safe`, this also stops
    the renderer turning emails and URLs into links (for actors and other identifiers)."""
    return code_span(str(text))


def named_color(hex_color: str | None) -> str:
    """The Streamlit colour name closest to a registry ``#RRGGBB`` colour (by hue)."""
    if not hex_color or len(hex_color) != 7:
        return "gray"
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation < 0.2 or lightness < 0.1 or lightness > 0.95:
        return "gray"
    degrees = hue * 360
    return min(
        _NAMED_HUES,
        key=lambda n: min(abs(degrees - _NAMED_HUES[n]), 360 - abs(degrees - _NAMED_HUES[n])),
    )


def card_status(enabled: bool | None, status: str, last_status: str | None) -> tuple[str, str, str]:
    """(label, colour, icon) of a card's badge: Running, Disabled, Failing or Healthy."""
    if last_status == "running":
        return "Running", "blue", ":material/autorenew:"
    if last_status == "retrying":
        # The same word as the phase badge and the status metric (one state everywhere).
        return "Retrying", "orange", ":material/replay:"
    if last_status in {s.value for s in ACTIVE_STATUSES}:
        # Waiting for a worker (or for its next attempt): active, but not running yet.
        return "Queued", "blue", ":material/schedule:"
    if enabled is False or status != "active":
        return "Disabled", "gray", ":material/pause_circle:"
    if last_status in FAILED_STATUSES:
        return "Failing", "red", ":material/error:"
    return "Healthy", "green", ":material/check_circle:"


@lru_cache(maxsize=4096)
def describe(cron_expression: str, timezone: str) -> str:
    """The schedule in words (cached: cron-descriptor is slow next to everything else)."""
    try:
        return cron.describe(cron_expression, timezone)
    except ValueError as exc:
        return f"Invalid schedule: {exc}"


def next_run_text(next_run_at: datetime | None, now: datetime, timezone: str | None) -> str:
    """'in 5 hours · Tomorrow 2:00 AM PST', or why there is no next run."""
    if next_run_at is None:
        return "not scheduled"
    try:
        return cron.humanize_next_run(next_run_at, now, timezone or "UTC")
    except ValueError:
        return next_run_at.isoformat()


def when_text(next_run_at: datetime, now: datetime, timezone: str) -> str:
    """Only the wall-clock part of :func:`next_run_text`: 'Tomorrow 3:00 AM PDT'."""
    text = next_run_text(next_run_at, now, timezone)
    return text.partition(" · ")[2] or text


def local_time(value: datetime | None, timezone: str, fmt: str = "%b %d %H:%M:%S %Z") -> str:
    """An instant as wall-clock time in ``timezone`` ('' for None)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


def duration_text(seconds: float | None) -> str:
    """'4.0 s', '2 min 05 s', or an em dash."""
    return "—" if seconds is None else humanize_duration(seconds)


def ago_text(value: datetime | None, now: datetime) -> str:
    """'3 min ago' style, coarse."""
    if value is None:
        return ""
    seconds = max(0.0, (now - value).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def items_text(processed: int | None, total: int | None) -> str:
    """'20/20 items', '5 items' or ''."""
    if total is not None:
        return f"{processed or 0:,}/{total:,} items"
    if processed:
        return f"{processed:,} items"
    return ""


def first_line(text: str | None, limit: int = 200) -> str:
    """The last non-empty line of an error (a traceback's most useful line), shortened."""
    if not text:
        return ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def humanize_key(alias: str) -> str:
    """'initialDelaySeconds' -> 'Initial delay (seconds)'."""
    words: list[str] = []
    current = ""
    for char in alias:
        if char.isupper() and current:
            words.append(current)
            current = char.lower()
        else:
            current += char.lower()
    if current:
        words.append(current)
    if len(words) > 1 and words[0] == "is":
        words = words[1:]  # isEnabled -> Enabled
    unit = ""
    if len(words) > 1 and words[-1] in ("seconds", "days", "minutes", "hours"):
        unit = f" ({words.pop()})"
    text = " ".join(words)
    return text[:1].upper() + text[1:] + unit
