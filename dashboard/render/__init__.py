"""Draw grove_jobs RenderTrees with Streamlit: a component registry and a tree walker."""

from dashboard.render.charts import duration_figure, timeline_figure
from dashboard.render.registry import (
    Registry,
    RenderContext,
    Renderer,
    code_span,
    default_registry,
    escape_markdown,
    render_tree,
)

__all__ = [
    "Registry",
    "RenderContext",
    "Renderer",
    "code_span",
    "default_registry",
    "duration_figure",
    "escape_markdown",
    "render_tree",
    "timeline_figure",
]
