"""Hostile input on the CLI: each case exits 1 with a message naming the field or line, never
a traceback, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from grove_jobs.auth.tables import ApiTokenRow
from grove_jobs.db.engine import Database
from tests.integration.test_cli import invoke

pytestmark = pytest.mark.timeout(120)

META = "meta: {id: hostile, type: job-config}\n"


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """About 1 KB of YAML that stands for width**levels nodes, under an unknown key."""
    lines = [META, "payload: {}\n", "junk:\n", f"  l0: &a0 [{', '.join(['x'] * width)}]\n"]
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"  l{level}: &a{level} [{aliases}]\n")
    return "".join(lines)


def validate(db: Database, tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return invoke(db, "configs", "validate", str(path))


def test_yaml_alias_bomb_is_refused_before_it_is_expanded(db: Database, tmp_path: Path) -> None:
    result = validate(db, tmp_path, "bomb.yaml", alias_bomb())
    assert result.exit_code == 1
    assert "aliases expand to more than 100000 nodes" in result.output


def test_modest_aliases_and_merge_keys_still_load(db: Database, tmp_path: Path) -> None:
    text = (
        "- meta: {id: a-one, type: job-config}\n"
        "  payload: &job\n"
        "    jobType: synthetic\n"
        "    displayName: One\n"
        "    schedule: {cronExpression: '0 4 * * *', timezone: UTC}\n"
        "    parameters: {jobType: synthetic}\n"
        "- meta: {id: a-two, type: job-config}\n"
        "  payload:\n"
        "    <<: *job\n"
        "    displayName: Two\n"
    )
    result = validate(db, tmp_path, "ok.yaml", text)
    assert result.exit_code == 0, result.output


def test_yaml_nested_490_deep_is_a_field_error(db: Database, tmp_path: Path) -> None:
    text = META + "payload:\n  x: " + "[" * 490 + "]" * 490 + "\n"
    result = validate(db, tmp_path, "deep.yaml", text)
    assert result.exit_code == 1
    assert "nested more than 32 levels deep at line 3" in result.output


def test_json_nested_deeper_than_the_parser_can_go(db: Database, tmp_path: Path) -> None:
    body = '{"meta": {"id": "d", "type": "job-config"}, "payload": {"x": %s}}'
    for depth in (500, 100_000):
        result = validate(db, tmp_path, "deep.json", body % ("[" * depth + "]" * depth))
        assert result.exit_code == 1
        assert "nested more than 32 levels deep" in result.output


def test_duplicate_yaml_keys_name_the_key_and_line(db: Database, tmp_path: Path) -> None:
    text = META + "payload: {}\nmeta: {id: other, type: job-config}\n"
    result = validate(db, tmp_path, "dup.yaml", text)
    assert result.exit_code == 1
    assert "duplicate key 'meta' at line 3 (first at line 1)" in result.output
    flow = validate(db, tmp_path, "flow.yaml", "{meta: {id: a, id: b}, payload: {}}\n")
    assert flow.exit_code == 1
    assert "duplicate key 'id' at line 1" in flow.output


def _token_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ApiTokenRow))


@pytest.mark.parametrize(
    ("expires", "message"),
    [("", "'' is not a duration"), ("999999w", "'999999w' is too long: at most 3650d")],
)
def test_token_expiry_must_be_a_real_lifetime(db: Database, expires: str, message: str) -> None:
    result = invoke(db, "tokens", "create", "--name", "ci", "--scope", "read", "--expires", expires)
    assert result.exit_code == 1
    assert "expires" in result.output and message in result.output
    assert _token_count(db) == 0


@pytest.mark.parametrize(
    ("start", "zone"),
    [("9999-12-31T23:59:00Z", "UTC"), ("0001-01-01T00:00:00Z", "Pacific/Kiritimati")],
)
def test_schedule_preview_at_the_ends_of_the_calendar(db: Database, start: str, zone: str) -> None:
    result = invoke(db, "schedule", "preview", "0 2 * * *", "--from", start, "--tz", zone)
    assert result.exit_code == 1
    assert "--from: " in result.output and "limits of the calendar" in result.output


@pytest.mark.parametrize(
    ("cron", "zone", "message"),
    [
        ("5-1 * * * *", "UTC", "cronExpression: invalid minute field '5-1': the range 5-1 runs"),
        ("0 0 * * fri-mon", "UTC", "invalid day-of-week field 'fri-mon'"),
        ("0 2 * * *", "localtime", "timezone: 'localtime' is the host's zone"),
    ],
)
def test_backward_ranges_and_the_host_zone_are_refused(
    db: Database, cron: str, zone: str, message: str
) -> None:
    result = invoke(db, "schedule", "preview", cron, "--tz", zone)
    assert result.exit_code == 1
    assert message in result.output


def test_render_validate_of_a_bottomless_tree(db: Database, tmp_path: Path) -> None:
    element = '{"type": "Box", "props": {}, "children": ['
    path = tmp_path / "tree.json"
    path.write_text('{"type": "root", "children": [' + element * 3000 + "]}" * 3000 + "]}")
    result = invoke(db, "render", "--validate", str(path))
    assert result.exit_code == 1
    assert "nested too deeply to be a RenderTree" in result.output
