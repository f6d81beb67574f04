"""The ``notifications`` outbox: digests and alerts, one row per recipient and message.

Core, not content: alerts write here, and the cleanup and digest jobs read it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from grove_jobs.db.base import Base, BigId, JSONType, UTCDateTime

PENDING_SQL = "sent_at IS NULL AND next_attempt_at IS NOT NULL"


class NotificationRow(Base):
    """The outbox: a message for one recipient, sent when SMTP is configured, else kept."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_source", "source", "created_at"),
        Index("ix_notifications_sent_at", "sent_at"),
        Index(
            "ix_notifications_next_attempt",
            "next_attempt_at",
            postgresql_where=text(PENDING_SQL),
            sqlite_where=text(PENDING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # "digest" or "alert"
    source: Mapped[str | None] = mapped_column(String(64))  # the config that produced it
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    event_refs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_error: Mapped[str | None] = mapped_column(Text)
    execution_id: Mapped[int | None] = mapped_column(BigId)
    # Alert delivery: attempts so far, and when the next is due (NULL: nothing to send, or a
    # sidecar is sending it now until then).
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
