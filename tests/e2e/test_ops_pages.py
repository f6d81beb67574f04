"""The operator pages in Chromium: Runs, Upcoming, Alerts, and one state for a retrying run.

Runs come from the real CLI and the real sidecar; waits are Playwright expectations on the
page's own ready state or bounded polls of the database. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from grove_jobs.alerts.rules import Finding
from grove_jobs.alerts.store import open_incident, open_incidents
from grove_jobs.alerts.tables import AlertIncidentRow
from grove_jobs.clock import utcnow
from grove_jobs.configs.transfer import apply_objects, parse_objects
from grove_jobs.db.tables import ExecutionLogRow
from grove_jobs.executions.queries import execution_history, get_execution
from tests.e2e.conftest import ROOT, _command
from tests.e2e.test_dashboard_browser import LOAD_TIMEOUT, RUN_TIMEOUT, eventually, screenshot

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def ready(page: Page, heading: str) -> None:
    """The page's title is drawn and its script run is over with no skeleton left."""
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)


def cli_run(stack: Stack, config_id: str) -> dict[str, Any]:
    """``grove-jobs run ID --wait --json`` against the stack's database, as an operator would."""
    env = {**os.environ, "GROVE_DATABASE_URL": stack.db.url, "GROVE_DATA_DIR": str(stack.workdir)}
    done = subprocess.run(
        [*_command("grove-jobs"), "run", config_id, "--wait", "--timeout", "60", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def test_a_run_started_from_the_cli_shows_on_runs_and_its_timeline(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    run = cli_run(stack, "e2e-batch")
    assert run["status"] == "success"
    page.goto(stack.url("runs"))
    ready(page, "Runs")
    timeline = page.locator(".stPlotlyChart").first
    # The timeline's y axis names the job of every bar drawn.
    expect(timeline.locator("text", has_text="E2E batch")).not_to_have_count(0)
    page.locator(".st-key-runs-text input").fill(f"#{run['id']}")
    page.locator(".st-key-runs-text input").press("Enter")
    expect(page.get_by_text("1 run matches")).to_be_visible()
    ready(page, "Runs")
    # The timeline now holds that one run; clicking its bar selects it.
    bar = page.locator(".stPlotlyChart g.point path").first
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box is not None
    # Plotly's drag layer takes the pointer and finds the bar under it, as for a person.
    centre = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(*centre)
    page.mouse.click(*centre)
    detail = page.locator(".st-key-runs-detail")
    expect(detail).to_contain_text("Open e2e-batch in the inspector", timeout=LOAD_TIMEOUT)
    assert f"run={run['id']}" in page.url
    page.goto(stack.url(f"runs?run={run['id']}"))
    ready(page, "Runs")
    expect(detail).to_contain_text("Success")
    expect(detail).to_contain_text("Open e2e-batch in the inspector")
    screenshot(page, artifacts / "runs.png")
    # A run named in the address (an alert's link) shows even when the filters exclude it.
    page.locator(".st-key-runs-text input").fill("no-such-run")
    page.locator(".st-key-runs-text input").press("Enter")
    expect(page.get_by_text("No runs match")).to_be_visible()
    expect(detail).to_contain_text("Open e2e-batch in the inspector")


def test_bulk_retry_of_selected_failed_runs(page: Page, stack: Stack, artifacts: Path) -> None:
    failed = [cli_run(stack, "e2e-fail")["id"] for _ in range(2)]
    page.goto(stack.url("runs"))
    ready(page, "Runs")
    page.locator(".st-key-runs-text input").fill("e2e-fail")
    page.locator(".st-key-runs-text input").press("Enter")
    # Wait for the filtered table itself: the pager and the ready state are there before the
    # search's rerun, and clicks on the unfiltered grid selected other rows on a busy machine.
    matching = execution_history(stack.db, "e2e-fail", limit=100).total
    expect(page.get_by_text(f"{matching} runs match")).to_be_visible()
    grid = page.get_by_test_id("stDataFrame")
    expect(grid.locator("[role=grid]")).to_have_attribute("aria-rowcount", str(matching + 1))
    ready(page, "Runs")
    # Glide's grid is a canvas: click the row-selection cells of the two newest rows.
    for row in (0, 1):
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 35 * (row + 1) + 17)
        ready(page, "Runs")
    retry = page.locator(".st-key-runs-retry button")
    expect(retry).to_contain_text("Retry 2 failed")
    # A newer failed run arrives above the selected rows, and the next rerun (a wider window)
    # shows it first: the selection stays with the two runs that were picked, not with the
    # first two rows.
    newer = cli_run(stack, "e2e-fail")["id"]
    page.locator(".st-key-runs-window").click()
    page.get_by_role("option", name="7 days").click()
    expect(page.get_by_text(f"{matching + 1} runs match")).to_be_visible()
    ready(page, "Runs")
    expect(retry).to_contain_text("Retry 2 failed")
    screenshot(page, artifacts / "runs-bulk-selection.png")
    retry.click()
    expect(page.get_by_text("2 retried")).to_be_visible()
    retries = eventually(
        lambda: [
            r
            for r in execution_history(stack.db, "e2e-fail", limit=10).items
            if r.trigger == "retry" and r.requested_by == "local@grove.invalid"
        ][:2],
        what="two retries",
    )
    assert len(retries) == 2
    with stack.db.read() as session:
        audit = session.scalars(
            select(ExecutionLogRow.message).where(ExecutionLogRow.execution_id.in_(failed))
        ).all()
    assert sum("retried by local@grove.invalid (bulk action)" in line for line in audit) == 2
    assert get_execution(stack.db, newer).status == "failed"  # not retried: never selected


def test_upcoming_lists_an_enabled_every_minute_config(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    page.goto(stack.url("upcoming"))
    ready(page, "Upcoming")
    schedule = page.locator(".stPlotlyChart").nth(1)
    expect(schedule.locator("text", has_text="E2E every minute (e2e-minute)")).to_have_count(1)
    expect(page.get_by_text("runs of")).to_contain_text("enabled configs")
    screenshot(page, artifacts / "upcoming.png")


def test_alerts_lists_an_incident_and_acknowledges_it(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    run = cli_run(stack, "e2e-fail")
    finding = Finding("consecutive_failures", "3 runs in a row failed", execution_id=run["id"])
    open_incident(stack.db, "e2e-fail", finding, utcnow(), deliverable=False)
    [incident] = [i for i in open_incidents(stack.db, "e2e-fail") if i.rule == finding.rule]
    page.goto(stack.url("alerts"))
    ready(page, "Alerts")
    card = page.locator(f".st-key-incident-{incident.id}")
    expect(card).to_contain_text("Open")
    card.get_by_role("button", name="Acknowledge").click()
    expect(card).to_contain_text("acknowledged by local@grove.invalid")
    with stack.db.read() as session:
        row = session.get(AlertIncidentRow, incident.id)
        assert row is not None and row.acknowledged_by == "local@grove.invalid"
        assert row.resolved_at is None  # acknowledging silences nothing
    screenshot(page, artifacts / "alerts.png")
    # The console's Alerting tile leads here.
    page.goto(stack.url())
    expect(page.get_by_role("heading", name="Jobs console")).to_be_visible(timeout=LOAD_TIMEOUT)
    page.locator(".st-key-alerting-tile").get_by_role("link", name="View alerts").click()
    ready(page, "Alerts")


RETRYING = {
    "meta": {"id": "e2e-retrying", "type": "job-config", "title": "E2E retrying", "tags": ["e2e"]},
    "payload": {
        "jobType": "synthetic",
        "displayName": "E2E retrying",
        "schedule": {"cronExpression": "0 4 * * *", "timezone": "UTC", "isEnabled": False},
        # The first attempt fails; the second waits ten minutes.
        "retry": {"maxAttempts": 2, "backoffStrategy": "fixed", "initialDelaySeconds": 600},
        "limits": {"batchSize": 10, "timeoutSeconds": 60, "maxConcurrent": 1},
        "parameters": {"jobType": "synthetic", "failFirstAttempts": 1},
    },
}


def test_a_run_between_attempts_reads_retrying_everywhere(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    apply_objects(stack.db, parse_objects([RETRYING]), actor="e2e@grove.invalid", source="cli")
    env = {**os.environ, "GROVE_DATABASE_URL": stack.db.url, "GROVE_DATA_DIR": str(stack.workdir)}
    started = subprocess.run(
        [*_command("grove-jobs"), "run", "e2e-retrying", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    run_id = json.loads(started.stdout)["id"]
    run = eventually(
        lambda: (r := get_execution(stack.db, run_id)).status == "retrying" and r,
        timeout=RUN_TIMEOUT / 1000,
        what="the run waiting for its second attempt",
    )
    page.goto(stack.url("inspector?config=e2e-retrying&tab=Execution+Status"))
    live = page.locator(".st-key-latest-run")
    expect(live).to_contain_text("Retrying · attempt 2 at", timeout=LOAD_TIMEOUT)
    expect(live).to_contain_text(run.run_after.strftime("%H:%M:%S"))
    expect(live).to_contain_text("Attempt 1 failed; retrying")
    expect(live.get_by_test_id("stMetric").filter(has_text="Status")).to_contain_text("Retrying")
    header = page.get_by_test_id("stMain").locator("[data-testid='stMarkdownContainer']")
    expect(header.filter(has_text="Retrying").first).to_be_visible()
    expect(page.get_by_text("Queued", exact=True)).to_have_count(0)
    screenshot(page, artifacts / "inspector-retrying.png")
