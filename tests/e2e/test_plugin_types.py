"""A team's own job type in the dashboard (the example package's acme-export), and backfill,
in Chromium against the real dashboard and sidecar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from grove_jobs.configs.store import find_config, get_config
from grove_jobs.db.tables import JobExecutionRow
from tests.e2e.test_dashboard_browser import (
    LOAD_TIMEOUT,
    RUN_TIMEOUT,
    commit,
    eventually,
    field,
    open_inspector,
    save,
    screenshot,
    settle,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _choose_job_type(page: Page, label: str) -> None:
    box = page.get_by_label("Job type")
    box.click()
    page.get_by_role("option", name=label).click()
    settle(page)


def test_plugin_type_form_renders_validates_and_saves(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    page.goto(stack.url("new"))
    expect(page.get_by_role("heading", name="New config")).to_be_visible(timeout=LOAD_TIMEOUT)
    _choose_job_type(page, "ACME export (acme-export)")
    bucket = field(page, "payload.parameters.bucket")
    expect(bucket.locator("input")).to_be_visible()
    expect(field(page, "payload.parameters.days").locator("input")).to_have_value("1")
    page.get_by_label("ID", exact=True).fill("e2e-acme")
    bucket.locator("input").fill("x")
    page.get_by_role("button", name="Create").click()
    # The team's own model refuses it, next to the field, and nothing is written.
    expect(bucket.get_by_test_id("stAlert")).to_contain_text("at least 3 characters")
    assert find_config(stack.db, "e2e-acme") is None
    bucket.locator("input").fill("reports")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("tab", name="Configuration")).to_be_visible(timeout=LOAD_TIMEOUT)
    stored = get_config(stack.db, "e2e-acme").object.to_json_dict()["payload"]["parameters"]
    assert stored == {"jobType": "acme-export", "bucket": "reports", "days": 1}
    # The inspector draws the same form from the model, and saves through it.
    commit(page, "payload.parameters.days", "3")
    save(page)
    eventually(
        lambda: get_config(stack.db, "e2e-acme").object.payload.parameters.days == 3,
        what="days saved as 3",
    )
    screenshot(page, artifacts / "inspector-plugin-type.png")
    # And the sidecar runs it.
    open_inspector(page, stack, "e2e-acme", tab="Execution Status")
    page.locator(".st-key-inspector-run button").click()
    expect(page.locator(".st-key-latest-run")).to_contain_text("Success", timeout=RUN_TIMEOUT)


def test_backfill_dialog_previews_then_queues_one_run_per_tick(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    open_inspector(page, stack, "e2e-backfill", tab="Execution Status")
    page.locator(".st-key-inspector-backfill button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("7 fire times")
    expect(dialog).to_contain_text("7 runs")
    screenshot(page, artifacts / "backfill-dialog.png", height=1200)
    dialog.get_by_role("button", name="Queue 7 runs").click()
    expect(dialog).to_have_count(0)

    def backfilled():
        with stack.db.read() as session:
            rows = session.scalars(
                select(JobExecutionRow).where(
                    JobExecutionRow.config_id == "e2e-backfill",
                    JobExecutionRow.trigger == "backfill",
                )
            ).all()
        return rows if len(rows) == 7 else None

    rows = backfilled() or eventually(backfilled, what="7 backfill runs")
    assert len({r.scheduled_for for r in rows}) == 7
    # The history says which tick each run is for.
    expect(page.locator(".st-key-history")).to_contain_text("for ", timeout=RUN_TIMEOUT)
