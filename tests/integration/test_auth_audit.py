"""The audit trail: field-level changes per revision, and Restore as a new revision recorded
with the restorer (the inspector's History of changes tab is driven in tests/e2e/test_roles.py)."""

from __future__ import annotations

import pytest

from grove_jobs.auth.audit import get_revision, restore_revision, revision_changes
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import delete_config, get_config, update_config
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import NotFound, ValidationFailed, VersionConflict
from grove_jobs.schema.grove_object import parse_grove_object
from tests.integration.test_api_support import mock_config, store

ID = "mock-health-check"


def _save(db: Database, actor: str, **changes: object) -> None:
    current = get_config(db, ID)
    data = current.object.to_json_dict()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    update_config(
        db,
        parse_grove_object(data),
        expected_version=current.version,
        actor=actor,
        source="ui",
    )


@pytest.fixture
def history(db: Database) -> Database:
    """v1 created by seed (cli), v2 by ann (cron), v3 by bob (batch size and title)."""
    store(db, mock_config())
    _save(db, "ann@example.com", **{"payload.schedule.cronExpression": "0 3 * * *"})
    _save(db, "bob@example.com", **{"payload.limits.batchSize": 99, "meta.title": "<b>Bob</b>"})
    return db


def test_revisions_list_field_level_changes(history: Database) -> None:
    newest, middle, created = list_revisions(history, ID)
    assert [(c.path, c.before, c.after) for c in revision_changes(middle)] == [
        ("payload.schedule.cronExpression", "*/5 * * * *", "0 3 * * *")
    ]
    assert {c.path for c in revision_changes(newest)} == {"meta.title", "payload.limits.batchSize"}
    assert any(c.path == "payload.jobType" and c.before is None for c in revision_changes(created))
    assert all("updatedAt" not in c.path for c in revision_changes(newest))


def test_restore_brings_back_the_old_payload_and_records_who(history: Database) -> None:
    middle = list_revisions(history, ID)[1]
    restored = restore_revision(history, ID, middle.id, actor="carol@example.com", source="ui")
    assert restored.version == 4
    payload = restored.object.payload
    assert payload.schedule.cron_expression == "0 3 * * *"
    assert payload.limits.batch_size == 10
    assert restored.object.meta.title is None
    newest = list_revisions(history, ID)[0]
    assert (newest.version, newest.actor, newest.source) == (4, "carol@example.com", "ui")
    assert {c.path for c in revision_changes(newest)} == {"meta.title", "payload.limits.batchSize"}
    # created-by is the server's record and survives the restore
    assert restored.object.meta.created_by == "seed"


def test_restore_of_the_first_revision(history: Database) -> None:
    first = list_revisions(history, ID)[-1]
    restored = restore_revision(history, ID, first.id, actor="carol", source="api")
    assert restored.object.comparable() == parse_grove_object(mock_config()).comparable() | {
        "meta": restored.object.comparable()["meta"]
    }
    assert restored.object.payload.schedule.cron_expression == "*/5 * * * *"


def test_restore_guards(history: Database) -> None:
    revisions = list_revisions(history, ID)
    with pytest.raises(VersionConflict):
        restore_revision(history, ID, revisions[1].id, actor="x", source="ui", expected_version=2)
    with pytest.raises(NotFound):
        restore_revision(history, ID, 999_999, actor="x", source="ui")
    store(history, mock_config(**{"meta.id": "other"}))
    other = list_revisions(history, "other")[0]
    with pytest.raises(NotFound):
        get_revision(history, ID, other.id)  # a revision of another config
    delete_config(history, "other", actor="x", source="cli")
    deletion = list_revisions(history, "other")[0]
    with pytest.raises(ValidationFailed):
        restore_revision(history, "other", deletion.id, actor="x", source="ui")


def test_restoring_the_current_state_is_a_no_op(history: Database) -> None:
    newest = list_revisions(history, ID)[0]
    assert restore_revision(history, ID, newest.id, actor="x", source="ui").version == 3
    assert len(list_revisions(history, ID)) == 3
