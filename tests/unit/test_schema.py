"""Schemas: the original configs load unchanged, defaults, aliases, and every rejection names
its field."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from pydantic import Field

from grove_jobs.configs.query import ConfigQuery, list_configs
from grove_jobs.configs.store import create_config, get_config
from grove_jobs.configs.transfer import apply_objects, new_object, parse_objects
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.demo import MOCK_HEALTH_CHECK, demo_objects
from grove_jobs.exceptions import ValidationFailed
from grove_jobs.jobs.registry import find_job_type, job_type_names
from grove_jobs.schema import (
    GroveObject,
    JobConfigPayload,
    default_job_config_payload,
    get_type,
    is_job_config_payload,
    parse_grove_object,
    registered_types,
    validate_payload,
)
from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.registry import ExperienceType, FilterSpec, register_type, unregister_type


def _errors(data: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(data)
    return [(e.path, e.message) for e in caught.value.errors]


# --------------------------------------------------------------------------- valid input


def test_mock_config_parses_unchanged() -> None:
    obj = parse_grove_object(copy.deepcopy(MOCK_HEALTH_CHECK))
    dumped = obj.to_json_dict()
    # Every field the original wrote comes back with the same value; additions only add keys.
    for section in ("schedule", "retry", "limits", "parameters"):
        original = MOCK_HEALTH_CHECK["payload"][section]
        assert {k: dumped["payload"][section][k] for k in original} == original
    assert dumped["payload"]["jobType"] == "health-check"
    assert dumped["payload"]["displayName"] == "Mock Health Check"
    assert dumped["meta"]["id"] == "mock-health-check"
    # Re-parsing the dump is a fixed point.
    assert parse_grove_object(dumped).to_json_dict() == dumped


def test_optional_additions_have_defaults() -> None:
    payload = parse_grove_object(copy.deepcopy(MOCK_HEALTH_CHECK)).payload
    assert payload.schedule.misfire_policy == "run_once"
    assert payload.limits.overlap_policy == "skip"
    assert payload.retry.jitter is False


def test_default_payload_is_the_original() -> None:
    payload = default_job_config_payload("advancement-batch")
    assert payload.job_type == "advancement-batch"
    assert payload.display_name == "Daily Advancement"
    assert payload.schedule.cron_expression == "0 2 * * *"
    assert payload.schedule.timezone == "America/Los_Angeles"
    assert payload.schedule.is_enabled is False
    retry = payload.retry
    assert (retry.max_attempts, retry.backoff_strategy) == (3, "exponential")
    assert (retry.initial_delay_seconds, retry.max_delay_seconds) == (60, 900)
    limits = payload.limits
    assert (limits.batch_size, limits.timeout_seconds, limits.max_concurrent) == (100, 300, 1)
    assert payload.job_type == "advancement-batch"
    assert payload.to_json_dict()["parameters"]["jobType"] == "advancement-batch"


# The types this project ships (built-in and its content plugin); ``command`` needs a
# commands file, and a team's types may have required parameters without defaults.
BUNDLED = sorted(
    name
    for name in job_type_names()
    if find_job_type(name).module.startswith("grove_jobs.") and name != "command"
)


@pytest.mark.parametrize("job_type", BUNDLED)
def test_default_payload_per_job_type_is_valid(job_type: str) -> None:
    payload = default_job_config_payload(job_type)
    assert payload.job_type == job_type
    assert isinstance(payload.parameters, find_job_type(job_type).parameters)
    assert payload.to_json_dict()["parameters"]["jobType"] == job_type
    assert JobConfigPayload.model_validate(payload.to_json_dict()) == payload


def test_camel_case_json_snake_case_python() -> None:
    payload = default_job_config_payload("health-check")
    data = payload.to_json_dict()
    assert data["schedule"]["cronExpression"] == payload.schedule.cron_expression
    assert data["retry"]["maxAttempts"] == payload.retry.max_attempts
    assert data["parameters"]["alertThreshold"] == payload.parameters.alert_threshold
    assert "cron_expression" not in data["schedule"]
    # Python names are accepted on input too.
    again = JobConfigPayload.model_validate(payload.model_dump())
    assert again == payload


def test_parameters_job_type_may_be_omitted() -> None:
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    del data["payload"]["parameters"]["jobType"]
    parsed = parse_grove_object(data)
    assert parsed.payload.parameters.checks == ["database", "storage"]
    # ... and is written back, so an export says what the parameters are for.
    assert parsed.to_json_dict()["payload"]["parameters"]["jobType"] == "health-check"


def test_models_are_frozen() -> None:
    payload = default_job_config_payload()
    with pytest.raises(ValueError):
        payload.display_name = "changed"  # type: ignore[misc]


def test_every_demo_config_is_valid_and_covers_every_job_type() -> None:
    objects = [parse_grove_object(o) for o in demo_objects()]
    assert {o.payload.job_type for o in objects} == set(BUNDLED)
    assert len({o.id for o in objects}) == len(objects)
    assert demo_objects()[0] == MOCK_HEALTH_CHECK


# --------------------------------------------------------------------------- invalid input


def test_invalid_config_names_its_field(invalid_config) -> None:
    errors = _errors(invalid_config.build())
    paths = [path for path, _ in errors]
    assert invalid_config.path in paths, errors
    assert all(message for _, message in errors)


def test_every_error_is_reported_at_once() -> None:
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    data["meta"]["id"] = "Bad Id"
    data["payload"]["retry"]["maxAttempts"] = 0
    data["payload"]["limits"]["batchSize"] = 0
    data["payload"]["schedule"]["timezone"] = "Nowhere/Special"
    paths = {path for path, _ in _errors(data)}
    assert paths == {
        "meta.id",
        "payload.retry.maxAttempts",
        "payload.limits.batchSize",
        "payload.schedule.timezone",
    }


def test_messages_are_readable() -> None:
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    data["payload"]["schedule"]["cronExpression"] = "0 0 31 2 *"
    [(_, message)] = _errors(data)
    assert "never fires" in message
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    data["payload"]["extra"] = 1
    assert _errors(data) == [("payload.extra", "unknown field")]


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_non_objects_are_rejected(data: object) -> None:
    assert _errors(data)


def test_missing_payload_is_reported() -> None:
    assert ("payload", "Field required") in _errors({"meta": MOCK_HEALTH_CHECK["meta"]})


def test_parse_objects_prefixes_list_indexes() -> None:
    bad = copy.deepcopy(MOCK_HEALTH_CHECK)
    bad["payload"]["limits"]["batchSize"] = 0
    with pytest.raises(ValidationFailed) as caught:
        parse_objects([MOCK_HEALTH_CHECK, bad], source="f.yaml")
    [error] = caught.value.errors
    assert (error.source, error.path) == ("f.yaml", "[1].payload.limits.batchSize")
    assert str(error).startswith("f.yaml: [1].payload.limits.batchSize: ")


# --------------------------------------------------------------------------- guard


def test_is_job_config_payload() -> None:
    payload = default_job_config_payload()
    assert is_job_config_payload(payload)
    assert is_job_config_payload(payload.to_json_dict())
    assert is_job_config_payload(MOCK_HEALTH_CHECK["payload"])
    broken = copy.deepcopy(MOCK_HEALTH_CHECK["payload"])
    broken["limits"]["batchSize"] = 0
    assert not is_job_config_payload(broken)
    assert not is_job_config_payload(MOCK_HEALTH_CHECK)  # a whole object is not a payload
    assert not is_job_config_payload(None)
    assert not is_job_config_payload("health-check")


# --------------------------------------------------------------------------- registry


def test_job_config_type_is_registered() -> None:
    experience = get_type("job-config")
    assert experience.label == "Job Configuration"
    assert experience.color == "#E65100"
    assert "hourglass" in experience.icon
    assert experience.payload_model is JobConfigPayload
    assert experience.allow_multiple_active
    assert {f.key for f in experience.filters} >= {"jobType", "enabled"}
    assert experience.sort_options and experience.search_fields and experience.metrics


class RunbookPayload(CamelModel):
    """A throwaway experience type: nothing outside this test knows about it."""

    summary: str = Field(min_length=1, max_length=80)
    steps: list[str] = Field(default_factory=list, max_length=10)
    audience: str = "ops"


def _default_runbook(**overrides: object) -> RunbookPayload:
    return RunbookPayload.model_validate({"summary": "Restart the thing", **overrides})


@pytest.fixture
def runbook_type() -> Iterator[ExperienceType]:
    experience = register_type(
        ExperienceType(
            type="test-runbook",
            label="Runbook",
            icon=":material/menu_book:",
            emoji="📖",
            color="#1565C0",
            description="A test-only type.",
            payload_model=RunbookPayload,
            default_payload=_default_runbook,
            title_path="payload.summary",
            search_fields=("meta.id", "payload.summary", "payload.steps"),
            filters=(FilterSpec("audience", "Audience", "payload.audience"),),
        )
    )
    try:
        yield experience
    finally:
        unregister_type("test-runbook")


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    try:
        yield database
    finally:
        database.dispose()


def test_a_new_type_needs_no_core_change(runbook_type: ExperienceType, sqlite_db: Database) -> None:
    assert runbook_type in registered_types()
    actor = {"actor": "tester", "source": "cli"}
    # Created from the registry's default factory...
    first = new_object("test-runbook", "restart-api", title="Restart API")
    create_config(sqlite_db, first, **actor)
    # ...and from JSON, through the same parse path as every other type.
    second = parse_grove_object(
        {
            "meta": {"id": "rotate-keys", "type": "test-runbook"},
            "payload": {"summary": "Rotate keys", "steps": ["revoke", "issue"], "audience": "sec"},
        }
    )
    apply_objects(sqlite_db, [second], **actor)

    stored = get_config(sqlite_db, "rotate-keys").object
    assert isinstance(stored.payload, RunbookPayload)
    assert stored.payload.steps == ["revoke", "issue"]
    listed = list_configs(sqlite_db, ConfigQuery(type="test-runbook"))
    assert [v.record.id for v in listed] == ["restart-api", "rotate-keys"]
    query = ConfigQuery(type="test-runbook", filters={"audience": "sec"})
    assert [v.record.id for v in list_configs(sqlite_db, query)] == ["rotate-keys"]
    query = ConfigQuery(text="revoke")
    assert [v.record.id for v in list_configs(sqlite_db, query)] == ["rotate-keys"]
    # A type without a schedule is never scheduled.
    assert get_config(sqlite_db, "restart-api").next_run_at is None

    # Validation uses the type's own model, with field paths.
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(
            {"meta": {"id": "bad", "type": "test-runbook"}, "payload": {"summary": ""}}
        )
    assert [e.path for e in caught.value.errors] == ["payload.summary"]
    with pytest.raises(ValidationFailed) as caught:
        validate_payload("test-runbook", {"summary": "ok", "steps": "not a list"})
    assert [e.path for e in caught.value.errors] == ["payload.steps"]


def test_unregistered_type_is_rejected() -> None:
    errors = _errors({"meta": {"id": "x", "type": "test-runbook"}, "payload": {"summary": "a"}})
    assert [path for path, _ in errors] == ["meta.type"]


def test_grove_object_ids() -> None:
    obj = parse_grove_object(copy.deepcopy(MOCK_HEALTH_CHECK))
    assert isinstance(obj, GroveObject)
    assert (obj.id, obj.type) == ("mock-health-check", "job-config")


def test_nul_characters_are_rejected_with_their_path() -> None:
    data = copy.deepcopy(MOCK_HEALTH_CHECK)
    data["meta"]["title"] = "bad\x00title"
    data["payload"]["parameters"]["checks"] = ["database", "st\x00orage"]
    with pytest.raises(ValidationFailed) as info:
        parse_grove_object(data)
    assert [e.path for e in info.value.errors] == ["meta.title", "payload.parameters.checks.1"]
