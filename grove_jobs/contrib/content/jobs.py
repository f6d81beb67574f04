"""The content domain's entry point (group ``grove_jobs.job_types``): importing this module
registers its job types, its ``advancement-rule`` config type and its additions to the core
cleanup and digest jobs, exactly as a team's own package would."""

from grove_jobs.contrib.content import advancement_batch, extensions, rules, signal_aggregation

__all__ = ["advancement_batch", "extensions", "rules", "signal_aggregation"]
