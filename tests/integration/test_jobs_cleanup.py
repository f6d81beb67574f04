"""orphan-cleanup against a real database: what is deleted or archived, what is always kept,
the dry run, and the batch-size budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from grove_jobs.clock import utcnow
from grove_jobs.contrib.content.tables import DocumentRow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.jobs.builtin.orphan_cleanup import OrphanCleanupParameters, UnknownEntityType, run
from grove_jobs.jobs.database import close_databases
from grove_jobs.notifications.tables import NotificationRow
from tests.factories import create, past_execution, synthetic_config
from tests.integration.test_jobs_support import add_documents, add_signals, make_context

ALL = ["executions", "documents", "notifications"]


@pytest.fixture
def url(db: Database, migrated_url: str) -> Iterator[str]:
    yield migrated_url
    close_databases()


def _params(entity_types=ALL, dry_run: bool = False, days: int = 30) -> OrphanCleanupParameters:
    return OrphanCleanupParameters.model_validate(
        {"entityTypes": list(entity_types), "orphanThresholdDays": days, "dryRun": dry_run}
    )


def _execution(db: Database, config_id: str, status: str, ago: timedelta, logs: int = 0) -> int:
    return past_execution(db, config_id, status, utcnow() - ago, logs=logs)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _populate(db: Database) -> dict[str, int]:
    now = utcnow()
    create(db, synthetic_config("alpha"))
    create(db, synthetic_config("beta"))
    ids = {
        "e1": _execution(db, "alpha", "success", _days(60), logs=1),
        "e2": _execution(db, "alpha", "failed", _days(50), logs=3),
        "e3": _execution(db, "alpha", "cancelled", _days(40)),
        "e4": _execution(db, "alpha", "running", _days(45), logs=2),  # active: never
        "e5": _execution(db, "alpha", "success", _days(10)),  # recent
        "b1": _execution(db, "beta", "success", _days(100)),  # old, but beta's newest
    }
    add_documents(
        db,
        [
            {"id": "silent-old", "tier": "seed", "created_at": now - _days(40)},
            {"id": "signalled-old", "tier": "seed", "created_at": now - _days(40)},
            {"id": "silent-new", "tier": "seed", "created_at": now - _days(5)},
            {
                "id": "silent-archived",
                "tier": "seed",
                "created_at": now - _days(40),
                "archived_at": now - _days(1),
            },
        ],
    )
    add_signals(db, [{"document_id": "signalled-old", "kind": "query", "at": now - _days(39)}])
    with db.write() as session:
        for key, sent, created in (
            ("n1", now - _days(40), now - _days(40)),
            ("n2", now - _days(5), now - _days(5)),
            ("n3", None, now - _days(40)),  # never sent: kept, whatever its age
        ):
            ids[key] = session.execute(
                insert(NotificationRow)
                .values(
                    kind="digest",
                    recipient="ops",
                    subject=key,
                    body="",
                    event_refs={},
                    created_at=created,
                    sent_at=sent,
                )
                .returning(NotificationRow.id)
            ).scalar_one()
    return ids


def _state(db: Database) -> dict[str, object]:
    with db.read() as session:
        return {
            "executions": sorted(session.scalars(select(JobExecutionRow.id))),
            "logs": session.scalar(select(func.count()).select_from(ExecutionLogRow)),
            "archived": sorted(
                session.scalars(select(DocumentRow.id).where(DocumentRow.archived_at.is_not(None)))
            ),
            "notifications": sorted(session.scalars(select(NotificationRow.id))),
        }


def test_cleanup_and_its_dry_run(db: Database, url: str) -> None:
    ids = _populate(db)
    before = _state(db)

    ctx, recorder = make_context(url)
    dry = run(_params(dry_run=True), ctx)

    assert _state(db) == before  # a dry run changes nothing
    entities = dry.data["entities"]
    assert entities["executions"]["ids"] == [ids["e1"], ids["e2"], ids["e3"]]
    assert entities["executions"]["count"] == 3 and entities["executions"]["logLines"] == 4
    assert entities["documents"] == {
        "count": 1,
        "action": "archived",
        "ids": ["silent-old"],
        "idsTruncated": False,
    }
    assert entities["notifications"]["ids"] == [ids["n1"]]
    assert dry.data["dryRun"] is True and dry.items_total == 5
    assert "executions: would delete 3 (and 4 log lines)" in recorder.text()

    result = run(_params(), make_context(url)[0])

    after = _state(db)
    assert after["executions"] == sorted([ids["e4"], ids["e5"], ids["b1"]])
    assert after["logs"] == 2  # only the running execution's lines remain
    assert after["archived"] == ["silent-archived", "silent-old"]
    assert after["notifications"] == sorted([ids["n2"], ids["n3"]])
    assert result.data["entities"]["executions"]["ids"] == entities["executions"]["ids"]
    assert (result.items_processed, result.items_total) == (5, 5)

    # Idempotent: nothing is left to clean.
    again = run(_params(), make_context(url)[0])
    assert again.items_total == 0 and _state(db) == after


def test_batch_size_bounds_the_items_of_a_run(db: Database, url: str) -> None:
    ids = _populate(db)
    ctx, _ = make_context(url, batch_size=2)

    first = run(_params(["executions", "documents"]), ctx)

    assert first.data["entities"]["executions"]["ids"] == [ids["e1"], ids["e2"]]
    assert first.data["entities"]["documents"]["count"] == 0
    second = run(_params(["executions", "documents"]), ctx)
    assert second.data["entities"]["executions"]["ids"] == [ids["e3"]]
    assert second.data["entities"]["documents"]["ids"] == ["silent-old"]


def test_unknown_entity_type_fails_before_changing_anything(db: Database, url: str) -> None:
    _populate(db)
    before = _state(db)
    ctx, recorder = make_context(url)

    with pytest.raises(UnknownEntityType, match="'execution'"):
        run(_params(["execution", "documents"]), ctx)

    assert _state(db) == before
    assert recorder.messages("error")
