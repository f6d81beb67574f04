"""Metrics, logs and traces: small helpers so each call site is one line."""
