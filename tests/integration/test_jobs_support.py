"""Helpers shared by the job tests (no tests here): a real ``JobContext`` that records its log
lines and progress, and builders for documents, signals, aggregations and rules."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from grove_jobs.configs.transfer import apply_objects
from grove_jobs.contrib.content.signals import Aggregate, store_aggregates
from grove_jobs.contrib.content.tables import AdvancementEventRow, DocumentRow, SignalEventRow
from grove_jobs.db.engine import Database
from grove_jobs.engine.context import JobContext, JobLog
from grove_jobs.schema.grove_object import parse_grove_object


@dataclass
class Recorder:
    """What a handler reported through its context."""

    logs: list[tuple[str, str]] = field(default_factory=list)
    progress: list[tuple[int, int | None]] = field(default_factory=list)
    cancel_when: Callable[[Recorder], bool] | None = None

    def messages(self, level: str | None = None) -> list[str]:
        return [m for lvl, m in self.logs if level is None or lvl == level]

    def text(self) -> str:
        return "\n".join(f"{lvl}: {m}" for lvl, m in self.logs)

    def cancelled(self) -> bool:
        return bool(self.cancel_when and self.cancel_when(self))


def make_context(
    database_url: str | None,
    *,
    batch_size: int = 100,
    config_id: str = "test-job",
    execution_id: int = 1,
    attempt: int = 1,
    timeout: float = 60.0,
    settings: Any = None,
    cancel_when: Callable[[Recorder], bool] | None = None,
) -> tuple[JobContext, Recorder]:
    """A JobContext wired to a Recorder, as the worker builds one."""
    recorder = Recorder(cancel_when=cancel_when)
    ctx = JobContext(
        execution_id=execution_id,
        config_id=config_id,
        attempt=attempt,
        batch_size=batch_size,
        deadline=time.monotonic() + timeout,
        log=JobLog(lambda level, message: recorder.logs.append((level, message))),
        report_progress=lambda done, total: recorder.progress.append((done, total)),
        is_cancelled=recorder.cancelled,
        database_url=database_url,
        settings=settings,
    )
    return ctx, recorder


def add_documents(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert documents; ``rows`` need id, tier, created_at (model defaults to ``kb``)."""
    with db.write() as session:
        session.execute(
            insert(DocumentRow),
            [
                {
                    "title": row["id"],
                    "lifecycle_model_id": "kb",
                    "updated_at": row["created_at"],
                    "evaluated_at": None,
                    "archived_at": None,
                    **row,
                }
                for row in rows
            ],
        )


def add_signals(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert signal events (document_id, kind, at; query_hash and utility optional)."""
    with db.write() as session:
        session.execute(
            insert(SignalEventRow), [{"query_hash": None, "utility": None, **r} for r in rows]
        )


def set_signals(
    db: Database,
    document_id: str,
    *,
    period: str = "last_30d",
    retrievals: int = 0,
    citations: int = 0,
    query_diversity: int = 0,
    utility: float | None = None,
    events: int | None = None,
    at: datetime,
) -> None:
    """Store an aggregation directly (``utility`` is the raw mean in [-1, 1])."""
    count = events if events is not None else max(1, retrievals + citations + query_diversity)
    aggregate = Aggregate(document_id, retrievals, citations, query_diversity, utility, count)
    with db.write() as session:
        store_aggregates(session, [aggregate], period, at)


def rule_json(
    rule_id: str,
    from_tier: str,
    to_tier: str,
    criteria: list[tuple[str, str, float]],
    *,
    logic: str = "AND",
    enabled: bool = True,
    model: str = "kb",
    priority: int = 0,
    status: str = "active",
) -> dict[str, Any]:
    """GroveObject JSON of an advancement rule."""
    return {
        "meta": {"id": rule_id, "type": "advancement-rule", "title": rule_id, "status": status},
        "payload": {
            "lifecycleModelId": model,
            "fromTier": from_tier,
            "toTier": to_tier,
            "criteria": [{"signal": s, "operator": o, "threshold": t} for s, o, t in criteria],
            "logicOperator": logic,
            "isEnabled": enabled,
            "priority": priority,
        },
    }


def add_rules(db: Database, rules: list[dict[str, Any]]) -> None:
    """Store rules through the same service as every config (apply, upsert by id)."""
    objects = [parse_grove_object(r) for r in rules]
    apply_objects(db, objects, actor="test", source="cli")


def tiers(db: Database) -> dict[str, str]:
    """Document id -> tier."""
    with db.read() as session:
        return {
            row.id: row.tier for row in session.execute(select(DocumentRow.id, DocumentRow.tier))
        }


def events(db: Database) -> list[AdvancementEventRow]:
    """Every advancement event, oldest first."""
    with db.read() as session:
        return list(session.scalars(select(AdvancementEventRow).order_by(AdvancementEventRow.id)))


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
