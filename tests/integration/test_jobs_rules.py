"""Advancement rules are stored objects like job configs: the same ``configs apply/list/export/
disable`` commands and services handle them, with no change to the core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from grove_jobs.cli import main
from grove_jobs.configs.store import find_config, get_config, set_enabled
from grove_jobs.configs.transfer import apply_objects, parse_objects
from grove_jobs.contrib.content.advancement_batch import AdvancementBatchParameters, run
from grove_jobs.db.engine import Database
from grove_jobs.demo import MOCK_HEALTH_CHECK
from grove_jobs.jobs.database import close_databases
from tests.integration.test_jobs_support import (
    add_documents,
    make_context,
    rule_json,
    set_signals,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def url(db: Database, migrated_url: str) -> Iterator[str]:
    yield migrated_url
    close_databases()


def _cli(db: Database, *args: str) -> Result:
    env = {"GROVE_DATABASE_URL": db.url, "GROVE_ACTOR": "tester@cli"}
    return CliRunner().invoke(main, list(args), env=env)


def _write(path: Path, data: object) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def test_cli_applies_lists_and_exports_rules(db: Database, tmp_path: Path) -> None:
    rules = [
        rule_json("kb-seed", "seed", "sprout", [("retrievals", ">=", 5)]),
        rule_json("kb-sprout", "sprout", "tree", [("citations", ">", 2)], logic="OR"),
    ]
    applied = _cli(
        db, "configs", "apply", _write(tmp_path / "all.yaml", [MOCK_HEALTH_CHECK, *rules])
    )
    assert applied.exit_code == 0, applied.output
    assert "3 created" in applied.output

    listed = _cli(db, "configs", "list", "--type", "advancement-rule", "--json")
    assert listed.exit_code == 0, listed.output
    assert [o["meta"]["id"] for o in json.loads(listed.output)] == ["kb-seed", "kb-sprout"]
    table = _cli(db, "configs", "list")
    assert "advancement-rule" in table.output and "job-config" in table.output

    exported = _cli(db, "configs", "export")
    objects = yaml.safe_load(exported.output)
    assert {o["meta"]["type"] for o in objects} == {"job-config", "advancement-rule"}
    kb_seed = next(o for o in objects if o["meta"]["id"] == "kb-seed")
    assert kb_seed["payload"]["criteria"] == [
        {"signal": "retrievals", "operator": ">=", "threshold": 5}
    ]
    again = _cli(db, "configs", "apply", _write(tmp_path / "export.yaml", objects))
    assert "0 created, 0 updated, 3 unchanged" in again.output

    disabled = _cli(db, "configs", "disable", "kb-seed")
    assert disabled.exit_code == 0, disabled.output
    assert get_config(db, "kb-seed").object.payload.is_enabled is False
    assert get_config(db, "kb-seed").next_run_at is None  # never scheduled


def test_cli_rejects_an_invalid_rule_with_its_field_path(db: Database, tmp_path: Path) -> None:
    bad = rule_json("kb-bad", "tree", "seed", [("likes", ">=", 5)])
    result = _cli(db, "configs", "apply", _write(tmp_path / "bad.yaml", bad))
    assert result.exit_code != 0
    assert "payload.toTier" in result.output
    assert "payload.criteria.0.signal" in result.output
    assert find_config(db, "kb-bad") is None


def test_a_disabled_rule_stops_applying(db: Database, url: str) -> None:
    apply_objects(
        db,
        parse_objects([rule_json("kb-seed", "seed", "sprout", [("retrievals", ">=", 1)])]),
        actor="t",
        source="cli",
    )
    add_documents(db, [{"id": "doc", "tier": "seed", "created_at": T0}])
    set_signals(db, "doc", retrievals=3, at=T0)
    dry = AdvancementBatchParameters(dry_run=True)
    assert run(dry, make_context(url)[0]).data["advanced"] == 1

    set_enabled(db, "kb-seed", False, actor="t", source="ui")

    result = run(dry, make_context(url)[0])
    assert result.data["evaluated"] == 0 and result.data["rules"] == []
