"""The ``grove-jobs`` CLI on both backends.

The issue's "Done when" checks run the real command as a subprocess; the rest use click's
CliRunner in-process, which is much faster.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from grove_jobs.cli import main
from grove_jobs.configs.store import archive_config, find_config, get_config
from grove_jobs.configs.transfer import apply_objects, export_objects, parse_objects
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ConfigRevisionRow
from grove_jobs.demo import MOCK_HEALTH_CHECK, demo_objects
from tests.unit.test_schema import BUNDLED

pytestmark = pytest.mark.timeout(120)


def grove(url: str, *args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess against ``url``."""
    env = {
        **os.environ,
        "GROVE_DATABASE_URL": url,
        "GROVE_DATA_DIR": str(cwd / "data"),
        "GROVE_ACTOR": "tester@cli",
    }
    return subprocess.run(
        [sys.executable, "-m", "grove_jobs.cli", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def invoke(db: Database, *args: str, stdin: str | None = None) -> Result:
    """Run the CLI in-process against ``db``."""
    env = {"GROVE_DATABASE_URL": db.url, "GROVE_ACTOR": "tester@cli"}
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def write(path: Path, data: Any) -> str:
    if path.suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def revision_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ConfigRevisionRow)) or 0


def seed(db: Database) -> None:
    apply_objects(db, parse_objects(demo_objects()), actor="seed", source="cli")


# --------------------------------------------------------------------------- Done when (subprocess)


def test_apply_mock_config_then_list_json(db: Database, tmp_path: Path) -> None:
    mock = write(tmp_path / "mock.json", MOCK_HEALTH_CHECK)
    applied = grove(db.url, "configs", "apply", mock, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "+ create mock-health-check" in applied.stdout

    listed = grove(db.url, "configs", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    [obj] = json.loads(listed.stdout)
    assert obj["meta"]["id"] == "mock-health-check"
    assert obj["meta"]["createdBy"] == "tester@cli"
    for key, value in MOCK_HEALTH_CHECK["payload"].items():
        if isinstance(value, dict):
            assert {k: obj["payload"][key][k] for k in value} == value
        else:
            assert obj["payload"][key] == value
    assert obj["state"]["version"] == 1
    assert obj["state"]["nextRunAt"] is not None
    assert obj["state"]["lastStatus"] is None


def test_invalid_inputs_exit_1_and_change_nothing(
    db: Database, tmp_path: Path, invalid_configs: list
) -> None:
    seed(db)
    # The export (same code in-process, to keep the suite fast) is the byte-level witness.
    before = invoke(db, "configs", "export", "--format", "json")
    assert before.exit_code == 0, before.output

    # Every invalid input at once (plus a valid one, which must not be written either): the
    # real CLI reports each file's error at its field path and writes nothing.
    files = {
        case.id: write(tmp_path / f"{case.id}.{'json' if i % 2 else 'yaml'}", case.build())
        for i, case in enumerate(invalid_configs)
    }
    valid = copy.deepcopy(MOCK_HEALTH_CHECK)
    valid["meta"]["id"] = "would-be-new"
    files["valid"] = write(tmp_path / "valid.yaml", valid)
    result = grove(db.url, "configs", "apply", *files.values(), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    for case in invalid_configs:
        prefix = f"{files[case.id]}: {case.path}: "
        assert any(line.startswith(prefix) for line in lines), (prefix, result.stderr)
    assert not any(line.startswith(files["valid"]) for line in lines)
    assert lines[-1].endswith("nothing written")

    assert invoke(db, "configs", "export", "--format", "json").stdout == before.stdout


def test_export_apply_export_is_identical(db: Database, tmp_path: Path) -> None:
    seed(db)
    archive_config(db, "synthetic-flaky", actor="x", source="ui")
    revisions = revision_count(db)
    first = grove(db.url, "configs", "export", "--output", str(tmp_path / "e.yaml"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    applied = grove(db.url, "configs", "apply", str(tmp_path / "e.yaml"), cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-1] == "0 created, 0 updated, 8 unchanged"
    second = grove(db.url, "configs", "export", cwd=tmp_path)
    assert second.stdout == (tmp_path / "e.yaml").read_text(encoding="utf-8")
    assert revision_count(db) == revisions


# --------------------------------------------------------------------------- apply / validate


def test_each_invalid_input_is_rejected(db: Database, tmp_path: Path, invalid_config) -> None:
    seed(db)
    before = export_objects(db)
    path = write(tmp_path / "bad.yaml", invalid_config.build())
    for command in ("validate", "apply"):
        result = invoke(db, "configs", command, path)
        assert result.exit_code == 1, result.output
        assert f"{path}: {invalid_config.path}: " in result.stderr
        assert result.stdout == ""
    assert export_objects(db) == before


def test_json_export_round_trips(db: Database, tmp_path: Path) -> None:
    seed(db)
    first = invoke(db, "configs", "export", "--format", "json")
    (tmp_path / "e.json").write_text(first.stdout, encoding="utf-8")
    applied = invoke(db, "configs", "apply", str(tmp_path / "e.json"))
    assert applied.stdout.splitlines()[-1] == "0 created, 0 updated, 8 unchanged"
    assert invoke(db, "configs", "export", "--format", "json").stdout == first.stdout
    assert json.loads(first.stdout)[0]["meta"]["id"] == "daily-advancement"


def test_apply_reads_stdin_as_yaml_or_json(db: Database) -> None:
    result = invoke(db, "configs", "apply", "-", stdin=json.dumps([MOCK_HEALTH_CHECK]))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("+ create mock-health-check")
    again = invoke(db, "configs", "apply", "-", stdin=yaml.safe_dump(MOCK_HEALTH_CHECK))
    assert again.stdout.startswith("= unchanged mock-health-check")


def test_apply_is_all_or_nothing_across_files(db: Database, tmp_path: Path) -> None:
    good = copy.deepcopy(MOCK_HEALTH_CHECK)
    bad = copy.deepcopy(MOCK_HEALTH_CHECK)
    bad["meta"]["id"] = "second"
    bad["payload"]["limits"]["batchSize"] = 0
    worse = {"meta": {"id": "Third!", "type": "job-config"}, "payload": {}}
    files = [
        write(tmp_path / "good.yaml", good),
        write(tmp_path / "bad.json", [good | {"meta": {"id": "first", "type": "job-config"}}, bad]),
        write(tmp_path / "worse.yml", worse),
    ]
    result = invoke(db, "configs", "apply", *files)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert f"{files[1]}: [1].payload.limits.batchSize: " in result.stderr
    assert any(line.startswith(f"{files[2]}: meta.id: ") for line in errors)
    assert any(line.startswith(f"{files[2]}: payload.jobType: ") for line in errors)
    assert export_objects(db) == []


def test_the_same_id_in_two_files_is_rejected(db: Database, tmp_path: Path) -> None:
    one = write(tmp_path / "one.yaml", MOCK_HEALTH_CHECK)
    two = write(tmp_path / "two.json", [MOCK_HEALTH_CHECK])
    result = invoke(db, "configs", "apply", one, two)
    assert result.exit_code == 1
    assert f"{two}: [0].meta.id: 'mock-health-check' is also defined in {one}" in result.stderr
    assert export_objects(db) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.json", '{"meta": ', "invalid JSON at line 1"),
        ("broken.yaml", "meta: [unclosed", "invalid YAML"),
        ("config.txt", "{}", "expected a .yaml, .yml or .json file"),
        ("empty.yaml", "", "expected an object with meta and payload"),
    ],
)
def test_unreadable_files(db: Database, tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = invoke(db, "configs", "validate", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}: ")
    assert message in result.stderr
    missing = invoke(db, "configs", "validate", str(tmp_path / "missing.yaml"))
    assert missing.exit_code == 1 and "cannot read" in missing.stderr


def test_validate_never_touches_the_database(tmp_path: Path) -> None:
    path = write(tmp_path / "mock.yaml", [MOCK_HEALTH_CHECK])
    result = CliRunner().invoke(
        main,
        ["--database-url", "postgresql://nobody@127.0.0.1:1/none", "configs", "validate", path],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 object valid\n"


def test_dry_run_prints_the_diff_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    invoke(db, "configs", "apply", write(tmp_path / "mock.yaml", MOCK_HEALTH_CHECK))
    changed = copy.deepcopy(MOCK_HEALTH_CHECK)
    changed["payload"]["limits"]["batchSize"] = 25
    changed["payload"]["schedule"]["timezone"] = "Europe/Paris"
    changed["meta"]["tags"] = ["ops"]
    fresh = copy.deepcopy(MOCK_HEALTH_CHECK)
    fresh["meta"]["id"] = "another-check"
    demo = demo_objects()[1]
    invoke(db, "configs", "apply", write(tmp_path / "demo.yaml", demo))
    before = export_objects(db)
    revisions = revision_count(db)

    path = write(tmp_path / "plan.yaml", [changed, fresh, demo])
    result = invoke(db, "configs", "apply", "--dry-run", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "~ update mock-health-check",
        '  meta.tags: [] -> ["ops"]',
        "  payload.limits.batchSize: 10 -> 25",
        '  payload.schedule.timezone: "UTC" -> "Europe/Paris"',
        "+ create another-check",
        f"= unchanged {demo['meta']['id']}",
        "1 to create, 1 to update, 1 unchanged (dry run: nothing written)",
    ]
    as_json = json.loads(invoke(db, "configs", "apply", "--dry-run", "--json", path).stdout)
    assert [c["action"] for c in as_json] == ["update", "create", "unchanged"]
    assert as_json[0]["diff"][1] == {"path": "payload.limits.batchSize", "before": 10, "after": 25}
    assert export_objects(db) == before
    assert revision_count(db) == revisions


# --------------------------------------------------------------------------- demo seed


def test_demo_seed_is_idempotent(db: Database) -> None:
    first = invoke(db, "demo", "seed")
    assert first.exit_code == 0, first.output
    created = re.fullmatch(r"(\d+) created, 0 updated, 0 unchanged", first.stdout.splitlines()[-1])
    assert created and int(created[1]) >= len(demo_objects())
    revisions = revision_count(db)
    exported = export_objects(db)

    second = invoke(db, "demo", "seed")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[-1] == f"0 created, 0 updated, {created[1]} unchanged"
    assert "+" not in second.stdout and "~" not in second.stdout
    assert revision_count(db) == revisions
    assert export_objects(db) == exported

    jobs = [o for o in exported if o["meta"]["type"] == "job-config"]
    assert {o["payload"]["jobType"] for o in jobs} == set(BUNDLED)
    mock = get_config(db, "mock-health-check").object.comparable()
    assert mock == parse_objects(MOCK_HEALTH_CHECK)[0].comparable()
    advancement = get_config(db, "daily-advancement").object.payload.schedule
    assert (advancement.cron_expression, advancement.timezone) == ("0 2 * * *", "UTC")
    enabled = {o["meta"]["id"] for o in jobs if o["payload"]["schedule"]["isEnabled"]}
    assert enabled == {"mock-health-check", "synthetic-every-minute"}


# --------------------------------------------------------------------------- other commands


def test_list_and_show(db: Database) -> None:
    seed(db)
    table = invoke(db, "configs", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "TYPE", "TITLE", "ENABLED", "NEXT", "RUN", "LAST", "STATUS"]
    assert len(table) == 1 + len(demo_objects())
    mock_row = next(line for line in table if line.startswith("mock-health-check"))
    assert "Mock Health Check" in mock_row and " yes " in mock_row and "in " in mock_row

    only = invoke(db, "configs", "list", "--json", "--job-type", "synthetic", "--disabled")
    assert [o["meta"]["id"] for o in json.loads(only.stdout)] == [
        "synthetic-flaky",
        "synthetic-hang",
    ]

    shown = invoke(db, "configs", "show", "mock-health-check")
    assert shown.exit_code == 0, shown.output
    assert "Every 5 minutes (UTC)" in shown.stdout
    assert shown.stdout.count(" UTC\n") >= 5  # the next five fire times
    data = json.loads(invoke(db, "configs", "show", "mock-health-check", "--json").stdout)
    assert set(data) == {"meta", "payload", "state"}
    assert data["state"]["version"] == 1

    missing = invoke(db, "configs", "show", "nope")
    assert missing.exit_code == 1
    assert "config 'nope' not found" in missing.stderr


def test_enable_disable_delete_history(db: Database) -> None:
    seed(db)
    assert (
        "disabled mock-health-check (version 2"
        in invoke(db, "configs", "disable", "mock-health-check").stdout
    )
    assert invoke(db, "configs", "disable", "mock-health-check").stdout == (
        "mock-health-check is already disabled\n"
    )
    assert get_config(db, "mock-health-check").next_run_at is None
    assert (
        "enabled mock-health-check (version 3"
        in invoke(db, "configs", "enable", "mock-health-check").stdout
    )

    assert invoke(db, "configs", "delete", "synthetic-hang").stdout.startswith("archived")
    assert get_config(db, "synthetic-hang").object.meta.status == "archived"
    assert invoke(db, "configs", "delete", "synthetic-hang", "--hard").stdout == (
        "deleted synthetic-hang\n"
    )
    assert find_config(db, "synthetic-hang") is None

    history = invoke(db, "configs", "history", "synthetic-hang").stdout.splitlines()
    assert [line.split()[-1] for line in history[1:]] == ["deleted", "meta.status", "created"]
    revisions = json.loads(invoke(db, "configs", "history", "mock-health-check", "--json").stdout)
    assert [(r["version"], r["actor"], r["source"]) for r in revisions] == [
        (3, "tester@cli", "cli"),
        (2, "tester@cli", "cli"),
        (1, "seed", "cli"),
    ]
    diff = invoke(db, "configs", "history", "mock-health-check", "--diff").stdout
    assert "  payload.schedule.isEnabled: false -> true" in diff
    assert invoke(db, "configs", "history", "nope").exit_code == 1


def test_unmigrated_database_gives_a_hint(database_url: str) -> None:
    result = CliRunner().invoke(main, ["--database-url", database_url, "configs", "list"])
    assert result.exit_code == 1
    assert "grove-jobs db upgrade" in result.stderr


def _commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, ctx, (*prefix, name))


def test_every_command_has_help() -> None:
    runner = CliRunner()
    with click.Context(main) as ctx:
        paths = list(_commands(main, ctx))
    assert ("configs", "apply") in paths and ("db", "upgrade") in paths
    for path in [(), *paths]:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: " in result.stdout
