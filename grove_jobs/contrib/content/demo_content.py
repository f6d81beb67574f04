"""Demo content: about 200 documents across tiers and some thousands of signal events over the
last 60 days, generated from a fixed random seed, with their aggregations computed so that an
advancement batch has something to decide right after ``grove-jobs demo seed``.

Deterministic: the same seed and ``at`` give the same rows. Idempotent: when demo documents
exist already nothing is added.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from grove_jobs.contrib.content.signals import PERIOD_DAYS, refresh_aggregates
from grove_jobs.contrib.content.tables import DocumentRow, SignalEventRow
from grove_jobs.db.engine import Database

SEED = 20240601
ID_PREFIX = "demo-"
KNOWLEDGE_BASE = "knowledge-base"
RELEASE_NOTES = "release-notes"  # a second lifecycle model without rules: never moves
SIGNAL_DAYS = 60
MAX_AGE_DAYS = 150
NEVER_SIGNALLED = 0.08
# (lifecycle model, tier, documents, activity multiplier): busier documents sit higher up.
MIX: tuple[tuple[str, str, int, float], ...] = (
    (KNOWLEDGE_BASE, "seed", 74, 0.8),
    (KNOWLEDGE_BASE, "sprout", 50, 1.4),
    (KNOWLEDGE_BASE, "sapling", 32, 2.2),
    (KNOWLEDGE_BASE, "tree", 18, 3.2),
    (KNOWLEDGE_BASE, "grove", 10, 4.0),
    (RELEASE_NOTES, "seed", 10, 1.0),
    (RELEASE_NOTES, "sprout", 6, 1.5),
)
_TOPICS = (
    "vector search",
    "embedding drift",
    "chunking strategies",
    "prompt templates",
    "access control",
    "billing exports",
    "incident response",
    "SSO setup",
    "rate limits",
    "data retention",
    "webhooks",
    "batch imports",
    "query rewriting",
    "citation styles",
    "model upgrades",
    "latency budgets",
)
_FORMS = ("How to", "FAQ:", "Troubleshooting", "Deep dive:", "Checklist:", "Notes on", "Guide to")


@dataclass(frozen=True)
class ContentSeed:
    """What seeding added (all zero when the demo content existed already)."""

    documents: int = 0
    signal_events: int = 0
    aggregations: int = 0


def generate(at: datetime, seed: int = SEED) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for ``documents`` and ``signal_events``, as of ``at``."""
    rng = random.Random(seed)
    documents: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    number = 0
    for model, tier, count, activity in MIX:
        for _ in range(count):
            number += 1
            doc_id = f"{ID_PREFIX}{number:04d}"
            age_days = rng.uniform(1, MAX_AGE_DAYS)
            created = at - timedelta(days=age_days)
            title = f"{rng.choice(_FORMS)} {rng.choice(_TOPICS)}"
            documents.append(
                {
                    "id": doc_id,
                    "title": f"{title} ({model})",
                    "tier": tier,
                    "lifecycle_model_id": model,
                    "created_at": created,
                    "updated_at": created,
                    "evaluated_at": None,
                    "archived_at": None,
                }
            )
            if rng.random() < NEVER_SIGNALLED:
                continue
            events.extend(_events(rng, doc_id, activity, min(age_days, SIGNAL_DAYS), at))
    return documents, events


def _events(
    rng: random.Random, doc_id: str, activity: float, window_days: float, at: datetime
) -> list[dict[str, Any]]:
    popularity = min(rng.paretovariate(1.6), 12.0) * activity
    count = int(popularity * rng.uniform(6, 14))
    queries = 1 + int(popularity * rng.uniform(1.5, 4))
    quality = rng.uniform(-0.4, 0.9)
    recency = rng.uniform(0.5, 1.8)  # < 1: activity leans old; > 1: leans recent
    rows = []
    for _ in range(count):
        roll = rng.random()
        kind = "retrieval" if roll < 0.6 else ("query" if roll < 0.85 else "citation")
        query = rng.randrange(queries)
        utility = None
        if kind != "query" and rng.random() < 0.4:
            utility = round(max(-1.0, min(1.0, rng.gauss(quality, 0.35))), 3)
        days_ago = window_days * (1 - rng.random() ** (1 / recency))
        rows.append(
            {
                "document_id": doc_id,
                "kind": kind,
                "query_hash": hashlib.sha1(f"{doc_id}/{query}".encode()).hexdigest()[:16],
                "utility": utility,
                "at": at - timedelta(days=days_ago),
            }
        )
    return rows


def seed_content(db: Database, *, at: datetime, seed: int = SEED) -> ContentSeed:
    """Insert the demo documents and signals and aggregate them, in one transaction; a no-op
    when demo documents exist already (``demo seed`` may be run any number of times)."""
    with db.write() as session:
        existing = session.scalar(select(func.count()).where(DocumentRow.id.like(f"{ID_PREFIX}%")))
        if existing:
            return ContentSeed()
        documents, events = generate(at, seed)
        session.execute(insert(DocumentRow), documents)
        session.execute(insert(SignalEventRow), events)
        aggregations = refresh_aggregates(
            session, [d["id"] for d in documents], list(PERIOD_DAYS), at
        )
    return ContentSeed(len(documents), len(events), aggregations)
