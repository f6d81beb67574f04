"""ACME's own job types for grove-jobs (an example package)."""
