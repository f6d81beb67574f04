"""Browser-test fixtures: a temporary database, a real ``grove-jobs scheduler`` and a real
``streamlit run dashboard/app.py``, driven by Playwright with Debian's chromium.

Chromium comes from ``GROVE_CHROMIUM`` (default ``/usr/bin/chromium``); Playwright's own
browser downloads are never used. Without chromium the tests skip, unless
``GROVE_REQUIRE_BROWSER=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grove_jobs.configs.transfer import apply_objects, parse_objects
from grove_jobs.db.engine import Database
from tests.e2e.commands import streamlit_command

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 90.0
# Every browser wait is for the page's own ready state (a script run over, an element drawn);
# this is only the bound after which a wait counts as broken. It is generous so that a busy
# machine makes the suite slower, never red (`make test-busy`). Playwright's own default for
# expect() is 5 s, which a loaded machine exceeds.
READY_TIMEOUT_MS = 120_000
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"


def _synthetic(config_id: str, title: str, **changes: Any) -> dict[str, Any]:
    """A synthetic job config (GroveObject JSON) for one test, disabled unless asked."""
    payload: dict[str, Any] = {
        "jobType": "synthetic",
        "displayName": title,
        "schedule": {"cronExpression": "0 4 * * *", "timezone": "UTC", "isEnabled": False},
        "retry": {"maxAttempts": 1, "backoffStrategy": "fixed", "initialDelaySeconds": 1},
        "limits": {"batchSize": 100, "timeoutSeconds": 60, "maxConcurrent": 1},
        "parameters": {"jobType": "synthetic"},
    }
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = payload
        for part in parents:
            node = node[part]
        node[leaf] = value
    return {
        "meta": {"id": config_id, "type": "job-config", "title": title, "tags": ["e2e"]},
        "payload": payload,
    }


# One config per story, so the tests do not depend on each other's order.
E2E_CONFIGS = [
    _synthetic("e2e-batch", "E2E batch", **{"parameters.items": 120}),
    _synthetic("e2e-fail", "E2E always fails", **{"parameters.failFirstAttempts": 100}),
    _synthetic(
        "e2e-minute",
        "E2E every minute",
        **{"schedule.cronExpression": "* * * * *", "schedule.isEnabled": True},
    ),
    _synthetic(
        "e2e-slow",
        "E2E slow run",
        **{"parameters.items": 12, "parameters.durationSeconds": 6},
    ),
    _synthetic("e2e-hostile", HOSTILE_TITLE),
    # Daily at 02:00 UTC: a seven-day backfill makes seven runs.
    _synthetic("e2e-backfill", "E2E backfill", **{"schedule.cronExpression": "0 2 * * *"}),
]


@dataclass(frozen=True)
class Stack:
    """The running system under test."""

    base_url: str
    db: Database
    workdir: Path

    def url(self, path: str = "") -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


def _chromium() -> str:
    path = os.environ.get("GROVE_CHROMIUM", "/usr/bin/chromium")
    resolved = shutil.which(path) or (path if os.access(path, os.X_OK) else None)
    if resolved is None:
        message = f"chromium not found at {path!r} (set GROVE_CHROMIUM)"
        if os.environ.get("GROVE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; GROVE_REQUIRE_BROWSER=1 makes this an error")
        pytest.skip(message)
    return resolved


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(name: str) -> list[str]:
    """The venv's console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "grove_jobs" if name == "grove-jobs" else name]


def _wait_healthy(url: str, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    delay = 0.1
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise RuntimeError(f"{url} not healthy after {STARTUP_TIMEOUT:.0f}s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _chromium()


@pytest.fixture(scope="session", autouse=True)
def _expect_waits_for_ready_state() -> None:
    """Make expect()'s bound the ready-state bound, not Playwright's 5 s default."""
    from playwright.sync_api import expect

    expect.set_options(timeout=READY_TIMEOUT_MS)


def wait_until_ready(page: Any) -> None:
    """The page's own ready state: Streamlit's script run is over and nothing is still a
    skeleton, so present elements are drawn and absent ones are really absent."""
    from playwright.sync_api import expect

    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)


@pytest.fixture(scope="session")
def stack(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Migrated + seeded SQLite, the scheduler sidecar and the dashboard, all real processes."""
    workdir = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{workdir / 'grove.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "GROVE_DATA_DIR": str(workdir),
        "GROVE_DATABASE_URL": url,
        "GROVE_API_ENABLED": "false",
        "GROVE_TICK_INTERVAL_SECONDS": "0.5",
        "GROVE_POLL_INTERVAL_SECONDS": "0.2",
        "GROVE_HEARTBEAT_INTERVAL_SECONDS": "1",
        "GROVE_WORKERS": "2",
        "GROVE_LOG_LEVEL": "INFO",
        "GROVE_ANONYMOUS_ROLE": "admin",  # the stories run as the local user, like make run
    }
    for name in ("GROVE_LOCAL_USER", "GROVE_TRUSTED_USER_HEADER"):
        env.pop(name, None)  # the stories run as the default local user
    grove = _command("grove-jobs")
    for args in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run([*grove, *args], env=env, cwd=ROOT, check=True, capture_output=True)
    db = Database(url)
    objects = parse_objects(E2E_CONFIGS)
    apply_objects(db, objects, actor="e2e@grove.invalid", source="cli")
    logs = [workdir / "scheduler.log", workdir / "streamlit.log"]
    commands = [
        [*grove, "scheduler"],
        streamlit_command(port),
    ]
    processes: list[subprocess.Popen] = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("wb") as handle:
                processes.append(
                    subprocess.Popen(
                        command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
                    )
                )
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{base}/_stcore/health", processes, logs)
        yield Stack(base_url=base, db=db, workdir=workdir)
    finally:
        for process in reversed(processes):
            _stop(process)
        db.dispose()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh browser context per test; any JavaScript dialog (alert) fails the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(READY_TIMEOUT_MS)
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.js_dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not dialogs, f"a JavaScript dialog fired: {dialogs}"


@pytest.fixture(scope="session")
def hostile_title() -> str:
    """The title of ``e2e-hostile``: HTML that must be shown, never run."""
    return HOSTILE_TITLE


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots land here (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
