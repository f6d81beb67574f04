"""The Admin page's Tokens and Users tabs: API tokens (create, list, revoke) and roles."""

from __future__ import annotations

import streamlit as st

from dashboard import admin_actions
from dashboard.components.admin_form import field_error, form_error, submit, value
from dashboard.context import database
from dashboard.display import safe
from grove_jobs.auth.roles import Role, list_roles
from grove_jobs.auth.tokens import SCOPES, list_tokens
from grove_jobs.clock import utcnow

_SECRET = "_admin_new_secret"


def render_tokens() -> None:
    """The new token's secret (once), the create form and the token table."""
    created = st.session_state.pop(_SECRET, None)
    if created:
        name, secret = created
        st.success(
            f"Token **{safe(name)}** created. Copy the secret now: it is not shown again.",
            icon=":material/key:",
        )
        st.code(secret, language=None)
    with st.form("token-create", border=True):
        st.markdown("**New token**")
        st.text_input("Name", key="token_name", placeholder="ci-deploy")
        field_error("token", "name")
        st.multiselect("Scopes", SCOPES, default=["read"], key="token_scopes")
        field_error("token", "scopes")
        st.text_input("Expires in", key="token_expires", placeholder="30d (blank: never)")
        field_error("token", "expires")
        st.form_submit_button("Create token", on_click=_create_token, type="primary")
    form_error("token")
    now = utcnow()
    found = list_tokens(database(), include_revoked=True)
    st.dataframe(
        [
            {
                "Name": t.name,
                "Scopes": ", ".join(sorted(t.scopes)),
                "Status": t.status(now),
                "Prefix": t.prefix + "…",
                "Created": t.created_at,
                "Created by": t.created_by,
                "Expires": t.expires_at,
                "Last used": t.last_used_at,
            }
            for t in found
        ],
        hide_index=True,
        width="stretch",
        key="token-table",
    )
    active = [t.name for t in found if t.status(now) == "active"]
    if active:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox("Token to revoke", active, key="token_revoke")
            st.button("Revoke", on_click=_revoke_token, icon=":material/block:")
        field_error("revoke", "name")
        form_error("revoke")


def _create_token() -> None:
    def action() -> str:
        record, secret = admin_actions.create_token(
            (value("token_name") or "").strip(),
            set(value("token_scopes") or []),
            (value("token_expires") or "").strip() or None,
        )
        st.session_state[_SECRET] = (record.name, secret)
        st.session_state["token_name"] = ""
        return f"Created token {safe(record.name)}."

    submit("token", action)


def _revoke_token() -> None:
    def action() -> str:
        record = admin_actions.revoke_token(value("token_revoke"))
        return f"Revoked token {safe(record.name)}."

    submit("revoke", action)


def render_users() -> None:
    """Grant or change a role, the grants table, and revoking one."""
    with st.form("role-grant", border=True):
        st.markdown("**Grant or change a role**")
        st.text_input("Email", key="role_email", placeholder="ann@example.com")
        field_error("grant", "email")
        st.selectbox("Role", [r.value for r in Role], key="role_role")
        field_error("grant", "role")
        st.form_submit_button("Grant", on_click=_grant, type="primary")
    form_error("grant")
    grants = list_roles(database())
    st.dataframe(
        [
            {
                "Email": g.email,
                "Role": g.role.value,
                "Granted by": g.granted_by,
                "Granted": g.granted_at,
            }
            for g in grants
        ],
        hide_index=True,
        width="stretch",
        key="role-table",
    )
    if grants:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox("Grant to revoke", [g.email for g in grants], key="role_revoke")
            st.button("Revoke role", on_click=_revoke_role, icon=":material/person_remove:")
        form_error("role-revoke")


def _grant() -> None:
    def action() -> str:
        grant = admin_actions.grant_role(value("role_email") or "", value("role_role"))
        st.session_state["role_email"] = ""
        return f"{safe(grant.email)} is now {grant.role.value}."

    submit("grant", action, name_field="email")


def _revoke_role() -> None:
    def action() -> str:
        email = value("role_revoke")
        admin_actions.revoke_role(email)
        return f"Revoked the role of {safe(email)}."

    submit("role-revoke", action, name_field="")
