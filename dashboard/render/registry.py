"""Component type -> Streamlit renderer, and the walker that draws a RenderTree.

The walker checks each element on its own (``grove_jobs.render.check_element``): an element that
cannot be drawn becomes a contained warning naming its type and JSON path, a renderer that raises
becomes a contained error, and every other element still renders.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import streamlit as st

from grove_jobs.clock import utcnow
from grove_jobs.render import (
    JOB_HISTORY,
    Catalog,
    Component,
    ElementCheck,
    RenderTree,
    TreeError,
    check_element,
    check_root,
)

logger = logging.getLogger(__name__)

Renderer = Callable[[Any, "RenderContext"], None]
# Deeper nesting than any real status view; stops a hostile tree from exhausting the stack.
MAX_DEPTH = 32


class Registry:
    """Maps component types to renderers; qualified names (``base/Text``) win over bare ones."""

    def __init__(self, renderers: Mapping[str, Renderer] | None = None) -> None:
        self._renderers: dict[str, Renderer] = dict(renderers or {})

    def register(self, type_: str, renderer: Renderer) -> None:
        """Draw ``type_`` (``"Text"`` or ``"base/Text"``) with ``renderer``."""
        self._renderers[type_] = renderer

    def get(self, component: Component) -> Renderer | None:
        """The renderer for a resolved component, or ``None``."""
        return self._renderers.get(component.qualified_name) or self._renderers.get(component.name)

    def types(self) -> list[str]:
        return sorted(self._renderers)

    def copy(self) -> Registry:
        return Registry(self._renderers)


# Filled by the renderer modules through :func:`renders` when ``dashboard.render.builtin``
# imports them (the package does so on import); this module imports none of them.
_BUILTIN: dict[str, Renderer] = {}


def renders(type_: str) -> Callable[[Renderer], Renderer]:
    """Decorator: make the function the built-in renderer of ``type_`` (``"base/Text"``)."""

    def register(renderer: Renderer) -> Renderer:
        if type_ in _BUILTIN:
            raise ValueError(f"{type_} already has a built-in renderer")
        _BUILTIN[type_] = renderer
        return renderer

    return register


def default_registry() -> Registry:
    """A fresh registry with every built-in component's renderer."""
    return Registry(_BUILTIN)


@dataclass(frozen=True)
class RenderContext:
    """What a renderer may know beyond its props: where it is and how to draw its children."""

    path: str
    type: str
    key: str | None
    tree_key: str
    timezone: str  # for instants whose props carry no timezone of their own
    now: datetime  # the tree's generatedAt, so countdowns match the data they were built from
    children: Sequence[tuple[str, Any]] = ()
    _walker: _Walker | None = field(default=None, repr=False)

    def widget_key(self, suffix: str = "") -> str:
        """A Streamlit key unique to this element within the page (tree key + JSON path)."""
        return f"{self.tree_key}:{self.path}:{suffix}"

    def render_children(self) -> None:
        """Draw this element's ``props.children`` into the current Streamlit container."""
        if self._walker is not None:
            depth = self.path.count(".props.children")
            for path, raw in self.children:
                self._walker.element(path, raw, depth + 1)


def render_tree(
    tree: Mapping[str, Any] | RenderTree,
    catalogs: Catalog | Iterable[Catalog] = (JOB_HISTORY,),
    *,
    registry: Registry | None = None,
    strict: bool = False,
    key: str = "render-tree",
    timezone: str = "UTC",
    now: datetime | None = None,
) -> list[TreeError]:
    """Draw a tree; returns the problems found (drawn as warnings too). Never raises for data.

    ``key`` must differ between trees drawn on one page: it prefixes every widget key.
    Lenient by default: a dashboard should draw what it can of a tree from a newer producer.
    """
    if isinstance(tree, RenderTree):
        tree = tree.to_json_dict()
    walker = _Walker(
        catalogs=catalogs,
        registry=registry or default_registry(),
        strict=strict,
        tree_key=key,
        timezone=timezone,
        now=now or _generated_at(tree) or utcnow(),
    )
    errors, children = check_root(tree, strict=strict)
    walker.problems.extend(errors)
    for error in errors:
        _problem_box(error.path, "tree", [error])
    for path, raw in children:
        walker.element(path, raw, 0)
    return walker.problems


@dataclass
class _Walker:
    catalogs: Catalog | Iterable[Catalog]
    registry: Registry
    strict: bool
    tree_key: str
    timezone: str
    now: datetime
    problems: list[TreeError] = field(default_factory=list)

    def element(self, path: str, raw: Any, depth: int) -> None:
        check = check_element(raw, path, self.catalogs, strict=self.strict)
        self.problems.extend(check.errors)
        if depth > MAX_DEPTH:
            _problem_box(path, check.type, [], note="is nested too deeply")
            return
        renderer = self.registry.get(check.component) if check.component else None
        if check.props is None or renderer is None:
            self._undrawable(check, renderer is None and check.props is not None)
            return
        context = RenderContext(
            path=path,
            type=check.type or "",
            key=check.key,
            tree_key=self.tree_key,
            timezone=self.timezone,
            now=self.now,
            children=check.children,
            _walker=self,
        )
        # An st.empty slot, so a renderer that fails half-way leaves its error, not half a widget.
        slot = st.empty()
        try:
            with slot.container():
                renderer(check.props, context)
        except Exception as exc:
            logger.exception("rendering %s at %s failed", check.type, path)
            with slot.container():
                st.error(
                    f"Could not draw {code_span(check.type or '?')} at {code_span(path)}: "
                    f"{code_span(type(exc).__name__)}"
                )

    def _undrawable(self, check: ElementCheck, no_renderer: bool) -> None:
        with st.container():
            if no_renderer:
                _problem_box(check.path, check.type, [], note="has no renderer")
            else:
                _problem_box(check.path, check.type, check.errors)
            # The children are independent elements: draw whatever of them is valid.
            for path, raw in check.children:
                self.element(path, raw, check.path.count(".props.children") + 1)


def _problem_box(path: str, type_: str | None, errors: list[TreeError], note: str = "") -> None:
    codes = {e.code for e in errors}
    if note:
        what = note
    elif "unknown_component" in codes:
        what = "is an unknown component"
    elif "invalid_props" in codes:
        what = "has invalid props"
    else:
        what = "is malformed"
    st.warning(f"Element {code_span(type_ or '?')} at {code_span(path)} {what}; not drawn.")
    details = [f"{e.path}: {e.message}" for e in errors if e.severity == "error"]
    if details:
        st.text("\n".join(details))


def _generated_at(tree: Any) -> datetime | None:
    meta = tree.get("meta") if isinstance(tree, Mapping) else None
    raw = meta.get("generatedAt") if isinstance(meta, Mapping) else None
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def code_span(text: str) -> str:
    """Markdown inline code showing ``text`` literally, whatever backticks it contains."""
    # A line break could end the span (a blank line ends the paragraph), so flatten whitespace.
    text = re.sub(r"\s", " ", text)
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each side, so padded content keeps edge backticks.
    return f"{fence} {text} {fence}"


# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all
# also disarms Streamlit's own syntax (``:red[...]`` directives, ``$`` math, ``:emoji:``).
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def escape_markdown(text: str) -> str:
    """``text`` made safe to pass to a Streamlit markdown body or label: shown literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
