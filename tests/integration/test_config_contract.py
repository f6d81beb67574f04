"""The config contract: every config and execution use case behaves the same on SQLite and
PostgreSQL (the ``db`` fixture runs each test on both)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import event, func, select, update

from grove_jobs.configs.query import (
    ConfigQuery,
    ConfigView,
    get_enabled_jobs,
    get_jobs_by_type,
    last_runs,
    list_configs,
)
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import (
    archive_config,
    create_config,
    delete_config,
    duplicate_config,
    find_config,
    get_config,
    set_enabled,
    update_config,
)
from grove_jobs.configs.transfer import apply_objects, diff_json, export_objects, parse_objects
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ConfigRevisionRow, JobConfigRow, JobExecutionRow
from grove_jobs.demo import MOCK_HEALTH_CHECK, demo_objects
from grove_jobs.exceptions import AlreadyExists, NotFound, ValidationFailed, VersionConflict
from grove_jobs.executions.queries import execution_history, get_execution
from grove_jobs.jobs.registry import job_type, unregister
from grove_jobs.schedule import next_fire
from grove_jobs.schema import GroveObject, parse_grove_object
from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.registry import ExperienceType, register_type, unregister_type

T0 = datetime(2026, 1, 5, 10, 2, 30, tzinfo=UTC)
WHO = {"actor": "alice@example.com", "source": "ui"}


def job(config_id: str = "mock-health-check", **changes: Any) -> GroveObject:
    """The mock config under another id, with dotted-path changes (``payload.limits.batchSize``)."""
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    data["meta"]["id"] = config_id
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return parse_grove_object(data)


def edit(obj: GroveObject, **changes: Any) -> GroveObject:
    """A copy of a stored object with dotted-path changes applied to its JSON."""
    data = obj.to_json_dict()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return parse_grove_object(data)


def add_executions(
    db: Database, config_id: str, statuses: list[str], start: datetime = T0
) -> list[int]:
    """Insert finished executions directly (the engine that normally writes them is not under
    test here); returns their ids in insertion order."""
    rows = []
    with db.write() as session:
        for i, status in enumerate(statuses):
            at = start + timedelta(minutes=i)
            row = JobExecutionRow(
                config_id=config_id,
                trigger="schedule",
                status=status,
                attempt=1,
                max_attempts=3,
                scheduled_for=at,
                queued_at=at,
                run_after=at,
                started_at=at,
                completed_at=at + timedelta(seconds=5),
                items_processed=i,
            )
            session.add(row)
            rows.append(row)
        session.flush()
        return [r.id for r in rows]


def revision_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ConfigRevisionRow)) or 0


def ids(views: list[ConfigView]) -> list[str]:
    return [v.record.id for v in views]


# --------------------------------------------------------------------------- CRUD


def test_create_then_get(db: Database) -> None:
    record = create_config(db, job(), **WHO, at=T0)
    assert record.version == 1
    assert record.created_at == record.updated_at == T0
    assert record.object.meta.created_by == "alice@example.com"
    stored = get_config(db, "mock-health-check")
    assert stored.object.comparable() == job().comparable()
    assert stored.object.meta.created_at == T0
    assert stored == record


def test_create_twice_is_rejected(db: Database) -> None:
    create_config(db, job(), **WHO, at=T0)
    with pytest.raises(AlreadyExists):
        create_config(db, job(), **WHO, at=T0)


def test_get_missing(db: Database) -> None:
    with pytest.raises(NotFound, match="nope"):
        get_config(db, "nope")
    assert find_config(db, "nope") is None


def test_update_bumps_the_version(db: Database) -> None:
    created = create_config(db, job(), **WHO, at=T0)
    changed = edit(created.object, **{"payload.limits.batchSize": 50})
    updated = update_config(db, changed, expected_version=1, **WHO, at=T0 + timedelta(hours=1))
    assert updated.version == 2
    assert updated.object.payload.limits.batch_size == 50
    assert updated.updated_at == T0 + timedelta(hours=1)
    assert updated.created_at == T0
    assert get_config(db, "mock-health-check").version == 2


def test_update_keeps_created_by(db: Database) -> None:
    created = create_config(db, job(), **WHO, at=T0)
    changed = edit(created.object, **{"meta.createdBy": "mallory", "meta.title": "Renamed"})
    updated = update_config(db, changed, expected_version=1, actor="bob", source="api", at=T0)
    assert updated.object.meta.created_by == "alice@example.com"


def test_update_missing_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        update_config(db, job(), expected_version=1, **WHO)


def test_stale_version_conflicts_and_writes_nothing(db: Database) -> None:
    created = create_config(db, job(), **WHO, at=T0)
    update_config(
        db, edit(created.object, **{"payload.limits.batchSize": 20}), expected_version=1, **WHO
    )
    before = export_objects(db)
    revisions = revision_count(db)
    stale = edit(created.object, **{"payload.limits.batchSize": 30})
    with pytest.raises(VersionConflict) as caught:
        update_config(db, stale, expected_version=1, actor="bob", source="api")
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert "version 1" in str(caught.value) and "version is 2" in str(caught.value)
    assert export_objects(db) == before
    assert revision_count(db) == revisions
    assert get_config(db, "mock-health-check").version == 2


def test_noop_update_records_nothing(db: Database) -> None:
    created = create_config(db, job(), **WHO, at=T0)
    same = update_config(db, job(), expected_version=1, **WHO, at=T0 + timedelta(days=1))
    assert same.version == 1
    assert same.updated_at == created.updated_at
    assert len(list_revisions(db, "mock-health-check")) == 1


def test_archive(db: Database) -> None:
    create_config(db, job(), **WHO, at=T0)
    add_executions(db, "mock-health-check", ["success"])
    archived = archive_config(db, "mock-health-check", **WHO, at=T0)
    assert archived.object.meta.status == "archived"
    assert archived.next_run_at is None
    assert ids(list_configs(db)) == []
    assert ids(list_configs(db, ConfigQuery(include_archived=True))) == ["mock-health-check"]
    assert execution_history(db, "mock-health-check").total == 1
    assert get_enabled_jobs(db) == []


def test_hard_delete_removes_executions_keeps_revisions(db: Database) -> None:
    create_config(db, job(), **WHO, at=T0)
    add_executions(db, "mock-health-check", ["success", "failed"])
    delete_config(db, "mock-health-check", actor="bob", source="cli", at=T0)
    assert find_config(db, "mock-health-check") is None
    assert execution_history(db, "mock-health-check").total == 0
    newest, *_ = list_revisions(db, "mock-health-check")
    assert (newest.actor, newest.source, newest.after) == ("bob", "cli", None)
    assert newest.before is not None and newest.before["meta"]["id"] == "mock-health-check"
    with pytest.raises(NotFound):
        delete_config(db, "mock-health-check", **WHO)


def test_duplicate(db: Database) -> None:
    create_config(db, job(**{"meta.title": "Health"}), **WHO, at=T0)
    copy1 = duplicate_config(db, "mock-health-check", **WHO, at=T0)
    copy2 = duplicate_config(db, "mock-health-check", **WHO, at=T0)
    named = duplicate_config(db, "mock-health-check", new_id="health-2", **WHO)
    assert [copy1.id, copy2.id, named.id] == [
        "mock-health-check-copy",
        "mock-health-check-copy-2",
        "health-2",
    ]
    assert copy1.object.meta.title == "Health (copy)"
    # A copy never fires by surprise.
    assert copy1.object.payload.schedule.is_enabled is False
    assert copy1.next_run_at is None
    assert copy1.object.payload.parameters == job().payload.parameters
    with pytest.raises(AlreadyExists):
        duplicate_config(db, "mock-health-check", new_id="health-2", **WHO)


# --------------------------------------------------------------------------- revisions


def test_every_write_records_a_revision(db: Database) -> None:
    create_config(db, job(), actor="alice", source="ui", at=T0)
    record = get_config(db, "mock-health-check")
    update_config(
        db,
        edit(record.object, **{"payload.displayName": "Health v2"}),
        expected_version=1,
        actor="bob",
        source="api",
        at=T0 + timedelta(minutes=1),
    )
    set_enabled(
        db, "mock-health-check", False, actor="carol", source="cli", at=T0 + timedelta(minutes=2)
    )
    archive_config(db, "mock-health-check", actor="dave", source="ui", at=T0 + timedelta(minutes=3))
    delete_config(db, "mock-health-check", actor="erin", source="api", at=T0 + timedelta(minutes=4))
    revisions = list_revisions(db, "mock-health-check")
    assert [(r.version, r.actor, r.source) for r in revisions] == [
        (5, "erin", "api"),
        (4, "dave", "ui"),
        (3, "carol", "cli"),
        (2, "bob", "api"),
        (1, "alice", "ui"),
    ]
    assert [r.at for r in revisions] == [T0 + timedelta(minutes=m) for m in (4, 3, 2, 1, 0)]
    create, update = revisions[-1], revisions[-2]
    assert create.before is None
    assert create.after is not None and create.after["payload"]["displayName"] == (
        "Mock Health Check"
    )
    assert update.before == create.after
    assert update.after is not None and update.after["payload"]["displayName"] == "Health v2"
    diff = diff_json(update.before, update.after)
    assert diff == [("payload.displayName", "Mock Health Check", "Health v2")]
    assert revisions[2].after["payload"]["schedule"]["isEnabled"] is False  # type: ignore[index]
    assert revisions[1].after["meta"]["status"] == "archived"  # type: ignore[index]
    assert revisions[0].after is None


# --------------------------------------------------------------------------- list / filters


@pytest.fixture
def catalog(db: Database) -> Database:
    """Five configs with different types, tags, titles and enabled flags."""
    objects = [
        job("alpha-health", **{"meta.tags": ["ops"], "payload.displayName": "Zeta checks"}),
        job(
            "beta-digest",
            **{
                "meta.tags": ["ops", "mail"],
                "meta.description": "Sends the weekly newsletter",
                "payload.displayName": "Alpha digest",
                "payload.jobType": "notification-digest",
                "payload.parameters": {"eventTypes": ["failure"], "recipientIds": ["ops"]},
                "payload.schedule.cronExpression": "0 8 * * 1",
            },
        ),
        job(
            "gamma-cleanup",
            **{
                "payload.displayName": "Middle cleanup",
                "payload.jobType": "orphan-cleanup",
                "payload.parameters": {"entityTypes": ["x"], "orphanThresholdDays": 9},
                "payload.schedule.isEnabled": False,
            },
        ),
        job(
            "delta-synthetic",
            **{
                "payload.displayName": "Beta synthetic",
                "payload.jobType": "synthetic",
                "payload.parameters": {"items": 3},
                "payload.schedule.cronExpression": "0 * * * *",
            },
        ),
        job("epsilon-archived", **{"meta.status": "archived"}),
    ]
    for i, obj in enumerate(objects):
        create_config(db, obj, **WHO, at=T0 + timedelta(seconds=i))
    return db


def test_list_defaults(catalog: Database) -> None:
    assert ids(list_configs(catalog)) == [
        "alpha-health",
        "beta-digest",
        "delta-synthetic",
        "gamma-cleanup",
    ]


ALL_ACTIVE = ["alpha-health", "beta-digest", "delta-synthetic", "gamma-cleanup"]
FILTER_CASES = {
    "type": (ConfigQuery(type="job-config"), ALL_ACTIVE),
    "type-unknown": (ConfigQuery(type="no-such-type"), []),
    "enabled": (ConfigQuery(enabled=True), ["alpha-health", "beta-digest", "delta-synthetic"]),
    "disabled": (ConfigQuery(enabled=False), ["gamma-cleanup"]),
    "tag": (ConfigQuery(tag="ops"), ["alpha-health", "beta-digest"]),
    "tag-2": (ConfigQuery(tag="mail"), ["beta-digest"]),
    "text-description": (ConfigQuery(text="NEWSLETTER"), ["beta-digest"]),
    "text-id-or-name": (ConfigQuery(text="beta"), ["beta-digest", "delta-synthetic"]),
    "text-job-type": (ConfigQuery(text="orphan"), ["gamma-cleanup"]),
    "text-none": (ConfigQuery(text="zzz"), []),
    "filter-job-type": (ConfigQuery(filters={"jobType": "synthetic"}), ["delta-synthetic"]),
    "filter-enabled": (ConfigQuery(filters={"enabled": "false"}), ["gamma-cleanup"]),
    "with-archived": (
        ConfigQuery(filters={"jobType": "health-check"}, include_archived=True),
        ["alpha-health", "epsilon-archived"],
    ),
    "combined": (ConfigQuery(tag="ops", text="digest"), ["beta-digest"]),
}


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_list_filters(catalog: Database, query: ConfigQuery, expected: list[str]) -> None:
    assert ids(list_configs(catalog, query)) == expected


def test_list_sorts(catalog: Database) -> None:
    add_executions(catalog, "gamma-cleanup", ["success"], start=T0 + timedelta(hours=1))
    add_executions(catalog, "alpha-health", ["failed"], start=T0 + timedelta(hours=2))

    def by(sort: str) -> list[str]:
        return ids(list_configs(catalog, ConfigQuery(sort=sort)))

    assert by("title") == ["beta-digest", "delta-synthetic", "gamma-cleanup", "alpha-health"]
    assert by("updated") == ["delta-synthetic", "gamma-cleanup", "beta-digest", "alpha-health"]
    # Never-run and unscheduled configs sort last either way.
    assert by("lastRun")[:2] == ["alpha-health", "gamma-cleanup"]
    assert by("schedule")[-1] == "gamma-cleanup"
    schedule_order = by("schedule")[:3]
    next_runs = [get_config(catalog, i).next_run_at for i in schedule_order]
    assert next_runs == sorted(next_runs)  # type: ignore[type-var]
    with pytest.raises(ValidationFailed):
        by("no-such-sort")


def test_enabled_jobs_and_jobs_by_type(catalog: Database) -> None:
    enabled = [r.id for r in get_enabled_jobs(catalog)]
    assert enabled == ["alpha-health", "beta-digest", "delta-synthetic"]
    assert [r.id for r in get_jobs_by_type(catalog, "orphan-cleanup")] == ["gamma-cleanup"]
    assert get_jobs_by_type(catalog, "signal-aggregation") == []


def test_list_json_carries_state(catalog: Database) -> None:
    [execution_id] = add_executions(catalog, "alpha-health", ["partial"])
    view = list_configs(catalog, ConfigQuery(text="alpha-health"))[0]
    data = view.to_json()
    assert set(data) == {"meta", "payload", "state"}
    assert data["state"]["version"] == 1
    assert data["state"]["lastStatus"] == "partial"
    assert data["state"]["lastExecutionId"] == execution_id
    assert data["state"]["nextRunAt"].endswith("Z")


# --------------------------------------------------------------------------- executions


def test_a_list_reads_a_row_edited_behind_its_back(db: Database) -> None:
    # Parsed objects are kept per row content: a change that bypasses the store (same id,
    # version and timestamps) is still seen, and seen validated.
    create_config(db, job(), **WHO, at=T0)
    assert list_configs(db)[0].record.object.meta.title == job().meta.title
    meta = {**job().to_json_dict()["meta"], "title": "Edited in SQL"}
    with db.write() as session:
        session.execute(update(JobConfigRow.__table__).values(meta=meta))
    assert list_configs(db)[0].record.object.meta.title == "Edited in SQL"


class ProbeParams(CamelModel):
    size: int = 1


def _probe_handler(params: ProbeParams, ctx: Any) -> None:
    """Does nothing."""


def test_a_job_type_installed_after_a_read_is_seen_by_the_next(db: Database) -> None:
    job_type("memo-probe", parameters=ProbeParams)(_probe_handler)
    try:
        create_config(
            db, job(**{"payload.jobType": "memo-probe", "payload.parameters": {}}), **WHO, at=T0
        )
        assert list_configs(db)[0].record.object.payload.installed
        unregister("memo-probe")
        assert not list_configs(db)[0].record.object.payload.installed
        job_type("memo-probe", parameters=ProbeParams)(_probe_handler)
        assert list_configs(db)[0].record.object.payload.installed
    finally:
        unregister("memo-probe")


def test_last_runs_for_many_configs_in_one_query(db: Database) -> None:
    config_ids = [f"job-{i:02d}" for i in range(30)]
    for config_id in config_ids:
        create_config(db, job(config_id), **WHO, at=T0)
    newest: dict[str, int] = {}
    for i, config_id in enumerate(config_ids[:25]):
        statuses = ["failed", "success", "timed_out"][: 1 + i % 3]
        newest[config_id] = add_executions(db, config_id, statuses)[-1]

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        runs = last_runs(db, config_ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert {k: v.execution_id for k, v in runs.items()} == newest
    assert runs["job-02"].status == "timed_out"
    assert runs["job-01"].status == "success"
    assert runs["job-00"].status == "failed"
    assert runs["job-00"].duration_seconds == 5
    assert last_runs(db, []) == {}


def test_execution_history_paging(db: Database) -> None:
    create_config(db, job("a-job"), **WHO, at=T0)
    create_config(db, job("b-job"), **WHO, at=T0)
    a_ids = add_executions(db, "a-job", ["success", "failed"] * 12 + ["success"])
    add_executions(db, "b-job", ["success"] * 5)

    pages, before = [], None
    while True:
        page = execution_history(db, "a-job", limit=10, before_id=before)
        assert page.total == 25
        pages.append([e.id for e in page.items])
        before = page.next_before_id
        if before is None:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for p in pages for i in p] == sorted(a_ids, reverse=True)
    assert all(e.job_config_id == "a-job" for e in page.items)

    failed = execution_history(db, "a-job", statuses=["failed"], limit=100)
    assert failed.total == 12 and {e.status for e in failed.items} == {"failed"}
    everything = execution_history(db, limit=1000)
    assert everything.total == 30 and everything.next_before_id is None
    exact = execution_history(db, "b-job", limit=5)
    assert len(exact.items) == 5 and exact.next_before_id is None
    assert get_execution(db, a_ids[0]).items_processed == 0
    with pytest.raises(NotFound):
        get_execution(db, 10**9)


# --------------------------------------------------------------------------- next_run_at


def test_next_run_computed_on_create(db: Database) -> None:
    enabled = create_config(db, job("on"), **WHO, at=T0)
    assert (
        enabled.next_run_at == next_fire("*/5 * * * *", "UTC", T0) == T0.replace(minute=5, second=0)
    )
    disabled = create_config(db, job("off", **{"payload.schedule.isEnabled": False}), **WHO, at=T0)
    assert disabled.next_run_at is None


def test_next_run_recomputed_only_when_the_schedule_changes(db: Database) -> None:
    created = create_config(db, job(), **WHO, at=T0)
    later = T0 + timedelta(hours=3, minutes=1)

    # A change that leaves the schedule alone keeps the stored next run.
    renamed = update_config(
        db,
        edit(created.object, **{"payload.displayName": "Renamed"}),
        expected_version=1,
        **WHO,
        at=later,
    )
    assert renamed.next_run_at == created.next_run_at

    # A new cron expression restarts from the time of the save (no backfill).
    rescheduled = update_config(
        db,
        edit(renamed.object, **{"payload.schedule.cronExpression": "0 * * * *"}),
        expected_version=2,
        **WHO,
        at=later,
    )
    assert rescheduled.next_run_at == next_fire("0 * * * *", "UTC", later)

    # So does a new timezone.
    moved = update_config(
        db,
        edit(rescheduled.object, **{"payload.schedule.timezone": "Asia/Kolkata"}),
        expected_version=3,
        **WHO,
        at=later,
    )
    assert moved.next_run_at == next_fire("0 * * * *", "Asia/Kolkata", later)
    assert moved.next_run_at != rescheduled.next_run_at

    # Disabling clears it; re-enabling computes from now, not from when it was disabled.
    off = set_enabled(db, "mock-health-check", False, **WHO, at=later)
    assert off.next_run_at is None
    much_later = later + timedelta(days=2, minutes=7)
    on = set_enabled(db, "mock-health-check", True, **WHO, at=much_later)
    assert on.next_run_at == next_fire("0 * * * *", "Asia/Kolkata", much_later)


# --------------------------------------------------------------------------- apply / export


class NotePayload(CamelModel):
    text: str = Field(min_length=1)


@pytest.fixture
def note_type() -> Iterator[None]:
    register_type(
        ExperienceType(
            type="test-note",
            label="Note",
            icon=":material/note:",
            emoji="📝",
            color="#000000",
            description="A test-only type.",
            payload_model=NotePayload,
            default_payload=lambda: NotePayload(text="note"),
        )
    )
    try:
        yield
    finally:
        unregister_type("test-note")


def test_apply_creates_updates_and_reports(db: Database) -> None:
    create_config(db, job("existing"), **WHO, at=T0)
    create_config(db, job("untouched"), **WHO, at=T0)
    objects = [
        job("existing", **{"payload.limits.batchSize": 99}),
        job("fresh"),
        job("untouched"),
    ]
    changes = apply_objects(db, objects, actor="ci", source="cli", at=T0)
    assert [(c.id, c.action) for c in changes] == [
        ("existing", "update"),
        ("fresh", "create"),
        ("untouched", "unchanged"),
    ]
    assert changes[0].diff == [("payload.limits.batchSize", 10, 99)]
    assert get_config(db, "existing").version == 2
    assert get_config(db, "untouched").version == 1
    assert get_config(db, "fresh").object.meta.created_by == "ci"
    assert list_revisions(db, "fresh")[0].source == "cli"


def test_apply_is_all_or_nothing(db: Database, note_type: None) -> None:
    create_config(db, job("existing"), **WHO, at=T0)
    before = export_objects(db)
    revisions = revision_count(db)
    # Valid on its own, but turns "existing" into another type: rejected inside the transaction,
    # after the first object was already written to it.
    retyped = parse_grove_object(
        {"meta": {"id": "existing", "type": "test-note"}, "payload": {"text": "hi"}}
    )
    with pytest.raises(ValidationFailed) as caught:
        apply_objects(db, [job("brand-new"), retyped], actor="ci", source="cli")
    assert [e.path for e in caught.value.errors] == ["meta.type"]
    assert find_config(db, "brand-new") is None
    assert export_objects(db) == before
    assert revision_count(db) == revisions


def test_apply_of_an_invalid_list_writes_nothing(db: Database) -> None:
    bad = copy.deepcopy(MOCK_HEALTH_CHECK)
    bad["meta"]["id"] = "second"
    bad["payload"]["retry"]["maxAttempts"] = 0
    with pytest.raises(ValidationFailed) as caught:
        apply_objects(db, parse_objects([MOCK_HEALTH_CHECK, bad]), actor="ci", source="cli")
    assert [e.path for e in caught.value.errors] == ["[1].payload.retry.maxAttempts"]
    assert export_objects(db) == []
    with pytest.raises(ValidationFailed, match="more than once"):
        apply_objects(db, [job("twice"), job("twice")], actor="ci", source="cli")
    assert export_objects(db) == []


def test_dry_run_writes_nothing(db: Database) -> None:
    create_config(db, job("existing"), **WHO, at=T0)
    before = export_objects(db)
    revisions = revision_count(db)
    changes = apply_objects(
        db,
        [job("existing", **{"payload.displayName": "New name"}), job("fresh")],
        actor="ci",
        source="cli",
        dry_run=True,
    )
    assert [(c.id, c.action) for c in changes] == [("existing", "update"), ("fresh", "create")]
    assert changes[0].diff == [("payload.displayName", "Mock Health Check", "New name")]
    assert export_objects(db) == before
    assert revision_count(db) == revisions
    assert find_config(db, "fresh") is None


def test_export_apply_export_is_identical(db: Database) -> None:
    apply_objects(db, parse_objects(demo_objects()), actor="seed", source="cli", at=T0)
    archive_config(db, "synthetic-hang", **WHO, at=T0)
    first = export_objects(db)
    assert [o["meta"]["id"] for o in first] == sorted(o["meta"]["id"] for o in first)
    assert "synthetic-hang" in [o["meta"]["id"] for o in first]  # archived ones are exported
    with db.read() as session:
        versions = dict(session.execute(select(JobConfigRow.id, JobConfigRow.version)).all())
    revisions = revision_count(db)

    changes = apply_objects(db, parse_objects(first), actor="someone-else", source="api")
    assert {c.action for c in changes} == {"unchanged"}
    assert export_objects(db) == first
    assert revision_count(db) == revisions
    with db.read() as session:
        assert dict(session.execute(select(JobConfigRow.id, JobConfigRow.version)).all()) == (
            versions
        )
