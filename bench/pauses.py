"""What pauses and maintenance windows cost the claim: the ``startable`` condition is built
before every claim, so its price is paid on every poll of every sidecar."""

from __future__ import annotations

import time

from bench.common import fresh_postgres, summary_ms
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.pauses.hold import startable
from grove_jobs.pauses.store import pause
from grove_jobs.pauses.windows import WindowSpec, add_window


def _startable_ms(db: Database, repeats: int) -> dict[str, float]:
    samples = []
    with db.read() as session:
        startable(session, utcnow())  # warm the statement cache
        for _ in range(repeats):
            started = time.perf_counter()
            startable(session, utcnow())
            samples.append((time.perf_counter() - started) * 1000)
    return summary_ms(samples)


def claim_condition(repeats: int = 500, windows: int = 20) -> dict:
    """``startable`` on PostgreSQL: nothing configured, ``windows`` recurring tagged windows,
    and those plus an active pause."""
    results = {}
    with fresh_postgres() as db:
        results["none"] = _startable_ms(db, repeats)
        for n in range(windows):
            spec = WindowSpec(
                f"w{n}", cron_expression="*/5 * * * *", duration_minutes=2, tag=f"t{n}"
            )
            add_window(db, spec, by="bench", source="cli")
        results[f"{windows}_recurring_windows"] = _startable_ms(db, repeats)
        pause(db, reason="bench", by="bench", source="cli")
        results["paused"] = _startable_ms(db, repeats)
    return {"benchmark": "pause_claim_condition", "startable_ms": results}


BENCHMARKS = {"pauses": claim_condition}
