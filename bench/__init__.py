"""Benchmarks; each prints one JSON object.

Every benchmark process works with configs, so it discovers the job types once, here, as every
grove-jobs entry point does.
"""

from grove_jobs.jobs.discovery import discover

discover()
