"""Shell completion of config and execution ids (click's ``shell_complete`` callbacks).

Completion runs without the root command's callback, so these open the database themselves
(``--database-url`` when it was typed, else the settings) and stay quiet on any error: a
broken database must not print tracebacks into the user's shell.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

MAX_ITEMS = 200


def _database(ctx: click.Context):
    from grove_jobs.db.engine import Database
    from grove_jobs.settings import load_settings

    url = ctx.find_root().params.get("database_url")
    settings = load_settings(**({"database_url": url} if url else {}))
    return Database(settings.effective_database_url)


def complete_config_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Ids of stored (non-archived) configs starting with ``incomplete``."""
    from sqlalchemy import select

    from grove_jobs.db.tables import JobConfigRow

    try:
        db = _database(ctx)
        try:
            with db.read() as session:
                ids = session.scalars(
                    select(JobConfigRow.id)
                    .where(JobConfigRow.id.startswith(incomplete, autoescape=True))
                    .where(JobConfigRow.status != "archived")
                    .order_by(JobConfigRow.id)
                    .limit(MAX_ITEMS)
                ).all()
        finally:
            db.dispose()
    except Exception:
        return []
    return [CompletionItem(i) for i in ids]


def complete_execution_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The newest execution ids whose digits start with ``incomplete``, with their config."""
    from sqlalchemy import String, cast, select

    from grove_jobs.db.tables import JobExecutionRow

    if incomplete and not incomplete.isdigit():
        return []
    try:
        db = _database(ctx)
        try:
            with db.read() as session:
                rows = session.execute(
                    select(JobExecutionRow.id, JobExecutionRow.config_id, JobExecutionRow.status)
                    .where(cast(JobExecutionRow.id, String).startswith(incomplete))
                    .order_by(JobExecutionRow.id.desc())
                    .limit(MAX_ITEMS)
                ).all()
        finally:
            db.dispose()
    except Exception:
        return []
    return [CompletionItem(str(eid), help=f"{cid} {status}") for eid, cid, status in rows]
