"""Job handlers, one module per job type; see registry.HANDLERS."""

from grove_jobs.handlers.registry import HANDLERS, get_handler, has_handler

__all__ = ["HANDLERS", "get_handler", "has_handler"]
