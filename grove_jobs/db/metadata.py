"""The one place that collects every table on ``Base.metadata``: Alembic (migrations/env.py)
and whatever needs the full schema (the tests' table cleanup) read ``metadata`` from here."""

from __future__ import annotations

# Imported for their side effect: each module adds its tables to Base.metadata.
import grove_jobs.alerts.tables
import grove_jobs.auth.tables
import grove_jobs.contrib.content.tables  # the content plugin's tables stay in the core chain
import grove_jobs.db.tables
import grove_jobs.notifications.tables
import grove_jobs.pauses.tables  # noqa: F401
from grove_jobs.db.base import Base

metadata = Base.metadata
