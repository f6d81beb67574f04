"""The job-type registry: a name, a pydantic parameter model and a handler.

Built-in types, the content domain and a team's own types all register with
:func:`job_type`; there is no second registry. Jobs run only from here: a config is data and
nothing in it is evaluated as code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from grove_jobs.exceptions import GroveError

Source = Literal["built-in", "module", "entry-point"]
Handler = Callable[[Any, Any], Any]
# A check that says why a type cannot run here (e.g. ``command`` without a commands file),
# or None when it can. It receives the process's settings.
Availability = Callable[[Any], str | None]

HOW_TYPES_ARE_FOUND = (
    "job types come from grove-jobs itself, the modules named in GROVE_JOB_MODULES and "
    "installed packages' 'grove_jobs.job_types' entry points"
)


class JobTypeError(GroveError):
    """A job type could not be registered (bad model, bad handler, a duplicate name)."""


class UnknownJobType(GroveError):
    """No job type of this name is installed in this process."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"job type {name!r} is not installed ({HOW_TYPES_ARE_FOUND})")


@dataclass(frozen=True)
class JobType:
    """One registered job type."""

    name: str
    parameters: type[BaseModel]
    handler: Handler
    title: str
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    permanent: tuple[type[BaseException], ...] = ()
    source: Source = "built-in"
    origin: str = ""  # "package.module:function", where the handler is defined
    availability: Availability | None = None

    @property
    def module(self) -> str:
        """The module that defines the handler (preloaded into worker processes)."""
        return self.origin.partition(":")[0]

    def unavailable_reason(self, settings: Any = None) -> str | None:
        """Why this type cannot run in this process, or None when it can."""
        return self.availability(settings) if self.availability else None

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON schema of the parameters, as the API and ``job-types show`` print it."""
        return self.parameters.model_json_schema(by_alias=True)


_REGISTRY: dict[str, JobType] = {}
_current_source: list[Source] = ["module"]
# Bumped on every change of _REGISTRY: what was parsed against the old set is stale.
_generation = 0


def generation() -> int:
    """A number that changes whenever a job type is registered or removed."""
    return _generation


@contextmanager
def registering_as(source: Source) -> Iterator[None]:
    """Mark registrations made inside the block (by discovery) with where they came from."""
    _current_source.append(source)
    try:
        yield
    finally:
        _current_source.pop()


def job_type(
    name: str,
    *,
    parameters: type[BaseModel],
    title: str | None = None,
    description: str | None = None,
    defaults: dict[str, Any] | None = None,
    permanent: tuple[type[BaseException], ...] = (),
    available: Availability | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of job type ``name``.

    ``parameters`` is any pydantic model; a new config of the type starts from its defaults
    updated with ``defaults``. Raising :class:`grove_jobs.PermanentError`, or one of the
    ``permanent`` exception classes, fails the run without a retry.
    """

    def register(handler: Handler) -> Handler:
        _check_name(name)
        _check_parameters(name, parameters)
        _check_handler(name, handler)
        for exc_class in permanent:
            if not (isinstance(exc_class, type) and issubclass(exc_class, BaseException)):
                raise JobTypeError(f"job type {name!r}: permanent= takes exception classes")
        origin = f"{handler.__module__}:{handler.__qualname__}"
        existing = _REGISTRY.get(name)
        if existing is not None and existing.origin != origin:
            raise JobTypeError(
                f"job type {name!r} is registered twice: by {existing.origin} and by {origin}"
            )
        doc = inspect.getdoc(handler) or ""
        global _generation
        _generation += 1
        _REGISTRY[name] = JobType(
            name=name,
            parameters=parameters,
            handler=handler,
            title=title or name.replace("-", " ").replace("_", " ").title(),
            description=description if description is not None else doc.split("\n\n")[0],
            defaults=dict(defaults or {}),
            permanent=tuple(permanent),
            source=_current_source[-1],
            origin=origin,
            availability=available,
        )
        return handler

    return register


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or len(name) > 64 or name.strip() != name:
        raise JobTypeError(f"job type name must be 1-64 characters without spaces: {name!r}")


def _check_parameters(name: str, parameters: object) -> None:
    if not (isinstance(parameters, type) and issubclass(parameters, BaseModel)):
        raise JobTypeError(
            f"job type {name!r}: parameters= must be a pydantic model class, got {parameters!r}"
        )


def _check_handler(name: str, handler: object) -> None:
    if not callable(handler):
        raise JobTypeError(f"job type {name!r}: the handler must be callable")
    try:
        inspect.signature(handler).bind(object(), object())
    except TypeError as exc:
        raise JobTypeError(
            f"job type {name!r}: the handler must take (params, ctx), "
            f"but {getattr(handler, '__qualname__', handler)} cannot: {exc}"
        ) from None
    except ValueError:  # builtins without a signature: let them through
        pass


def get_job_type(name: str) -> JobType:
    """The installed job type ``name``; :class:`UnknownJobType` when it is not installed."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownJobType(name) from None


def find_job_type(name: str) -> JobType | None:
    """The installed job type ``name``, or None."""
    return _REGISTRY.get(name)


def job_types() -> list[JobType]:
    """Every installed job type, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def job_type_names() -> tuple[str, ...]:
    """The names of the installed job types, sorted."""
    return tuple(sorted(_REGISTRY))


def unregister(name: str) -> None:
    """Remove a type (tests register throwaway types)."""
    global _generation
    _generation += 1
    _REGISTRY.pop(name, None)
