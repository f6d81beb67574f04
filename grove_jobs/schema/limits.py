"""Shape limits for untrusted JSON-like input: how deep it may nest.

Every walk over user input here is iterative and bounded, so hostile nesting becomes a field
error instead of a RecursionError (and a 500 or a traceback) anywhere downstream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from grove_jobs.exceptions import FieldError, ValidationFailed

# No config comes near this (GroveObject -> payload -> parameters -> a list of objects is 5),
# and it stays far below anything that could exhaust Python's recursion limit later.
MAX_DEPTH = 32
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def join_path(path: str, key: object) -> str:
    """``parent.key``, or ``key`` at the root."""
    return f"{path}.{key}" if path else str(key)


def walk_strings(data: Any, path: str = "", source: str | None = None) -> Iterator[tuple[str, str]]:
    """Every string in ``data`` (mapping keys included) with its dotted path, depth first.

    Raises ValidationFailed naming the first path nested deeper than MAX_DEPTH.
    """
    stack: list[tuple[Any, str, int]] = [(data, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            yield where, value
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise ValidationFailed([FieldError(where, TOO_DEEP, source)])
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = []
        for key, item in items:
            sub = join_path(where, key)
            if isinstance(value, dict):
                children.append((str(key), sub, depth + 1))
            children.append((item, sub, depth + 1))
        stack.extend(reversed(children))


def check_depth(data: Any, path: str = "", source: str | None = None) -> None:
    """Raise ValidationFailed when ``data`` nests deeper than MAX_DEPTH."""
    for _ in walk_strings(data, path, source):
        pass
