"""Pydantic schemas: GroveObject, job-config payloads, parameters, executions, the type registry."""

from grove_jobs.schema import builtin_types as _builtin_types  # noqa: F401  (registers types)
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object, validate_payload
from grove_jobs.schema.job_config import (
    JobConfigPayload,
    Limits,
    Retention,
    RetryPolicy,
    ScheduleSpec,
    default_job_config_payload,
    is_job_config_payload,
)
from grove_jobs.schema.meta import GroveMeta
from grove_jobs.schema.registry import ExperienceType, get_type, register_type, registered_types

__all__ = [
    "ExperienceType",
    "GroveMeta",
    "GroveObject",
    "JobConfigPayload",
    "Limits",
    "Retention",
    "RetryPolicy",
    "ScheduleSpec",
    "default_job_config_payload",
    "get_type",
    "is_job_config_payload",
    "parse_grove_object",
    "register_type",
    "registered_types",
    "validate_payload",
]
