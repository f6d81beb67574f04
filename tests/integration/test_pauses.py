"""Global pause and maintenance windows on SQLite and PostgreSQL, with an injected clock:
the tick records every covered fire time as skipped (also after an outage), the claim holds
queued and retrying runs back, and the CLI and API drive it all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from grove_jobs.auth.admin_audit import list_admin_events
from grove_jobs.cli import main
from grove_jobs.configs.query import list_configs
from grove_jobs.configs.upcoming import scheduled_configs, upcoming
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.engine import dispatch
from grove_jobs.engine.enqueue import run_now
from grove_jobs.engine.tick import tick
from grove_jobs.pauses.store import pause, pause_status, resume
from grove_jobs.pauses.windows import WindowSpec, add_window, blackouts_between
from scheduler.api.app import create_app
from tests.factories import create, synthetic_config
from tests.integration.test_api_support import ApiClient, api_settings, make_token

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _runs(db, config_id):
    with db.read() as session:
        rows = session.scalars(
            select(JobExecutionRow)
            .where(JobExecutionRow.config_id == config_id)
            .order_by(JobExecutionRow.scheduled_for, JobExecutionRow.id)
        )
        return [(r.scheduled_for, r.status, r.error) for r in rows]


def _every_minute(db, config_id="m", tags=None, **kwargs):
    config = synthetic_config(config_id, cron="* * * * *", enabled=True, **kwargs)
    if tags:
        config["meta"]["tags"] = tags
    return create(db, config, at=T0)


def _claim(db, at):
    return dispatch.claim(db, worker_id="w", limit=10, at=at)


def test_a_tick_inside_a_pause_is_skipped_with_the_reason_and_resume_runs_the_next(db):
    _every_minute(db)
    pause(db, reason="db migration", by="ann", source="cli", at=T0 + timedelta(seconds=30))
    tick(db, at=T0 + MIN)
    resume(db, by="ann", source="cli", at=T0 + MIN + timedelta(seconds=30))
    tick(db, at=T0 + 2 * MIN)
    assert _runs(db, "m") == [
        (T0 + MIN, "skipped", "paused: db migration"),
        (T0 + 2 * MIN, "queued", None),
    ]


def test_ticks_owed_from_an_outage_inside_a_pause_never_run_by_the_misfire_policy(db):
    # Every sidecar was stopped from 12:00 to 12:10; the pause covered 12:00-12:05.
    _every_minute(db, misfire="run_all", grace=30, max_concurrent=10)
    pause(db, reason="upgrade", by="ann", source="cli", at=T0)
    resume(db, by="ann", source="cli", at=T0 + 5 * MIN + timedelta(seconds=30))
    tick(db, at=T0 + 10 * MIN)
    runs = _runs(db, "m")
    assert [r for r in runs if r[1] == "skipped"] == [
        (T0 + i * MIN, "skipped", "paused: upgrade") for i in range(1, 6)
    ]
    assert [r[0] for r in runs if r[1] == "queued"] == [T0 + i * MIN for i in range(6, 11)]


def test_a_pause_with_until_ends_by_itself(db):
    _every_minute(db)
    pause(db, reason="short", until=T0 + 90 * timedelta(seconds=1), by="a", source="cli", at=T0)
    assert pause_status(db, at=T0 + MIN).paused
    assert not pause_status(db, at=T0 + 2 * MIN).paused
    tick(db, at=T0 + MIN)
    tick(db, at=T0 + 2 * MIN)
    assert [r[1] for r in _runs(db, "m")] == ["skipped", "queued"]


def test_while_paused_queued_runs_wait_and_manual_runs_start_unless_held(db):
    _every_minute(db, max_concurrent=5)
    tick(db, at=T0 + MIN)  # a scheduled run, queued before the pause
    pause(db, reason="hold", by="a", source="cli", at=T0 + MIN)
    manual = run_now(db, "m", requested_by="bob", at=T0 + MIN)
    claimed = _claim(db, T0 + MIN + timedelta(seconds=1))
    assert [c.execution_id for c in claimed] == [manual.id]

    pause(db, reason="hold all", hold_manual=True, by="a", source="cli", at=T0 + 2 * MIN)
    held = run_now(db, "m", requested_by="bob", request_id="second", at=T0 + 2 * MIN)
    assert _claim(db, T0 + 2 * MIN + timedelta(seconds=1)) == []

    resume(db, by="a", source="cli", at=T0 + 3 * MIN)
    ids = {c.execution_id for c in _claim(db, T0 + 3 * MIN)}
    assert held.id in ids and len(ids) == 2


def test_a_recurring_window_for_a_tag_covers_only_configs_with_that_tag(db):
    _every_minute(db, "tagged", tags=["db"])
    _every_minute(db, "other", tags=["web"], max_concurrent=5)
    add_window(
        db,
        WindowSpec("db upgrade", cron_expression="1 12 * * *", duration_minutes=2, tag="db"),
        by="a",
        source="cli",
        at=T0,
    )
    for minute in (1, 2, 3):
        tick(db, at=T0 + minute * MIN)
    assert [r[1:] for r in _runs(db, "tagged")] == [
        ("skipped", "maintenance: db upgrade"),
        ("skipped", "maintenance: db upgrade"),
        ("queued", None),
    ]
    assert [r[1] for r in _runs(db, "other")] == ["queued"] * 3
    # A queued run of a covered config waits during the next occurrence; others start.
    occurrence = T0 + timedelta(days=1, minutes=1, seconds=5)
    with db.write() as session:
        session.execute(update(JobExecutionRow).values(run_after=T0))
    started = {c.config_id for c in _claim(db, occurrence)}
    assert started == {"other"}
    windows = blackouts_between(db, T0, T0 + timedelta(days=1, hours=1)).intervals
    assert [(w.start, w.end, w.name, w.tag) for w in windows] == [
        (T0 + MIN, T0 + 3 * MIN, "db upgrade", "db"),
        (T0 + timedelta(days=1, minutes=1), T0 + timedelta(days=1, minutes=3), "db upgrade", "db"),
    ]


def test_upcoming_marks_skipped_exactly_the_fires_the_tick_skips(db):
    """Upcoming uses the tick's own intervals: what it says a pause or window skips is what
    the tick then records as skipped, and nothing else."""
    _every_minute(db, "tagged", tags=["db"], max_concurrent=10)
    _every_minute(db, "other", tags=["web"], max_concurrent=10)
    add_window(
        db,
        WindowSpec("db upgrade", cron_expression="2 12 * * *", duration_minutes=2, tag="db"),
        by="a",
        source="cli",
        at=T0,
    )
    pause(db, reason="deploy", until=T0 + 6 * MIN, by="a", source="cli", at=T0 + 5 * MIN)
    configs = scheduled_configs(view.record for view in list_configs(db))
    end = T0 + 8 * MIN
    plan = upcoming(configs, T0, end, blackouts_between(db, T0, end))
    for minute in range(1, 9):
        tick(db, at=T0 + minute * MIN)
    for config_id in ("tagged", "other"):
        recorded = {at: error for at, status, error in _runs(db, config_id) if status == "skipped"}
        assert plan.skipped.get(config_id, {}) == recorded
    assert plan.skipped["tagged"] == {
        T0 + 2 * MIN: "maintenance: db upgrade",
        T0 + 3 * MIN: "maintenance: db upgrade",
        T0 + 5 * MIN: "paused: deploy",
    }
    assert plan.runs + plan.skipped_total == 16


def test_a_one_off_window_shows_in_status(db):
    add_window(
        db,
        WindowSpec("switch", starts_at=T0, ends_at=T0 + 10 * MIN),
        by="a",
        source="cli",
        at=T0,
    )
    status = pause_status(db, at=T0 + MIN).to_json()
    assert status["paused"] is False
    assert [w["name"] for w in status["activeWindows"]] == ["switch"]
    assert pause_status(db, at=T0 + 10 * MIN).active_windows == []


def _cli(db, *args):
    return CliRunner().invoke(main, ["--database-url", db.url, *args], env={"GROVE_ACTOR": "ann"})


def test_cli_pause_status_resume_and_maintenance(db):
    result = _cli(db, "pause", "--reason", "migrating", "--hold-manual")
    assert result.exit_code == 0, result.output
    status = json.loads(_cli(db, "status", "--json").output)
    assert {k: status[k] for k in ("paused", "reason", "by", "holdManual")} == {
        "paused": True,
        "reason": "migrating",
        "by": "ann",
        "holdManual": True,
    }
    assert set(status) == {
        "paused",
        "reason",
        "since",
        "until",
        "by",
        "holdManual",
        "activeWindows",
    }
    assert _cli(db, "resume").exit_code == 0
    assert json.loads(_cli(db, "status", "--json").output)["paused"] is False
    added = _cli(db, "maintenance", "add", "sunday", "--cron", "0 2 * * 0", "--duration", "60")
    assert added.exit_code == 0, added.output
    assert "sunday" in _cli(db, "maintenance", "list").output
    assert _cli(db, "maintenance", "remove", "sunday").exit_code == 0
    actions = [e.action for e in list_admin_events(db)]
    assert actions == ["window.remove", "window.add", "resume", "pause"]


def test_cli_refuses_bad_input_naming_the_field_and_changes_nothing(db):
    for args, field in (
        (["pause", "--reason", "  "], "reason"),
        (["pause", "--reason", "x", "--until", "2001-01-01T00:00Z"], "until"),
        (["maintenance", "add", "w", "--cron", "0 2 * * *"], "duration"),
        (
            [
                "maintenance",
                "add",
                "w",
                "--cron",
                "0 2 * * *",
                "--duration",
                "5",
                "--timezone",
                "Mars/Base",
            ],
            "timezone",
        ),
        (["maintenance", "add", "w", "--start", "2030-01-01T02:00Z"], "end"),
    ):
        result = _cli(db, *args)
        assert result.exit_code != 0
        assert f"{field}:" in result.output, result.output
    assert not pause_status(db).paused
    assert _cli(db, "maintenance", "list", "--json").output.strip() == "[]"
    assert list_admin_events(db) == []


def test_api_status_needs_read_and_pause_needs_the_admin_scope(db):
    app = create_app(db, api_settings(db))
    reader = ApiClient(app, make_token(db, "read", "run", "write", name="reader"))
    admin = ApiClient(app, make_token(db, "admin", name="ops"))
    assert reader.get("/api/status").json()["paused"] is False
    assert reader.post("/api/pause", json={"reason": "x"}).status_code == 403
    assert admin.get("/api/status").status_code == 403  # scopes are independent

    bad = admin.post("/api/pause", json={"reason": "", "until": "2026-01-01T00:00:00"})
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["detail"]} >= {"reason", "until"}

    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    paused = admin.post("/api/pause", json={"reason": "deploy", "until": until})
    assert paused.status_code == 200, paused.text
    assert (paused.json()["paused"], paused.json()["by"]) == (True, "token:ops")
    assert reader.get("/api/status").json()["reason"] == "deploy"
    resumed = admin.post("/api/resume").json()
    assert (resumed["resumed"], resumed["paused"]) == (True, False)
    assert admin.post("/api/resume").json()["resumed"] is False
    sources = [(e.action, e.source, e.actor) for e in list_admin_events(db)[:2]]
    assert sources == [("resume", "api", "token:ops"), ("pause", "api", "token:ops")]


def test_config_rows_keep_advancing_while_paused(db):
    _every_minute(db)
    pause(db, reason="p", by="a", source="cli", at=T0)
    tick(db, at=T0 + 3 * MIN)
    with db.read() as session:
        next_run = session.scalar(select(JobConfigRow.next_run_at).where(JobConfigRow.id == "m"))
    assert next_run == T0 + 4 * MIN
