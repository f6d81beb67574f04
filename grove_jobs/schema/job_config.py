"""The ``job-config`` payload: what to run, when, how often to retry, within which limits.

Upper bounds are deliberate: a config that asks for a week-long timeout or a thousand attempts
is almost certainly a typo, and rejecting it beats discovering it at 2am.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from grove_jobs import schedule as cron
from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.parameters import (
    JOB_TYPES,
    PARAMETER_MODELS,
    AdvancementBatchParameters,
    JobParameters,
)

MAX_ATTEMPTS = 25
MAX_DELAY_SECONDS = 7 * 24 * 3600
MAX_TIMEOUT_SECONDS = 24 * 3600
MAX_BATCH_SIZE = 100_000
MAX_CONCURRENT = 64
MAX_MISFIRE_GRACE_SECONDS = 7 * 24 * 3600
MAX_KEEP_LAST = 100_000
MAX_KEEP_DAYS = 3650
MAX_ALERT_TARGETS = 10
MAX_OWNERS = 20
TARGET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
EMAIL = re.compile(r"[^@\s,;<>]{1,64}@[^@\s,;<>]{1,190}\.[^@\s,;<>.]+")

MisfirePolicy = Literal["skip", "run_once", "run_all"]
OverlapPolicy = Literal["skip", "queue"]
BackoffStrategy = Literal["fixed", "exponential"]


class ScheduleSpec(CamelModel):
    """When a job fires: a cron expression evaluated in an IANA timezone."""

    cron_expression: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    is_enabled: bool = False
    misfire_policy: MisfirePolicy = "run_once"
    misfire_grace_seconds: int = Field(default=300, ge=0, le=MAX_MISFIRE_GRACE_SECONDS)

    @field_validator("cron_expression")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        cron.validate_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return cron.validate_timezone(value)


class RetryPolicy(CamelModel):
    """How a failed attempt is retried; delays are durable, never slept through."""

    max_attempts: int = Field(default=3, ge=1, le=MAX_ATTEMPTS)
    backoff_strategy: BackoffStrategy = "exponential"
    initial_delay_seconds: int = Field(default=60, ge=0, le=MAX_DELAY_SECONDS)
    max_delay_seconds: int = Field(default=900, ge=0, le=MAX_DELAY_SECONDS)
    jitter: bool = False

    @field_validator("max_delay_seconds")
    @classmethod
    def _cap_not_below_initial(cls, value: int, info: ValidationInfo) -> int:
        # A field validator (not a model validator) so the error names maxDelaySeconds.
        initial = info.data.get("initial_delay_seconds")
        if initial is not None and value < initial:
            raise ValueError(
                f"maxDelaySeconds must be at least initialDelaySeconds ({value} < {initial})"
            )
        return value


class Limits(CamelModel):
    """How much one run may do and how many may run at once."""

    batch_size: int = Field(default=100, ge=1, le=MAX_BATCH_SIZE)
    timeout_seconds: int = Field(default=300, ge=1, le=MAX_TIMEOUT_SECONDS)
    max_concurrent: int = Field(default=1, ge=1, le=MAX_CONCURRENT)
    overlap_policy: OverlapPolicy = "skip"


class Retention(CamelModel):
    """How much execution history to keep; the newest run of a config is always kept."""

    keep_last: int = Field(default=1000, ge=1, le=MAX_KEEP_LAST)
    keep_days: int = Field(default=90, ge=1, le=MAX_KEEP_DAYS)


class Alerts(CamelModel):
    """When a config's runs raise an alert; 0 switches a rule off."""

    consecutive_failures: int = Field(default=3, ge=0, le=1000)
    # A run is slow when it has run longer than this factor times the p95 duration of recent
    # successful runs (needs MIN_RUNS_FOR_P95 of them, so a new job does not alert on noise).
    slow_run_factor: float = Field(default=3.0, ge=0, le=1000)
    missed_schedule_grace_seconds: int = Field(default=600, ge=0, le=MAX_MISFIRE_GRACE_SECONDS)
    # Names of GROVE_ALERT_URLS entries, never URLs: those are secrets, and a URL an editor
    # could type would let the sidecar be pointed at any host (an SSRF door).
    targets: list[str] = Field(default_factory=list, max_length=MAX_ALERT_TARGETS)

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if "://" in name or ":" in name:
                raise ValueError(
                    f"{name!r} looks like a URL; targets name entries of GROVE_ALERT_URLS "
                    "(a config never holds a URL)"
                )
            if not TARGET_NAME.fullmatch(name):
                raise ValueError(
                    f"target name {name!r} must be 1-40 lower-case letters, digits, '-' or '_'"
                )
        return list(dict.fromkeys(value))


class JobConfigPayload(CamelModel):
    """The editable part of a job configuration."""

    job_type: str
    display_name: str = Field(min_length=1, max_length=120)
    schedule: ScheduleSpec
    retry: RetryPolicy = RetryPolicy()
    limits: Limits = Limits()
    retention: Retention = Retention()
    alerts: Alerts = Alerts()
    owners: list[str] = Field(default_factory=list, max_length=MAX_OWNERS)  # alert mail to these
    parameters: JobParameters

    @field_validator("owners")
    @classmethod
    def _owner_emails(cls, value: list[str]) -> list[str]:
        for owner in value:
            if not EMAIL.fullmatch(owner):
                raise ValueError(f"{owner!r} is not an email address")
        return list(dict.fromkeys(value))

    @field_validator("job_type")
    @classmethod
    def _known_job_type(cls, value: str) -> str:
        if value not in JOB_TYPES:
            raise ValueError(f"unknown job type {value!r}; expected one of {', '.join(JOB_TYPES)}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _parameters_default_to_job_type(cls, data: object) -> object:
        # Parameters may omit their jobType (or be left out entirely, meaning "all defaults"):
        # the union's discriminator needs the tag, so it is taken from the payload's jobType.
        if isinstance(data, dict):
            job_type = data.get("jobType", data.get("job_type"))
            params = data.get("parameters", {})
            if (
                isinstance(job_type, str)
                and isinstance(params, dict)
                and "jobType" not in params
                and "job_type" not in params
            ):
                return {**data, "parameters": {**params, "jobType": job_type}}
        return data

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters_match_job_type(cls, value: object, info: ValidationInfo) -> object:
        # Checked before the union validates: a mismatched tag would otherwise show up as
        # "unknown field" errors against the other job type's parameter model.
        job_type = info.data.get("job_type")
        if isinstance(value, dict):
            tag = value.get("jobType", value.get("job_type"))
        else:
            tag = getattr(value, "job_type", None)
        if job_type is None or tag is None or tag == job_type:
            return value
        message = f"parameters.jobType {tag!r} does not match jobType {job_type!r}"
        # Raised as a nested ValidationError so the error is located at parameters.jobType.
        error = PydanticCustomError("job_type_mismatch", "{message}", {"message": message})
        raise ValidationError.from_exception_data(
            "JobParameters", [InitErrorDetails(type=error, loc=("jobType",), input=tag)]
        )


def is_job_config_payload(value: object) -> bool:
    """True when ``value`` is a JobConfigPayload or a mapping that validates as one."""
    if isinstance(value, JobConfigPayload):
        return True
    if not isinstance(value, dict):
        return False
    try:
        JobConfigPayload.model_validate(value)
    except ValueError:
        return False
    return True


_DEFAULT_NAMES = {
    "advancement-batch": "Daily Advancement",
    "signal-aggregation": "Signal Aggregation",
    "notification-digest": "Notification Digest",
    "orphan-cleanup": "Orphan Cleanup",
    "health-check": "Health Check",
    "synthetic": "Synthetic Job",
}
_DEFAULT_PARAMETERS: dict[str, dict] = {
    "advancement-batch": {},
    "signal-aggregation": {"periods": ["all_time", "last_30d", "last_7d"]},
    "notification-digest": {"eventTypes": ["advancement", "failure"], "recipientIds": ["ops"]},
    "orphan-cleanup": {"entityTypes": ["executions"], "orphanThresholdDays": 90},
    "health-check": {"checks": ["database", "storage"], "alertThreshold": "error"},
    "synthetic": {"items": 10},
}


def default_job_config_payload(job_type: str = "advancement-batch") -> JobConfigPayload:
    """A sensible starting payload for ``job_type``; the generic default is the original one."""
    if job_type not in PARAMETER_MODELS:
        raise ValueError(f"unknown job type {job_type!r}")
    parameters = PARAMETER_MODELS[job_type].model_validate(
        {"jobType": job_type, **_DEFAULT_PARAMETERS[job_type]}
    )
    return JobConfigPayload(
        job_type=job_type,
        display_name=_DEFAULT_NAMES[job_type],
        schedule=ScheduleSpec(
            cron_expression="0 2 * * *", timezone="America/Los_Angeles", is_enabled=False
        ),
        retry=RetryPolicy(),
        limits=Limits(),
        parameters=parameters,
    )


__all__ = [
    "AdvancementBatchParameters",
    "Alerts",
    "JobConfigPayload",
    "Limits",
    "Retention",
    "RetryPolicy",
    "ScheduleSpec",
    "default_job_config_payload",
    "is_job_config_payload",
]
