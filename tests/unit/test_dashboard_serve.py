"""The dashboard's launcher preloads every module the pages import from outside dashboard/."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from dashboard.serve import PRELOAD

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


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
