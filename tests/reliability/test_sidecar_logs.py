"""GROVE_LOG_FORMAT=json on the real sidecar (with its API and workers) and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grove_jobs.engine.enqueue import run_now
from tests.factories import create, synthetic_config
from tests.integration.test_api_process import _free_port
from tests.reliability.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@ONLY_SQLITE
def test_every_sidecar_line_is_json_with_run_fields(db, start_sidecar):
    create(db, synthetic_config("hang", hang=True, timeout=1))
    sidecar = start_sidecar(
        GROVE_LOG_FORMAT="json",
        GROVE_WORKERS="1",
        GROVE_API_ENABLED="true",
        GROVE_API_PORT=str(_free_port()),
        GROVE_WORKER_ID="sidecar-a",
    )
    hung = run_now(db, "hang", requested_by="test")
    assert wait_for(db, hung.id, {"timed_out"}, timeout=15).status == "timed_out"
    sidecar.wait_for_log("stopping worker")
    sidecar.stop()
    lines = [json.loads(line) for line in sidecar.output().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines), lines
    stopping = next(line for line in lines if line["message"].startswith("stopping worker"))
    assert stopping["level"] == "warning"
    assert (stopping["execution_id"], stopping["config_id"]) == (hung.id, "hang")
    assert stopping["attempt"] == 1 and stopping["worker_id"] == "sidecar-a"


@pytest.mark.parametrize("command", [["configs", "list"], ["scheduler"], ["api"]])
def test_an_unknown_log_format_is_refused_at_start(tmp_path, command):
    env = {**os.environ, "GROVE_LOG_FORMAT": "yaml", "GROVE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "grove_jobs.cli", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "GROVE_LOG_FORMAT" in done.stderr
    assert "'text' or 'json'" in done.stderr
