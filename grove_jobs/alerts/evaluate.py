"""One alert pass: evaluate every config's rules, open and resolve incidents, deliver."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime

from grove_jobs.alerts import rules, store, targets
from grove_jobs.alerts.delivery import deliver
from grove_jobs.alerts.rules import ConfigState, OpenIncident
from grove_jobs.alerts.states import load_states
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


def evaluate_alerts(db: Database, *, at: datetime, deliverable: bool = True) -> AlertPass:
    """A full pass over every active config: resolve incidents that are over, open incidents
    for rules that fire. Returns the
    notifications this call wrote (another sidecar's pass writes none for the same incident);
    ``deliverable``: a channel is configured, so they are to be sent."""
    return evaluate_states(db, load_states(db), store.open_by_config(db), at, deliverable)


def evaluate_states(
    db: Database,
    states: list[ConfigState],
    open_now: dict[str, list[OpenIncident]],
    at: datetime,
    deliverable: bool = True,
) -> AlertPass:
    """The pass over the given configs (``open_now``: open incidents by config)."""
    messages: list[Message] = []
    for state in states:
        incidents = open_now.get(state.config_id, [])
        findings = rules.evaluate(state, at)
        firing = {f.rule for f in findings}
        # A rule that still fires keeps its incident open (e.g. a schedule still stuck although
        # an older run succeeded): resolving it would only reopen it on the next pass.
        over = [i for i in rules.resolved(state, incidents) if i.rule not in firing]
        for incident in over:
            message = store.resolve_incident(
                db, state.config_id, incident, at, deliverable=deliverable
            )
            if message is not None:
                messages.append(message)
        still_open = {i.rule for i in incidents} - {i.rule for i in over}
        for finding in findings:
            if finding.rule in still_open:
                continue  # the incident is open already: fire once per incident
            message = store.open_incident(db, state.config_id, finding, at, deliverable=deliverable)
            if message is not None:
                messages.append(message)
    return AlertPass(len(states), messages)


class Courier:
    """Sends alert notifications on one background thread, so a slow webhook never holds up
    the sidecar: new ones as they are written, failed ones again when their next attempt is
    due (leased, so that one sidecar sends each)."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        if settings.alert_urls is not None:
            # apprise's own check of every URL, once at start: a typo fails loudly here.
            targets.check_targets(targets.parse_alert_urls(settings.alert_urls.get_secret_value()))
        if settings.webhook_url and settings.webhook_secret is None:
            log.warning("GROVE_WEBHOOK_URL is set without GROVE_WEBHOOK_SECRET: unsigned webhooks")
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether any channel (webhook, SMTP, named targets) is configured."""
        settings = self.settings
        return bool(settings.webhook_url or settings.smtp_host or settings.alert_urls)

    def send(self, messages: list[Message]) -> None:
        """Queue notifications for delivery."""
        if not (messages and self.enabled):
            return
        for message in messages:
            self._queue.put(message)
        if self._thread is None:  # started on first use; it lives as long as the process
            self._thread = threading.Thread(target=self._run, name="alert-courier", daemon=True)
            self._thread.start()

    def redeliver_due(self, at: datetime) -> int:
        """Claim the notifications whose next attempt is due and queue them; returns how many."""
        if not self.enabled:
            return 0
        messages = store.claim_redeliveries(self.db, at=at)
        self.send(messages)
        return len(messages)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                deliver(self.db, self.settings, message)
            except Exception:  # one broken message must not stop the others
                log.exception("delivering alert notification %d failed", message.notification_id)
