"""Streamlit AppTest smoke tests of every dashboard page, against a migrated SQLite file with
the demo data: no exception, the key widgets are there, and the write paths behave (field
errors save nothing, conflicts keep the user's edits, Run Now is idempotent)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from dashboard import context, data
from grove_jobs import demo
from grove_jobs.alerts import store as alert_store
from grove_jobs.alerts.rules import CONSECUTIVE_FAILURES, Finding
from grove_jobs.clock import utcnow
from grove_jobs.configs.query import ConfigQuery, list_configs
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import get_config, update_config
from grove_jobs.configs.transfer import parse_objects
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import execution_history

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 30
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, demo-seeded database per module; each test gets a copy."""
    path = tmp_path_factory.mktemp("dashboard-template") / "grove.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        demo.seed(db, actor="test@grove.invalid")
    finally:
        db.dispose()
    return path


@pytest.fixture
def db(
    _seeded_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """The demo database, and the dashboard pointed at it (fresh caches)."""
    path = tmp_path / "grove.db"
    shutil.copyfile(_seeded_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("GROVE_DATABASE_URL", url)
    monkeypatch.setenv("GROVE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GROVE_ANONYMOUS_ROLE", "admin")  # the local user, as under make run
    context.reset()
    data.clear()
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        context.reset()
        data.clear()


def console() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()


def inspector(config_id: str, tab: str | None = None) -> AppTest:
    at = console()
    at.query_params["config"] = config_id
    if tab:
        at.query_params["tab"] = tab
    return at.switch_page("views/inspector.py").run()


def field(config_id: str, version: int, path: str) -> str:
    return f"ed:{config_id}:v{version}|{path}"


def texts(elements) -> str:
    """Element texts joined, markdown escapes removed (what a reader sees)."""
    return "\n".join(str(e.value) for e in elements).replace("\\", "")


def test_console_shows_cards_toolbar_and_metrics(db: Database) -> None:
    at = console()
    assert not at.exception
    labels = [b.label for b in at.button]
    assert any("Job Configuration · 8" in label for label in labels)
    assert any("Advancement Rule · 4" in label for label in labels)
    assert at.text_input(key="console-q-job-config") is not None
    assert {m.label for m in at.metric} >= {"Showing", "Enabled", "Failing", "Alerting"}
    assert "Daily Advancement" in texts(at.markdown)
    toggles = [t for t in at.toggle if str(t.key).startswith("enabled:")]
    assert len(toggles) == 8
    assert at.button(key="run:daily-advancement").label == "Run Now"


def test_console_search_narrows_the_grid(db: Database) -> None:
    at = console()
    at.text_input(key="console-q-job-config").set_value("flaky").run()
    assert not at.exception
    cards = [t for t in at.toggle if str(t.key).startswith("enabled:")]
    assert [t.key for t in cards] == ["enabled:synthetic-flaky:v1"]


def test_console_draws_other_registered_types_generically(db: Database) -> None:
    at = console()
    at.button(key="type-button:advancement-rule").click().run()
    assert not at.exception
    cards = [t for t in at.toggle if str(t.key).startswith("enabled:")]
    assert len(cards) == 4
    assert not [b for b in at.button if str(b.key).startswith("run:")]  # rules cannot run


def test_enabled_toggle_disables_the_schedule(db: Database) -> None:
    at = console()
    at.toggle(key="enabled:mock-health-check:v1").set_value(False).run()
    assert not at.exception
    record = get_config(db, "mock-health-check")
    assert record.object.payload.schedule.is_enabled is False
    assert record.next_run_at is None
    assert "Disabled" in texts(at.markdown)


def test_run_now_twice_queues_one_run(db: Database) -> None:
    at = console()
    at.button(key="run:daily-advancement").click().run()
    at.button(key="run:daily-advancement").click().run()
    assert not at.exception
    page = execution_history(db, "daily-advancement")
    assert page.total == 1
    assert page.items[0].requested_by == "local@grove.invalid"


def test_inspector_configuration_tab(db: Database) -> None:
    at = inspector("daily-advancement")
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Configuration", "Execution Status", "History of changes"]
    cron = at.text_input(key=field("daily-advancement", 1, "payload.schedule.cronExpression"))
    assert cron.value == "0 2 * * *"
    zone = at.selectbox(key=field("daily-advancement", 1, "payload.schedule.timezone"))
    assert zone.value == "UTC"
    batch = at.number_input(key=field("daily-advancement", 1, "payload.limits.batchSize"))
    assert batch.value == 100
    period = at.selectbox(key=field("daily-advancement", 1, "payload.parameters.signalPeriod"))
    assert period.value == "last_30d"
    tiers = at.multiselect(key=field("daily-advancement", 1, "payload.parameters.fromTiers"))
    assert tiers.options == ["seed", "sprout", "sapling", "tree", "grove"]
    assert "At 02:00 AM (UTC)" in texts(at.info)
    assert at.button(key="save") is not None


def test_invalid_cron_shows_the_field_error_and_saves_nothing(db: Database) -> None:
    before = get_config(db, "daily-advancement")
    at = inspector("daily-advancement")
    at.text_input(key=field("daily-advancement", 1, "payload.schedule.cronExpression")).set_value(
        "61 * * * *"
    ).run()
    at.button(key="save").click().run()
    assert not at.exception
    assert "invalid minute field" in texts(at.error)
    after = get_config(db, "daily-advancement")
    assert after.version == before.version
    assert after.object.payload.schedule.cron_expression == "0 2 * * *"


def test_unknown_timezone_shows_the_field_error(db: Database) -> None:
    at = console()
    # A typed new option, as the browser would send it (AppTest cannot type into a selectbox).
    at.session_state["_drafts"] = {
        field("daily-advancement", 1, "payload.schedule.timezone"): "Mars/Olympus_Mons"
    }
    at.query_params["config"] = "daily-advancement"
    at.switch_page("views/inspector.py").run()
    at.button(key="save").click().run()
    assert not at.exception
    assert "unknown timezone 'Mars/Olympus_Mons'" in texts(at.error).replace("\\", "")
    schedule = get_config(db, "daily-advancement").object.payload.schedule
    assert schedule.timezone == "UTC"


def test_saving_a_new_cron_confirms_the_next_run(db: Database) -> None:
    at = inspector("daily-advancement")
    at.text_input(key=field("daily-advancement", 1, "payload.schedule.cronExpression")).set_value(
        "0 3 * * *"
    ).run()
    at.button(key="save").click().run()
    assert not at.exception
    confirmation = texts(at.success).replace("\\", "")
    assert "Schedule updated" in confirmation
    assert "3:00 AM UTC" in confirmation
    assert get_config(db, "daily-advancement").object.payload.schedule.cron_expression == (
        "0 3 * * *"
    )


def test_version_conflict_keeps_the_users_edits(db: Database) -> None:
    at = inspector("daily-advancement")
    batch_key = field("daily-advancement", 1, "payload.limits.batchSize")
    at.number_input(key=batch_key).set_value(50).run()
    # Someone else saves while the form is open.
    record = get_config(db, "daily-advancement")
    theirs = record.object.to_json_dict()
    theirs["payload"]["limits"]["timeoutSeconds"] = 120
    update_config(
        db,
        parse_objects(theirs)[0],
        expected_version=1,
        actor="other@grove.invalid",
        source="cli",
    )
    at.button(key="save").click().run()
    assert not at.exception
    message = texts(at.error).replace("\\", "")
    assert "other@grove.invalid" in message
    assert "saved version 2 while you were editing version 1" in message
    assert at.number_input(key=batch_key).value == 50  # the edit survived
    assert get_config(db, "daily-advancement").version == 2
    at.button(key="overwrite").click().run()
    assert not at.exception
    saved = get_config(db, "daily-advancement")
    assert saved.version == 3
    assert saved.object.payload.limits.batch_size == 50


def test_inspector_execution_status_tab(db: Database) -> None:
    failed = run_now(db, "synthetic-flaky", requested_by="test@grove.invalid")
    with db.write() as session:
        session.execute(
            update(JobExecutionRow)
            .where(JobExecutionRow.id == failed.id)
            .values(status="failed", attempt=1, error=f"boom {HOSTILE}")
        )
    active = run_now(db, "synthetic-flaky", requested_by="test@grove.invalid")
    at = inspector("synthetic-flaky", tab="Execution Status")
    assert not at.exception
    headings = texts(at.markdown)
    assert "Latest run" in headings and "History" in headings and "Trends" in headings
    assert at.button(key=f"retry:{failed.id}") is not None
    assert at.button(key=f"cancel:{active.id}") is not None
    assert at.button(key=f"logs:{failed.id}") is not None
    at.button(key=f"retry:{failed.id}").click().run()
    at.button(key=f"retry:{failed.id}").click().run()
    retries = [e for e in execution_history(db, "synthetic-flaky").items if e.trigger == "retry"]
    assert len(retries) == 1  # the second click reused the request id


def test_inspector_history_of_changes_tab_restores(db: Database) -> None:
    at = inspector("daily-advancement")
    batch_key = field("daily-advancement", 1, "payload.limits.batchSize")
    at.number_input(key=batch_key).set_value(40).run()
    at.button(key="save").click().run()
    assert get_config(db, "daily-advancement").version == 2
    at.query_params["tab"] = "History of changes"
    at.run()
    assert not at.exception
    first = list_revisions(db, "daily-advancement")[-1]
    assert "payload.limits.batchSize: 100 → 40" in texts(at.code)
    at.button(key=f"restore:{first.id}").click().run()
    restored = get_config(db, "daily-advancement")
    assert (restored.version, restored.object.payload.limits.batch_size) == (3, 100)


def test_schedule_preview_flags_dst_changes(db: Database) -> None:
    at = inspector("daily-advancement")
    cron_key = field("daily-advancement", 1, "payload.schedule.cronExpression")
    at.text_input(key=cron_key).set_value("0 2 1 * *").run()
    zone_key = field("daily-advancement", 1, "payload.schedule.timezone")
    at.selectbox(key=zone_key).set_value("America/Los_Angeles").run()
    assert not at.exception
    preview = texts(at.text)
    # Monthly at 02:00 Pacific: within five months one fire falls on the other side of a
    # DST switch (whatever month the test runs in), and it is flagged.
    assert "DST change" in preview
    assert "PST" in preview or "PDT" in preview


def test_run_with_overrides_shows_errors_by_field(db: Database) -> None:
    at = inspector("weekday-notification-digest")
    at.button(key="inspector-override").click().run()
    assert not at.exception
    ns = "ov:weekday-notification-digest:v1"
    at.text_area(key=f"{ns}|parameters.eventTypes").set_value("").run()
    at.button(key="override-run").click().run()
    assert not at.exception
    assert "at least 1 item" in texts(at.error)
    assert execution_history(db, "weekday-notification-digest").total == 0
    at.text_area(key=f"{ns}|parameters.eventTypes").set_value("failure").run()
    at.button(key="override-run").click().run()
    run = execution_history(db, "weekday-notification-digest").items[0]
    assert run.parameter_overrides == {"eventTypes": ["failure"]}


def test_duplicate_and_delete(db: Database) -> None:
    at = inspector("weekly-orphan-cleanup")
    at.button(key="inspector-duplicate").click().run()
    assert not at.exception
    copy = get_config(db, "weekly-orphan-cleanup-copy")
    assert copy.object.payload.schedule.is_enabled is False
    assert at.query_params["config"] == "weekly-orphan-cleanup-copy"
    at.button(key="inspector-delete").click().run()
    at.button(key="archive-confirm").click().run()
    assert not at.exception
    assert get_config(db, "weekly-orphan-cleanup-copy").object.meta.status == "archived"


def test_new_config_page_creates_from_the_default_payload(db: Database) -> None:
    at = console()
    at.switch_page("views/new_config.py").run()
    assert not at.exception
    at.selectbox(key="new.job_type").set_value("synthetic").run()
    at.text_input(key="new.id").set_value("Not A Slug").run()
    at.button(key="new.create").click().run()
    assert "not a slug" in texts(at.error)
    at.text_input(key="new.id").set_value("my-synthetic").run()
    at.text_input(key="new.title").set_value("My synthetic job").run()
    at.button(key="new.create").click().run()
    assert not at.exception
    record = get_config(db, "my-synthetic")
    assert record.object.payload.job_type == "synthetic"
    assert record.object.payload.schedule.is_enabled is False
    assert record.object.meta.title == "My synthetic job"


def test_advancement_rule_gets_a_generated_editor(db: Database) -> None:
    rule = list_configs(db, ConfigQuery(type="advancement-rule"))[0].record
    at = inspector(rule.id)
    assert not at.exception
    keys = {str(w.key) for w in [*at.selectbox, *at.number_input, *at.toggle]}
    assert field(rule.id, rule.version, "payload.fromTier") in keys
    assert field(rule.id, rule.version, "payload.criteria.0.threshold") in keys


def test_hostile_title_is_text_everywhere(db: Database) -> None:
    record = get_config(db, "synthetic-hang")
    document = record.object.to_json_dict()
    document["meta"]["title"] = HOSTILE
    update_config(db, parse_objects(document)[0], expected_version=1, actor="t", source="cli")
    for at in (console(), inspector("synthetic-hang")):
        assert not at.exception
        markdown = [m for m in [*at.markdown, *at.header] if "img" in str(m.value)]
        assert markdown, "the title is shown"
        for element in at.markdown:
            assert not element.proto.allow_html
        # Escaped for markdown: the brackets are literal characters, not a tag.
        assert all(HOSTILE not in str(m.value) for m in markdown)


def test_open_alerts_show_on_the_card_and_in_the_inspector(db: Database) -> None:
    finding = Finding(CONSECUTIVE_FAILURES, f"3 runs in a row failed {HOSTILE}")
    assert alert_store.open_incident(db, "synthetic-hang", finding, utcnow()) is not None
    at = console()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Alerting"] == "1"
    # st.badge is markdown: one red badge naming the rule, on that card only.
    badges = [m for m in at.markdown if ":red-badge[" in str(m.value) and "Failing" in str(m.value)]
    assert len(badges) == 1
    at = inspector("synthetic-hang")
    assert not at.exception
    (warning,) = [w for w in at.warning if "open alert" in str(w.value)]
    shown = str(warning.value)
    assert "Failing repeatedly" in shown and "3 runs in a row failed" in shown
    assert HOSTILE not in shown  # escaped, shown as text


def test_a_plugin_that_cannot_load_stops_the_dashboard_naming_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grove_jobs.jobs import discovery

    monkeypatch.setenv("GROVE_JOB_MODULES", "team_jobs_that_do_not_exist")
    try:
        at = console()
        assert not at.exception
        message = texts(at.error)
        assert "team_jobs_that_do_not_exist" in message
        assert "ModuleNotFoundError" in message
        assert not at.toggle  # nothing else was drawn
    finally:
        discovery.discover("")


def test_a_config_of_an_uninstalled_type_is_shown_and_refused(db: Database) -> None:
    with db.write() as session:
        row = session.get(JobConfigRow, "synthetic-flaky")
        payload = {**row.payload, "jobType": "retired-type"}
        payload["parameters"] = {**payload["parameters"], "jobType": "retired-type"}
        session.execute(
            update(JobConfigRow)
            .where(JobConfigRow.id == "synthetic-flaky")
            .values(payload=payload, version=row.version + 1)  # as any write makes
        )
    at = console()
    assert not at.exception
    assert "job type not installed" in texts(at.markdown)
    at = inspector("synthetic-flaky")
    assert not at.exception
    assert "Editing is refused" in texts(at.error)
    assert not [b for b in at.button if b.key == "save"]


def test_alert_targets_and_owners_are_edited_and_urls_refused(db: Database) -> None:
    at = inspector("daily-advancement")
    targets = at.text_area(key=field("daily-advancement", 1, "payload.alerts.targets"))
    targets.set_value("slack://T000/B000/XXXX").run()
    at.button(key="save").click().run()
    assert not at.exception
    assert "looks like a URL" in texts(at.error)
    assert get_config(db, "daily-advancement").version == 1  # nothing saved
    at.text_area(key=field("daily-advancement", 1, "payload.alerts.targets")).set_value(
        "team-slack\nops-mail"
    ).run()
    at.text_area(key=field("daily-advancement", 1, "payload.owners")).set_value(
        "ana@example.com"
    ).run()
    at.button(key="save").click().run()
    assert not at.exception
    payload = get_config(db, "daily-advancement").object.payload
    assert payload.alerts.targets == ["team-slack", "ops-mail"]
    assert payload.owners == ["ana@example.com"]
