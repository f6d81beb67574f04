"""The audit trail: field-level changes per revision, and Restore as a new revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from grove_jobs.configs.revisions import Source
from grove_jobs.configs.store import get_config, update_config
from grove_jobs.configs.transfer import diff_json
from grove_jobs.db.engine import Database
from grove_jobs.db.records import ConfigRecord, revision_record
from grove_jobs.db.tables import ConfigRevisionRow
from grove_jobs.exceptions import FieldError, NotFound, ValidationFailed
from grove_jobs.schema.execution import Revision
from grove_jobs.schema.grove_object import parse_grove_object

# Server-owned bookkeeping that every save touches; showing it in a diff is noise.
_NOISE = ("meta.createdAt", "meta.updatedAt")


@dataclass(frozen=True)
class FieldChange:
    """One changed field of a revision: dotted path, value before, value after."""

    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


def revision_changes(revision: Revision) -> list[FieldChange]:
    """What a revision changed, field by field (every field for a creation or deletion)."""
    return [
        FieldChange(path, before, after)
        for path, before, after in _field_diff(revision.before, revision.after, "")
        if path not in _NOISE
    ]


def _field_diff(before: Any, after: Any, path: str) -> list[tuple[str, Any, Any]]:
    # diff_json stops where one side is missing (a creation would be one change at
    # the root); an absent object counts as empty here, so every field is listed on its own.
    absent_or_dict = (before is None or isinstance(before, dict)) and (
        after is None or isinstance(after, dict)
    )
    if absent_or_dict and (before is not None or after is not None):
        old, new = before or {}, after or {}
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            changes.extend(
                _field_diff(old.get(key), new.get(key), f"{path}.{key}" if path else key)
            )
        return changes
    return diff_json(before, after, path)


def get_revision(db: Database, config_id: str, revision_id: int) -> Revision:
    """One revision of a config; NotFound when it is not that config's."""
    stmt = select(ConfigRevisionRow).where(
        ConfigRevisionRow.id == revision_id, ConfigRevisionRow.config_id == config_id
    )
    with db.read() as session:
        row = session.scalars(stmt).first()
        if row is None:
            raise NotFound("revision", revision_id)
        return revision_record(row)


def restore_revision(
    db: Database,
    config_id: str,
    revision_id: int,
    *,
    actor: str,
    source: Source,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ConfigRecord:
    """Make the config what it was right after ``revision_id``; recorded as a new revision by
    ``actor``. ``expected_version`` guards against restoring over someone else's newer save."""
    revision = get_revision(db, config_id, revision_id)
    if revision.after is None:
        raise ValidationFailed([FieldError("revision", "that revision deleted the config")])
    current = get_config(db, config_id)
    restored = parse_grove_object(_restorable(revision.after, config_id))
    return update_config(
        db,
        restored,
        expected_version=current.version if expected_version is None else expected_version,
        actor=actor,
        source=source,
        at=at,
    )


def _restorable(after: dict[str, Any], config_id: str) -> dict[str, Any]:
    meta = {
        k: v for k, v in (after.get("meta") or {}).items() if k not in ("createdAt", "updatedAt")
    }
    return {"meta": {**meta, "id": config_id}, "payload": after.get("payload")}
