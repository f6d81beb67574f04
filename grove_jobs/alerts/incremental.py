"""Incremental alert passes: each looks only at the configs whose rules can have changed.

A rule's answer changes when a run finishes, starts or is saved (found by index range scans
since the previous pass, see ``states.changed_since``), while a run is running (slow runs),
while an incident is open, or when time alone makes a tick overdue (``rules.recheck_at``,
kept in a heap). Everything else keeps its answer, so a pass costs about the runs finished
since the previous one, not the number of configs. A full pass at start and every
``FULL_PASS_EVERY`` (an hour) is the backstop for anything the change queries cannot see.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from grove_jobs.alerts import rules, store
from grove_jobs.alerts.evaluate import AlertPass, evaluate_states
from grove_jobs.alerts.states import changed_since, load_states
from grove_jobs.db.engine import Database

# A full pass at 10,000 configs takes seconds of CPU (bench scale): rare, as a backstop only.
FULL_PASS_EVERY = timedelta(hours=1)
# Runs are stamped completed_at by their sidecar's clock before the commit; looking back this
# far past the previous pass covers commit lag and modest clock skew between sidecars.
OVERLAP = timedelta(seconds=60)


class IncrementalEvaluator:
    """One sidecar's sequence of alert passes (not thread-safe: one maintenance thread)."""

    def __init__(self, db: Database, *, full_pass_every: timedelta = FULL_PASS_EVERY):
        self.db = db
        self.full_pass_every = full_pass_every
        self._previous: datetime | None = None
        self._full_at: datetime | None = None
        self._recheck: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []

    def run(self, at: datetime, *, deliverable: bool = True) -> AlertPass:
        """One pass at ``at``; full when due (or when the clock went backwards)."""
        full = (
            self._previous is None
            or self._full_at is None
            or at < self._previous
            or at - self._full_at >= self.full_pass_every
        )
        if full:
            open_now = store.open_by_config(self.db)
            states = load_states(self.db)
            self._recheck.clear()
            self._heap.clear()
            self._full_at = at
        else:
            assert self._previous is not None
            ids = changed_since(self.db, self._previous - OVERLAP) | self._due(at)
            open_now = store.open_by_config(self.db)
            ids |= set(open_now)
            states = load_states(self.db, ids)
            for config_id in ids:  # reinstated below if still active and time-sensitive
                self._recheck.pop(config_id, None)
        result = evaluate_states(self.db, states, open_now, at, deliverable)
        for state in states:
            when = rules.recheck_at(state, at)
            if when is not None:
                self._recheck[state.config_id] = when
                heapq.heappush(self._heap, (when, state.config_id))
        self._previous = at
        return result

    def _due(self, at: datetime) -> set[str]:
        due = set()
        while self._heap and self._heap[0][0] <= at:
            when, config_id = heapq.heappop(self._heap)
            if self._recheck.get(config_id) == when:  # else superseded by a later entry
                due.add(config_id)
        return due
