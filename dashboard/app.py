"""The dashboard's entry point (``streamlit run dashboard/app.py``): only routing."""

from __future__ import annotations

import streamlit as st

from dashboard.components.feedback import show_pending_toasts
from dashboard.context import job_types
from dashboard.display import safe
from dashboard.identity import current_identity, render_identity
from dashboard.nav import ADMIN, ALERTS, CONSOLE, INSPECTOR, NEW_CONFIG, RUNS, UPCOMING
from grove_jobs.exceptions import GroveError
from grove_jobs.gc_tuning import tune_after_imports

st.set_page_config(page_title="grove-jobs", page_icon=":material/hourglass_top:", layout="wide")
try:
    job_types()
except GroveError as exc:  # a job-type plugin that cannot be loaded: nothing else can work
    st.error(safe(f"grove-jobs cannot start: {exc}"), icon=":material/extension_off:")
    st.stop()

pages = [
    st.Page(CONSOLE, title="Console", icon=":material/dashboard:", default=True),
    st.Page(RUNS, title="Runs", icon=":material/history:", url_path="runs"),
    st.Page(UPCOMING, title="Upcoming", icon=":material/event_upcoming:", url_path="upcoming"),
    st.Page(ALERTS, title="Alerts", icon=":material/notifications:", url_path="alerts"),
    st.Page(INSPECTOR, title="Inspector", icon=":material/tune:", url_path="inspector"),
    st.Page(NEW_CONFIG, title="New config", icon=":material/add_circle:", url_path="new"),
]
# Admin is registered only for admins: for anyone else /admin is an unknown page, so its code
# never runs for them (the page checks the role again before every write).
if current_identity().can("admin"):
    pages.append(
        st.Page(ADMIN, title="Admin", icon=":material/admin_panel_settings:", url_path="admin")
    )
page = st.navigation(pages, position="top")
with st.sidebar:
    # Stops the run here when nobody is signed in (proxy or OIDC deployments).
    render_identity()
show_pending_toasts()
page.run()
# Once per server process, after the first run imported the pages (see grove_jobs.gc_tuning).
tune_after_imports()
