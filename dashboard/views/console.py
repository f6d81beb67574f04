"""The console: a toolbar over the registry's types and a paginated grid of cards."""

from __future__ import annotations

import streamlit as st

from dashboard import data, permissions
from dashboard.components import toolbar
from dashboard.components.card import render_card
from dashboard.components.pause_banner import render_banner
from grove_jobs.clock import utcnow
from grove_jobs.schema.registry import registered_types

PER_PAGE = 24
COLUMNS = 3


def render() -> None:
    """Draw the console page."""
    st.title("Jobs console", anchor=False)
    render_banner()
    experiences = registered_types()
    allowed = permissions.allowed()
    experience = toolbar.type_picker(experiences, data.type_counts(), allowed)
    query = toolbar.query_controls(experience)
    result = data.console(experience.type, query.text, query.filters, query.sort)
    alerts = data.active_alerts()
    toolbar.metrics(result, alerting=sum(1 for row in result.rows if row.id in alerts))
    if not result.rows:
        st.info("Nothing matches. Clear the search or filters, or create a new config.")
        return
    start, end = toolbar.pagination(len(result.rows), PER_PAGE)
    now = utcnow()
    rows = result.rows[start:end]
    for first in range(0, len(rows), COLUMNS):
        for column, row in zip(st.columns(COLUMNS), rows[first : first + COLUMNS], strict=False):
            with column:
                render_card(row, experience, now, allowed)


if __name__ == "__main__":
    render()
