"""The user stories, in Chromium, against a real scheduler and a real Streamlit server.

Every wait is a Playwright expectation or a bounded poll of the database; nothing sleeps for a
fixed time. Screenshots of the grid and both inspector tabs go to tests/artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from dashboard.components.fields import field_key_class
from grove_jobs.configs.store import get_config
from grove_jobs.db.tables import JobExecutionRow, SchedulerNodeRow
from grove_jobs.executions.queries import execution_history
from grove_jobs.schema.execution import Execution
from tests.e2e.conftest import READY_TIMEOUT_MS, wait_until_ready

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

T = TypeVar("T")
# Bounds on the page's own ready state, not expected durations (see conftest).
LOAD_TIMEOUT = RUN_TIMEOUT = READY_TIMEOUT_MS


def eventually(
    probe: Callable[[], T | None], timeout: float = READY_TIMEOUT_MS / 1000, what: str = ""
) -> T:
    """Poll ``probe`` (a database read) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or probe}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def open_console(page: Page, stack: Stack) -> None:
    page.goto(stack.url())
    expect(page.get_by_role("heading", name="Jobs console")).to_be_visible(timeout=LOAD_TIMEOUT)
    wait_until_ready(page)


def open_inspector(page: Page, stack: Stack, config_id: str, tab: str | None = None) -> None:
    query = {"config": config_id, **({"tab": tab} if tab else {})}
    page.goto(stack.url(f"inspector?{urlencode(query)}"))
    expect(page.get_by_role("tab", name="Configuration")).to_be_visible(timeout=LOAD_TIMEOUT)
    wait_until_ready(page)
    if tab is None:
        expect(page.get_by_role("button", name="Save changes")).to_be_visible()


def field(page: Page, path: str) -> Locator:
    """The container of one form field (its widget and its errors)."""
    return page.locator(f".st-key-{field_key_class(path)}")


def commit(page: Page, path: str, value: str) -> None:
    """Type into a text or number field and commit it (Enter), as a user would."""
    box = field(page, path).locator("input")
    box.fill(value)
    box.press("Enter")
    expect(page.get_by_text("Unsaved changes")).to_be_visible()


def save(page: Page) -> None:
    page.locator(".st-key-save button").click()


def latest(stack: Stack, config_id: str) -> Execution | None:
    items = execution_history(stack.db, config_id, limit=1).items
    return items[0] if items else None


def settle(page: Page) -> None:
    """Wait until the script run is over and every element is drawn (no skeletons)."""
    wait_until_ready(page)


def screenshot(page: Page, path: Path, height: int = 2200) -> None:
    """A tall viewport: Streamlit scrolls inside the page, so full_page alone is not enough."""
    size = page.viewport_size or {"width": 1440, "height": 1000}
    page.set_viewport_size({"width": size["width"], "height": height})
    settle(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def test_us1_change_the_daily_cron_and_see_the_next_run(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    open_inspector(page, stack, "daily-advancement")
    commit(page, "payload.schedule.cronExpression", "0 3 * * *")
    expect(page.get_by_text("At 03:00 AM (UTC)")).to_be_visible()
    save(page)
    confirmation = page.get_by_test_id("stAlert").filter(has_text="Schedule updated")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text("3:00 AM UTC")
    preview = page.locator(".st-key-schedule-preview")
    expect(preview).to_contain_text("03:00 AM UTC")
    stored = get_config(stack.db, "daily-advancement")
    assert stored.object.payload.schedule.cron_expression == "0 3 * * *"
    screenshot(page, artifacts / "inspector-configuration.png")


def test_us2_batch_size_50_limits_the_next_run(page: Page, stack: Stack) -> None:
    open_inspector(page, stack, "e2e-batch")
    commit(page, "payload.limits.batchSize", "50")
    save(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="Batch size")).to_be_visible()
    assert get_config(stack.db, "e2e-batch").object.payload.limits.batch_size == 50
    page.locator(".st-key-inspector-run button").click()
    live = page.locator(".st-key-latest-run")
    expect(live).to_contain_text("Success", timeout=RUN_TIMEOUT)
    run = latest(stack, "e2e-batch")
    assert run is not None and run.status == "success"
    assert run.items_processed <= 50
    assert run.items_processed == 50  # 120 items offered, the batch size caps the run
    assert (run.payload_snapshot or {})["limits"]["batchSize"] == 50


def test_us3_failed_run_shows_error_logs_and_retries(page: Page, stack: Stack) -> None:
    open_inspector(page, stack, "e2e-fail", tab="Execution Status")
    before = latest(stack, "e2e-fail")  # other tests may have run this config already
    page.locator(".st-key-inspector-run button").click()
    failed = eventually(
        lambda: (
            (run := latest(stack, "e2e-fail"))
            and (before is None or run.id > before.id)
            and run.status == "failed"
            and run
        ),
        what="the failed run",
    )
    row = page.locator(f".st-key-run-{failed.id}")
    expect(row).to_contain_text("Failed", timeout=RUN_TIMEOUT)
    expect(row).to_contain_text("synthetic failure on attempt 1")
    row.get_by_role("button", name="Logs").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("failing attempt 1 of 100 on purpose")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    row.get_by_role("button", name="Retry").click()
    retried = eventually(
        lambda: (run := latest(stack, "e2e-fail")) and run.id != failed.id and run,
        what="the retry",
    )
    assert retried.trigger == "retry"
    assert retried.requested_by == "local@grove.invalid"
    expect(page.locator(f".st-key-run-{retried.id}")).to_be_visible(timeout=RUN_TIMEOUT)


def _ticked_after(stack: Stack, instant: Any) -> bool:
    with stack.db.read() as session:
        ticks = session.scalars(select(SchedulerNodeRow.last_tick_at)).all()
    return any(t is not None and t > instant for t in ticks)


def test_us4_toggle_off_shows_disabled_and_nothing_is_scheduled(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    assert get_config(stack.db, "e2e-minute").next_run_at is not None
    open_console(page, stack)
    card = page.locator(".st-key-card-e2e-minute")
    expect(card).to_be_visible()
    screenshot(page, artifacts / "console-grid.png", height=1800)
    expect(card).not_to_contain_text("Disabled")
    card.get_by_text("Enabled", exact=True).click()
    expect(card).to_contain_text("Disabled")
    expect(card).to_contain_text("schedule off")
    record = get_config(stack.db, "e2e-minute")
    assert record.object.payload.schedule.is_enabled is False
    # The tick selects only configs with next_run_at <= now: with no next run, it never fires.
    assert record.next_run_at is None
    disabled_at = record.updated_at
    eventually(
        lambda: _ticked_after(stack, disabled_at + timedelta(seconds=0.5)),
        what="a scheduler tick after disabling",
    )
    with stack.db.read() as session:
        fired = session.scalars(
            select(JobExecutionRow.id).where(
                JobExecutionRow.config_id == "e2e-minute",
                JobExecutionRow.trigger == "schedule",
                JobExecutionRow.scheduled_for > disabled_at,
            )
        ).all()
    assert fired == []


def test_us5_run_now_shows_live_status_and_history_updates(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    open_inspector(page, stack, "e2e-slow", tab="Execution Status")
    page.evaluate("window.__notReloaded = true")
    page.locator(".st-key-inspector-run button").click()
    live = page.locator(".st-key-latest-run")
    expect(live).to_contain_text("Running", timeout=RUN_TIMEOUT)
    progress = live.get_by_test_id("stProgress")
    expect(progress).to_contain_text("/ 12 items")
    first = progress.inner_text()
    expect(progress).not_to_have_text(first, timeout=RUN_TIMEOUT)  # it moves while running
    expect(live).to_contain_text("Success", timeout=RUN_TIMEOUT)
    run = latest(stack, "e2e-slow")
    assert run is not None and run.status == "success"
    row = page.locator(f".st-key-run-{run.id}")
    expect(row).to_contain_text("Success")
    expect(row).to_contain_text("12/12 items")
    assert page.evaluate("window.__notReloaded") is True  # updated in place, never reloaded
    screenshot(page, artifacts / "inspector-execution-status.png")


def test_invalid_cron_and_unknown_timezone_show_field_errors(page: Page, stack: Stack) -> None:
    before = get_config(stack.db, "weekly-orphan-cleanup")
    open_inspector(page, stack, "weekly-orphan-cleanup")
    commit(page, "payload.schedule.cronExpression", "61 * * * *")
    save(page)
    cron_field = field(page, "payload.schedule.cronExpression")
    expect(cron_field.get_by_test_id("stAlert")).to_contain_text("invalid minute field")
    commit(page, "payload.schedule.cronExpression", "30 3 * * 0")
    zone = field(page, "payload.schedule.timezone")
    zone.get_by_role("combobox").click()
    page.keyboard.type("Mars/Olympus_Mons")
    page.keyboard.press("Enter")
    expect(zone.get_by_role("combobox")).to_have_value("Mars/Olympus_Mons")
    save(page)
    expect(zone.get_by_test_id("stAlert")).to_contain_text("unknown timezone")
    expect(cron_field.get_by_test_id("stAlert")).to_have_count(0)
    after = get_config(stack.db, "weekly-orphan-cleanup")
    assert after.version == before.version
    assert after.object.to_json_dict() == before.object.to_json_dict()


def test_hostile_title_is_shown_as_text(page: Page, stack: Stack, hostile_title: str) -> None:
    open_console(page, stack)
    search = page.locator(".st-key-console-q-job-config input")
    search.fill("e2e-hostile")
    search.press("Enter")
    card = page.locator(".st-key-card-e2e-hostile")
    expect(card).to_contain_text(hostile_title)
    expect(page.locator(".st-key-card-daily-advancement")).to_have_count(0)
    assert page.locator("img[src='x']").count() == 0
    open_inspector(page, stack, "e2e-hostile")
    expect(page.get_by_role("heading", name=hostile_title)).to_be_visible()
    expect(field(page, "meta.title").locator("input")).to_have_value(hostile_title)
    assert page.locator("img[src='x']").count() == 0
    assert page.js_dialogs == []  # type: ignore[attr-defined]
