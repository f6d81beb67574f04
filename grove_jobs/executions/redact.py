"""What an execution's error shows to whom: a traceback names server files and code, so
readers (viewers, operators, read/run tokens) get its last line (``Type: message``), and
editors, admins, ``write`` tokens and the CLI get all of it."""

from __future__ import annotations

from grove_jobs.schema.execution import Execution


def error_summary(error: str | None) -> str | None:
    """The last non-empty line of an error: for a traceback, ``Type: message``."""
    if not error:
        return error
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def shown_to(execution: Execution, *, full_errors: bool) -> Execution:
    """The execution as a caller may see it: unchanged, or with its error summarised."""
    if full_errors or not execution.error:
        return execution
    return execution.model_copy(update={"error": error_summary(execution.error)})
