"""SMTP credentials never cross the network in clear text unless that is explicitly allowed."""

from __future__ import annotations

import smtplib
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grove_jobs.notifications.mail import send_mail
from grove_jobs.settings import Settings


class _PlainSMTP(socketserver.StreamRequestHandler):
    """An SMTP server without STARTTLS that offers AUTH PLAIN and records every command."""

    def handle(self) -> None:
        self.wfile.write(b"220 plain ESMTP\r\n")
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    in_data = False
                    self.server.delivered += 1  # type: ignore[attr-defined]
                    self.wfile.write(b"250 queued\r\n")
                continue
            self.server.commands.append(line.split(b" ")[0].strip().upper())  # type: ignore[attr-defined]
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-plain\r\n250 AUTH PLAIN\r\n")
            elif verb == b"AUTH":
                self.wfile.write(b"235 ok\r\n")
            elif verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _PlainSMTP)
    server.daemon_threads = True
    server.commands, server.delivered = [], 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _settings(tmp_path: Path, server, **extra) -> Settings:
    port = server.server_address[1]
    return Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, **extra)


def test_credentials_require_starttls_by_default(tmp_path, server) -> None:
    settings = _settings(tmp_path, server, smtp_user="bot", smtp_password="secret")
    with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
        send_mail(settings, "ops@example.com", "subject", "body")
    assert b"AUTH" not in server.commands and server.delivered == 0


def test_plaintext_credentials_only_when_allowed(tmp_path, server) -> None:
    settings = _settings(
        tmp_path, server, smtp_user="bot", smtp_password="secret", smtp_allow_plaintext=True
    )
    send_mail(settings, "ops@example.com", "subject", "body")
    assert b"AUTH" in server.commands and server.delivered == 1


def test_a_relay_without_credentials_needs_no_tls(tmp_path, server) -> None:
    send_mail(_settings(tmp_path, server), "ops@example.com", "subject", "body")
    assert server.delivered == 1 and b"STARTTLS" not in server.commands
