"""What can be checked of the container setup without a Docker engine: the compose file, the
Dockerfile's promises, and the image's entry point run as the image would run it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from grove_jobs.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    venv_bin = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
    return {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "GROVE_DATABASE_URL": f"sqlite:///{tmp_path / 'grove.db'}",
        "GROVE_API_ENABLED": "false",
        **extra,
    }


def test_compose_file_describes_the_team_setup():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "sidecar", "dashboard"}
    assert services["sidecar"]["deploy"]["replicas"] == 2
    for name in ("sidecar", "dashboard"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert "healthcheck" in services[name]
    assert "/healthz" in " ".join(services["sidecar"]["healthcheck"]["test"])
    assert "/_stcore/health" in " ".join(services["dashboard"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert {s for svc in services.values() for s in svc.get("secrets", [])} <= set(
        compose["secrets"]
    )


def test_dockerfile_builds_a_small_non_root_image_from_the_lock_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2  # build tools stay in the first stage
    assert "uv sync --frozen --no-dev" in dockerfile
    final = dockerfile[dockerfile.rindex(stages[1]) :]
    assert "USER grove" in final
    assert "pip install" not in final
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in final


def test_entrypoint_migrates_and_seeds(tmp_path):
    env = _env(tmp_path)
    for service in ("migrate", "seed"):
        result = subprocess.run(
            [str(ENTRYPOINT), service], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "grove.db").exists()


def test_entrypoint_runs_the_sidecar_until_sigterm(tmp_path):
    env = _env(tmp_path)
    subprocess.run([str(ENTRYPOINT), "migrate"], env=env, check=True, capture_output=True)
    log = tmp_path / "sidecar.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ENTRYPOINT), "sidecar"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while "started" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_settings_can_come_from_secret_files(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "grove_database_url").write_text("postgresql://grove:s3cret@db:5432/grove\n")
    monkeypatch.delenv("GROVE_DATABASE_URL", raising=False)
    monkeypatch.setenv("GROVE_SECRETS_DIR", str(secrets))
    assert load_settings().effective_database_url == (
        "postgresql+psycopg://grove:s3cret@db:5432/grove"
    )


@pytest.mark.parametrize("service", ["dashboard", "api"])
def test_entrypoint_knows_every_service(service):
    assert f"{service})" in ENTRYPOINT.read_text()
