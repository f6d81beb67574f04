"""Plain-text mail through the configured SMTP server (digests and alerts)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from grove_jobs.settings import Settings

SMTP_TIMEOUT_SECONDS = 10
SMTPS_PORT = 465


@retry(
    retry=retry_if_exception_type(
        (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError)
    ),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.2, max=2),
    reraise=True,
)
def send_mail(settings: Settings, recipient: str, subject: str, body: str) -> None:
    """Send one plain-text message through the configured SMTP server (transient connection
    errors are retried; a refused recipient is not)."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    with _connect(settings) as smtp:
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(message)


def _connect(settings: Settings) -> smtplib.SMTP:
    """SMTPS on port 465; elsewhere STARTTLS when asked, or whenever credentials would
    otherwise cross the network in clear text (unless GROVE_SMTP_ALLOW_PLAINTEXT says so).
    A server without STARTTLS then fails the send before any credential is sent."""
    context = ssl.create_default_context()
    if settings.smtp_port == SMTPS_PORT:
        return smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.smtp_starttls or (settings.smtp_user and not settings.smtp_allow_plaintext):
            smtp.starttls(context=context)
    except BaseException:
        smtp.close()
        raise
    return smtp
