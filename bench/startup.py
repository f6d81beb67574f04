"""CLI start-up against the interpreter's own floor, measured in the same run.

``python -m bench.startup`` prints one JSON object. Every command is a fresh process of the
venv's python with PYTHONDONTWRITEBYTECODE=1 (as on the deployment machines), so the figures
count on the bytecode that ``make install`` compiled, never on a cache written by an earlier run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from bench.common import ROOT, fresh_postgres, grove_jobs_script
from bench.engine import _bulk_configs

RUNS = 7
CONFIGS = 1000
DATA_LAYER_IMPORTS = "import sqlalchemy.orm, psycopg, pydantic_settings"
TIMEOUT_SECONDS = 120  # per command: a hung CLI fails the benchmark rather than hanging it


def _python() -> str:
    """The venv's python (the one beside the ``grove-jobs`` script)."""
    return str(Path(sysconfig.get_path("scripts")) / "python")


def _median_ms(command: list[str], env: dict[str, str], runs: int = RUNS) -> float:
    """Median wall time of ``runs`` fresh processes, after one untimed run that warms the OS
    page cache (as any second invocation on a machine would find it)."""
    samples = []
    for n in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=True,
            timeout=TIMEOUT_SECONDS,
        )
        if n:
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _bytecode_compiled() -> bool:
    """Whether the project's own modules have bytecode (``make install`` compiles it); without
    it every run would compile from source."""
    spec = importlib.util.find_spec("grove_jobs")
    origin = spec.origin if spec else None
    return bool(origin) and Path(importlib.util.cache_from_source(origin)).exists()


def _figure(ms: float, floor_ms: float, factor: int) -> dict:
    ratio = ms / floor_ms
    return {
        "median_ms": round(ms, 1),
        "ratio_to_import_click": round(ratio, 2),
        "target_ratio": factor,
        "met": ratio <= factor,
    }


def startup(runs: int = RUNS) -> dict:
    """``grove-jobs --help`` and ``grove-jobs configs list`` (1,000 configs) against
    ``python -c "import click"``."""
    with fresh_postgres() as db:
        _bulk_configs(db, CONFIGS, next_run_at=None)
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "GROVE_DATABASE_URL": db.url,
            "GROVE_LOG_LEVEL": "WARNING",
        }
        floor = _median_ms([_python(), "-c", "import click"], env, runs)
        # What any command that reads the database imports first: the libraries alone.
        libraries = _median_ms([_python(), "-c", DATA_LAYER_IMPORTS], env, runs)
        help_ms = _median_ms([grove_jobs_script(), "--help"], env, runs)
        list_ms = _median_ms([grove_jobs_script(), "configs", "list"], env, runs)
    return {
        "benchmark": "startup",
        "runs": runs,
        "bytecode_compiled": _bytecode_compiled(),
        "import_click_ms": round(floor, 1),
        "help": _figure(help_ms, floor, 3),
        "configs_list_1000": _figure(list_ms, floor, 5),
        "import_data_layer_libraries": _figure(libraries, floor, 5),
    }


BENCHMARKS = {"startup": startup}


def main(names: list[str]) -> None:
    for name in names or list(BENCHMARKS):
        print(json.dumps(BENCHMARKS[name]()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
