"""The ``job-config`` payload: what to run, when, how often to retry, within which limits.

Upper bounds are deliberate: a config that asks for a week-long timeout or a thousand attempts
is almost certainly a typo, and rejecting it beats discovering it at 2am.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from grove_jobs import schedule as cron
from grove_jobs.jobs.registry import UnknownJobType, find_job_type, get_job_type
from grove_jobs.schema.base import CamelModel

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
    """The editable part of a job configuration.

    ``parameters`` holds an instance of the job type's own parameter model (see
    :mod:`grove_jobs.jobs`). A stored config whose type is not installed in this process is
    read with ``context={"stored": True}`` and keeps its parameters as a plain dict, so it can
    be listed and exported but never validated for a write.
    """

    job_type: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=120)
    schedule: ScheduleSpec
    retry: RetryPolicy = RetryPolicy()
    limits: Limits = Limits()
    retention: Retention = Retention()
    alerts: Alerts = Alerts()
    owners: list[str] = Field(default_factory=list, max_length=MAX_OWNERS)  # alert mail to these
    parameters: Any = None

    @field_validator("owners")
    @classmethod
    def _owner_emails(cls, value: list[str]) -> list[str]:
        for owner in value:
            if not EMAIL.fullmatch(owner):
                raise ValueError(f"{owner!r} is not an email address")
        return list(dict.fromkeys(value))

    @field_validator("job_type")
    @classmethod
    def _installed_job_type(cls, value: str, info: ValidationInfo) -> str:
        if find_job_type(value) is None and not _reading_stored(info):
            raise ValueError(str(UnknownJobType(value)))
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters_of_job_type(cls, value: object, info: ValidationInfo) -> object:
        job_type = info.data.get("job_type")
        if job_type is None:  # jobType itself was invalid; its error says so
            return value
        kind = find_job_type(job_type)
        if isinstance(value, BaseModel) and kind is not None and type(value) is kind.parameters:
            return value
        data = untagged_parameters(job_type, value)
        if kind is None:
            return data
        return kind.parameters.model_validate(data)

    @model_serializer(mode="wrap")
    def _tag_parameters(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        # Parameters are validated without their jobType (a team's model need not declare it)
        # and written with it, so exported files say what they are and ``export | apply`` is
        # a no-op.
        data = handler(self)
        params = data.get("parameters")
        if isinstance(params, dict):
            key = "jobType" if info.by_alias else "job_type"
            data["parameters"] = {key: self.job_type, **params}
        return data

    @property
    def installed(self) -> bool:
        """True when this process has the job type (and so validated the parameters)."""
        return isinstance(self.parameters, BaseModel)

    def parameters_json(self) -> dict[str, Any]:
        """The parameters as stored JSON, without the ``jobType`` tag."""
        if isinstance(self.parameters, BaseModel):
            return self.parameters.model_dump(mode="json", by_alias=True)
        return dict(self.parameters or {})


def _reading_stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def untagged_parameters(job_type: str, value: object) -> dict[str, Any]:
    """Parameters without their optional ``jobType`` tag, which must match ``job_type``."""
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, dict):
        raise ValueError("parameters must be an object")
    data = dict(value)
    tag = data.pop("jobType", data.pop("job_type", job_type))
    if tag != job_type:
        message = f"parameters.jobType {tag!r} does not match jobType {job_type!r}"
        # Raised as a nested ValidationError so the error is located at parameters.jobType.
        error = PydanticCustomError("job_type_mismatch", "{message}", {"message": message})
        raise ValidationError.from_exception_data(
            "parameters", [InitErrorDetails(type=error, loc=("jobType",), input=tag)]
        )
    return data


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


def default_parameters(job_type: str) -> dict[str, Any]:
    """A new config's parameters: the model's defaults updated with the type's ``defaults``.
    Required fields without a default are left out (the form asks for them)."""
    kind = get_job_type(job_type)
    model = kind.parameters
    defaults = {
        name: spec.get_default(call_default_factory=True, validated_data={})
        for name, spec in model.model_fields.items()
        if not spec.is_required()
    }
    dumped = model.model_construct(**defaults).model_dump(
        mode="json", by_alias=True, include=set(defaults), warnings=False
    )
    return {**dumped, **kind.defaults}


def default_job_config_json(job_type: str) -> dict[str, Any]:
    """A new config's payload as JSON, not validated (a type may have required parameters
    that only the user can fill in)."""
    kind = get_job_type(job_type)
    return {
        "jobType": job_type,
        "displayName": kind.title[:120],
        "schedule": {
            "cronExpression": "0 2 * * *",
            "timezone": "America/Los_Angeles",
            "isEnabled": False,
        },
        "parameters": default_parameters(job_type),
    }


def default_job_config_payload(job_type: str = "synthetic") -> JobConfigPayload:
    """A sensible starting payload for ``job_type``; ValidationError when the type has
    required parameters without defaults."""
    return JobConfigPayload.model_validate(default_job_config_json(job_type))


__all__ = [
    "Alerts",
    "JobConfigPayload",
    "Limits",
    "Retention",
    "RetryPolicy",
    "ScheduleSpec",
    "default_job_config_json",
    "default_job_config_payload",
    "is_job_config_payload",
    "untagged_parameters",
]
