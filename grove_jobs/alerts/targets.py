"""Named alert targets: ``GROVE_ALERT_URLS`` (``name=apprise-url,...``) and sending to them.

The URLs are secrets (webhook tokens, mail passwords) and only the operator's environment
holds them; a config names entries (``alerts.targets``). apprise speaks the vendor formats
(Slack, Teams, Discord, mail, generic JSON/form endpoints …); it is imported only here and
only when something is checked or sent, so processes without alert targets never load it.
"""

from __future__ import annotations

import logging
import re

from grove_jobs.exceptions import GroveError

# An entry starts at a comma followed by "name=scheme://": commas inside a URL (apprise's
# "?to=a@x,b@y") stay part of it.
_ENTRY_START = re.compile(r",\s*(?=[a-z0-9][a-z0-9_-]*\s*=\s*[a-zA-Z][a-zA-Z0-9+.-]*://)")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
VARIABLE = "GROVE_ALERT_URLS"


class AlertTargetError(GroveError):
    """A target could not be set up or did not accept a notification."""


def parse_alert_urls(text: str) -> dict[str, str]:
    """``name=url,name=url`` -> {name: url}. Raises ValueError naming the bad entry (by name
    or position, never echoing a URL: it may carry a token)."""
    targets: dict[str, str] = {}
    if not text.strip():
        return targets
    for position, entry in enumerate(_ENTRY_START.split(text.strip()), start=1):
        name, sep, url = entry.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not _NAME.fullmatch(name):
            raise ValueError(
                f"entry {position} must be name=apprise-url with a name of 1-40 lower-case "
                "letters, digits, '-' or '_'"
            )
        if not _URL.fullmatch(url):
            raise ValueError(f"entry {name!r}: the URL must look like scheme://...")
        if name in targets:
            raise ValueError(f"entry {name!r} appears twice")
        targets[name] = url
    return targets


def check_targets(targets: dict[str, str]) -> None:
    """Refuse URLs apprise does not understand (unknown scheme, missing token …), naming the
    entry; run once at sidecar start so a typo shows up then, not at 2am."""
    if not targets:
        return
    import apprise

    # apprise logs the URL it cannot parse; that log would leak the tokens in it. (Run once,
    # at start, before the courier thread sends anything.)
    logger = logging.getLogger("apprise")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        bad = [name for name, url in targets.items() if apprise.Apprise.instantiate(url) is None]
    finally:
        logger.disabled = was_disabled
    if bad:
        raise AlertTargetError(
            f"{VARIABLE}: apprise does not accept the URL of {', '.join(map(repr, bad))}"
        )


def notify(name: str, url: str, title: str, body: str, *, resolved: bool = False) -> None:
    """Send one plain-text notification to one target (styled as a failure, or as a success
    when ``resolved``); raises AlertTargetError with apprise's own account of a failure."""
    import apprise

    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        client = apprise.Apprise()
        if not client.add(url):
            raise AlertTargetError(f"target {name!r}: apprise does not accept its URL")
        kind = apprise.NotifyType.SUCCESS if resolved else apprise.NotifyType.FAILURE
        sent = client.notify(
            body=body, title=title, notify_type=kind, body_format=apprise.NotifyFormat.TEXT
        )
    if not sent:
        detail = " ".join(captured.getvalue().split())[:300] or "no detail"
        raise AlertTargetError(f"target {name!r} did not accept the notification: {detail}")
