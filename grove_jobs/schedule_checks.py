"""Checks that reject schedules which parse but cannot be what their author meant."""

from __future__ import annotations

_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = {
    **{name: number for number, name in enumerate(_MONTHS, start=1)},
    **{name: number for number, name in enumerate(_WEEKDAYS)},
}


def _number(value: str) -> int | None:
    if value.isdigit():
        return int(value)
    return _NAMES.get(value.lower())


def backward_range(fields: list[str]) -> str | None:
    """A message naming the first range whose start is after its end, or None.

    croniter reads ``5-1`` as a wrap-around (minutes 5..59 and 0..1, 57 fires an hour) where
    its author surely meant a few, so ranges must run forwards."""
    for name, field in zip(_FIELD_NAMES, fields, strict=True):
        for part in field.split(","):
            low, dash, high = part.split("/")[0].partition("-")
            start, end = _number(low), _number(high)
            if dash and start is not None and end is not None and start > end:
                return (
                    f"invalid {name} field {field!r}: the range {low}-{high} runs backwards "
                    "(its start is after its end)"
                )
    return None


# tzdata's "localtime" is a link to whatever zone the host runs in: the same config would
# fire at different instants on different machines.
HOST_ZONES = frozenset({"localtime"})


def unknown_zone_message(name: object) -> str:
    """Why ``name`` is not accepted as a schedule's timezone."""
    if isinstance(name, str) and name.strip() in HOST_ZONES:
        return (
            f"{name.strip()!r} is the host's zone, which differs between machines: name the "
            "IANA zone itself, such as 'Europe/London' or 'UTC'"
        )
    return f"unknown timezone {name!r}: expected an IANA name such as 'Europe/London' or 'UTC'"
