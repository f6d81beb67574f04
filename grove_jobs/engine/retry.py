"""Retry delays from a config's retry policy, computed with tenacity's wait strategies.

The delay is stored as the execution's ``run_after``; nothing ever sleeps through it.
"""

from __future__ import annotations

from tenacity import RetryCallState, wait_exponential, wait_fixed, wait_random
from tenacity.wait import wait_base

from grove_jobs.schema.job_config import RetryPolicy


def wait_strategy(policy: RetryPolicy) -> wait_base:
    """The tenacity wait for a policy: fixed ``initialDelaySeconds``, or exponential
    ``initialDelaySeconds * 2^(attempt-1)`` capped at ``maxDelaySeconds``; optional jitter adds
    up to 10% of the initial delay (still capped)."""
    if policy.backoff_strategy == "fixed":
        wait: wait_base = wait_fixed(policy.initial_delay_seconds)
    else:
        wait = wait_exponential(
            multiplier=policy.initial_delay_seconds, exp_base=2, max=policy.max_delay_seconds
        )
    if policy.jitter and policy.initial_delay_seconds > 0:
        wait = wait + wait_random(0, policy.initial_delay_seconds * 0.1)
    return wait


def retry_delay(policy: RetryPolicy, failed_attempt: int) -> float:
    """Seconds to wait before the attempt after ``failed_attempt`` (1-based)."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = failed_attempt
    return min(float(wait_strategy(policy)(state)), float(policy.max_delay_seconds))


def delays(policy: RetryPolicy) -> list[float]:
    """Every delay the policy produces, in order (shown next to the retry form)."""
    return [retry_delay(policy, attempt) for attempt in range(1, policy.max_attempts)]
