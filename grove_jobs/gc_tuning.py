"""Garbage-collector settings for grove-jobs processes.

The interpreter's defaults (a young collection every 700 allocations, and full collections
that walk every object) suit small scripts. A sidecar, the API or the dashboard holds
SQLAlchemy, pydantic and Streamlit: hundreds of thousands of long-lived objects from imports
alone, walked again by every full collection. Reading 1,000 configs spent about 40% of its
time in the collector. Freezing what the imports created moves it out of the collector's
reach for good, and rarer young collections stop allocation-heavy code (validating a page of
configs, claiming a batch of runs) from triggering one every few hundred objects.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (default 700)
OLDER_THRESHOLD = 20  # young collections per middle one, middle ones per full one (10, 10)
_tuned = False


def tune_after_imports() -> None:
    """Freeze the objects alive now and collect less often; once per process (later calls
    do nothing, so a script that runs again, as Streamlit's does, cannot freeze garbage)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()  # what is garbage now is not frozen
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
