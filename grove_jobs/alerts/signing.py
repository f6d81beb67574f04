"""Webhook signatures: ``X-Grove-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``.

The timestamp is inside the signed text, so a receiver that also rejects old timestamps
(``verify``'s ``tolerance``) cannot be fed a captured request again later.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Grove-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, header: str, body: bytes, *, now: float, tolerance: float = TOLERANCE_SECONDS
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
