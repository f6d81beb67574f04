"""``python -m dashboard.serve [streamlit run options]``: the dashboard's server, with the
modules its pages need imported before anyone visits.

``streamlit run`` imports a page's modules when the first session runs it, so the first
visitor after a start or a deploy waits for SQLAlchemy, pydantic, Plotly and grove-jobs' own
modules: about a second on a 2-core machine. This launcher imports them in the server's
process first (as an application server's preload does), with the configured database's
driver, loads the job types, settles the collector (see :mod:`grove_jobs.gc_tuning`), then
hands over to Streamlit's command line.
The dashboard's own modules are left to the first run: their ``st.cache_*`` functions must
be created inside Streamlit's runtime.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
# What dashboard/ imports from outside itself (a test keeps this list complete).
PRELOAD = (
    "grove_jobs.alerts.acks",
    "grove_jobs.alerts.rules",
    "grove_jobs.alerts.store",
    "grove_jobs.auth.admin_audit",
    "grove_jobs.auth.audit",
    "grove_jobs.auth.identity",
    "grove_jobs.auth.roles",
    "grove_jobs.auth.tokens",
    "grove_jobs.clock",
    "grove_jobs.configs.query",
    "grove_jobs.configs.revisions",
    "grove_jobs.configs.store",
    "grove_jobs.configs.transfer",
    "grove_jobs.configs.upcoming",
    "grove_jobs.db.engine",
    "grove_jobs.db.records",
    "grove_jobs.engine.backfill",
    "grove_jobs.engine.enqueue",
    "grove_jobs.engine.retry",
    "grove_jobs.exceptions",
    "grove_jobs.executions.bulk",
    "grove_jobs.executions.queries",
    "grove_jobs.executions.redact",
    "grove_jobs.executions.runs",
    "grove_jobs.gc_tuning",
    "grove_jobs.jobs.discovery",
    "grove_jobs.jobs.registry",
    "grove_jobs.observability.logs",
    "grove_jobs.pauses.blackout",
    "grove_jobs.pauses.store",
    "grove_jobs.pauses.windows",
    "grove_jobs.render",
    "grove_jobs.render.catalogs",
    "grove_jobs.schedule",
    "grove_jobs.schedule_checks",
    "grove_jobs.schema.execution",
    "grove_jobs.schema.grove_object",
    "grove_jobs.schema.job_config",
    "grove_jobs.schema.meta",
    "grove_jobs.schema.registry",
    "grove_jobs.settings",
    "plotly.graph_objects",
    "streamlit.elements.plotly_chart",
)


def preload() -> None:
    """Import :data:`PRELOAD` and the database driver, and load the job types."""
    for name in PRELOAD:
        importlib.import_module(name)
    load_database_driver()
    from grove_jobs.jobs.discovery import discover

    discover()


def load_database_driver() -> None:
    """Import the configured database's driver, which SQLAlchemy imports only when the first
    engine is made, on the first visit (psycopg: about 150 ms)."""
    from sqlalchemy.engine import make_url

    from grove_jobs.settings import Settings

    try:
        make_url(Settings().effective_database_url).get_dialect().import_dbapi()
    except Exception:  # a bad setting is reported by the page, where users look
        return


def _skip_direct_run_check() -> None:
    """Streamlit checks once per process, on the first element drawn, whether it was started
    by ``streamlit run``, calling ``inspect.stack()`` from the script thread: 150 ms of the
    first visit at the modules this process holds. It is, so the check is marked done."""
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True  # a no-op where it is gone


def main(argv: list[str]) -> None:
    """Preload, then ``streamlit run dashboard/app.py`` with ``argv`` as its options."""
    preload()
    from streamlit.web import cli

    from grove_jobs.gc_tuning import tune_after_imports

    tune_after_imports()
    _skip_direct_run_check()
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
