"""Roles in the browser: the dashboard behind a trusted proxy header (``X-Forwarded-Email``,
set by Playwright), a viewer sees no Save / Run Now and a forced write is refused on the
server; an editor saves, and the revision names them.

Uses the e2e ``browser`` fixture (Debian's chromium) with a Streamlit server of its own, since
the shared stack runs as the local user.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from grove_jobs.auth.roles import grant_role
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import get_config, update_config
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.demo import seed
from grove_jobs.engine.enqueue import run_now
from grove_jobs.exceptions import PermissionDenied
from grove_jobs.executions.queries import execution_history
from grove_jobs.schema.grove_object import parse_grove_object
from tests.e2e.commands import streamlit_command
from tests.e2e.conftest import READY_TIMEOUT_MS, wait_until_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HEADER = "X-Forwarded-Email"
VIEWER, OPERATOR, EDITOR = "viewer@example.com", "op@example.com", "ed@example.com"
CONFIG = "mock-health-check"
HOSTILE = '<img src=x onerror="window.__pwned=1">'
LOAD_TIMEOUT = READY_TIMEOUT_MS  # a bound on the page's ready state (see conftest)


@dataclass(frozen=True)
class ProxiedDashboard:
    base_url: str
    db: Database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout:.0f}s")


@pytest.fixture(scope="module")
def dashboard(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxiedDashboard]:
    """Seeded SQLite, roles granted, and ``streamlit run`` trusting ``X-Forwarded-Email``."""
    del chromium_path  # skips (or fails, in CI) before starting anything without a browser
    workdir = tmp_path_factory.mktemp("roles")
    url = f"sqlite:///{workdir / 'grove.db'}"
    migrate.upgrade(url)
    db = Database(url)
    seed(db, actor="seed")
    record = get_config(db, CONFIG)
    hostile = record.object.model_copy(
        update={"meta": record.object.meta.model_copy(update={"title": HOSTILE})}
    )
    update_config(db, hostile, expected_version=record.version, actor="seed", source="cli")
    grant_role(db, EDITOR, "editor", granted_by="test")
    grant_role(db, OPERATOR, "operator", granted_by="test")
    port = _free_port()
    env = {
        **os.environ,
        "GROVE_DATABASE_URL": url,
        "GROVE_DATA_DIR": str(workdir),
        "GROVE_TRUSTED_USER_HEADER": HEADER,
    }
    log = workdir / "streamlit.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            streamlit_command(port),
            env=env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{base}/_stcore/health", process, log)
        yield ProxiedDashboard(base, db)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        db.dispose()


def _page_as(browser: Any, email: str | None) -> Page:
    headers = {HEADER: email} if email else {}
    context = browser.new_context(
        viewport={"width": 1440, "height": 1000}, extra_http_headers=headers
    )
    context.set_default_timeout(READY_TIMEOUT_MS)
    return context.new_page()


def _open_inspector(page: Page, dashboard: ProxiedDashboard) -> None:
    page.goto(f"{dashboard.base_url}/inspector?config={CONFIG}")
    expect(page.get_by_role("tab", name="Configuration")).to_be_visible(timeout=LOAD_TIMEOUT)
    # Let the script run finish, so absent buttons are absent, not merely not drawn yet.
    wait_until_ready(page)
    expect(page.get_by_label("Title")).to_be_visible()


def test_viewer_sees_no_write_buttons(browser: Any, dashboard: ProxiedDashboard) -> None:
    page = _page_as(browser, VIEWER)
    try:
        _open_inspector(page, dashboard)
        expect(page.get_by_text(HOSTILE).first).to_be_visible()  # the title, as text
        assert page.evaluate("window.__pwned") is None
        for name in ("Run Now", "Save changes", "Run with overrides…", "Duplicate", "Delete"):
            expect(page.get_by_role("button", name=name)).to_have_count(0)
    finally:
        page.context.close()


def test_viewer_forced_write_is_refused(
    dashboard: ProxiedDashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI's own write path, called directly as the viewer: refused on the server side."""
    from dashboard import actions, context, identity

    monkeypatch.setenv("GROVE_DATABASE_URL", dashboard.db.url)
    monkeypatch.setenv("GROVE_TRUSTED_USER_HEADER", HEADER)
    monkeypatch.setattr(identity, "_request_header", lambda name: VIEWER)
    context.reset()
    try:
        record = get_config(dashboard.db, CONFIG)
        edited = parse_grove_object(
            {**record.object.to_json_dict(), "meta": {"id": CONFIG, "type": "job-config"}}
        )
        with pytest.raises(PermissionDenied):
            actions.save(edited, expected_version=record.version)
        with pytest.raises(PermissionDenied):
            actions.start_run(CONFIG)
        assert get_config(dashboard.db, CONFIG).version == record.version
        assert execution_history(dashboard.db, CONFIG).total == 0
    finally:
        context.reset()


def test_request_without_the_header_is_not_signed_in(
    browser: Any, dashboard: ProxiedDashboard
) -> None:
    page = _page_as(browser, None)
    try:
        page.goto(f"{dashboard.base_url}/inspector?config={CONFIG}")
        expect(page.get_by_text("Sign-in required")).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(page.get_by_role("tab", name="Configuration")).to_have_count(0)
    finally:
        page.context.close()


def test_operator_can_run_but_not_save(browser: Any, dashboard: ProxiedDashboard) -> None:
    page = _page_as(browser, OPERATOR)
    try:
        _open_inspector(page, dashboard)
        expect(page.get_by_role("button", name="Run Now")).to_be_visible()
        expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    finally:
        page.context.close()


def test_editor_can_save(browser: Any, dashboard: ProxiedDashboard) -> None:
    page = _page_as(browser, EDITOR)
    before = get_config(dashboard.db, CONFIG).version
    try:
        _open_inspector(page, dashboard)
        expect(page.get_by_text(EDITOR).first).to_be_visible()  # who is signed in
        title = page.get_by_label("Title")
        title.fill("Saved by the editor")
        title.press("Tab")
        page.get_by_role("button", name="Save changes").click()
        deadline = time.monotonic() + READY_TIMEOUT_MS / 1000
        while get_config(dashboard.db, CONFIG).version == before:
            assert time.monotonic() < deadline, "the editor's save never reached the database"
            time.sleep(0.1)
    finally:
        page.context.close()
    saved = get_config(dashboard.db, CONFIG)
    assert saved.object.meta.title == "Saved by the editor"
    revision = list_revisions(dashboard.db, CONFIG)[0]
    assert (revision.actor, revision.source) == (EDITOR, "ui")


def test_editor_restores_a_revision_from_the_history_tab(
    browser: Any, dashboard: ProxiedDashboard
) -> None:
    record = get_config(dashboard.db, CONFIG)
    renamed = record.object.meta.model_copy(update={"title": "Renamed before the restore"})
    update_config(
        dashboard.db,
        record.object.model_copy(update={"meta": renamed}),
        expected_version=record.version,
        actor="someone@example.com",
        source="api",
    )
    revisions = list_revisions(dashboard.db, CONFIG)
    target = next(r for r in revisions if (r.after or {}).get("meta", {}).get("title") == HOSTILE)
    current = get_config(dashboard.db, CONFIG).version
    page = _page_as(browser, EDITOR)
    try:
        # The rename went around the dashboard, whose reads are cached for a few seconds: a
        # page drawn from the previous test's cache offers a restore of a version that is no
        # longer current, which is refused as a conflict. Wait until the page shows the rename.
        _open_inspector(page, dashboard)
        deadline = time.monotonic() + READY_TIMEOUT_MS / 1000
        while page.get_by_label("Title").input_value() != renamed.title:
            assert time.monotonic() < deadline, "the inspector never showed the rename"
            time.sleep(0.5)
            _open_inspector(page, dashboard)
        page.get_by_role("tab", name="History of changes").click()
        row = page.locator("summary").filter(has_text=f"v{target.version} ·")
        expect(row).to_have_count(1)
        row.click()  # revisions are collapsed rows
        page.get_by_role("button", name=f"Restore version {target.version}").click()
        expect(page.get_by_text(f"Restored version {target.version} as version")).to_be_visible(
            timeout=READY_TIMEOUT_MS
        )  # shown once the restore is committed
    finally:
        page.context.close()
    assert get_config(dashboard.db, CONFIG).object.meta.title == HOSTILE
    newest = list_revisions(dashboard.db, CONFIG)[0]
    assert (newest.version, newest.actor, newest.source) == (current + 1, EDITOR, "ui")


CLEANUP = "weekly-orphan-cleanup"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/grove_jobs/handlers/health_check.py", line 42, in run\n'
    "    raise RuntimeError('disk on fire')\n"
    "RuntimeError: disk on fire"
)


def _override_dry_run(page: Page, dashboard: ProxiedDashboard) -> None:
    """Open the cleanup's Run-with-overrides dialog, switch Dry run off and press Run now."""
    page.goto(f"{dashboard.base_url}/inspector?config={CLEANUP}")
    expect(page.get_by_role("tab", name="Configuration")).to_be_visible(timeout=LOAD_TIMEOUT)
    wait_until_ready(page)
    page.get_by_role("button", name="Run with overrides…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Dry run", exact=True).click()
    expect(dialog.get_by_text("dryRun = False")).to_be_visible()  # listed as an override
    dialog.get_by_role("button", name="Run now").click()


def test_operator_cannot_switch_off_a_dry_run(browser: Any, dashboard: ProxiedDashboard) -> None:
    page = _page_as(browser, OPERATOR)
    try:
        _override_dry_run(page, dashboard)
        expect(page.get_by_text("is destructive", exact=False).first).to_be_visible()
    finally:
        page.context.close()
    assert execution_history(dashboard.db, CLEANUP).total == 0


def test_editor_may_switch_off_a_dry_run(browser: Any, dashboard: ProxiedDashboard) -> None:
    page = _page_as(browser, EDITOR)
    try:
        _override_dry_run(page, dashboard)
        deadline = time.monotonic() + READY_TIMEOUT_MS / 1000
        while execution_history(dashboard.db, CLEANUP).total == 0:
            assert time.monotonic() < deadline, "the editor's run never reached the database"
            time.sleep(0.1)
    finally:
        page.context.close()
    run = execution_history(dashboard.db, CLEANUP).items[0]
    assert run.parameter_overrides == {"dryRun": False} and run.requested_by == EDITOR


@pytest.fixture
def failed_with_traceback(dashboard: ProxiedDashboard) -> str:
    """A config whose latest run failed with a traceback naming a server path."""
    config = "daily-advancement"
    run = run_now(dashboard.db, config, requested_by="seed")
    with dashboard.db.write() as session:
        session.execute(
            update(JobExecutionRow)
            .where(JobExecutionRow.id == run.id)
            .values(status="failed", attempt=1, error=TRACEBACK)
        )
    return config


@pytest.mark.parametrize(("who", "full"), [(VIEWER, False), (OPERATOR, False), (EDITOR, True)])
def test_only_editors_see_tracebacks(
    browser: Any, dashboard: ProxiedDashboard, failed_with_traceback: str, who: str, full: bool
) -> None:
    page = _page_as(browser, who)
    try:
        query = urlencode({"config": failed_with_traceback, "tab": "Execution Status"})
        page.goto(f"{dashboard.base_url}/inspector?{query}")
        latest = page.locator(".st-key-latest-run")
        expect(latest.get_by_text("RuntimeError: disk on fire").first).to_be_visible(
            timeout=LOAD_TIMEOUT
        )
        wait_until_ready(page)
        expect(latest.get_by_text("/srv/app", exact=False)).to_have_count(1 if full else 0)
    finally:
        page.context.close()
