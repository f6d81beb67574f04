"""The demo's Mock Health Check is green on its first Run Now: on a fresh machine with
GROVE_DATABASE_URL set (no ~/.local/share/grove-jobs anywhere), and in the image's
environment (GROVE_DATA_DIR=/data, GROVE_API_HOST=0.0.0.0), run through docker/entrypoint.sh
as the image runs it. Real processes: migrate, seed, the sidecar, ``grove-jobs run --wait``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment minus every GROVE_/XDG_ variable, with an empty HOME."""
    venv_bin = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("GROVE_", "XDG_"))}
    home = tmp_path / "home"
    home.mkdir()
    return {
        **kept,
        "HOME": str(home),
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "GROVE_API_PORT": str(_free_port()),
        "GROVE_POLL_INTERVAL_SECONDS": "0.2",
        "GROVE_WORKERS": "1",
        **extra,
    }


def _first_run_of_the_demo(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    for service in ("migrate", "seed"):
        subprocess.run([str(ENTRYPOINT), service], env=env, check=True, capture_output=True)
    log = tmp_path / "sidecar.log"
    with log.open("wb") as out:
        sidecar = subprocess.Popen(
            [str(ENTRYPOINT), "sidecar"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        return subprocess.run(
            ["grove-jobs", "run", "mock-health-check", "--wait", "--timeout", "120", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
    finally:
        sidecar.send_signal(signal.SIGTERM)
        try:
            sidecar.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sidecar.kill()
            sidecar.wait(timeout=5)


def test_mock_health_check_on_a_fresh_machine_with_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    env = _fresh_env(tmp_path, GROVE_DATABASE_URL=postgres_url)
    result = _first_run_of_the_demo(env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status": "success"' in result.stdout
    assert not (tmp_path / "home" / ".local").exists()  # nothing needed it


def test_mock_health_check_in_the_image_environment(tmp_path: Path) -> None:
    data = tmp_path / "data"  # the image's /data: created (and owned) by the Dockerfile
    data.mkdir()
    env = _fresh_env(tmp_path, GROVE_DATA_DIR=str(data), GROVE_API_HOST="0.0.0.0")
    result = _first_run_of_the_demo(env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status": "success"' in result.stdout
    assert (data / "grove.db").exists()
