"""The built-in job types; each module registers one with ``@job_type``."""
