"""The dashboard's composition root: settings and the database, built once per process.

Every page and component gets the database from here, so there is exactly one engine (and one
connection pool) per Streamlit server, however many sessions are open.
"""

from __future__ import annotations

import streamlit as st

from grove_jobs.db.engine import Database
from grove_jobs.jobs.discovery import discover
from grove_jobs.jobs.registry import job_type_names
from grove_jobs.observability.logs import configure_logging
from grove_jobs.settings import Settings, load_settings


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """``GROVE_*`` settings, read once per server process (which also sets up logging)."""
    loaded = load_settings()
    configure_logging(loaded.log_level)  # refuses a GROVE_LOG_FORMAT other than text|json
    return loaded


@st.cache_resource(show_spinner=False)
def job_types() -> tuple[str, ...]:
    """Discover the job types once per server process (PluginError when one cannot load)."""
    discover(settings().job_modules)
    return job_type_names()


def _dispose(db: Database) -> None:
    db.dispose()


@st.cache_resource(show_spinner=False, on_release=_dispose)
def database() -> Database:
    """The shared Database (engine + session factory) for the configured URL."""
    return Database(settings().effective_database_url)


def reset() -> None:
    """Forget settings and database (tests point the dashboard at a new database)."""
    database.clear()
    settings.clear()
    job_types.clear()
