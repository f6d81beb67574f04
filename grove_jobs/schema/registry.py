"""The experience-type registry: everything the core and the dashboard need to know about a
kind of stored object, so that a new kind needs no change anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class FilterSpec:
    """A filter the console offers: equality on a dotted path of the object's JSON."""

    key: str
    label: str
    path: str
    options: tuple[str, ...] = ()  # empty: taken from the stored values


@dataclass(frozen=True)
class SortOption:
    """A sort the console offers; ``field`` is a dotted JSON path or a runtime field
    (``state.lastRunAt``, ``state.nextRunAt``)."""

    key: str
    label: str
    field: str
    descending: bool = False


@dataclass(frozen=True)
class MetricSpec:
    """A count shown in the console toolbar; ``predicate`` sees the object JSON with ``state``."""

    key: str
    label: str
    predicate: Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class ExperienceType:
    """One kind of GroveObject: how it looks, validates, defaults, filters and sorts."""

    type: str
    label: str
    icon: str  # Streamlit material icon, e.g. ":material/hourglass_top:"
    emoji: str
    color: str
    description: str
    payload_model: type[BaseModel]
    default_payload: Callable[..., BaseModel]
    enabled_path: str | None = None  # dotted path of the payload's on/off switch
    title_path: str | None = None  # dotted path of a payload field that names the object
    schedulable: bool = False  # the sidecar fires it (it has payload.schedule)
    allow_multiple_active: bool = True
    search_fields: tuple[str, ...] = ("meta.id", "meta.title", "meta.description", "meta.tags")
    filters: tuple[FilterSpec, ...] = ()
    sort_options: tuple[SortOption, ...] = ()
    metrics: tuple[MetricSpec, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, ExperienceType] = {}
# Bumped on every change of _REGISTRY: what was parsed against the old set is stale.
_generation = 0


def generation() -> int:
    """A number that changes whenever a type is registered, replaced or removed."""
    return _generation


def register_type(experience: ExperienceType, *, replace: bool = False) -> ExperienceType:
    """Add a type; registering the same name twice is a programming error unless ``replace``."""
    if experience.type in _REGISTRY and not replace:
        raise ValueError(f"experience type {experience.type!r} is already registered")
    global _generation
    _generation += 1
    _REGISTRY[experience.type] = experience
    return experience


def unregister_type(type_name: str) -> None:
    """Remove a type (tests register throwaway types)."""
    global _generation
    _generation += 1
    _REGISTRY.pop(type_name, None)


def get_type(type_name: str) -> ExperienceType:
    """The registered type, or KeyError naming the known ones."""
    try:
        return _REGISTRY[type_name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"unknown object type {type_name!r}; known types: {known}") from None


def registered_types() -> list[ExperienceType]:
    """All types, in registration order."""
    return list(_REGISTRY.values())


def json_path_get(data: Any, path: str) -> Any:
    """Follow a dotted path through nested dicts; None when any step is missing."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data
