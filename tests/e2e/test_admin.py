"""The Admin page and the global pause in Chromium, against a real scheduler and dashboard:
a token created in the page is listed by the CLI, a viewer cannot reach Admin, and pausing
shows the banner, records the next tick as skipped with the reason, and resuming lets the
following tick run. Screenshots of the new screens go to tests/artifacts/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from grove_jobs.configs.transfer import apply_objects, parse_objects
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.pauses.store import pause_status
from tests.e2e.conftest import ROOT, _synthetic
from tests.e2e.test_dashboard_browser import eventually, open_console, screenshot, settle
from tests.e2e.test_roles import VIEWER, ProxiedDashboard, _page_as, dashboard  # noqa: F401

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOAD_TIMEOUT = 30_000
REASON = "e2e database migration"


def _grove(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("grove-jobs")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "grove_jobs"]
    env = {**os.environ, "GROVE_DATABASE_URL": stack.db.url, "GROVE_DATA_DIR": str(stack.workdir)}
    return subprocess.run(
        [*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )


def open_admin(page: Page, stack: Stack) -> None:
    page.goto(stack.url("admin"))
    expect(page.get_by_role("heading", name="Admin")).to_be_visible(timeout=LOAD_TIMEOUT)
    settle(page)


def test_admin_creates_a_token_the_cli_lists(page: Page, stack: Stack, artifacts: Path) -> None:
    open_console(page, stack)
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    open_admin(page, stack)
    page.get_by_role("tab", name="Tokens").click()
    page.locator(".st-key-token_name input").fill("e2e-ci")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("code", has_text="gjt_")
    expect(secret).to_be_visible()
    assert secret.inner_text().strip().startswith("gjt_")
    listed = json.loads(_grove(stack, "tokens", "list", "--json").stdout)
    assert [t["scopes"] for t in listed if t["name"] == "e2e-ci"] == [["read"]]
    screenshot(page, artifacts / "admin-tokens.png", height=1400)
    page.get_by_role("tab", name="Audit log").click()
    # The table is a canvas; its cells exist in the DOM for screen readers.
    expect(page.locator("td[role=gridcell]", has_text="token.create").first).to_be_attached()
    screenshot(page, artifacts / "admin-audit.png", height=1000)


def test_a_token_with_a_bad_name_shows_the_error_next_to_the_field(
    page: Page, stack: Stack
) -> None:
    open_admin(page, stack)
    page.get_by_role("tab", name="Tokens").click()
    page.locator(".st-key-token_name input").fill("bad name!")
    page.get_by_role("button", name="Create token").click()
    form = page.get_by_test_id("stForm").filter(has=page.locator(".st-key-token_name"))
    expect(form).to_contain_text("use 1-100 letters")
    assert "bad name!" not in _grove(stack, "tokens", "list").stdout


def _fired(stack: Stack, config_id: str, after: datetime | None = None):
    with stack.db.read() as session:
        stmt = select(JobExecutionRow).where(JobExecutionRow.config_id == config_id)
        if after is not None:
            stmt = stmt.where(JobExecutionRow.scheduled_for > after)
        return session.scalars(stmt.order_by(JobExecutionRow.scheduled_for)).all()


def test_pause_banner_skipped_tick_then_resume_runs_the_next(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    config = _synthetic(
        "e2e-pause",
        "E2E paused every minute",
        **{"schedule.cronExpression": "* * * * *", "schedule.isEnabled": True},
    )
    apply_objects(stack.db, parse_objects([config]), actor="e2e@grove.invalid", source="cli")
    open_admin(page, stack)
    page.locator(".st-key-pause_reason input").fill(REASON)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Scheduler paused").first).to_be_visible()
    try:
        assert pause_status(stack.db).reason == REASON
        screenshot(page, artifacts / "admin-scheduler-paused.png", height=1600)
        open_console(page, stack)
        expect(page.get_by_text("Scheduler paused").first).to_be_visible()
        expect(page.locator(".st-key-card-e2e-pause")).to_contain_text("Next run after the pause")
        screenshot(page, artifacts / "console-paused.png", height=1400)
        # The first fire time after the pause began (within a minute) is recorded skipped.
        since = pause_status(stack.db).since
        skipped = eventually(
            lambda: _fired(stack, "e2e-pause", after=since), timeout=90, what="the paused tick"
        )
        due = skipped[0].scheduled_for
        assert (skipped[0].status, skipped[0].error) == ("skipped", f"paused: {REASON}")
    finally:
        open_admin(page, stack)
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_text("Resumed")).to_be_visible()
    assert not pause_status(stack.db).paused
    ran = eventually(
        lambda: [r for r in _fired(stack, "e2e-pause", after=due) if r.status != "skipped"],
        timeout=90,
        what="the first tick after resuming",
    )
    assert ran[0].trigger == "schedule" and ran[0].error is None


def test_viewer_cannot_reach_admin(browser: Any, dashboard: ProxiedDashboard) -> None:  # noqa: F811
    page = _page_as(browser, VIEWER)
    try:
        page.goto(dashboard.base_url)
        expect(page.get_by_role("heading", name="Jobs console")).to_be_visible(timeout=LOAD_TIMEOUT)
        settle(page)
        expect(page.get_by_role("link", name="Admin")).to_have_count(0)
        page.goto(f"{dashboard.base_url}/admin")
        expect(page.get_by_role("heading", name="Jobs console")).to_be_visible(timeout=LOAD_TIMEOUT)
        settle(page)
        expect(page.get_by_role("heading", name="Admin")).to_have_count(0)
        expect(page.get_by_text("New token")).to_have_count(0)
    finally:
        page.context.close()


def test_admin_adds_a_window_and_grants_a_role(page: Page, stack: Stack, artifacts: Path) -> None:
    open_admin(page, stack)
    expect(page.get_by_text("No maintenance windows. Add one below.")).to_be_visible()
    window_form = page.get_by_test_id("stForm").filter(has=page.locator(".st-key-window_name"))
    page.locator(".st-key-window_kind").get_by_text("Recurring").click()
    page.locator(".st-key-window_name input").fill("e2e nightly")
    page.get_by_role("button", name="Add window").click()
    expect(window_form).to_contain_text("a recurring window needs a cron")
    assert json.loads(_grove(stack, "maintenance", "list", "--json").stdout) == []
    page.locator(".st-key-window_cron input").fill("0 3 * * *")
    page.get_by_role("button", name="Add window").click()
    expect(page.get_by_text("Added maintenance window e2e nightly")).to_be_visible()
    expect(page.locator(".st-key-window_remove")).to_be_visible()  # the list, not the caption
    expect(page.get_by_text("No maintenance windows. Add one below.")).to_have_count(0)
    try:
        listed = json.loads(_grove(stack, "maintenance", "list", "--json").stdout)
        assert [(w["name"], w["cronExpression"], w["durationMinutes"]) for w in listed] == [
            ("e2e nightly", "0 3 * * *", 60)
        ]
        screenshot(page, artifacts / "admin-maintenance.png", height=1600)
    finally:
        _grove(stack, "maintenance", "remove", "e2e nightly")

    page.get_by_role("tab", name="Users").click()
    user_form = page.get_by_test_id("stForm").filter(has=page.locator(".st-key-role_email"))
    page.locator(".st-key-role_email input").fill("not an email")
    page.get_by_role("button", name="Grant").click()
    expect(user_form).to_contain_text("is not an email address")
    page.locator(".st-key-role_email input").fill("new.operator@example.com")
    page.locator(".st-key-role_role").click()
    page.get_by_role("option", name="operator").click()
    page.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("new.operator@example.com is now operator")).to_be_visible()
    grants = json.loads(_grove(stack, "users", "list", "--json").stdout)
    assert [g["role"] for g in grants if g["email"] == "new.operator@example.com"] == ["operator"]
    screenshot(page, artifacts / "admin-users.png", height=1200)
