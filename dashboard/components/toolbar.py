"""The console toolbar: one button per registered type, search, the type's filters and sort
options, and its metrics. Everything comes from the experience-type registry."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.data import ConsoleData
from dashboard.display import colored, safe
from dashboard.nav import ALERTS, NEW_CONFIG
from dashboard.permissions import Allowed
from grove_jobs.schema.registry import ExperienceType

TYPE_KEY = "console.type"
PAGE_KEY = "console.page"
ANY = "Any"
DEFAULT_SORT = "Id"


@dataclass(frozen=True)
class Query:
    """What the grid shows, as hashable values for the cached read."""

    text: str
    filters: tuple[tuple[str, str], ...]
    sort: str | None


def _select_type(type_name: str) -> None:
    st.session_state[TYPE_KEY] = type_name
    st.session_state[PAGE_KEY] = 0


def reset_page() -> None:
    st.session_state[PAGE_KEY] = 0


def type_picker(
    experiences: list[ExperienceType], counts: dict[str, int], allowed: Allowed
) -> ExperienceType:
    """A button per type with its count; returns the selected type."""
    by_name = {e.type: e for e in experiences}
    selected = st.session_state.get(TYPE_KEY)
    if selected not in by_name:
        selected = experiences[0].type
        st.session_state[TYPE_KEY] = selected
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        for experience in experiences:
            active = experience.type == selected
            count = counts.get(experience.type, 0)
            icon = experience.icon if active else colored(experience.icon, experience.color)
            st.button(
                f"{icon} {safe(experience.label)} · {count:,}",
                key=f"type-button:{experience.type}",
                type="primary" if active else "secondary",
                on_click=_select_type,
                args=(experience.type,),
                help=experience.description,
            )
        if allowed("config.create"):
            st.space("stretch")
            st.page_link(NEW_CONFIG, label="New config", icon=":material/add_circle:")
    return by_name[selected]


def query_controls(experience: ExperienceType) -> Query:
    """Search box, the type's filters and its sort options, on one row."""
    filters = experience.filters
    widths = [3.0] + [1.2] * len(filters) + [1.4]
    columns = st.columns(widths, vertical_alignment="bottom")
    with columns[0]:
        text = st.text_input(
            "Search",
            key=f"console-q-{experience.type}",
            placeholder="Search " + ", ".join(_field_names(experience.search_fields)),
            icon=":material/search:",
            on_change=reset_page,
        )
    chosen: list[tuple[str, str]] = []
    for column, spec in zip(columns[1:-1], filters, strict=True):
        with column:
            options = [ANY, *spec.options]
            if spec.options:
                value = st.selectbox(
                    safe(spec.label),
                    options,
                    key=f"console-filter-{experience.type}-{spec.key}",
                    on_change=reset_page,
                )
            else:
                value = (
                    st.text_input(
                        safe(spec.label),
                        key=f"console-filter-{experience.type}-{spec.key}",
                        on_change=reset_page,
                    )
                    or ANY
                )
            if value != ANY:
                chosen.append((spec.key, str(value)))
    with columns[-1]:
        sort_labels = {o.label: o.key for o in experience.sort_options}
        sort_label = st.selectbox(
            "Sort by",
            [DEFAULT_SORT, *sort_labels],
            key=f"console-sort-{experience.type}",
            on_change=reset_page,
        )
    return Query((text or "").strip(), tuple(chosen), sort_labels.get(sort_label or ""))


def _field_names(paths: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for path in paths:
        name = path.rsplit(".", 1)[-1]
        name = {"displayName": "name", "jobType": "job type"}.get(name, name)
        if name not in names:
            names.append(name)
    return names


def metrics(result: ConsoleData, *, alerting: int = 0) -> None:
    """Total matching, the registry's metrics, and how many of them have an open alert, as
    compact bordered tiles."""
    with st.container(horizontal=True, gap="small"):
        st.metric("Showing", f"{len(result.rows):,}", border=True, width=160)
        for label, count in result.metrics:
            st.metric(safe(label), f"{count:,}", border=True, width=160)
        if any(row.runnable for row in result.rows):
            with st.container(gap=None, width=160, key="alerting-tile"):
                st.metric("Alerting", f"{alerting:,}", border=True, width=160)
                # The tile leads to the incidents behind the number.
                st.page_link(ALERTS, label="View alerts", icon=":material/arrow_forward:")


def pagination(total: int, per_page: int) -> tuple[int, int]:
    """Previous/next controls; returns the (start, end) slice of the current page."""
    pages = max(1, -(-total // per_page))
    page = min(max(0, int(st.session_state.get(PAGE_KEY, 0))), pages - 1)
    st.session_state[PAGE_KEY] = page
    start, end = page * per_page, min(total, (page + 1) * per_page)
    if pages > 1:
        with st.container(
            horizontal=True, vertical_alignment="center", horizontal_alignment="center"
        ):
            st.button(
                "Previous",
                key="console-prev",
                icon=":material/chevron_left:",
                disabled=page == 0,
                on_click=_turn,
                args=(page - 1,),
            )
            st.caption(f"{start + 1:,} to {end:,} of {total:,} · page {page + 1} of {pages}")
            st.button(
                "Next",
                key="console-next",
                icon=":material/chevron_right:",
                icon_position="right",
                disabled=page >= pages - 1,
                on_click=_turn,
                args=(page + 1,),
            )
    return start, end


def _turn(page: int) -> None:
    st.session_state[PAGE_KEY] = page
