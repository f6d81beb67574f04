"""The ``advancement-rule`` experience type: registration, defaults, and validation errors
located by field path (through the same parse path as every GroveObject)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from grove_jobs.contrib.content.rules import AdvancementRulePayload
from grove_jobs.demo import demo_rules
from grove_jobs.exceptions import ValidationFailed
from grove_jobs.schema import get_type, parse_grove_object, registered_types
from grove_jobs.schema.registry import json_path_get

VALID: dict[str, Any] = {
    "meta": {"id": "kb-seed", "type": "advancement-rule", "title": "Seed to sprout"},
    "payload": {
        "lifecycleModelId": "kb",
        "fromTier": "seed",
        "toTier": "sprout",
        "criteria": [
            {"signal": "retrievals", "operator": ">=", "threshold": 10},
            {"signal": "utilityScore", "operator": ">", "threshold": 0.6},
        ],
        "logicOperator": "AND",
        "isEnabled": True,
    },
}


def _with(changes: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[leaf] = value
    return data


def _paths(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(data)
    return [e.path for e in caught.value.errors]


def test_registered_as_a_second_type() -> None:
    experience = get_type("advancement-rule")
    assert [t.type for t in registered_types()][:2] == ["job-config", "advancement-rule"]
    assert experience.label == "Advancement Rule"
    assert experience.color == "#1976D2"
    assert (experience.icon, experience.emoji) == (":material/bolt:", "⚡")
    assert experience.enabled_path == "payload.isEnabled"
    assert experience.schedulable is False
    obj = parse_grove_object(copy.deepcopy(VALID)).to_json_dict()
    assert json_path_get(obj, experience.enabled_path) is True
    for spec in experience.filters:
        assert json_path_get(obj, spec.path) is not None, spec.key
    assert [m.predicate(obj) for m in experience.metrics] == [True, False]


def test_parses_and_round_trips() -> None:
    obj = parse_grove_object(copy.deepcopy(VALID))
    assert isinstance(obj.payload, AdvancementRulePayload)
    dumped = obj.to_json_dict()
    assert dumped["payload"]["criteria"][0]["threshold"] == 10  # an int stays an int
    assert dumped["payload"]["priority"] == 0  # an optional addition, defaulted
    assert parse_grove_object(dumped).to_json_dict() == dumped


def test_default_payload_is_valid_and_disabled() -> None:
    payload = get_type("advancement-rule").default_payload()
    assert isinstance(payload, AdvancementRulePayload)
    assert payload.is_enabled is False and payload.criteria


def test_demo_rules_are_valid() -> None:
    rules = [parse_grove_object(r) for r in demo_rules()]
    assert len(rules) == 4
    assert [(r.payload.from_tier, r.payload.to_tier) for r in rules] == [
        ("seed", "sprout"),
        ("sprout", "sapling"),
        ("sapling", "tree"),
        ("tree", "grove"),
    ]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"payload.toTier": "seed"}, "payload.toTier"),
        ({"payload.fromTier": "tree", "payload.toTier": "sprout"}, "payload.toTier"),
        ({"payload.toTier": "forest"}, "payload.toTier"),
        ({"payload.fromTier": "acorn"}, "payload.fromTier"),
        ({"payload.lifecycleModelId": ""}, "payload.lifecycleModelId"),
        ({"payload.logicOperator": "XOR"}, "payload.logicOperator"),
        ({"payload.criteria.0.signal": "likes"}, "payload.criteria.0.signal"),
        ({"payload.criteria.1.operator": "!="}, "payload.criteria.1.operator"),
        ({"payload.criteria.1.threshold": 1.5}, "payload.criteria.1.threshold"),
        ({"payload.criteria.0.threshold": -1}, "payload.criteria.0.threshold"),
        ({"payload.criteria.0.threshold": "many"}, "payload.criteria.0.threshold"),
        ({"payload.criteria.0.weight": 2}, "payload.criteria.0.weight"),
        ({"payload.isEnabled": "perhaps"}, "payload.isEnabled"),
        ({"payload.schedule": {}}, "payload.schedule"),
    ],
)
def test_errors_name_their_field(changes: dict[str, Any], path: str) -> None:
    assert path in _paths(_with(changes))


def test_every_error_at_once() -> None:
    paths = _paths(
        _with(
            {
                "payload.toTier": "seed",
                "payload.logicOperator": "NOR",
                "payload.criteria.0.operator": "=~",
            }
        )
    )
    assert sorted(paths) == [
        "payload.criteria.0.operator",
        "payload.logicOperator",
        "payload.toTier",
    ]


def test_messages_are_readable() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(_with({"payload.toTier": "seed"}))
    assert "toTier must be a higher tier than fromTier 'seed'" in str(caught.value)
