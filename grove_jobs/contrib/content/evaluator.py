"""The advancement evaluator: pure functions from (rules, a document's signals) to a decision.

Semantics, ported from the original design:

- only enabled rules of the document's lifecycle model whose ``fromTier`` is its tier apply;
- rules are tried in order (priority, then the bigger jump, then id); the first that passes wins;
- a criterion whose signal is missing (no value for the period) is ignored, neither passing nor
  failing; a rule passes when, over its remaining criteria, all pass (AND) or one passes (OR);
- a rule with no criteria (or none left after ignoring missing signals) never passes: nothing
  is promoted on no evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grove_jobs.contrib.content.rules import AdvancementRulePayload, Criterion
from grove_jobs.contrib.content.tiers import TIERS

CriterionOutcome = Literal["passed", "failed", "missing"]

# Averages of floats drift in the last bits; a value this close to its threshold counts as
# equal so that boundary rules (>= 0.7) behave as written.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Signals:
    """A document's aggregated signals for one period; None means missing.

    ``utility_score`` is already mapped to [0, 1] (see :func:`utility_to_score`).
    """

    retrievals: int | None = None
    citations: int | None = None
    query_diversity: int | None = None
    utility_score: float | None = None

    def value(self, signal: str) -> float | None:
        """The value of a signal by its rule name (``queryDiversity`` etc.)."""
        return {
            "retrievals": self.retrievals,
            "citations": self.citations,
            "queryDiversity": self.query_diversity,
            "utilityScore": self.utility_score,
        }[signal]

    def to_json(self) -> dict[str, Any]:
        return {
            "retrievals": self.retrievals,
            "citations": self.citations,
            "queryDiversity": self.query_diversity,
            "utilityScore": self.utility_score,
        }


def utility_to_score(raw: float | None) -> float | None:
    """Map a mean utility in [-1, 1] to a score in [0, 1] (clamped; None stays None)."""
    if raw is None:
        return None
    return min(1.0, max(0.0, (raw + 1.0) / 2.0))


@dataclass(frozen=True)
class Rule:
    """An enabled advancement rule as the evaluator sees it."""

    id: str
    lifecycle_model_id: str
    from_tier: str
    to_tier: str
    criteria: tuple[Criterion, ...]
    logic_operator: Literal["AND", "OR"] = "AND"
    priority: int = 0
    version: int | None = None

    @classmethod
    def from_payload(
        cls, rule_id: str, payload: AdvancementRulePayload, version: int | None = None
    ) -> Rule:
        """Build from a stored rule's payload."""
        return cls(
            id=rule_id,
            lifecycle_model_id=payload.lifecycle_model_id,
            from_tier=payload.from_tier,
            to_tier=payload.to_tier,
            criteria=tuple(payload.criteria),
            logic_operator=payload.logic_operator,
            priority=payload.priority,
            version=version,
        )


@dataclass(frozen=True)
class CriterionResult:
    signal: str
    operator: str
    threshold: float
    value: float | None
    outcome: CriterionOutcome

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "operator": self.operator,
            "threshold": self.threshold,
            "value": self.value,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class RuleEvaluation:
    """How one rule fared against one document's signals."""

    rule: Rule
    passed: bool
    results: tuple[CriterionResult, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ruleId": self.rule.id,
            "logicOperator": self.rule.logic_operator,
            "passed": self.passed,
            "reason": self.reason,
            "criteria": [r.to_json() for r in self.results],
        }


def compare(value: float, operator: str, threshold: float) -> bool:
    """``value <operator> threshold`` with a tolerance for float noise at the boundary."""
    close = math.isclose(value, threshold, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    if operator == "==":
        return close
    if operator == ">=":
        return value >= threshold or close
    if operator == "<=":
        return value <= threshold or close
    if operator == ">":
        return value > threshold and not close
    if operator == "<":
        return value < threshold and not close
    raise ValueError(f"unknown operator {operator!r}")


def evaluate_criterion(criterion: Criterion, signals: Signals) -> CriterionResult:
    """Compare one criterion; ``missing`` when the signal has no value."""
    value = signals.value(criterion.signal)
    if value is None:
        outcome: CriterionOutcome = "missing"
    else:
        outcome = "passed" if compare(value, criterion.operator, criterion.threshold) else "failed"
    return CriterionResult(
        criterion.signal, criterion.operator, criterion.threshold, value, outcome
    )


def evaluate_rule(rule: Rule, signals: Signals) -> RuleEvaluation:
    """Evaluate a rule's criteria with AND/OR, ignoring missing signals."""
    results = tuple(evaluate_criterion(c, signals) for c in rule.criteria)
    if not results:
        return RuleEvaluation(rule, False, results, "rule has no criteria")
    counted = [r for r in results if r.outcome != "missing"]
    if not counted:
        return RuleEvaluation(rule, False, results, "every criterion's signal is missing")
    passed_count = sum(r.outcome == "passed" for r in counted)
    passed = passed_count == len(counted) if rule.logic_operator == "AND" else passed_count > 0
    reason = f"{passed_count} of {len(counted)} criteria passed ({rule.logic_operator})"
    missing = len(results) - len(counted)
    if missing:
        reason += f"; {missing} ignored (signal missing)"
    return RuleEvaluation(rule, passed, results, reason)


def order_rules(rules: Iterable[Rule]) -> list[Rule]:
    """The order rules are tried in: priority (high first), bigger jump first, then id."""
    return sorted(rules, key=lambda r: (-r.priority, -TIERS.index(r.to_tier), r.id))


def applicable_rules(rules: Iterable[Rule], lifecycle_model_id: str, tier: str) -> list[Rule]:
    """Rules for this lifecycle model that start at this tier, in evaluation order."""
    return order_rules(
        r for r in rules if r.lifecycle_model_id == lifecycle_model_id and r.from_tier == tier
    )


@dataclass(frozen=True)
class Decision:
    """The outcome for one document: the winning evaluation (if any) and every one tried."""

    winner: RuleEvaluation | None
    tried: tuple[RuleEvaluation, ...]


def decide(rules: Sequence[Rule], signals: Signals) -> Decision:
    """Try ``rules`` (already applicable and ordered) until one passes."""
    tried = []
    for rule in rules:
        evaluation = evaluate_rule(rule, signals)
        tried.append(evaluation)
        if evaluation.passed:
            return Decision(evaluation, tuple(tried))
    return Decision(None, tuple(tried))
