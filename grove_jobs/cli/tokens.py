"""``grove-jobs tokens``: API tokens (create, list, revoke).

Whoever can run these commands can reach the database, which already allows everything; the
CLI is therefore trusted and records ``$GROVE_ACTOR`` / ``$USER@cli`` as the actor.
"""

from __future__ import annotations

import click

from grove_jobs.auth import tokens
from grove_jobs.cli.common import CliContext, cli_actor, echo_json, echo_table, pass_cli, short_time
from grove_jobs.clock import utcnow


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
    help="read (list/get), run (trigger/cancel), write (replace configs), admin (pause/resume);"
    " repeat for several.",
)
@click.option(
    "--expires", metavar="DURATION", help="Lifetime such as 30d, 12h, 2w (default: never)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the token and its record as JSON.")
@pass_cli
def tokens_create(cli: CliContext, name: str, scopes, expires: str | None, as_json: bool) -> None:
    """Create a token and print it once (stdout), so ``TOKEN=$(grove-jobs tokens create ...)``
    works; the details go to stderr."""
    # An empty --expires is a mistake, not a request for a token that never expires.
    lifetime = tokens.parse_duration(expires) if expires is not None else None
    record, secret = tokens.create_token(
        cli.db, name=name, scopes=set(scopes), created_by=cli_actor(), expires_in=lifetime
    )
    if as_json:
        echo_json({**record.to_json(utcnow()), "token": secret})
        return
    click.echo(secret)
    expiry = f", expires {short_time(record.expires_at)} UTC" if record.expires_at else ""
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
                short_time(t.created_at),
                short_time(t.expires_at),
                short_time(t.last_used_at),
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
