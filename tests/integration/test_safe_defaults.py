"""Safe defaults: the dashboard listens on 127.0.0.1 unless told otherwise, a visitor without
a login is a viewer except under ``make run``, and the image and compose say viewer."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from grove_jobs.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (Linux /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    words = [bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8)]
                    found.add(socket.inet_ntop(socket.AF_INET6, b"".join(words)))
    return found


def test_the_dashboard_listens_on_loopback_by_default(tmp_path: Path) -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GROVE_DATABASE_URL": f"sqlite:///{tmp_path / 'grove.db'}"}
    # As make run starts it (no --server.address), from the checkout so its config applies.
    command = [sys.executable, "-m", "dashboard.serve"]
    command += ["--server.port", str(port), "--server.fileWatcherType", "none"]
    log = tmp_path / "streamlit.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert _listening_addresses(port) == {"127.0.0.1"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_anonymous_role_defaults_to_viewer_and_is_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GROVE_ANONYMOUS_ROLE", raising=False)
    assert load_settings().anonymous_role == "viewer"
    monkeypatch.setenv("GROVE_ANONYMOUS_ROLE", "root")
    with pytest.raises(ValidationError, match="anonymous_role"):
        load_settings()


def test_make_run_is_admin_while_the_image_and_compose_are_viewer() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:") : makefile.index("\ntest:")]
    admin = r"GROVE_ANONYMOUS_ROLE=\$\$\{GROVE_ANONYMOUS_ROLE:-admin\}"
    assert re.search(admin + r".*dashboard\.serve", run)
    assert "GROVE_ANONYMOUS_ROLE=viewer" in (ROOT / "Dockerfile").read_text()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name in ("migrate", "sidecar", "dashboard"):
        assert compose["services"][name]["environment"]["GROVE_ANONYMOUS_ROLE"] == "viewer"
