"""Plain-text mail through the configured SMTP server (digests and alerts)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from grove_jobs.settings import Settings

SMTP_TIMEOUT_SECONDS = 10


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
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(message)
