"""The advancement evaluator, without a database: operators at their boundaries, AND/OR,
missing signals, empty criteria, rule order."""

from __future__ import annotations

import pytest

from grove_jobs.contrib.content.evaluator import (
    Rule,
    Signals,
    applicable_rules,
    compare,
    decide,
    evaluate_rule,
    order_rules,
    utility_to_score,
)
from grove_jobs.contrib.content.rules import Criterion


def _criterion(signal: str, operator: str, threshold: float) -> Criterion:
    return Criterion(signal=signal, operator=operator, threshold=threshold)  # type: ignore[arg-type]


def _rule(rule_id: str = "r", *criteria: tuple[str, str, float], logic: str = "AND", **kw) -> Rule:
    return Rule(
        id=rule_id,
        lifecycle_model_id=kw.pop("model", "kb"),
        from_tier=kw.pop("from_tier", "seed"),
        to_tier=kw.pop("to_tier", "sprout"),
        criteria=tuple(_criterion(*c) for c in criteria),
        logic_operator=logic,  # type: ignore[arg-type]
        **kw,
    )


@pytest.mark.parametrize(
    ("value", "operator", "threshold", "expected"),
    [
        (10, ">=", 10, True),
        (9, ">=", 10, False),
        (10, ">", 10, False),
        (11, ">", 10, True),
        (10, "==", 10, True),
        (10.5, "==", 10, False),
        (10, "<=", 10, True),
        (11, "<=", 10, False),
        (10, "<", 10, False),
        (9, "<", 10, True),
        # Float noise at the boundary counts as equal.
        (0.7 - 1e-12, ">=", 0.7, True),
        (0.7 + 1e-12, ">", 0.7, False),
        (0.7 + 1e-12, "==", 0.7, True),
        (0.7 + 1e-12, "<=", 0.7, True),
    ],
)
def test_compare(value: float, operator: str, threshold: float, expected: bool) -> None:
    assert compare(value, operator, threshold) is expected


def test_utility_is_mapped_to_zero_one() -> None:
    assert [utility_to_score(v) for v in (-1.0, 0.0, 0.5, 1.0)] == [0.0, 0.5, 0.75, 1.0]
    assert utility_to_score(None) is None
    assert utility_to_score(1.5) == 1.0  # clamped, never out of range


def test_and_needs_every_criterion() -> None:
    rule = _rule("r", ("retrievals", ">=", 10), ("citations", ">=", 2))
    assert evaluate_rule(rule, Signals(retrievals=10, citations=2)).passed
    failed = evaluate_rule(rule, Signals(retrievals=10, citations=1))
    assert not failed.passed
    assert [r.outcome for r in failed.results] == ["passed", "failed"]
    assert failed.reason == "1 of 2 criteria passed (AND)"


def test_or_needs_one_criterion() -> None:
    rule = _rule("r", ("retrievals", ">=", 10), ("citations", ">=", 2), logic="OR")
    assert evaluate_rule(rule, Signals(retrievals=0, citations=2)).passed
    assert not evaluate_rule(rule, Signals(retrievals=9, citations=1)).passed


def test_missing_signals_are_ignored() -> None:
    rule = _rule("r", ("utilityScore", ">=", 0.9), ("retrievals", ">=", 3))
    result = evaluate_rule(rule, Signals(retrievals=3))
    assert result.passed
    assert [r.outcome for r in result.results] == ["missing", "passed"]
    assert result.reason == "1 of 1 criteria passed (AND); 1 ignored (signal missing)"
    either = _rule("r", ("utilityScore", ">=", 0.9), ("retrievals", ">=", 3), logic="OR")
    assert not evaluate_rule(either, Signals(retrievals=2)).passed


def test_empty_criteria_never_pass() -> None:
    for logic in ("AND", "OR"):
        result = evaluate_rule(_rule("r", logic=logic), Signals(retrievals=100))
        assert not result.passed and result.reason == "rule has no criteria"


def test_all_signals_missing_never_passes() -> None:
    rule = _rule("r", ("utilityScore", ">=", 0.0), logic="OR")
    result = evaluate_rule(rule, Signals(retrievals=5))
    assert not result.passed and result.reason == "every criterion's signal is missing"


def test_order_priority_then_bigger_jump_then_id() -> None:
    rules = [
        _rule("b-small", to_tier="sprout"),
        _rule("a-small", to_tier="sprout"),
        _rule("jump", to_tier="tree"),
        _rule("urgent", to_tier="sprout", priority=5),
    ]
    assert [r.id for r in order_rules(rules)] == ["urgent", "jump", "a-small", "b-small"]


def test_first_passing_rule_wins() -> None:
    rules = [
        _rule("big", ("citations", ">=", 50), to_tier="tree"),
        _rule("mid", ("citations", ">=", 5), to_tier="sapling"),
        _rule("small", ("citations", ">=", 1), to_tier="sprout"),
    ]
    decision = decide(order_rules(rules), Signals(citations=10))
    assert decision.winner is not None and decision.winner.rule.id == "mid"
    assert [e.rule.id for e in decision.tried] == ["big", "mid"]  # stops at the winner
    assert decide(order_rules(rules), Signals(citations=0)).winner is None


def test_applicable_rules_match_model_and_tier() -> None:
    rules = [
        _rule("kb-seed"),
        _rule("kb-sprout", from_tier="sprout", to_tier="sapling"),
        _rule("other-seed", model="other"),
    ]
    assert [r.id for r in applicable_rules(rules, "kb", "seed")] == ["kb-seed"]
    assert [r.id for r in applicable_rules(rules, "other", "seed")] == ["other-seed"]
    assert applicable_rules(rules, "kb", "tree") == []


def test_results_serialise_for_events() -> None:
    rule = _rule("r", ("utilityScore", ">", 0.5))
    data = evaluate_rule(rule, Signals(utility_score=0.75)).to_json()
    assert data == {
        "ruleId": "r",
        "logicOperator": "AND",
        "passed": True,
        "reason": "1 of 1 criteria passed (AND)",
        "criteria": [
            {
                "signal": "utilityScore",
                "operator": ">",
                "threshold": 0.5,
                "value": 0.75,
                "outcome": "passed",
            }
        ],
    }
