"""The revision trail of configs: every write records who changed what, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grove_jobs.db.engine import Database
from grove_jobs.db.records import (
    revision_record,
)
from grove_jobs.db.tables import (
    ConfigRevisionRow,
    JobConfigRow,
)
from grove_jobs.schema.execution import Revision

Source = Literal["ui", "cli", "api", "system"]


def record_revision(
    session: Session,
    *,
    config_id: str,
    version: int,
    actor: str,
    source: Source,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        ConfigRevisionRow(
            config_id=config_id,
            version=version,
            actor=actor,
            source=source,
            at=at,
            before=before,
            after=after,
        )
    )


def row_json(row: JobConfigRow) -> dict[str, Any]:
    return {"meta": {**row.meta}, "payload": row.payload}


def list_revisions(db: Database, config_id: str, *, limit: int = 100) -> list[Revision]:
    """A config's change history, newest first."""
    stmt = (
        select(ConfigRevisionRow)
        .where(ConfigRevisionRow.config_id == config_id)
        .order_by(ConfigRevisionRow.id.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [revision_record(r) for r in session.scalars(stmt)]
