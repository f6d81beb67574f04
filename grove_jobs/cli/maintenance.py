"""``grove-jobs maintenance``: named maintenance windows (add, list, remove)."""

from __future__ import annotations

import click

from grove_jobs.cli.common import (
    CliContext,
    cli_actor,
    echo_json,
    echo_table,
    parse_instant,
    pass_cli,
)
from grove_jobs.pauses.windows import WindowSpec, add_window, list_windows, remove_window


@click.group("maintenance")
def maintenance_group() -> None:
    """Maintenance windows: during one, the configs it covers behave as paused."""


@maintenance_group.command("add")
@click.argument("name")
@click.option("--start", metavar="ISO", help="One-off window start (UTC unless given).")
@click.option("--end", metavar="ISO", help="One-off window end.")
@click.option("--cron", metavar="EXPR", help="Recurring: when each occurrence starts.")
@click.option("--duration", type=int, metavar="MINUTES", help="Recurring: minutes per occurrence.")
@click.option("--timezone", default="UTC", show_default=True, help="Recurring: the cron's zone.")
@click.option("--tag", help="Cover only configs with this tag (default: every config).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored window as JSON.")
@pass_cli
def maintenance_add(
    cli: CliContext,
    name: str,
    start: str | None,
    end: str | None,
    cron: str | None,
    duration: int | None,
    timezone: str,
    tag: str | None,
    as_json: bool,
) -> None:
    """Add window NAME: --start/--end once, or --cron/--duration repeatedly."""
    spec = WindowSpec(
        name=name,
        starts_at=parse_instant(start, "start"),
        ends_at=parse_instant(end, "end"),
        cron_expression=cron,
        duration_minutes=duration,
        timezone=timezone,
        tag=tag,
    )
    window = add_window(cli.db, spec, by=cli_actor(), source="cli")
    if as_json:
        echo_json(window.to_json())
    else:
        click.echo(f"added maintenance window {window.spec.name!r}: {window.describe()}")


@maintenance_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def maintenance_list(cli: CliContext, as_json: bool) -> None:
    """Every window with its schedule and scope."""
    found = list_windows(cli.db)
    if as_json:
        echo_json([w.to_json() for w in found])
        return
    echo_table(
        ["ID", "NAME", "WHEN", "TAG", "CREATED BY"],
        [[w.id, w.spec.name, w.describe(), w.spec.tag or "*", w.created_by] for w in found],
    )


@maintenance_group.command("remove")
@click.argument("name_or_id")
@pass_cli
def maintenance_remove(cli: CliContext, name_or_id: str) -> None:
    """Remove a window; runs it already skipped stay skipped."""
    window = remove_window(cli.db, name_or_id, by=cli_actor(), source="cli")
    click.echo(f"removed maintenance window {window.spec.name!r}")
