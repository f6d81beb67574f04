"""``grove-jobs users``: dashboard roles by email.

The CLI is trusted (whoever runs it can reach the database), so grants record
``$GROVE_ACTOR`` / ``$USER@cli`` as who granted them.
"""

from __future__ import annotations

import click

from grove_jobs.auth import roles
from grove_jobs.cli.common import CliContext, cli_actor, echo_json, echo_table, pass_cli, short_time
from grove_jobs.clock import iso_z


@click.group("users")
def users_group() -> None:
    """Dashboard roles by email: viewer, operator, editor, admin."""


@users_group.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in roles.Role], case_sensitive=False))
@pass_cli
def users_grant(cli: CliContext, email: str, role: str) -> None:
    """Give EMAIL the role ROLE (replacing any earlier grant)."""
    grant = roles.grant_role(cli.db, email, role, granted_by=cli_actor())
    click.echo(f"{grant.email} is now {grant.role.value}")


@users_group.command("revoke")
@click.argument("email")
@pass_cli
def users_revoke(cli: CliContext, email: str) -> None:
    """Remove EMAIL's grant (they fall back to viewer; the local user to admin)."""
    roles.revoke_role(cli.db, email, revoked_by=cli_actor())
    click.echo(f"{roles.normalize_email(email)}: grant removed")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def users_list(cli: CliContext, as_json: bool) -> None:
    """Every role grant."""
    grants = roles.list_roles(cli.db)
    if as_json:
        echo_json(
            [
                {
                    "email": g.email,
                    "role": g.role.value,
                    "grantedBy": g.granted_by,
                    "grantedAt": iso_z(g.granted_at),
                }
                for g in grants
            ]
        )
        return
    echo_table(
        ["EMAIL", "ROLE", "GRANTED BY", "GRANTED"],
        [[g.email, g.role.value, g.granted_by, short_time(g.granted_at)] for g in grants],
    )
