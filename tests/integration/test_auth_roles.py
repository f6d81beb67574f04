"""Roles and identities: defaults per sign-in source, grants from the database, and the
server-side check every dashboard write goes through (including ``dashboard.actions``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from grove_jobs.auth.identity import Identity, authorize, resolve_identity
from grove_jobs.auth.roles import Role, allows, grant_role, required_role
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import get_config
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import PermissionDenied
from grove_jobs.executions.queries import execution_history
from grove_jobs.schema.grove_object import parse_grove_object
from tests.integration.test_api_support import mock_config, store

OPERATOR_ACTIONS = ["run.start", "run.retry", "run.cancel"]
EDITOR_ACTIONS = [
    "config.create",
    "config.edit",
    "config.enable",
    "config.duplicate",
    "config.archive",
    "config.restore",
]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, ["view"]),
        (Role.OPERATOR, ["view", *OPERATOR_ACTIONS]),
        (Role.EDITOR, ["view", *OPERATOR_ACTIONS, *EDITOR_ACTIONS]),
        (Role.ADMIN, ["view", *OPERATOR_ACTIONS, *EDITOR_ACTIONS, "tokens", "users"]),
    ],
)
def test_role_ladder(role: Role, allowed: list[str]) -> None:
    everything = ["view", *OPERATOR_ACTIONS, *EDITOR_ACTIONS, "tokens", "users"]
    assert [a for a in everything if allows(role, a)] == allowed


def test_unknown_actions_need_admin() -> None:
    assert required_role("launch.missiles") == Role.ADMIN
    assert not allows(Role.EDITOR, "launch.missiles")
    assert not allows(None, "view")


def test_default_roles_by_source(db: Database) -> None:
    # A visitor without a login only looks, unless GROVE_ANONYMOUS_ROLE (default_role) says.
    assert resolve_identity(db, email="me@local", source="local").role == Role.VIEWER
    local_admin = resolve_identity(db, email="me@local", source="local", default_role=Role.ADMIN)
    assert local_admin.role == Role.ADMIN
    assert resolve_identity(db, email="a@example.com", source="proxy").role == Role.VIEWER
    assert resolve_identity(db, email="b@example.com", source="oidc").role == Role.VIEWER
    grant_role(db, "A@Example.com", "operator", granted_by="admin")
    grant_role(db, "me@local", "viewer", granted_by="admin")
    assert resolve_identity(db, email="a@example.com ", source="proxy").role == Role.OPERATOR
    assert resolve_identity(db, email="me@local", source="local").role == Role.VIEWER


def test_authorize_names_who_and_what() -> None:
    viewer = Identity("v@example.com", Role.VIEWER, "proxy")
    with pytest.raises(
        PermissionDenied, match=re.escape("v@example.com (viewer) lacks 'editor role")
    ):
        authorize(viewer, "config.edit")
    with pytest.raises(PermissionDenied):
        authorize(None, "view")
    assert authorize(Identity("e@x", Role.EDITOR, "oidc"), "config.edit").email == "e@x"
    assert Identity("me@local", Role.ADMIN, "local").label == "me@local (local)"


# --------------------------------------------------------------------------- dashboard path


@pytest.fixture
def dashboard_as(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str | None], None]]:
    """Point the dashboard at ``db`` behind a trusted proxy; ``dashboard_as(email)`` sets
    who the proxy says is signed in. Runs the dashboard's real write functions."""
    from dashboard import context, identity

    monkeypatch.setenv("GROVE_DATABASE_URL", db.url)
    monkeypatch.setenv("GROVE_TRUSTED_USER_HEADER", "X-Forwarded-Email")
    context.reset()
    who: dict[str, str | None] = {"email": None}
    monkeypatch.setattr(identity, "_request_header", lambda name: who["email"])

    def sign_in(email: str | None) -> None:
        who["email"] = email

    yield sign_in
    context.reset()


def test_dashboard_writes_recheck_the_role(
    db: Database, dashboard_as: Callable[[str | None], None]
) -> None:
    from dashboard import actions, identity

    store(db, mock_config())
    grant_role(db, "ed@example.com", "editor", granted_by="admin")
    edited = parse_grove_object(mock_config(**{"meta.title": "edited"}))

    dashboard_as("viewer@example.com")  # unknown to the database: a viewer
    assert identity.current_user() == "viewer@example.com"
    assert not identity.can("config.edit") and not identity.can("run.start")
    with pytest.raises(PermissionDenied):
        actions.save(edited, expected_version=1)
    with pytest.raises(PermissionDenied):
        actions.start_run("mock-health-check")
    assert get_config(db, "mock-health-check").version == 1
    assert execution_history(db, "mock-health-check").total == 0

    dashboard_as("ed@example.com")
    record = actions.save(edited, expected_version=1)
    assert record.version == 2
    assert list_revisions(db, "mock-health-check")[0].actor == "ed@example.com"

    dashboard_as(None)  # the proxy did not say who: nobody is signed in
    with pytest.raises(PermissionDenied):
        identity.current_user()


def test_anonymous_visitors_are_viewers_by_default(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import context, identity

    monkeypatch.setenv("GROVE_DATABASE_URL", db.url)
    monkeypatch.delenv("GROVE_TRUSTED_USER_HEADER", raising=False)
    monkeypatch.delenv("GROVE_ANONYMOUS_ROLE", raising=False)
    context.reset()
    try:
        me = identity.current_identity()
        assert (me.source, me.role) == ("local", Role.VIEWER)
        assert not identity.can("run.start")
    finally:
        context.reset()


def test_local_user_is_admin_unless_granted_otherwise(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import context, identity

    monkeypatch.setenv("GROVE_DATABASE_URL", db.url)
    monkeypatch.delenv("GROVE_TRUSTED_USER_HEADER", raising=False)
    monkeypatch.setenv("GROVE_LOCAL_USER", "me@laptop")
    monkeypatch.setenv("GROVE_ANONYMOUS_ROLE", "admin")  # what make run sets
    context.reset()
    try:
        me = identity.current_identity()
        assert (me.email, me.source, me.role) == ("me@laptop", "local", Role.ADMIN)
        grant_role(db, "me@laptop", "viewer", granted_by="admin")
        assert not identity.can("config.edit")  # re-read on every check
    finally:
        context.reset()
