"""advancement-batch against a real database (SQLite and PostgreSQL): exact advancements for a
constructed table, dry run, batch size through the engine, cancellation, guarded updates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from grove_jobs.clock import utcnow
from grove_jobs.configs.store import create_config, get_config, update_config
from grove_jobs.contrib.content.advancement_batch import AdvancementBatchParameters, run
from grove_jobs.contrib.content.signals import Aggregate, store_aggregates
from grove_jobs.contrib.content.tables import AdvancementEventRow, DocumentRow
from grove_jobs.db.engine import Database
from grove_jobs.engine import dispatch
from grove_jobs.engine.context import JobCancelled
from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import get_execution
from grove_jobs.jobs.database import close_databases
from grove_jobs.jobs.registry import get_job_type
from grove_jobs.schema.grove_object import parse_grove_object
from grove_jobs.schema.job_config import untagged_parameters
from tests.integration.test_jobs_support import (
    add_documents,
    add_rules,
    events,
    make_context,
    rule_json,
    set_signals,
    tiers,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def url(db: Database, migrated_url: str) -> Iterator[str]:
    """The test database's URL; handler engines are disposed before the database goes."""
    yield migrated_url
    close_databases()


def _params(**values: Any) -> AdvancementBatchParameters:
    return AdvancementBatchParameters.model_validate(values)


def _doc(doc_id: str, tier: str, n: int, **extra: Any) -> dict[str, Any]:
    return {"id": doc_id, "tier": tier, "created_at": T0 + timedelta(hours=n), **extra}


# --------------------------------------------------------------------------- the table

RULES = [
    rule_json(
        "r-seed-and", "seed", "sprout", [("retrievals", ">=", 10), ("queryDiversity", ">=", 3)]
    ),
    # Same fromTier, bigger jump: tried first, so it wins when both pass.
    rule_json(
        "r-seed-or-jump",
        "seed",
        "sapling",
        [("citations", ">=", 5), ("utilityScore", ">", 0.9)],
        logic="OR",
    ),
    rule_json("r-sprout-empty", "sprout", "sapling", []),
    rule_json(
        "r-sapling-missing",
        "sapling",
        "tree",
        [("utilityScore", ">=", 0.5), ("retrievals", ">=", 5)],
    ),
    rule_json("r-tree-disabled", "tree", "grove", [("retrievals", ">=", 0)], enabled=False),
    rule_json("r-tree-draft", "tree", "grove", [("retrievals", ">=", 0)], status="draft"),
    rule_json("r-other-model", "seed", "sprout", [("retrievals", ">=", 1)], model="other"),
]

# id, tier, model, last_30d signals (None: no aggregation row), archived
TABLE: list[tuple[str, str, str, dict[str, Any] | None, bool]] = [
    ("d01", "seed", "kb", {"retrievals": 10, "query_diversity": 3}, False),  # AND at boundary
    ("d02", "seed", "kb", {"retrievals": 9, "query_diversity": 3}, False),  # AND one short
    ("d03", "seed", "kb", {"citations": 5}, False),  # OR at boundary -> jump
    ("d04", "seed", "kb", {"retrievals": 12, "citations": 4, "utility": 0.8}, False),  # 0.9 !> 0.9
    ("d05", "seed", "kb", {"retrievals": 10, "query_diversity": 5, "utility": 0.82}, False),
    ("d06", "sprout", "kb", {"retrievals": 100}, False),  # empty criteria never pass
    ("d07", "sapling", "kb", {"retrievals": 5}, False),  # utility missing: ignored
    ("d08", "sapling", "kb", {"retrievals": 4}, False),
    ("d09", "sapling", "kb", {"retrievals": 10, "utility": -0.2}, False),  # utility 0.4
    ("d10", "tree", "kb", {"retrievals": 50}, False),  # only disabled/draft rules: not eligible
    ("d11", "seed", "other", {"retrievals": 1}, False),  # its own model's rule
    ("d12", "seed", "none", {"retrievals": 99}, False),  # a model without rules
    ("d13", "seed", "kb", None, False),  # never aggregated: skipped
    ("d14", "seed", "kb", {"events": 0}, False),  # aggregated, no events: skipped
    ("d15", "seed", "kb", {"retrievals": 100, "query_diversity": 9}, True),  # archived
    ("d16", "seed", "kb", "last_7d_only", False),  # signals in another period only: skipped
    ("d17", "grove", "kb", {"retrievals": 100}, False),  # top tier
    ("d18", "seed", "kb", {"retrievals": 1}, False),  # r-other-model is not its model's
]

EXPECTED_ADVANCED = {
    "d01": ("seed", "sprout", "r-seed-and"),
    "d03": ("seed", "sapling", "r-seed-or-jump"),
    "d05": ("seed", "sapling", "r-seed-or-jump"),
    "d07": ("sapling", "tree", "r-sapling-missing"),
    "d11": ("seed", "sprout", "r-other-model"),
}
EXPECTED_NOT_ADVANCED = {"d02", "d04", "d06", "d08", "d09", "d18"}
EXPECTED_SKIPPED = {"d13", "d14", "d16"}


def _build_table(db: Database) -> None:
    add_rules(db, RULES)
    add_documents(
        db,
        [
            _doc(doc_id, tier, n, lifecycle_model_id=model, archived_at=T0 if archived else None)
            for n, (doc_id, tier, model, _, archived) in enumerate(TABLE)
        ],
    )
    for doc_id, _, _, signals, _ in TABLE:
        if signals == "last_7d_only":
            set_signals(db, doc_id, period="last_7d", retrievals=50, query_diversity=9, at=T0)
        elif isinstance(signals, dict):
            set_signals(db, doc_id, at=T0, **signals)


def _outcomes(result_data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["documentId"]: o for o in result_data["outcomes"]}


def _moves(result_data: dict[str, Any], kind: str = "advanced") -> dict[str, tuple]:
    """document -> (from, to, rule) for outcomes of ``kind``."""
    return {
        o["documentId"]: (o["fromTier"], o["toTier"], o["ruleId"])
        for o in result_data["outcomes"]
        if o["outcome"] == kind
    }


def test_exact_advancements_for_a_constructed_table(db: Database, url: str) -> None:
    _build_table(db)
    ctx, recorder = make_context(url, execution_id=4242)

    result = run(_params(), ctx)

    outcomes = _outcomes(result.data)
    assert _moves(result.data) == EXPECTED_ADVANCED
    assert {d for d, o in outcomes.items() if o["outcome"] == "not_advanced"} == (
        EXPECTED_NOT_ADVANCED
    )
    assert {d for d, o in outcomes.items() if o["outcome"] == "skipped"} == EXPECTED_SKIPPED
    assert set(outcomes) & {"d10", "d12", "d15", "d17"} == set()  # never eligible
    data = result.data
    assert (data["evaluated"], data["advanced"], data["skipped"], data["failed"]) == (14, 5, 3, 0)
    assert data["notAdvanced"] == 6
    assert (result.items_processed, result.items_total, result.items_failed) == (14, 14, 0)
    assert result.status == "success"
    assert {r["id"] for r in data["rules"]} == {
        "r-seed-and",
        "r-seed-or-jump",
        "r-sprout-empty",
        "r-sapling-missing",
        "r-other-model",
    }

    # The database agrees: tiers moved, one event per advancement, linked to the execution.
    now = tiers(db)
    for doc_id, (_, to_tier, _) in EXPECTED_ADVANCED.items():
        assert now[doc_id] == to_tier
    unchanged = {doc_id: tier for doc_id, tier, *_ in TABLE if doc_id not in EXPECTED_ADVANCED}
    assert {d: now[d] for d in unchanged} == unchanged
    recorded = events(db)
    assert {e.document_id: (e.from_tier, e.to_tier, e.rule_id) for e in recorded} == (
        EXPECTED_ADVANCED
    )
    assert all(e.execution_id == 4242 and e.signal_period == "last_30d" for e in recorded)
    assert all(e.rule_version == 1 for e in recorded)

    by_doc = {e.document_id: e for e in recorded}
    d07 = by_doc["d07"]
    assert d07.signals["retrievals"] == 5 and d07.signals["utilityScore"] is None
    assert [(c["signal"], c["outcome"]) for c in d07.criteria_results] == [
        ("utilityScore", "missing"),
        ("retrievals", "passed"),
    ]
    d05 = by_doc["d05"]
    assert d05.signals["utilityScore"] == pytest.approx(0.91)
    assert d05.signals["rawUtility"] == pytest.approx(0.82)
    assert [(c["signal"], c["outcome"]) for c in d05.criteria_results] == [
        ("citations", "failed"),
        ("utilityScore", "passed"),
    ]
    assert "rule has no criteria" in outcomes["d06"]["reason"]
    assert "d01 advanced seed -> sprout by rule r-seed-and" in recorder.text()
    assert recorder.progress[0] == (0, 14) and recorder.progress[-1] == (14, 14)

    # Everything evaluated was stamped, so the next batch starts with other documents.
    with db.read() as session:
        stamped = set(
            session.scalars(select(DocumentRow.id).where(DocumentRow.evaluated_at.is_not(None)))
        )
    assert stamped == set(outcomes)


def test_scope_parameters(db: Database, url: str) -> None:
    _build_table(db)
    ctx, _ = make_context(url)
    result = run(_params(lifecycleModelId="other", dryRun=True), ctx)
    assert list(_outcomes(result.data)) == ["d11"]

    result = run(_params(fromTiers=["sapling"], dryRun=True), ctx)
    assert set(_outcomes(result.data)) == {"d07", "d08", "d09"}
    assert result.data["advanced"] == 1

    # Only d16 has last_7d signals (50 retrievals, 9 distinct queries: r-seed-and passes).
    result = run(_params(signalPeriod="last_7d", dryRun=True), ctx)
    would = {d for d, o in _outcomes(result.data).items() if o["outcome"] == "would_advance"}
    assert would == {"d16"}

    result = run(_params(lifecycleModelId="nobody"), ctx)
    assert result.data["evaluated"] == 0 and result.items_total == 0


def _snapshot(db: Database) -> tuple[list, int]:
    with db.read() as session:
        documents = [
            (d.id, d.tier, d.updated_at, d.evaluated_at, d.archived_at)
            for d in session.scalars(select(DocumentRow).order_by(DocumentRow.id))
        ]
        count = len(list(session.scalars(select(AdvancementEventRow.id))))
    return documents, count


def test_dry_run_writes_nothing(db: Database, url: str) -> None:
    _build_table(db)
    before = _snapshot(db)
    ctx, recorder = make_context(url)

    dry = run(_params(dryRun=True), ctx)

    assert _snapshot(db) == before
    assert before[1] == 0
    would = _moves(dry.data, "would_advance")
    assert would == EXPECTED_ADVANCED
    assert dry.data["dryRun"] is True and dry.data["advanced"] == 5
    assert "dry run" in recorder.messages("info")[0]
    assert "d03 would advance seed -> sapling" in recorder.text()

    # The real run then makes exactly what the dry run announced.
    real = run(_params(), make_context(url)[0])
    assert _moves(real.data) == would


# --------------------------------------------------------------------------- through the engine


def _advancement_config(batch_size: int) -> dict[str, Any]:
    return {
        "meta": {"id": "advance", "type": "job-config"},
        "payload": {
            "jobType": "advancement-batch",
            "displayName": "Advance",
            "schedule": {"cronExpression": "0 2 * * *", "timezone": "UTC"},
            "limits": {"batchSize": batch_size, "timeoutSeconds": 60},
            "parameters": {"lifecycleModelId": "kb"},
        },
    }


def _run_through_engine(db: Database, url: str, config_id: str):
    """Run Now, claim it as a sidecar would, run the handler, record the outcome."""
    run_now(db, config_id, requested_by="test")
    [claimed] = dispatch.claim(db, worker_id="test-worker", limit=1, at=utcnow())
    ctx, _ = make_context(
        url,
        batch_size=claimed.batch_size,
        config_id=claimed.config_id,
        execution_id=claimed.execution_id,
        attempt=claimed.attempt,
    )
    kind = get_job_type(claimed.job_type)
    params = kind.parameters.model_validate(
        untagged_parameters(claimed.job_type, claimed.parameters)
    )
    result = kind.handler(params, ctx)
    outcome = dispatch.Outcome(
        claimed.execution_id,
        claimed.attempt,
        result.status,
        result.items_processed,
        result.items_total,
        result.items_failed,
        result.data,
    )
    dispatch.complete(db, [outcome], [], {}, worker_id="test-worker", at=utcnow())
    return get_execution(db, claimed.execution_id)


def test_batch_size_comes_from_the_config(db: Database, url: str) -> None:
    add_rules(db, [rule_json("kb-seed", "seed", "sprout", [("retrievals", ">=", 1000)])])
    add_documents(db, [_doc(f"doc-{n:03d}", "seed", n) for n in range(120)])
    below_threshold = [Aggregate(f"doc-{n:03d}", 3, 0, 1, None, 4) for n in range(120)]
    with db.write() as session:
        store_aggregates(session, below_threshold, "last_30d", T0)
    create_config(db, parse_grove_object(_advancement_config(50)), actor="t", source="cli")

    first = _run_through_engine(db, url, "advance")
    assert first.status == "success"
    assert (first.items_processed, first.items_total) == (50, 50)
    assert first.result["evaluated"] == first.result["selected"] == 50
    assert first.result["backlog"] == 120
    # Oldest first.
    assert [o["documentId"] for o in first.result["outcomes"]] == [
        f"doc-{n:03d}" for n in range(50)
    ]

    record = get_config(db, "advance")
    changed = _advancement_config(30)
    update_config(
        db,
        parse_grove_object(changed),
        expected_version=record.version,
        actor="t",
        source="cli",
    )
    second = _run_through_engine(db, url, "advance")
    assert second.result["evaluated"] == 30
    assert second.items_processed == 30
    # The next 30: evaluated documents wait their turn behind never-evaluated ones.
    assert [o["documentId"] for o in second.result["outcomes"]] == [
        f"doc-{n:03d}" for n in range(50, 80)
    ]


# --------------------------------------------------------------------------- stopping


def test_cancellation_mid_batch_leaves_every_document_consistent(db: Database, url: str) -> None:
    add_rules(db, [rule_json("kb-seed", "seed", "sprout", [("retrievals", ">=", 1)])])
    add_documents(db, [_doc(f"doc-{n:03d}", "seed", n) for n in range(40)])
    for n in range(40):
        set_signals(db, f"doc-{n:03d}", retrievals=5, at=T0)
    # progress is (0, 40) first, then one report per document: cancel after the tenth.
    ctx, recorder = make_context(url, execution_id=7, cancel_when=lambda r: len(r.progress) > 10)

    with pytest.raises(JobCancelled) as stopped:
        run(_params(), ctx)

    assert stopped.value.reason == "cancelled"
    moved = {d for d, t in tiers(db).items() if t == "sprout"}
    assert moved == {f"doc-{n:03d}" for n in range(10)}
    recorded = events(db)
    # Every moved document has exactly its event; nothing else has one.
    assert sorted(e.document_id for e in recorded) == sorted(moved)
    assert all(e.execution_id == 7 for e in recorded)
    with db.read() as session:
        untouched = session.scalars(
            select(DocumentRow).where(DocumentRow.id.not_in(sorted(moved)))
        ).all()
    assert len(untouched) == 30
    assert all(d.tier == "seed" and d.evaluated_at is None for d in untouched)
    assert any("stopped early; evaluated 10 of 40" in m for m in recorder.messages("warn"))


def test_deadline_stops_between_documents(db: Database, url: str) -> None:
    add_rules(db, [rule_json("kb-seed", "seed", "sprout", [("retrievals", ">=", 1)])])
    add_documents(db, [_doc(f"doc-{n:03d}", "seed", n) for n in range(5)])
    for n in range(5):
        set_signals(db, f"doc-{n:03d}", retrievals=5, at=T0)
    ctx, _ = make_context(url, timeout=-1)  # already past its deadline

    with pytest.raises(JobCancelled) as stopped:
        run(_params(), ctx)

    assert stopped.value.reason == "timed_out"
    assert set(tiers(db).values()) == {"seed"} and events(db) == []


def test_a_document_moved_meanwhile_is_not_moved_twice(db: Database, url: str) -> None:
    add_rules(db, [rule_json("kb-seed", "seed", "sprout", [("retrievals", ">=", 1)])])
    add_documents(db, [_doc("doc-a", "seed", 0), _doc("doc-b", "seed", 1)])
    for doc_id in ("doc-a", "doc-b"):
        set_signals(db, doc_id, retrievals=5, at=T0)

    def another_run_moves_doc_b(recorder) -> bool:
        # Runs at the first cancellation check, after the batch read its documents.
        if len(recorder.progress) == 1:
            with db.write() as session:
                session.execute(
                    update(DocumentRow).where(DocumentRow.id == "doc-b").values(tier="sapling")
                )
        return False

    ctx, _ = make_context(url, cancel_when=another_run_moves_doc_b)
    result = run(_params(), ctx)

    outcomes = _outcomes(result.data)
    assert outcomes["doc-a"]["outcome"] == "advanced"
    assert outcomes["doc-b"]["outcome"] == "skipped"
    assert outcomes["doc-b"]["reason"] == "tier changed by another run"
    assert tiers(db) == {"doc-a": "sprout", "doc-b": "sapling"}
    assert [e.document_id for e in events(db)] == ["doc-a"]
