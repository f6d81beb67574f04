"""What the current user may do, worked out once per script run.

``dashboard.identity`` decides who is acting and checks every write on the server; this module
only takes one snapshot of those answers per rerun, so a page with 24 cards asks for the
user's role once, not once per button. Hiding a control is a courtesy: the write path still
calls ``identity.require``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from dashboard import identity


@dataclass(frozen=True)
class Allowed:
    """The actions the current user may perform; call it with an action name."""

    actions: frozenset[str]

    def __call__(self, action: str) -> bool:
        return action in self.actions


def allowed() -> Allowed:
    """Snapshot of the current user's permitted actions (one identity lookup)."""
    who = identity.current_identity()
    return Allowed(frozenset(a for a in get_args(identity.Action) if who.can(a)))
