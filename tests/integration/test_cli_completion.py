"""Shell completion of config and execution ids, through click's real completion protocol."""

from __future__ import annotations

import os
import subprocess
import sys

from grove_jobs.configs.store import archive_config
from grove_jobs.db.engine import Database
from grove_jobs.engine.enqueue import run_now
from tests.integration.test_api_support import mock_config, store


def _complete(db: Database, *words: str) -> list[str]:
    """What bash completion offers after ``grove-jobs WORDS`` (the last word is incomplete)."""
    env = {
        **os.environ,
        "GROVE_DATABASE_URL": db.url,
        "_GROVE_JOBS_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(("grove-jobs", *words)),
        "COMP_CWORD": str(len(words)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "grove_jobs.cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]


def test_config_ids_complete_by_prefix_without_archived_ones(db: Database) -> None:
    for config_id in ("alpha-one", "alpha-two", "beta", "alpha-old"):
        store(db, mock_config(**{"meta.id": config_id}))
    archive_config(db, "alpha-old", actor="t", source="cli")
    assert _complete(db, "configs", "show", "alp") == ["alpha-one", "alpha-two"]
    assert _complete(db, "run", "b") == ["beta"]
    assert _complete(db, "render", "--history", "alpha-t") == ["alpha-two"]


def test_execution_ids_complete_newest_first(db: Database) -> None:
    store(db, mock_config())
    ids = [
        run_now(db, "mock-health-check", requested_by="t", request_id=str(n)).id for n in range(3)
    ]
    assert _complete(db, "executions", "show", "") == [str(i) for i in reversed(ids)]
    assert _complete(db, "executions", "cancel", "x") == []


def test_an_unreachable_database_completes_nothing_quietly(db: Database) -> None:
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        assert _complete(broken, "configs", "show", "a") == []
    finally:
        broken.dispose()
