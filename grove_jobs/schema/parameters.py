"""Job-specific parameters, a discriminated union on ``jobType``.

Adding a job type means adding its parameter model here, a handler module and one line in
the handler registry.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, field_validator

from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.markers import Destructive

Tier = Literal["seed", "sprout", "sapling", "tree", "grove"]
TIERS: tuple[str, ...] = ("seed", "sprout", "sapling", "tree", "grove")
SignalPeriod = Literal["all_time", "last_30d", "last_7d"]
HealthCheckName = Literal["database", "storage", "api", "rag"]
Severity = Literal["warning", "error", "critical"]

Name = Annotated[str, Field(min_length=1, max_length=200)]


def _unique(values: list | None) -> list | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("must not contain duplicates")
    return values


class AdvancementBatchParameters(CamelModel):
    """Evaluate advancement rules over documents and move the ones that pass up a tier."""

    job_type: Literal["advancement-batch"] = "advancement-batch"
    lifecycle_model_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    from_tiers: list[Tier] | None = Field(default=None, min_length=1)
    signal_period: SignalPeriod = "last_30d"
    dry_run: Annotated[bool, Destructive] = False

    _check_unique = field_validator("from_tiers")(_unique)


class SignalAggregationParameters(CamelModel):
    """Recompute per-document signal aggregates for the given periods."""

    job_type: Literal["signal-aggregation"] = "signal-aggregation"
    periods: list[SignalPeriod] = Field(min_length=1)

    _check_unique = field_validator("periods")(_unique)


class NotificationDigestParameters(CamelModel):
    """Send a digest of recent events to recipients."""

    job_type: Literal["notification-digest"] = "notification-digest"
    event_types: list[Name] = Field(min_length=1, max_length=50)
    recipient_ids: list[Name] = Field(min_length=1, max_length=500)

    _check_unique = field_validator("event_types", "recipient_ids")(_unique)


class OrphanCleanupParameters(CamelModel):
    """Delete or archive what is older than a threshold."""

    job_type: Literal["orphan-cleanup"] = "orphan-cleanup"
    entity_types: list[Name] = Field(min_length=1, max_length=20)
    orphan_threshold_days: Annotated[int, Field(ge=1, le=3650), Destructive]
    dry_run: Annotated[bool, Destructive] = False

    _check_unique = field_validator("entity_types")(_unique)


class HealthCheckParameters(CamelModel):
    """Probe dependencies; fail the run when a check reaches the alert threshold."""

    job_type: Literal["health-check"] = "health-check"
    checks: list[HealthCheckName] = Field(min_length=1)
    alert_threshold: Severity = "error"

    _check_unique = field_validator("checks")(_unique)


class SyntheticParameters(CamelModel):
    """A diagnostic job: sleeps, counts items, fails or hangs on demand."""

    job_type: Literal["synthetic"] = "synthetic"
    duration_seconds: float = Field(default=0.0, ge=0, le=3600)
    items: int = Field(default=0, ge=0, le=1_000_000)
    fail_first_attempts: int = Field(default=0, ge=0, le=100)
    hang: bool = False


JobParameters = Annotated[
    AdvancementBatchParameters
    | SignalAggregationParameters
    | NotificationDigestParameters
    | OrphanCleanupParameters
    | HealthCheckParameters
    | SyntheticParameters,
    Field(discriminator="job_type"),
]

PARAMETER_MODELS: dict[str, type[CamelModel]] = {
    model.model_fields["job_type"].default: model
    for model in (
        AdvancementBatchParameters,
        SignalAggregationParameters,
        NotificationDigestParameters,
        OrphanCleanupParameters,
        HealthCheckParameters,
        SyntheticParameters,
    )
}
JOB_TYPES: tuple[str, ...] = tuple(PARAMETER_MODELS)

parameters_adapter: TypeAdapter = TypeAdapter(JobParameters)
