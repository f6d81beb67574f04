"""``grove-jobs job-types``: the installed job types, where they come from, their parameters."""

from __future__ import annotations

import json
from typing import Any

import click

from grove_jobs.cli.common import CliContext, echo_json, echo_table, pass_cli
from grove_jobs.jobs.registry import JobType, get_job_type, job_types


def job_type_json(kind: JobType, settings: Any) -> dict[str, Any]:
    """One job type as ``job-types list --json`` prints it."""
    reason = kind.unavailable_reason(settings)
    return {
        "name": kind.name,
        "title": kind.title,
        "description": kind.description,
        "source": kind.source,
        "origin": kind.origin,
        "available": reason is None,
        "unavailableReason": reason,
        "parametersSchema": kind.parameters_schema(),
    }


@click.group("job-types")
def job_types_group() -> None:
    """The installed job types: built-in, GROVE_JOB_MODULES, entry points."""


@job_types_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_cli
def list_job_types(cli: CliContext, as_json: bool) -> None:
    """List the installed job types, sorted by name."""
    kinds = [job_type_json(kind, cli.settings) for kind in job_types()]
    if as_json:
        echo_json(kinds)
        return
    rows = [
        (k["name"], k["title"], k["source"], k["origin"], k["unavailableReason"] or "yes")
        for k in kinds
    ]
    echo_table(("NAME", "TITLE", "SOURCE", "ORIGIN", "AVAILABLE"), rows)


@job_types_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def show_job_type(cli: CliContext, name: str, as_json: bool) -> None:
    """One job type: where it comes from and the JSON schema of its parameters."""
    data = job_type_json(get_job_type(name), cli.settings)
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['name']}: {data['title']}")
    if data["description"]:
        click.echo(f"  {data['description']}")
    click.echo(f"  source {data['source']}, defined at {data['origin']}")
    if not data["available"]:
        click.echo(f"  unavailable: {data['unavailableReason']}")
    click.echo("parameters (JSON schema):")
    click.echo(json.dumps(data["parametersSchema"], indent=2))
