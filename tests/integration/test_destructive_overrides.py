"""Parameters marked ``Destructive``: in the JSON schema, and overriding them for one run needs
the editor role (dashboard), the ``write`` scope (API) or ``--allow-destructive`` (CLI)."""

from __future__ import annotations

from typing import Annotated

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from pydantic import Field
from sqlalchemy import update

from grove_jobs.auth.roles import Role, allows
from grove_jobs.cli import main
from grove_jobs.configs.transfer import apply_objects, parse_objects
from grove_jobs.contrib.content.advancement_batch import AdvancementBatchParameters
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobExecutionRow
from grove_jobs.demo import demo_objects
from grove_jobs.engine.enqueue import retry_execution, run_now
from grove_jobs.exceptions import ValidationFailed
from grove_jobs.executions.queries import execution_history
from grove_jobs.jobs.builtin.orphan_cleanup import OrphanCleanupParameters
from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.markers import Destructive, destructive_fields
from scheduler.api.app import create_app
from tests.integration.test_api_support import ApiClient, api_settings, make_token

CLEANUP = "weekly-orphan-cleanup"


class Example(CamelModel):
    wipe: Annotated[bool, Destructive] = False
    keep_days: Annotated[int, Field(ge=1), Destructive] = 30
    label: str = "x"


def test_the_marker_shows_in_the_json_schema() -> None:
    properties = Example.model_json_schema()["properties"]
    assert properties["wipe"]["destructive"] is True
    assert properties["keepDays"]["destructive"] is True and properties["keepDays"]["minimum"] == 1
    assert "destructive" not in properties["label"]
    assert destructive_fields(Example) == {"wipe": "wipe", "keep_days": "keepDays"}
    assert set(destructive_fields(OrphanCleanupParameters).values()) == {
        "dryRun",
        "orphanThresholdDays",
    }
    assert set(destructive_fields(AdvancementBatchParameters).values()) == {"dryRun"}


def test_only_editors_and_admins_may_change_destructive_parameters() -> None:
    assert not allows(Role.OPERATOR, "run.destructive")
    assert allows(Role.EDITOR, "run.destructive") and allows(Role.ADMIN, "run.destructive")


@pytest.fixture
def seeded(db: Database) -> Database:
    apply_objects(db, parse_objects(demo_objects()), actor="seed", source="cli")
    return db


@pytest.mark.parametrize(
    "overrides",
    [{"dryRun": False}, {"orphanThresholdDays": 1}, {"dryRun": False, "orphanThresholdDays": 1}],
)
def test_run_now_refuses_destructive_overrides_by_default(
    seeded: Database, overrides: dict[str, object]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run_now(seeded, CLEANUP, requested_by="op", parameter_overrides=overrides)
    paths = {e.path for e in caught.value.errors}
    assert paths == {f"parameters.{key}" for key in overrides}
    assert "needs the editor role" in caught.value.errors[0].message
    assert execution_history(seeded, CLEANUP).total == 0


def test_harmless_and_unchanged_overrides_need_no_right(seeded: Database) -> None:
    same = {"dryRun": True, "orphanThresholdDays": 90, "entityTypes": ["executions"]}
    run = run_now(seeded, CLEANUP, requested_by="op", parameter_overrides=same)
    assert run.parameter_overrides == same


def test_retry_rechecks_destructive_overrides(seeded: Database) -> None:
    risky = {"dryRun": False}
    run = run_now(
        seeded, CLEANUP, requested_by="ed", parameter_overrides=risky, allow_destructive=True
    )
    with seeded.write() as session:
        session.execute(
            update(JobExecutionRow)
            .where(JobExecutionRow.id == run.id)
            .values(status="failed", attempt=1)
        )
    with pytest.raises(ValidationFailed):
        retry_execution(seeded, run.id, requested_by="op")
    again = retry_execution(seeded, run.id, requested_by="ed", allow_destructive=True)
    assert again.parameter_overrides == risky


def test_api_needs_the_write_scope(seeded: Database) -> None:
    app: FastAPI = create_app(seeded, api_settings(seeded))
    url = f"/api/jobs/{CLEANUP}/trigger"
    body = {"parameters": {"dryRun": False}}
    runner = ApiClient(app, make_token(seeded, "run"))
    refused = runner.post(url, json=body)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["path"] == "parameters.dryRun"
    assert runner.post(url, json={"parameters": {"entityTypes": ["documents"]}}).status_code == 202
    writer = ApiClient(app, make_token(seeded, "run", "write"))
    assert writer.post(url, json=body).status_code == 202


def test_cli_needs_allow_destructive(seeded: Database) -> None:
    env = {"GROVE_DATABASE_URL": seeded.url, "GROVE_ACTOR": "tester@cli"}
    args = ["run", CLEANUP, "--param", "dryRun=false"]
    refused = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert refused.exit_code == 1
    assert "parameters.dryRun" in refused.output and "--allow-destructive" in refused.output
    assert execution_history(seeded, CLEANUP).total == 0
    allowed = CliRunner().invoke(
        main, [*args, "--allow-destructive"], env=env, catch_exceptions=False
    )
    assert allowed.exit_code == 0, allowed.output
    assert execution_history(seeded, CLEANUP).total == 1
