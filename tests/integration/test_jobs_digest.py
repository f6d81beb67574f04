"""notification-digest against a real database: contents, outbox rows, the window since the
previous digest, eventTypes, and sending through a (fake, local) SMTP server."""

from __future__ import annotations

import email
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from grove_jobs.clock import utcnow
from grove_jobs.contrib.content.tables import AdvancementEventRow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.jobs.builtin.notification_digest import NotificationDigestParameters, run
from grove_jobs.jobs.database import close_databases
from grove_jobs.notifications.tables import NotificationRow
from grove_jobs.settings import Settings
from tests.factories import create, synthetic_config
from tests.integration.test_jobs_support import add_documents, closed_port, make_context


@pytest.fixture
def url(db: Database, migrated_url: str) -> Iterator[str]:
    yield migrated_url
    close_databases()


@pytest.fixture
def no_smtp(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, smtp_host=None)


def _params(event_types=("advancement", "failure"), recipients=("ops", "alice@example.com")):
    return NotificationDigestParameters.model_validate(
        {"eventTypes": list(event_types), "recipientIds": list(recipients)}
    )


def _event(doc_id: str, at: datetime, to_tier: str = "sprout") -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "lifecycle_model_id": "kb",
        "from_tier": "seed",
        "to_tier": to_tier,
        "rule_id": "kb-seed",
        "rule_version": 1,
        "signal_period": "last_30d",
        "signals": {},
        "criteria_results": [],
        "execution_id": 1,
        "at": at,
    }


def _execution(config_id: str, status: str, completed: datetime, error: str | None = None):
    return {
        "config_id": config_id,
        "trigger": "schedule",
        "status": status,
        "attempt": 1,
        "max_attempts": 1,
        "queued_at": completed - timedelta(minutes=1),
        "run_after": completed - timedelta(minutes=1),
        "started_at": completed - timedelta(minutes=1),
        "completed_at": completed,
        "error": error,
    }


def _populate(db: Database, now: datetime) -> dict[str, int]:
    add_documents(
        db,
        [
            {"id": "doc-new", "title": "Fresh guide", "tier": "sprout", "created_at": now},
            {"id": "doc-old", "title": "Old guide", "tier": "sprout", "created_at": now},
        ],
    )
    create(db, synthetic_config("nightly"))
    with db.write() as session:
        session.execute(
            insert(AdvancementEventRow),
            [
                _event("doc-new", now - timedelta(hours=2)),
                _event("doc-old", now - timedelta(hours=30)),
            ],
        )
        ids = {}
        for key, status, ago, error in (
            ("failed", "failed", 1, "Traceback...\nValueError: boom"),
            ("timed_out", "timed_out", 3, "run timed out"),
            ("success", "success", 2, None),
            ("old_failure", "failed", 48, "ancient"),
        ):
            row = _execution("nightly", status, now - timedelta(hours=ago), error)
            ids[key] = session.execute(
                insert(JobExecutionRow).values(**row).returning(JobExecutionRow.id)
            ).scalar_one()
    return ids


def _outbox(db: Database) -> list[NotificationRow]:
    with db.read() as session:
        return list(session.scalars(select(NotificationRow).order_by(NotificationRow.id)))


def test_digest_contents_and_outbox_rows(db: Database, url: str, no_smtp: Settings) -> None:
    ids = _populate(db, utcnow())
    ctx, recorder = make_context(url, config_id="digest", execution_id=99, settings=no_smtp)

    result = run(_params(), ctx)

    rows = _outbox(db)
    assert [r.recipient for r in rows] == ["ops", "alice@example.com"]
    first = rows[0]
    assert first.subject == "grove-jobs digest: 1 advancement, 2 failed runs"
    assert {r.subject for r in rows} == {first.subject} and {r.body for r in rows} == {first.body}
    assert all(r.kind == "digest" and r.source == "digest" and r.execution_id == 99 for r in rows)
    assert all(r.sent_at is None for r in rows)  # no SMTP: they stay in the outbox
    body = first.body
    assert "Advancements (1):" in body
    assert "doc-new 'Fresh guide': seed -> sprout by rule kb-seed" in body
    assert "doc-old" not in body  # before the first digest's 24 h window
    assert "Failed runs (2):" in body
    assert f"execution {ids['timed_out']} of nightly timed_out" in body
    assert f"execution {ids['failed']} of nightly failed" in body
    assert ": ValueError: boom" in body
    assert f"execution {ids['success']} " not in body and "ancient" not in body
    refs = first.event_refs
    assert refs["executionIds"] == [ids["timed_out"], ids["failed"]]  # oldest first
    assert len(refs["advancementEventIds"]) == 1
    assert result.items_processed == 2 and result.data["advancements"] == 1
    assert result.data["failures"] == 2 and result.data["smtp"] is False
    assert "digests stay in the outbox" in recorder.text()

    # Nothing new since: no second digest.
    again = run(_params(), make_context(url, config_id="digest", settings=no_smtp)[0])
    assert again.items_processed == 0 and len(_outbox(db)) == 2
    assert again.data["windowStart"] == refs["windowEnd"]

    # Only what happened after the previous digest goes into the next one.
    with db.write() as session:
        session.execute(insert(AdvancementEventRow), [_event("doc-old", utcnow(), "sapling")])
    later = run(_params(), make_context(url, config_id="digest", settings=no_smtp)[0])
    newest = _outbox(db)[-1]
    assert later.data["advancements"] == 1 and later.data["failures"] == 0
    assert newest.subject == "grove-jobs digest: 1 advancement"
    assert "doc-old 'Old guide': seed -> sapling" in newest.body
    assert newest.event_refs["windowStart"] == refs["windowEnd"]


def test_event_types_filter(db: Database, url: str, no_smtp: Settings) -> None:
    _populate(db, utcnow())
    ctx, recorder = make_context(url, config_id="failures-only", settings=no_smtp)

    result = run(_params(event_types=("failure", "weather"), recipients=("ops",)), ctx)

    [row] = _outbox(db)
    assert row.subject == "grove-jobs digest: 2 failed runs"
    assert "Advancements" not in row.body and row.event_refs["advancementEventIds"] == []
    assert result.data["advancements"] == 0
    assert any("unknown event types ['weather']" in m for m in recorder.messages("warn"))


# --------------------------------------------------------------------------- SMTP


class _FakeSMTP(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command is accepted, messages are kept."""

    def handle(self) -> None:
        self.wfile.write(b"220 fake ESMTP\r\n")
        lines: list[bytes] = []
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(lines))  # type: ignore[attr-defined]
                    lines, in_data = [], False
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeSMTP)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_sends_with_smtp_and_marks_rows_sent(
    db: Database, url: str, tmp_path: Path, smtp_server: socketserver.ThreadingTCPServer
) -> None:
    _populate(db, utcnow())
    port = smtp_server.server_address[1]
    settings = Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    ctx, recorder = make_context(url, config_id="mailed", settings=settings)

    result = run(_params(recipients=("alice@example.com", "ops-team")), ctx)

    alice, team = _outbox(db)
    assert alice.sent_at is not None and alice.send_error is None
    assert team.sent_at is None and "not an email address" in (team.send_error or "")
    [raw] = smtp_server.messages  # type: ignore[attr-defined]
    message = email.message_from_bytes(raw)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "grove-jobs digest: 1 advancement, 2 failed runs"
    assert "doc-new 'Fresh guide'" in message.get_payload(decode=True).decode()
    assert result.status == "partial" and result.items_failed == 1
    assert [n["sent"] for n in result.data["notifications"]] == [True, False]
    assert "sent digest to alice@example.com" in recorder.text()


def test_smtp_failure_leaves_rows_in_the_outbox(db: Database, url: str, tmp_path: Path) -> None:
    _populate(db, utcnow())
    settings = Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=closed_port())
    ctx, recorder = make_context(url, config_id="mailed", settings=settings)

    result = run(_params(recipients=("alice@example.com",)), ctx)

    [row] = _outbox(db)
    assert row.sent_at is None and "ConnectionRefusedError" in (row.send_error or "")
    assert result.status == "partial" and result.items_failed == 1
    assert any("sending to alice@example.com failed" in m for m in recorder.messages("error"))
