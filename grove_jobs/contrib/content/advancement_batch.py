"""``advancement-batch``: evaluate advancement rules over documents and move those that pass.

At most ``batchSize`` eligible documents per run (never evaluated first, then least recently
evaluated, oldest first). Each advancement is one transaction: the tier update and its event,
with the signal snapshot, the criteria results and this run's execution id. A dry run reads
the same documents and signals and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field, field_validator
from sqlalchemy.exc import SQLAlchemyError

from grove_jobs.clock import utcnow
from grove_jobs.contrib.content import repositories as repo
from grove_jobs.contrib.content.evaluator import Decision, Rule, applicable_rules, decide
from grove_jobs.contrib.content.signals import StoredSignals, read_signals
from grove_jobs.contrib.content.tiers import SignalPeriod, Tier
from grove_jobs.db.engine import Database
from grove_jobs.engine.context import JobCancelled, JobContext, JobResult
from grove_jobs.jobs.database import database_for
from grove_jobs.jobs.registry import job_type
from grove_jobs.schema.base import CamelModel, unique_items
from grove_jobs.schema.markers import Destructive

# Per-document outcomes kept in the result (the counts always cover everything).
MAX_OUTCOMES = 1000
# Advancements logged one per line; beyond this only the summary says how many.
MAX_LOGGED = 200
# Evaluated-but-unchanged documents are stamped in groups, not one transaction each.
STAMP_EVERY = 200


class AdvancementBatchParameters(CamelModel):
    """Evaluate advancement rules over documents and move the ones that pass up a tier."""

    lifecycle_model_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    from_tiers: list[Tier] | None = Field(default=None, min_length=1)
    signal_period: SignalPeriod = "last_30d"
    dry_run: Annotated[bool, Destructive] = False

    _check_unique = field_validator("from_tiers")(unique_items)


class AdvancementBatchFailed(RuntimeError):
    """Every document of the batch failed: the run fails (and may be retried)."""


@dataclass
class Tally:
    """What a run did so far; also the summary logged when it is stopped."""

    dry_run: bool
    selected: int = 0
    evaluated: int = 0
    advanced: int = 0
    not_advanced: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def add(self, outcome: dict[str, Any]) -> None:
        kind = outcome["outcome"]
        self.evaluated += 1
        if kind in ("advanced", "would_advance"):
            self.advanced += 1
        elif kind == "not_advanced":
            self.not_advanced += 1
        elif kind == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        if len(self.outcomes) < MAX_OUTCOMES:
            self.outcomes.append(outcome)
        else:
            self.truncated = True

    def summary(self) -> str:
        verb = "would advance" if self.dry_run else "advanced"
        return (
            f"evaluated {self.evaluated} of {self.selected} documents: {self.advanced} {verb}, "
            f"{self.not_advanced} unchanged, {self.skipped} skipped, {self.failed} failed"
        )


@job_type(
    "advancement-batch",
    parameters=AdvancementBatchParameters,
    title="Daily Advancement",
    description="Evaluates enabled advancement rules over at most batchSize eligible documents "
    "and moves each that passes up a tier.",
)
def run(params: AdvancementBatchParameters, ctx: JobContext) -> JobResult:
    """Evaluate up to ``ctx.batch_size`` eligible documents against the enabled rules."""
    db = database_for(ctx)
    at = utcnow()
    rules = repo.load_rules(db, params.lifecycle_model_id)
    if params.from_tiers is not None:
        rules = [r for r in rules if r.from_tier in params.from_tiers]
    tally = Tally(dry_run=params.dry_run)
    base = {
        "dryRun": params.dry_run,
        "lifecycleModelId": params.lifecycle_model_id,
        "signalPeriod": params.signal_period,
        "rules": [{"id": r.id, "version": r.version} for r in rules],
    }
    if not rules:
        ctx.log.warn(f"no enabled advancement rules{_scope_text(params)}; nothing to do")
        ctx.progress(0, 0)
        return JobResult(items_processed=0, items_total=0, data={**base, **_counts(tally)})

    tiers_by_model: dict[str, set[str]] = {}
    for rule in rules:
        tiers_by_model.setdefault(rule.lifecycle_model_id, set()).add(rule.from_tier)
    with db.read() as session:
        backlog = repo.count_eligible(session, tiers_by_model)
        documents = repo.eligible_documents(session, tiers_by_model, ctx.batch_size)
        signals = read_signals(session, [d.id for d in documents], params.signal_period)
    tally.selected = len(documents)
    base["backlog"] = backlog
    ctx.log.info(
        f"{len(rules)} enabled rules; evaluating {len(documents)} of {backlog} eligible "
        f"documents (batch size {ctx.batch_size}) on {params.signal_period} signals"
        + (" - dry run, nothing will be written" if params.dry_run else "")
    )
    ctx.progress(0, len(documents))
    unchanged: list[str] = []
    try:
        for done, document in enumerate(documents, start=1):
            ctx.check()  # between documents: a stop never leaves one half-applied
            outcome = _evaluate(db, ctx, params, rules, document, signals.get(document.id))
            tally.add(outcome)
            _log_outcome(ctx, tally, outcome)
            if outcome["outcome"] != "advanced":
                unchanged.append(document.id)
            if not params.dry_run and len(unchanged) >= STAMP_EVERY:
                repo.mark_evaluated(db, unchanged, at)
                unchanged.clear()
            ctx.progress(done, len(documents))
    except JobCancelled:
        ctx.log.warn(f"stopped early; {tally.summary()}")
        raise
    finally:
        if not params.dry_run:
            repo.mark_evaluated(db, unchanged, at)
    if tally.advanced > MAX_LOGGED:
        ctx.log.info(f"... {tally.advanced - MAX_LOGGED} more advancements not logged one by one")
    ctx.log.info(tally.summary())
    if tally.failed and tally.failed == tally.evaluated:
        raise AdvancementBatchFailed(f"all {tally.failed} documents failed; see the log")
    return JobResult(
        items_processed=tally.evaluated,
        items_total=tally.selected,
        items_failed=tally.failed,
        status="partial" if tally.failed else "success",
        data={**base, **_counts(tally)},
    )


def _evaluate(
    db: Database,
    ctx: JobContext,
    params: AdvancementBatchParameters,
    rules: list[Rule],
    document: repo.Document,
    stored: StoredSignals | None,
) -> dict[str, Any]:
    """Decide one document and, unless dry run, apply the decision atomically."""
    outcome: dict[str, Any] = {
        "documentId": document.id,
        "lifecycleModelId": document.lifecycle_model_id,
        "fromTier": document.tier,
    }
    if stored is None:
        return {**outcome, "outcome": "skipped", "reason": f"no {params.signal_period} signals"}
    candidates = applicable_rules(rules, document.lifecycle_model_id, document.tier)
    decision = decide(candidates, stored.signals)
    winner = decision.winner
    if winner is None:
        return {**outcome, "outcome": "not_advanced", "reason": _why_not(decision)}
    outcome.update(toTier=winner.rule.to_tier, ruleId=winner.rule.id, reason=winner.reason)
    if params.dry_run:
        return {**outcome, "outcome": "would_advance"}
    try:
        moved = repo.record_advancement(
            db,
            document_id=document.id,
            lifecycle_model_id=document.lifecycle_model_id,
            from_tier=document.tier,
            to_tier=winner.rule.to_tier,
            rule=winner.rule,
            signal_period=params.signal_period,
            signals=stored.snapshot(params.signal_period),
            criteria_results=[r.to_json() for r in winner.results],
            execution_id=ctx.execution_id,
            # The moment of this document's commit, not the run's start: a digest reading
            # "events since X" must not miss events committed after X but stamped before it.
            at=utcnow(),
        )
    except SQLAlchemyError as exc:
        # One document's failure is recorded and the batch goes on; the transaction of that
        # document was rolled back, so nothing of it is half-applied.
        return {**outcome, "outcome": "failed", "reason": f"{type(exc).__name__}: {exc}"[:500]}
    if not moved:
        return {**outcome, "outcome": "skipped", "reason": "tier changed by another run"}
    return {**outcome, "outcome": "advanced"}


def _why_not(decision: Decision) -> str:
    if not decision.tried:
        return "no rule for this tier"
    return "no rule passed: " + "; ".join(f"{e.rule.id}: {e.reason}" for e in decision.tried)


def _log_outcome(ctx: JobContext, tally: Tally, outcome: dict[str, Any]) -> None:
    kind = outcome["outcome"]
    if kind == "failed":
        ctx.log.error(f"{outcome['documentId']}: failed: {outcome['reason']}")
    elif kind in ("advanced", "would_advance") and tally.advanced <= MAX_LOGGED:
        verb = "would advance" if kind == "would_advance" else "advanced"
        ctx.log.info(
            f"{outcome['documentId']} {verb} {outcome['fromTier']} -> {outcome['toTier']} "
            f"by rule {outcome['ruleId']} ({outcome['reason']})"
        )


def _scope_text(params: AdvancementBatchParameters) -> str:
    text = ""
    if params.lifecycle_model_id:
        text += f" for lifecycle model {params.lifecycle_model_id!r}"
    if params.from_tiers:
        text += f" from tiers {', '.join(params.from_tiers)}"
    return text


def _counts(tally: Tally) -> dict[str, Any]:
    return {
        "selected": tally.selected,
        "evaluated": tally.evaluated,
        "advanced": tally.advanced,
        "notAdvanced": tally.not_advanced,
        "skipped": tally.skipped,
        "failed": tally.failed,
        "outcomes": tally.outcomes,
        "outcomesTruncated": tally.truncated,
    }
