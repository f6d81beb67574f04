"""One exception root for the whole project; subclasses carry the data callers need."""

from __future__ import annotations

from dataclasses import dataclass


class GroveError(Exception):
    """Root of every error grove-jobs raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One validation problem, located by a dotted path such as ``payload.schedule.timezone``."""

    path: str
    message: str
    source: str | None = None  # a file name, when the input came from one

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.path or '<root>'}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        data = {"path": self.path, "message": self.message}
        if self.source:
            data["source"] = self.source
        return data


class ValidationFailed(GroveError):
    """Input was rejected; ``errors`` names every offending field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors) or "invalid input")


class NotFound(GroveError):
    """A config, execution or token does not exist."""

    def __init__(self, kind: str, key: object):
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class AlreadyExists(GroveError):
    """A create collided with an existing id."""

    def __init__(self, kind: str, key: object):
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} already exists")


class VersionConflict(GroveError):
    """Someone else saved first: the caller's version is stale."""

    def __init__(self, config_id: str, expected: int, actual: int):
        self.config_id = config_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"config {config_id!r} was changed by someone else: "
            f"you edited version {expected}, the stored version is {actual}"
        )


class InvalidTransition(GroveError):
    """An execution is not in a state that allows the requested change."""

    def __init__(self, execution_id: int, status: str, action: str):
        self.execution_id = execution_id
        self.status = status
        self.action = action
        super().__init__(f"execution {execution_id} is {status}; cannot {action}")


class SchedulerLocked(GroveError):
    """Another sidecar already owns this SQLite database."""


class PermissionDenied(GroveError):
    """The caller lacks the role or scope for an action."""

    def __init__(self, who: str, needed: str):
        self.who = who
        self.needed = needed
        super().__init__(f"{who} lacks {needed!r}")


class PermanentError(GroveError):
    """Raised by a handler when retrying cannot help (bad input, a missing resource): the run
    ends ``failed`` on this attempt, whatever attempts its retry policy has left."""
