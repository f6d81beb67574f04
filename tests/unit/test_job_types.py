"""Job types as plugins: registration, discovery, and how configs validate against them."""

from __future__ import annotations

import copy
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

import grove_jobs
from grove_jobs.demo import MOCK_HEALTH_CHECK
from grove_jobs.exceptions import ValidationFailed
from grove_jobs.jobs import discovery
from grove_jobs.jobs.registry import (
    JobTypeError,
    UnknownJobType,
    find_job_type,
    get_job_type,
    job_type,
    job_types,
    unregister,
)
from grove_jobs.schema import JobConfigPayload, parse_grove_object
from grove_jobs.schema.job_config import default_job_config_json, default_parameters


class ExportParams(BaseModel):
    bucket: str = Field(min_length=3)
    days: int = Field(default=1, ge=1, le=30)


@pytest.fixture
def export_type() -> Iterator[str]:
    @job_type("test-export", parameters=ExportParams, title="Test export")
    def export(params: ExportParams, ctx) -> None:
        """Export things."""

    yield "test-export"
    unregister("test-export")


def _config(job_type_name: str, parameters: dict) -> dict:
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    data["meta"]["id"] = "plugin-config"
    data["payload"]["jobType"] = job_type_name
    data["payload"]["parameters"] = parameters
    return data


def test_public_api_is_lazy_and_complete() -> None:
    assert grove_jobs.job_type is job_type
    assert {"job_type", "JobContext", "JobResult", "PermanentError"} <= set(dir(grove_jobs))
    with pytest.raises(AttributeError):
        grove_jobs.no_such_name  # noqa: B018


def test_a_registered_type_is_described(export_type: str) -> None:
    kind = get_job_type(export_type)
    assert kind.title == "Test export" and kind.description == "Export things."
    assert kind.origin.endswith(":export_type.<locals>.export")
    assert kind.parameters_schema()["required"] == ["bucket"]


def test_parameters_must_be_a_pydantic_model() -> None:
    with pytest.raises(JobTypeError, match="must be a pydantic model"):
        job_type("bad-model", parameters=dict)(lambda params, ctx: None)  # type: ignore[arg-type]
    assert find_job_type("bad-model") is None


def test_handler_must_take_params_and_ctx() -> None:
    with pytest.raises(JobTypeError, match=r"must take \(params, ctx\)"):
        job_type("bad-handler", parameters=ExportParams)(lambda params: None)
    assert find_job_type("bad-handler") is None


def test_two_registrations_of_one_name_name_both_places(export_type: str) -> None:
    def other(params, ctx):
        return None

    with pytest.raises(JobTypeError, match="registered twice") as caught:
        job_type(export_type, parameters=ExportParams)(other)
    assert "test_job_types" in str(caught.value) and "other" in str(caught.value)


def test_plugin_parameters_validate_with_field_paths(export_type: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(_config(export_type, {"bucket": "x", "days": 99}))
    paths = {e.path for e in caught.value.errors}
    assert paths == {"payload.parameters.bucket", "payload.parameters.days"}


def test_job_type_tag_is_optional_but_must_match(export_type: str) -> None:
    untagged = parse_grove_object(_config(export_type, {"bucket": "reports"}))
    assert isinstance(untagged.payload.parameters, ExportParams)
    # Written back on export, so export | apply is a no-op.
    exported = untagged.to_json_dict()["payload"]["parameters"]
    assert exported == {"jobType": export_type, "bucket": "reports", "days": 1}
    assert parse_grove_object(untagged.to_json_dict()) == untagged
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(_config(export_type, {"jobType": "health-check", "bucket": "abc"}))
    assert [e.path for e in caught.value.errors] == ["payload.parameters.jobType"]


def test_unknown_type_is_refused_for_writes_and_kept_for_reads() -> None:
    data = _config("not-installed", {"jobType": "not-installed", "anything": [1, 2]})
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(data)
    (error,) = caught.value.errors
    assert error.path == "payload.jobType"
    assert "not installed" in error.message and "GROVE_JOB_MODULES" in error.message
    stored = parse_grove_object(data, stored=True)
    assert stored.payload.installed is False
    assert stored.to_json_dict()["payload"]["parameters"] == data["payload"]["parameters"]


def test_defaults_come_from_the_model_and_the_registration(export_type: str) -> None:
    assert default_parameters(export_type) == {"days": 1}  # bucket is for the user to fill
    assert default_parameters("health-check") == {
        "checks": ["database", "storage"],
        "alertThreshold": "error",
    }
    document = default_job_config_json(export_type)
    assert document["displayName"] == "Test export" and document["jobType"] == export_type
    with pytest.raises(ValueError):
        JobConfigPayload.model_validate(document)  # bucket is required


def test_unknown_job_type_error_says_how_types_are_found() -> None:
    with pytest.raises(UnknownJobType, match="entry points"):
        get_job_type("nope")


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("team_plugin")]:
        del sys.modules[name]
    for kind in job_types():
        if kind.module.startswith("team_plugin"):
            unregister(kind.name)
    discovery.discover("")  # back to this process's own discovery state


def test_modules_in_grove_job_modules_are_discovered(plugin_dir: Path) -> None:
    (plugin_dir / "team_plugin_ok.py").write_text(
        textwrap.dedent(
            """
            from pydantic import BaseModel
            from grove_jobs import job_type

            class Params(BaseModel):
                n: int = 1

            @job_type("team-ok", parameters=Params)
            def run(params, ctx):
                return None
            """
        )
    )
    discovery.discover("team_plugin_ok")
    kind = get_job_type("team-ok")
    assert (kind.source, kind.origin) == ("module", "team_plugin_ok:run")
    assert get_job_type("synthetic").source == "built-in"
    assert get_job_type("advancement-batch").source == "entry-point"


def test_a_module_that_cannot_be_imported_is_named(plugin_dir: Path) -> None:
    (plugin_dir / "team_plugin_broken.py").write_text("raise RuntimeError('no config here')\n")
    with pytest.raises(discovery.PluginError) as caught:
        discovery.discover("team_plugin_broken")
    message = str(caught.value)
    assert "team_plugin_broken" in message and "RuntimeError: no config here" in message
    with pytest.raises(discovery.PluginError, match="ModuleNotFoundError"):
        discovery.discover("team_plugin_missing")


def test_a_plugin_that_cannot_load_stops_the_api(tmp_path: Path) -> None:
    from grove_jobs.db.engine import Database
    from grove_jobs.settings import Settings
    from scheduler.api.app import create_app

    settings = Settings(data_dir=tmp_path, job_modules="team_plugin_nowhere")
    db = Database(f"sqlite:///{tmp_path / 'grove.db'}")
    try:
        with pytest.raises(discovery.PluginError, match="team_plugin_nowhere"):
            create_app(db, settings)
    finally:
        db.dispose()
        discovery.discover("")


def test_importing_the_package_stays_cheap() -> None:
    import subprocess

    probe = (
        "import sys, grove_jobs; "
        "print(sorted(m for m in ('pydantic', 'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
