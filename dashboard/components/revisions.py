"""The History of changes tab: every saved version of a config, what changed, who and how,
with Restore (a new version equal to an old one) for users who may edit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import actions, data
from dashboard.components.feedback import toast_later
from dashboard.display import literal, local_time, safe
from dashboard.permissions import Allowed
from grove_jobs.auth.audit import revision_changes
from grove_jobs.db.records import ConfigRecord
from grove_jobs.exceptions import GroveError
from grove_jobs.schema.execution import Revision

SHOWN_CHANGES = 15
SOURCES = {"ui": "dashboard", "cli": "CLI", "api": "API", "system": "system"}


def render_revisions(record: ConfigRecord, allowed: Allowed, timezone: str) -> None:
    """Draw the tab: newest version first."""
    revisions = data.revisions(record.id)
    if not revisions:
        st.caption("No recorded changes.")
        return
    can_restore = allowed("config.restore")
    for revision in revisions:
        _revision(record, revision, can_restore, timezone)


def _revision(record: ConfigRecord, revision: Revision, can_restore: bool, timezone: str) -> None:
    when = local_time(revision.at, timezone, "%Y-%m-%d %H:%M:%S %Z")
    source = SOURCES.get(revision.source, revision.source)
    current = " (current)" if revision.version == record.version else ""
    label = (
        safe(f"v{revision.version}{current} · {when} · ")
        + literal(revision.actor)
        + safe(f" · via {source}")
    )
    changes = revision_changes(revision)
    with st.expander(label, key=f"revision-{revision.id}"):
        if revision.before is None:
            st.caption("Created.")
        elif revision.after is None:
            st.caption("Deleted.")
        elif not changes:
            st.caption("No field changes.")
        if changes and revision.before is not None and revision.after is not None:
            lines = [f"{c.path}: {_short(c.before)} → {_short(c.after)}" for c in changes]
            more = len(lines) - SHOWN_CHANGES
            text = "\n".join(lines[:SHOWN_CHANGES]) + (f"\n… and {more} more" if more > 0 else "")
            st.code(text, language=None, wrap_lines=True)
        if can_restore and revision.after is not None and revision.version != record.version:
            st.button(
                f"Restore version {revision.version}",
                key=f"restore:{revision.id}",
                icon=":material/restore:",
                on_click=_restore,
                args=(record.id, revision.id, revision.version, record.version),
                help="Saves a new version equal to this one; nothing is lost.",
            )


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _restore(config_id: str, revision_id: int, version: int, expected: int) -> None:
    try:
        saved = actions.restore(config_id, revision_id, expected_version=expected)
    except GroveError as exc:
        st.toast(safe(f"Could not restore: {exc}"), icon=":material/error:")
        return
    toast_later(
        safe(f"Restored version {version} as version {saved.version}"), icon=":material/restore:"
    )
