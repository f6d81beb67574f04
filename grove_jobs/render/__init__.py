"""Status as data: RenderTree model, catalogs, validation and domain -> tree transforms.

Front ends (the Streamlit dashboard, the HTTP API) draw or ship these trees; nothing here knows
how they are drawn.
"""

from grove_jobs.render.catalog import Catalog, Component, Props, resolve_in
from grove_jobs.render.catalogs import BASE, CATALOGS, JOB_HISTORY, JOB_STATUS
from grove_jobs.render.model import RenderElement, RenderMeta, RenderTree, format_utc
from grove_jobs.render.transforms import (
    execution_tree,
    history_tree,
    percentile,
)
from grove_jobs.render.validation import (
    ElementCheck,
    InvalidTree,
    TreeError,
    check_element,
    check_root,
    ensure_valid,
    is_valid,
    validate_tree,
)

__all__ = [
    "BASE",
    "CATALOGS",
    "JOB_HISTORY",
    "JOB_STATUS",
    "Catalog",
    "Component",
    "ElementCheck",
    "InvalidTree",
    "Props",
    "RenderElement",
    "RenderMeta",
    "RenderTree",
    "TreeError",
    "check_element",
    "check_root",
    "ensure_valid",
    "execution_tree",
    "format_utc",
    "history_tree",
    "is_valid",
    "percentile",
    "resolve_in",
    "validate_tree",
]
