"""Command lines the browser tests start processes with."""

from __future__ import annotations

import sys


def streamlit_command(port: int) -> list[str]:
    """The dashboard as ``make run`` and the image start it (``python -m dashboard.serve``,
    which preloads and then runs ``streamlit run dashboard/app.py``) on 127.0.0.1:PORT,
    headless, without file watching."""
    return [
        sys.executable,
        "-m",
        "dashboard.serve",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
