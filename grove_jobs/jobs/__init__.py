"""Job types: the registry (``@job_type``), discovery, and the built-in types.

See :mod:`grove_jobs.jobs.registry` and :mod:`grove_jobs.jobs.discovery`.
"""

from grove_jobs.jobs.registry import (
    JobType,
    JobTypeError,
    UnknownJobType,
    find_job_type,
    get_job_type,
    job_type,
    job_type_names,
    job_types,
)

__all__ = [
    "JobType",
    "JobTypeError",
    "UnknownJobType",
    "find_job_type",
    "get_job_type",
    "job_type",
    "job_type_names",
    "job_types",
]
