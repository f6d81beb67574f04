"""The dashboard's entry point (``streamlit run dashboard/app.py``): only routing."""

from __future__ import annotations

import streamlit as st

from dashboard.components.feedback import show_pending_toasts
from dashboard.identity import current_identity, render_identity
from dashboard.nav import ADMIN, CONSOLE, INSPECTOR, NEW_CONFIG

st.set_page_config(page_title="grove-jobs", page_icon=":material/hourglass_top:", layout="wide")

pages = [
    st.Page(CONSOLE, title="Console", icon=":material/dashboard:", default=True),
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
