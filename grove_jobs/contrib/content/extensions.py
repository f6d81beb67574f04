"""What the content domain adds to the core's cleanup and digest jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z
from grove_jobs.contrib.content.repositories import advancement_events
from grove_jobs.contrib.content.tables import DocumentRow, SignalEventRow
from grove_jobs.jobs.builtin.notification_digest import DigestSection, digest_section
from grove_jobs.jobs.builtin.orphan_cleanup import CleanupTarget, cleanup_target


def _never_signalled(cutoff: datetime):
    D = DocumentRow
    signalled = exists().where(SignalEventRow.document_id == D.id)
    return (D.archived_at.is_(None), D.created_at < cutoff, ~signalled)


def _find_documents(session: Session, cutoff: datetime, limit: int) -> list[str]:
    if limit <= 0:
        return []
    D = DocumentRow
    stmt = select(D.id).where(*_never_signalled(cutoff)).order_by(D.created_at, D.id).limit(limit)
    return list(session.scalars(stmt))


def _archive_documents(session: Session, ids: list[str], cutoff: datetime, at: datetime) -> None:
    # Archived, not deleted: the row stays and every job then ignores it.
    D = DocumentRow
    session.execute(
        update(D)
        .where(D.id.in_(ids), *_never_signalled(cutoff))
        .values(archived_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )


cleanup_target(
    CleanupTarget(
        "documents", _find_documents, _archive_documents, action="archived", verb="archive"
    )
)


def _collect_advancements(session: Session, since: datetime, at: datetime) -> list[dict[str, Any]]:
    events = advancement_events(session, since=since, until=at)
    titles = _titles(session, {e.document_id for e in events})
    return [
        {
            "id": e.id,
            "documentId": e.document_id,
            "title": titles.get(e.document_id, ""),
            "fromTier": e.from_tier,
            "toTier": e.to_tier,
            "ruleId": e.rule_id,
            "at": e.at,
        }
        for e in events
    ]


def _titles(session: Session, document_ids: set[str]) -> dict[str, str]:
    ids = sorted(document_ids)
    titles: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        stmt = select(DocumentRow.id, DocumentRow.title).where(
            DocumentRow.id.in_(ids[start : start + 1000])
        )
        titles.update((row.id, row.title) for row in session.execute(stmt))
    return titles


def _advancement_line(item: dict[str, Any]) -> str:
    at = iso_z(item["at"], timespec="seconds")
    return (
        f"{item['documentId']} {item['title']!r}: {item['fromTier']} -> {item['toTier']} "
        f"by rule {item['ruleId']} at {at}"
    )


digest_section(
    DigestSection(
        event_type="advancement",
        heading="Advancements",
        noun="advancement",
        result_key="advancements",
        refs_key="advancementEventIds",
        collect=_collect_advancements,
        line=_advancement_line,
        order=10,
    )
)
