"""CLI for access: API tokens, dashboard roles, and serving the HTTP API on its own.

Whoever can run these commands can reach the database, which already allows everything; the
CLI is therefore trusted and records ``$GROVE_ACTOR`` / ``$USER@cli`` as the actor.
"""

from __future__ import annotations

import click

from grove_jobs.auth import roles, tokens
from grove_jobs.cli import CliContext, cli_actor, echo_json, echo_table, pass_cli
from grove_jobs.clock import utcnow


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


# --------------------------------------------------------------------------- tokens


@click.group("tokens")
def tokens_group() -> None:
    """API bearer tokens (stored hashed; the secret is shown once, at creation)."""


@tokens_group.command("create")
@click.option("--name", required=True, help="Unique among active tokens; runs record token:NAME.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(tokens.SCOPES),
    help="read (list/get), run (trigger/cancel), write (replace configs); repeat for several.",
)
@click.option(
    "--expires", metavar="DURATION", help="Lifetime such as 30d, 12h, 2w (default: never)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the token and its record as JSON.")
@pass_cli
def tokens_create(cli: CliContext, name: str, scopes, expires: str | None, as_json: bool) -> None:
    """Create a token and print it once (stdout), so ``TOKEN=$(grove-jobs tokens create ...)``
    works; the details go to stderr."""
    lifetime = tokens.parse_duration(expires) if expires else None
    record, secret = tokens.create_token(
        cli.db, name=name, scopes=set(scopes), created_by=cli_actor(), expires_in=lifetime
    )
    if as_json:
        echo_json({**record.to_json(utcnow()), "token": secret})
        return
    click.echo(secret)
    expiry = f", expires {_when(record.expires_at)} UTC" if record.expires_at else ""
    click.echo(
        f"token {record.name!r} (scopes: {', '.join(sorted(record.scopes))}{expiry}); "
        "store it now: it cannot be shown again",
        err=True,
    )


@tokens_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def tokens_list(cli: CliContext, show_all: bool, as_json: bool) -> None:
    """Tokens with scopes, status, expiry and last use (never the secrets)."""
    now = utcnow()
    found = tokens.list_tokens(cli.db, include_revoked=show_all)
    if as_json:
        echo_json([t.to_json(now) for t in found])
        return
    echo_table(
        ["ID", "NAME", "SCOPES", "STATUS", "PREFIX", "CREATED", "EXPIRES", "LAST USED"],
        [
            [
                t.id,
                t.name,
                ",".join(sorted(t.scopes)),
                t.status(now),
                t.prefix + "…",
                _when(t.created_at),
                _when(t.expires_at),
                _when(t.last_used_at),
            ]
            for t in found
        ],
    )


@tokens_group.command("revoke")
@click.argument("name_or_id")
@pass_cli
def tokens_revoke(cli: CliContext, name_or_id: str) -> None:
    """Revoke the active token NAME_OR_ID; requests with it fail (401) from now on."""
    record = tokens.revoke_token(cli.db, name_or_id, revoked_by=cli_actor())
    click.echo(f"revoked token {record.name!r} (id {record.id})")


# --------------------------------------------------------------------------- users


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
    roles.revoke_role(cli.db, email)
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
                    "grantedAt": g.granted_at.isoformat().replace("+00:00", "Z"),
                }
                for g in grants
            ]
        )
        return
    echo_table(
        ["EMAIL", "ROLE", "GRANTED BY", "GRANTED"],
        [[g.email, g.role.value, g.granted_by, _when(g.granted_at)] for g in grants],
    )


# --------------------------------------------------------------------------- api


@click.command("api")
@click.option("--host", help="Listen address (default GROVE_API_HOST).")
@click.option("--port", type=int, help="Listen port (default GROVE_API_PORT).")
@pass_cli
def api(cli: CliContext, host: str | None, port: int | None) -> None:
    """Serve the HTTP API without a scheduler (the sidecar serves it too, by default)."""
    import logging

    import uvicorn

    from scheduler.api import create_app

    settings = cli.settings
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(cli.db, settings)
    uvicorn.run(
        app,
        host=host or settings.api_host,
        port=settings.api_port if port is None else port,
        log_level=settings.log_level.lower(),
        log_config=None,
    )
