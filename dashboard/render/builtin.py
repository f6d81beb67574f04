"""Imports the built-in renderer modules, whose ``@renders`` decorators fill the registry.

The registry never imports them itself: they import it (for ``renders`` and the context
type), and importing them back would be a cycle.
"""

from dashboard.render import charts, components

__all__ = ["charts", "components"]
