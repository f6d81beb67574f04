"""Page loads in Chromium against Streamlit's own floor: ``python -m bench.browser``.

In one run: a bare Streamlit page with one button, then the console (its first visit after
the server started, then again), the inspector, Runs and Upcoming, each in a fresh browser
context, against a PostgreSQL database seeded with 1,000 configs and 1,000,000 executions
(``bench.seed``, shared with the other benchmarks). A load is timed from navigation start to
the frame in which the page's first usable control (present, visible, enabled) is drawn, and to
"ready": the script run is over and no skeleton placeholder is left. The page stamps both on
its own clock; the driver only reads them. Prints one JSON object: medians and ratios to the
bare page.

Targets (issue 14): console first visit <= 1.5x bare; every page afterwards <= 1.2x bare.
Chromium comes from ``GROVE_CHROMIUM`` (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import ROOT, fresh_postgres
from bench.seed import seed_configs, seed_executions, spread_cadence
from grove_jobs.clock import utcnow

CONFIGS = 1_000
EXECUTIONS = int(os.environ.get("GROVE_BENCH_EXECUTIONS", "1000000"))
RUNS = int(os.environ.get("GROVE_BENCH_BROWSER_RUNS", "5"))
SPREAD = timedelta(days=30)  # the history's span, well inside the default retention
TIMEOUT_MS = 60_000
BARE_APP = 'import streamlit as st\n\nst.button("Go")\n'
# A second anchor, not a target: a bare page whose one control is a text input, the kind of
# control the console, Runs and Upcoming are timed to. Its ratio to BARE_APP is what Streamlit's
# front end alone costs for that widget (its lazily loaded chunks, then the reveal).
BARE_INPUT_APP = 'import streamlit as st\n\nst.text_input("Search")\n'
# (name, path, selector of the first usable control)
PAGES = [
    ("console", "", "[class*='st-key-console-q-'] input"),
    ("inspector", "inspector?config=bench-00001", ".st-key-inspector-run button"),
    ("runs", "runs", ".st-key-runs-text input"),
    ("upcoming", "upcoming", ".st-key-upcoming-window button"),
]
TARGETS = {"console_first_visit": 1.5, "afterwards": 1.2}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit(script: Path | None, env: dict[str, str]) -> Iterator[str]:
    """A headless ``streamlit run`` of ``script``, or of the dashboard as users start it
    (``python -m dashboard.serve``) when None; yields its base URL once healthy."""
    port = _free_port()
    launch = ["dashboard.serve"] if script is None else ["streamlit", "run", str(script)]
    command = [
        sys.executable,
        "-m",
        *launch,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit {script or 'dashboard'} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


# Installed in every page before its own scripts: the page stamps, on its own clock
# (performance.now(), 0 = navigation start), the frame in which the control is first present,
# visible and enabled, and the first frame after it in which the script run is over with no
# skeleton left. Polling from the driver instead adds its own back-off to every figure (up to
# half a second on a page that takes two), and more to slower pages.
STAMPS = """
(() => {
  const stamps = window.__groveStamps = {};
  const usable = el => el && !el.disabled && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const check = () => {
    if (stamps.usable === undefined && usable(document.querySelector(SELECTOR))) {
      stamps.usable = null;
      requestAnimationFrame(() => { stamps.usable = performance.now(); check(); });
    }
    if (typeof stamps.usable === "number" && stamps.ready === undefined
        && document.querySelector('[data-test-script-state="notRunning"]')
        && !document.querySelector('[data-testid="stSkeleton"]')) {
      stamps.ready = null;
      requestAnimationFrame(() => { stamps.ready = performance.now(); });
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""


def load(browser: Any, url: str, selector: str) -> dict[str, float]:
    """One load in a fresh context: ms from navigation start to the first usable control, and
    to ready, as the page itself stamped them."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_init_script(STAMPS.replace("SELECTOR", json.dumps(selector)))
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        stamps = "(window.__groveStamps || {})"
        page.wait_for_function(f"{stamps}.usable && {stamps}.ready", timeout=TIMEOUT_MS)
        usable, ready = page.evaluate(f"[{stamps}.usable, {stamps}.ready]")
        skeletons = page.get_by_test_id("stSkeleton").count()
        return {
            "usable_ms": float(usable),
            "ready_ms": float(ready),
            "skeletons_when_ready": skeletons,
        }
    finally:
        context.close()


def _summary(samples: list[dict[str, float]], floor: float | None = None) -> dict[str, Any]:
    """Medians and range of ``samples``; with ``floor``, the median's ratio to it."""
    usable = sorted(s["usable_ms"] for s in samples)
    summary: dict[str, Any] = {
        "usable_ms_median": round(statistics.median(usable), 0),
        "usable_ms_range": [round(usable[0], 0), round(usable[-1], 0)],
        "ready_ms_median": round(statistics.median(s["ready_ms"] for s in samples), 0),
        "skeletons_when_ready": max(s["skeletons_when_ready"] for s in samples),
    }
    if floor is not None:
        summary["ratio"] = round(summary["usable_ms_median"] / floor, 2)
    return summary


def measure(url: str, chromium: str) -> dict[str, Any]:
    """Seeded database at ``url``: the bare page, then every page, with ratios."""
    from playwright.sync_api import sync_playwright

    env = {
        **os.environ,
        "GROVE_DATABASE_URL": url,
        "STREAMLIT_LOGGER_LEVEL": "error",
        # The pages as an editor sees them (Run Now and the form enabled); a viewer, the
        # default role of a user nobody granted one, gets neither.
        "GROVE_ANONYMOUS_ROLE": os.environ.get("GROVE_ANONYMOUS_ROLE", "editor"),
    }
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="grove-bare-") as tmp, sync_playwright() as pw:
        bare_script, input_script = Path(tmp) / "bare.py", Path(tmp) / "bare_input.py"
        bare_script.write_text(BARE_APP)
        input_script.write_text(BARE_INPUT_APP)
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        with (
            streamlit(bare_script, env) as bare,
            streamlit(input_script, env) as bare_input,
            streamlit(None, env) as app,
        ):
            first = load(browser, app + "/", PAGES[0][2])  # before anything warmed the server
            for base, selector in ((bare, "button"), (bare_input, "input")):
                load(browser, base + "/", selector)  # each bare server's first visit, untimed
            result["bare"] = _summary([load(browser, bare + "/", "button") for _ in range(RUNS)])
            floor = result["bare"]["usable_ms_median"]
            bare_inputs = [load(browser, bare_input + "/", "input") for _ in range(RUNS)]
            result["bare_text_input"] = _summary(bare_inputs, floor)
            result["console_first_visit"] = {
                "usable_ms": round(first["usable_ms"], 0),
                "ready_ms": round(first["ready_ms"], 0),
                "ratio": round(first["usable_ms"] / floor, 2),
            }
            for name, path, selector in PAGES:
                loads = [load(browser, f"{app}/{path}", selector) for _ in range(RUNS)]
                result[name] = _summary(loads, floor)
        browser.close()
    result["within_target"] = result["console_first_visit"]["ratio"] <= TARGETS[
        "console_first_visit"
    ] and all(result[name]["ratio"] <= TARGETS["afterwards"] for name, _, _ in PAGES)
    return result


def main() -> None:
    """Seed PostgreSQL, measure, print one JSON object."""
    chromium = os.environ.get("GROVE_CHROMIUM", "/usr/bin/chromium")
    output: dict[str, Any] = {
        "benchmark": "browser",
        "configs": CONFIGS,
        "executions": EXECUTIONS,
        "runs_per_figure": RUNS,
        "targets": TARGETS,
    }
    with fresh_postgres() as db:
        started = time.perf_counter()
        now = utcnow()
        ids = seed_configs(db, CONFIGS, now)
        cadence = spread_cadence(EXECUTIONS, CONFIGS, SPREAD)
        seed_executions(db, ids, EXECUTIONS, newest=now, cadence=cadence, manual_every=5)
        with db.write() as session:
            session.execute(text("ANALYZE"))
        output["seed_seconds"] = round(time.perf_counter() - started, 1)
        output.update(measure(db.url, chromium))
    json.dump(output, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
