"""Draw grove_jobs RenderTrees with Streamlit: a component registry and a tree walker.

Importing the package imports ``builtin``, whose renderer modules register themselves with the
registry; the registry itself imports none of them.
"""

from dashboard.render import builtin
from dashboard.render.charts import duration_figure, timeline_figure
from dashboard.render.registry import (
    Registry,
    RenderContext,
    Renderer,
    code_span,
    default_registry,
    escape_markdown,
    render_tree,
    renders,
)

__all__ = [
    "Registry",
    "RenderContext",
    "Renderer",
    "builtin",
    "code_span",
    "default_registry",
    "duration_figure",
    "escape_markdown",
    "render_tree",
    "renders",
    "timeline_figure",
]
