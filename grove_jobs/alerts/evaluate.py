"""One alert pass: evaluate every config's rules, open and resolve incidents, deliver."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from grove_jobs.alerts import rules, store
from grove_jobs.alerts.delivery import deliver
from grove_jobs.alerts.store import Message
from grove_jobs.db.engine import Database
from grove_jobs.settings import Settings

log = logging.getLogger("grove_jobs.alerts")


@dataclass(frozen=True)
class AlertPass:
    configs: int
    messages: list[Message] = field(default_factory=list)

    @property
    def opened(self) -> int:
        return sum(1 for m in self.messages if m.event == "opened")

    @property
    def resolved(self) -> int:
        return sum(1 for m in self.messages if m.event == "resolved")


def evaluate_alerts(db: Database, *, at: datetime) -> AlertPass:
    """Resolve incidents that are over, open incidents for rules that fire. Returns the
    notifications this call wrote (another sidecar's pass writes none for the same incident)."""
    states = store.load_states(db)
    open_now = store.open_by_config(db)
    messages: list[Message] = []
    for state in states:
        incidents = open_now.get(state.config_id, [])
        findings = rules.evaluate(state, at)
        firing = {f.rule for f in findings}
        # A rule that still fires keeps its incident open (e.g. a schedule still stuck although
        # an older run succeeded): resolving it would only reopen it on the next pass.
        over = [i for i in rules.resolved(state, incidents) if i.rule not in firing]
        for incident in over:
            if (message := store.resolve_incident(db, state.config_id, incident, at)) is not None:
                messages.append(message)
        still_open = {i.rule for i in incidents} - {i.rule for i in over}
        for finding in findings:
            if finding.rule in still_open:
                continue  # the incident is open already: fire once per incident
            if (message := store.open_incident(db, state.config_id, finding, at)) is not None:
                messages.append(message)
    return AlertPass(len(states), messages)


def deliver_all(db: Database, settings: Settings, messages: list[Message]) -> None:
    """Deliver notifications one after another (each bounded in time)."""
    for message in messages:
        try:
            deliver(db, settings, message)
        except Exception:  # one broken message must not stop the others
            log.exception("delivering alert notification %d failed", message.notification_id)


def deliver_in_background(db: Database, settings: Settings, messages: list[Message]) -> None:
    """Deliver without holding up the caller (the sidecar's schedule loop)."""
    if messages and (settings.webhook_url or (settings.smtp_host and settings.alert_email_to)):
        threading.Thread(
            target=deliver_all, args=(db, settings, messages), name="alert-delivery", daemon=True
        ).start()
