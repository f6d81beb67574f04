"""The ``advancement-rule`` experience type: when a document of a lifecycle model may climb
from one tier to a higher one.

A second stored type beside ``job-config``. It goes through the same services, CLI and
dashboard with no change to the core: registering it here is all it takes.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_serializer, field_validator

from grove_jobs.contrib.content.tiers import TIERS, Tier
from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.registry import (
    ExperienceType,
    FilterSpec,
    MetricSpec,
    SortOption,
    register_type,
)

SignalName = Literal["retrievals", "citations", "queryDiversity", "utilityScore"]
SIGNALS: tuple[str, ...] = ("retrievals", "citations", "queryDiversity", "utilityScore")
Operator = Literal[">=", ">", "==", "<", "<="]
LogicOperator = Literal["AND", "OR"]

MAX_CRITERIA = 20
# Counts can be large, but a threshold beyond this is a typo, not a policy.
MAX_COUNT_THRESHOLD = 1_000_000_000


class Criterion(CamelModel):
    """One comparison of an aggregated signal with a threshold."""

    signal: SignalName
    operator: Operator
    threshold: float

    @field_validator("threshold")
    @classmethod
    def _threshold_fits_signal(cls, value: float, info: ValidationInfo) -> float:
        # A field validator (not a model validator) so the error names criteria.N.threshold.
        if not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        signal = info.data.get("signal")
        if signal == "utilityScore" and not 0 <= value <= 1:
            raise ValueError("utilityScore is a score in [0, 1]; threshold must be in that range")
        if signal in ("retrievals", "citations", "queryDiversity") and not (
            0 <= value <= MAX_COUNT_THRESHOLD
        ):
            raise ValueError(f"{signal} is a count; threshold must be between 0 and 1e9")
        return value

    @field_serializer("threshold")
    def _whole_numbers_as_int(self, value: float) -> int | float:
        # Counts read back as written (5, not 5.0) in exports and the API.
        return int(value) if value.is_integer() else value


class AdvancementRulePayload(CamelModel):
    """The editable part of an advancement rule.

    ``priority`` orders rules that could both move a document (higher first; then the bigger
    jump, then the rule id): the first rule that passes wins.
    """

    lifecycle_model_id: Annotated[str, Field(min_length=1, max_length=100)]
    from_tier: Tier
    to_tier: Tier
    criteria: list[Criterion] = Field(default_factory=list, max_length=MAX_CRITERIA)
    logic_operator: LogicOperator = "AND"
    is_enabled: bool = False
    priority: int = Field(default=0, ge=-1000, le=1000)

    @field_validator("to_tier")
    @classmethod
    def _climbs(cls, value: str, info: ValidationInfo) -> str:
        from_tier = info.data.get("from_tier")
        if from_tier is not None and TIERS.index(value) <= TIERS.index(from_tier):
            raise ValueError(f"toTier must be a higher tier than fromTier {from_tier!r}")
        return value


def default_advancement_rule_payload(**overrides: object) -> AdvancementRulePayload:
    """A new, disabled rule: seed -> sprout on 5 retrievals (edit before enabling)."""
    data: dict[str, object] = {
        "lifecycleModelId": "default",
        "fromTier": "seed",
        "toTier": "sprout",
        "criteria": [{"signal": "retrievals", "operator": ">=", "threshold": 5}],
        "logicOperator": "AND",
        "isEnabled": False,
    }
    data.update(overrides)
    return AdvancementRulePayload.model_validate(data)


def _criteria_count(obj: dict) -> int:
    return len(obj.get("payload", {}).get("criteria") or [])


ADVANCEMENT_RULE = register_type(
    ExperienceType(
        type="advancement-rule",
        label="Advancement Rule",
        icon=":material/bolt:",
        emoji="⚡",
        color="#1976D2",
        description=(
            "When a document climbs a tier: criteria over its aggregated usage signals, "
            "combined with AND or OR, for one lifecycle model."
        ),
        payload_model=AdvancementRulePayload,
        default_payload=default_advancement_rule_payload,
        enabled_path="payload.isEnabled",
        schedulable=False,
        allow_multiple_active=True,
        search_fields=(
            "meta.id",
            "meta.title",
            "meta.description",
            "meta.tags",
            "payload.lifecycleModelId",
            "payload.fromTier",
            "payload.toTier",
        ),
        filters=(
            FilterSpec("lifecycleModelId", "Lifecycle model", "payload.lifecycleModelId"),
            FilterSpec("fromTier", "From tier", "payload.fromTier", TIERS),
            FilterSpec("toTier", "To tier", "payload.toTier", TIERS),
            FilterSpec("enabled", "Enabled", "payload.isEnabled", ("true", "false")),
        ),
        sort_options=(
            # Tiers and priorities are not offered: the core sorts values as text.
            SortOption("title", "Title", "meta.title"),
            SortOption("lifecycleModel", "Lifecycle model", "payload.lifecycleModelId"),
            SortOption("updated", "Recently updated", "meta.updatedAt", descending=True),
        ),
        metrics=(
            MetricSpec("enabled", "Enabled", lambda o: bool(o["payload"].get("isEnabled"))),
            MetricSpec(
                "noCriteria",
                "Without criteria (never pass)",
                lambda o: _criteria_count(o) == 0,
            ),
        ),
    )
)
