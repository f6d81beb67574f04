"""The dashboard's launcher preloads every module the pages import from outside dashboard/."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from dashboard.serve import PRELOAD

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent is a module, not a package
        return False


def _outside_imports() -> set[str]:
    names: set[str] = set()
    for path in DASHBOARD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] in ("grove_jobs", "plotly"):
                    for alias in node.names:  # ``from grove_jobs.alerts import store``
                        submodule = f"{node.module}.{alias.name}"
                        names.add(submodule if _is_module(submodule) else node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.startswith("grove_jobs."))
    return names - {"grove_jobs"}


def test_preload_covers_what_the_pages_import() -> None:
    missing = _outside_imports() - set(PRELOAD)
    assert not missing, f"add to dashboard.serve.PRELOAD: {sorted(missing)}"


def test_the_database_driver_is_loaded_before_the_first_visit() -> None:
    # A fresh interpreter: psycopg is imported by the preload, not by anything before it.
    code = (
        "import sys\n"
        "from dashboard.serve import load_database_driver\n"
        "before = 'psycopg' in sys.modules\n"
        "load_database_driver()\n"
        "print(before, 'psycopg' in sys.modules)\n"
    )
    env = {**os.environ, "GROVE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
