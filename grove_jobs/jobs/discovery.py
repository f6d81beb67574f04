"""Finding job types, the same way in every process (CLI, sidecar, workers, API, dashboard).

Three sources, one registry: the built-in modules below, the modules named in
``GROVE_JOB_MODULES`` (comma-separated import paths) and installed packages' entry points in
the group ``grove_jobs.job_types`` (this project's content domain is one of those). Importing a
module is what registers its types, through the ``@job_type`` decorator.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from grove_jobs.exceptions import GroveError
from grove_jobs.jobs.registry import JobTypeError, registering_as

ENTRY_POINT_GROUP = "grove_jobs.job_types"
MODULES_VARIABLE = "GROVE_JOB_MODULES"
BUILTIN_MODULES = (
    "grove_jobs.jobs.builtin.synthetic",
    "grove_jobs.jobs.builtin.health_check",
    "grove_jobs.jobs.builtin.orphan_cleanup",
    "grove_jobs.jobs.builtin.notification_digest",
    "grove_jobs.jobs.builtin.command",
)

_discovered: tuple[str, ...] | None = None


class PluginError(GroveError):
    """A job-type module could not be loaded; start-up stops with this message."""

    def __init__(self, where: str, exc: BaseException):
        self.where = where
        self.exc = exc
        super().__init__(f"cannot load job types from {where}: {type(exc).__name__}: {exc}")


def configured_modules(value: str | None = None) -> list[str]:
    """The module names in ``GROVE_JOB_MODULES`` (or ``value``), in order, without blanks."""
    raw = os.environ.get(MODULES_VARIABLE, "") if value is None else value
    return [name.strip() for name in raw.split(",") if name.strip()]


def discover(modules: str | None = None) -> None:
    """Load every job type this process can see; the first call does the work.

    Raises :class:`PluginError` naming the module (or entry point) and the exception when one
    cannot be imported, and a :class:`JobTypeError` when two places register one name.
    """
    global _discovered
    names = tuple(configured_modules(modules))
    if _discovered == names:
        return
    with registering_as("built-in"):
        for name in BUILTIN_MODULES:
            importlib.import_module(name)
    with registering_as("module"):
        for name in names:
            _import(name, f"{MODULES_VARIABLE} module {name!r}")
    with registering_as("entry-point"):
        for point in entry_points(group=ENTRY_POINT_GROUP):
            where = f"entry point {point.name!r} ({point.value}) of {_dist_name(point)}"
            try:
                point.load()
            except JobTypeError:
                raise
            except Exception as exc:  # a plugin's import error stops start-up, named
                raise PluginError(where, exc) from exc
    _discovered = names


def _import(name: str, where: str) -> None:
    try:
        importlib.import_module(name)
    except JobTypeError:
        raise
    except Exception as exc:  # a plugin's import error stops start-up, named
        raise PluginError(where, exc) from exc


def _dist_name(point) -> str:
    dist = getattr(point, "dist", None)
    return f"package {dist.name!r}" if dist is not None else "an installed package"
