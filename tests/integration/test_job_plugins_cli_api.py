"""Job types in the CLI and the API: job-types list/show, backfill, the scheduled time in
execution JSON, and configs whose type is not installed (listed, exported, refused)."""

from __future__ import annotations

import copy
import json

from sqlalchemy import update

from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow
from grove_jobs.engine.enqueue import run_now
from tests.factories import create, synthetic_config
from tests.integration.test_api_support import admin_client, make_token, seeded_app
from tests.integration.test_cli import invoke


def _uninstall(db: Database, config_id: str, job_type: str = "retired-type") -> None:
    """As if the package that provided this config's type had been removed since."""
    with db.write() as session:
        row = session.get(JobConfigRow, config_id)
        payload = copy.deepcopy(row.payload)
        payload["jobType"] = payload["parameters"]["jobType"] = job_type
        session.execute(
            update(JobConfigRow)
            .where(JobConfigRow.id == config_id)
            .values(payload=payload, version=row.version + 1)  # as any write makes
        )


def test_job_types_list_and_show(db: Database) -> None:
    listed = json.loads(invoke(db, "job-types", "list", "--json").output)
    names = [k["name"] for k in listed]
    assert names == sorted(names)
    by_name = {k["name"]: k for k in listed}
    assert by_name["synthetic"]["source"] == "built-in"
    assert by_name["advancement-batch"]["source"] == "entry-point"
    assert by_name["acme-export"]["origin"] == "acme_jobs.jobs:acme_export"
    assert by_name["acme-export"]["parametersSchema"]["required"] == ["bucket"]
    assert set(by_name["command"]) >= {"available", "unavailableReason"}
    shown = invoke(db, "job-types", "show", "acme-export")
    assert shown.exit_code == 0 and '"bucket"' in shown.output
    missing = invoke(db, "job-types", "show", "nope")
    assert missing.exit_code == 1 and "not installed" in missing.output


def test_backfill_command(db: Database) -> None:
    create(db, synthetic_config("daily", cron="0 2 * * *"))
    args = ("backfill", "daily", "--from", "2026-03-01", "--to", "2026-03-04")
    dry = invoke(db, *args, "--dry-run")
    assert dry.exit_code == 0 and "2026-03-03T02:00:00Z" in dry.output
    assert "would create 3, already there 0" in dry.output
    assert invoke(db, *args).output.strip() == "created 3, already there 0"
    again = json.loads(invoke(db, *args, "--json").output)
    assert again["created"] == [] and len(again["existing"]) == 3
    listed = json.loads(invoke(db, "executions", "list", "daily", "--json").output)
    assert {e["trigger"] for e in listed} == {"backfill"}
    assert sorted(e["scheduledFor"] for e in listed)[0] == "2026-03-01T02:00:00Z"
    bad = invoke(db, "backfill", "daily", "--from", "2026-03-04", "--to", "2026-03-01")
    assert bad.exit_code == 1 and "to" in bad.output


def test_manual_runs_have_no_scheduled_for_in_json(db: Database) -> None:
    create(db, synthetic_config("m"))
    run = run_now(db, "m", requested_by="t")
    shown = json.loads(invoke(db, "executions", "show", str(run.id), "--json").output)
    assert shown["scheduledFor"] is None and shown["errorKind"] is None


def test_a_config_of_an_uninstalled_type_is_listed_exported_and_refused(db: Database) -> None:
    create(db, synthetic_config("gone"))
    _uninstall(db, "gone")
    listing = invoke(db, "configs", "list")
    assert listing.exit_code == 0 and "[job type not installed]" in listing.output
    (state,) = [o["state"] for o in json.loads(invoke(db, "configs", "list", "--json").output)]
    assert "retired-type" in state["jobTypeProblem"]
    exported = invoke(db, "configs", "export", "--format", "json")
    assert exported.exit_code == 0
    (obj,) = json.loads(exported.output)
    assert obj["payload"]["parameters"]["jobType"] == "retired-type"
    # Applying it back (an edit) is refused, naming the type and how types are found.
    refused = invoke(db, "configs", "apply", "-", stdin=exported.output)
    assert refused.exit_code == 1
    assert "payload.jobType" in refused.output and "GROVE_JOB_MODULES" in refused.output


def test_backfill_endpoint(db: Database) -> None:
    app = seeded_app(db)
    client = admin_client(app, db)
    create(db, synthetic_config("daily", cron="0 2 * * *"))
    url = "/api/jobs/daily/backfill"
    body = {"from": "2026-03-01", "to": "2026-03-03"}
    dry = client.post(url, json={**body, "dryRun": True})
    assert dry.status_code == 201 and dry.json()["created"] == []
    assert dry.json()["fireTimes"] == ["2026-03-01T02:00:00Z", "2026-03-02T02:00:00Z"]
    made = client.post(url, json=body)
    assert made.status_code == 201 and len(made.json()["created"]) == 2
    bad = client.post(url, json={"from": "yesterday", "to": "2026-03-03"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["path"] == "from"
    assert client.post("/api/jobs/nope/backfill", json=body).status_code == 404
    reader = make_token(db, "read")
    assert client.post(url, json=body, token=reader).status_code == 403
