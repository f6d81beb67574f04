"""The built-in experience types."""

from __future__ import annotations

from grove_jobs.schema.job_config import JobConfigPayload, default_job_config_payload
from grove_jobs.schema.registry import (
    ExperienceType,
    FilterSpec,
    MetricSpec,
    SortOption,
    register_type,
)

JOB_CONFIG = register_type(
    ExperienceType(
        type="job-config",
        label="Job Configuration",
        icon=":material/hourglass_top:",
        emoji="⏳",
        color="#E65100",
        description="A scheduled batch job: schedule, retry policy, limits and parameters.",
        payload_model=JobConfigPayload,
        default_payload=default_job_config_payload,
        enabled_path="payload.schedule.isEnabled",
        title_path="payload.displayName",
        schedulable=True,
        allow_multiple_active=True,
        search_fields=(
            "meta.id",
            "meta.title",
            "meta.description",
            "meta.tags",
            "payload.displayName",
            "payload.jobType",
        ),
        filters=(
            FilterSpec("jobType", "Job type", "payload.jobType"),
            FilterSpec("enabled", "Enabled", "payload.schedule.isEnabled", ("true", "false")),
        ),
        sort_options=(
            SortOption("lastRun", "Last run", "state.lastRunAt", descending=True),
            SortOption("schedule", "Next run", "state.nextRunAt"),
            SortOption("title", "Title", "payload.displayName"),
            SortOption("updated", "Recently updated", "meta.updatedAt", descending=True),
        ),
        metrics=(
            MetricSpec("enabled", "Enabled", lambda o: bool(o["payload"]["schedule"]["isEnabled"])),
            MetricSpec(
                "failed",
                "Failing",
                lambda o: (o.get("state") or {}).get("lastStatus") in ("failed", "timed_out"),
            ),
        ),
    )
)
