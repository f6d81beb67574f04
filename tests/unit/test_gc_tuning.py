"""The collector settings long-running processes apply once after their imports."""

from __future__ import annotations

import json
import subprocess
import sys

from grove_jobs import gc_tuning

PROBE = """
import gc, json
from grove_jobs.gc_tuning import tune_after_imports
before = gc.get_freeze_count()
tune_after_imports()
frozen = gc.get_freeze_count()
garbage = [[] for _ in range(1000)]
tune_after_imports()  # a second call (a Streamlit rerun) freezes nothing more
print(json.dumps([before, frozen, gc.get_freeze_count(), gc.get_threshold()]))
"""


def test_imports_are_frozen_once_and_young_collections_are_rarer() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    before, frozen, after_second, threshold = json.loads(done.stdout)
    assert before == 0 and frozen > 1_000  # the objects the imports created
    assert after_second == frozen
    assert threshold == [
        gc_tuning.YOUNG_THRESHOLD,
        gc_tuning.OLDER_THRESHOLD,
        gc_tuning.OLDER_THRESHOLD,
    ]
