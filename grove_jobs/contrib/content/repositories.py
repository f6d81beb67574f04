"""Queries and writes on the content domain that handlers share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from grove_jobs.configs import query as config_query
from grove_jobs.contrib.content.evaluator import Rule
from grove_jobs.contrib.content.rules import AdvancementRulePayload
from grove_jobs.contrib.content.signals import chunked
from grove_jobs.contrib.content.tables import AdvancementEventRow, DocumentRow
from grove_jobs.db.engine import Database

RULE_TYPE = "advancement-rule"


def load_rules(db: Database, lifecycle_model_id: str | None = None) -> list[Rule]:
    """Enabled, active advancement rules (of one lifecycle model, when given).

    Read through the same services as every stored object: rules are GroveObjects.
    """
    query = config_query.ConfigQuery(type=RULE_TYPE, enabled=True)
    rules = []
    for view in config_query.list_configs(db, query):
        obj = view.record.object
        payload = obj.payload
        if obj.meta.status != "active" or not isinstance(payload, AdvancementRulePayload):
            continue  # drafts are not live
        if lifecycle_model_id is not None and payload.lifecycle_model_id != lifecycle_model_id:
            continue
        rules.append(Rule.from_payload(obj.id, payload, view.record.version))
    return rules


@dataclass(frozen=True)
class Document:
    """A document as the advancement batch reads it."""

    id: str
    title: str
    tier: str
    lifecycle_model_id: str
    created_at: datetime


def _eligible(tiers_by_model: dict[str, set[str]]) -> ColumnElement[bool]:
    """Unarchived documents some rule could move: their model and tier have one."""
    D = DocumentRow
    scope = or_(
        *(
            and_(D.lifecycle_model_id == model, D.tier.in_(sorted(tiers)))
            for model, tiers in sorted(tiers_by_model.items())
        )
    )
    return and_(D.archived_at.is_(None), scope)


def eligible_documents(
    session: Session, tiers_by_model: dict[str, set[str]], limit: int
) -> list[Document]:
    """At most ``limit`` eligible documents: never evaluated first, then least recently
    evaluated; oldest first within each."""
    if not tiers_by_model or limit <= 0:
        return []
    D = DocumentRow
    stmt = (
        select(D.id, D.title, D.tier, D.lifecycle_model_id, D.created_at)
        .where(_eligible(tiers_by_model))
        .order_by(D.evaluated_at.asc().nulls_first(), D.created_at, D.id)
        .limit(limit)
    )
    return [Document(*row) for row in session.execute(stmt)]


def count_eligible(session: Session, tiers_by_model: dict[str, set[str]]) -> int:
    """How many documents are eligible in all (the backlog a batch takes its share of)."""
    if not tiers_by_model:
        return 0
    return session.scalar(select(func.count()).where(_eligible(tiers_by_model))) or 0


def record_advancement(
    db: Database,
    *,
    document_id: str,
    lifecycle_model_id: str,
    from_tier: str,
    to_tier: str,
    rule: Rule,
    signal_period: str,
    signals: dict[str, Any],
    criteria_results: list[dict[str, Any]],
    execution_id: int | None,
    at: datetime,
) -> bool:
    """Move one document up and record the event, in one transaction.

    The update is guarded by the tier the decision was made on: when another run moved the
    document meanwhile, nothing is written and False is returned.
    """
    D = DocumentRow
    with db.write() as session:
        moved = session.execute(
            update(D)
            .where(D.id == document_id, D.tier == from_tier, D.archived_at.is_(None))
            .values(tier=to_tier, updated_at=at, evaluated_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            return False
        session.add(
            AdvancementEventRow(
                document_id=document_id,
                lifecycle_model_id=lifecycle_model_id,
                from_tier=from_tier,
                to_tier=to_tier,
                rule_id=rule.id,
                rule_version=rule.version,
                signal_period=signal_period,
                signals=signals,
                criteria_results=criteria_results,
                execution_id=execution_id,
                at=at,
            )
        )
    return True


def mark_evaluated(db: Database, document_ids: Iterable[str], at: datetime) -> None:
    """Stamp documents as looked at (so the next batch starts with others)."""
    ids = list(document_ids)
    if not ids:
        return
    D = DocumentRow
    with db.write() as session:
        for chunk in chunked(ids):
            session.execute(
                update(D)
                .where(D.id.in_(chunk))
                .values(evaluated_at=at)
                .execution_options(synchronize_session=False)
            )


def advancement_events(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> Sequence[AdvancementEventRow]:
    """Advancement events in (since, until], oldest first."""
    E = AdvancementEventRow
    stmt = select(E).order_by(E.at, E.id)
    if since is not None:
        stmt = stmt.where(E.at > since)
    if until is not None:
        stmt = stmt.where(E.at <= until)
    return list(session.scalars(stmt))
