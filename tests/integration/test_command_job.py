"""The ``command`` job type: declared commands only, real processes, caps, exit codes, and
timeout and cancel stopping the whole process group."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

from grove_jobs.exceptions import ValidationFailed
from grove_jobs.jobs.builtin import command
from grove_jobs.jobs.registry import get_job_type
from grove_jobs.schema import parse_grove_object
from grove_jobs.testing import run_job
from tests.unit.test_job_types import _config

SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    mode = sys.argv[1]
    if mode == "echo":
        print("day", sys.argv[2], "for", os.environ["GROVE_CONFIG_ID"])
        print("on stderr", file=sys.stderr)
        print("secret" if "GROVE_DATABASE_URL" in os.environ else "no secrets")
    elif mode == "flood":
        for n in range(1500):
            print(f"line {n}")
    elif mode == "fail":
        sys.exit(3)
    elif mode == "spawn":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print("child", child.pid, flush=True)
        time.sleep(60)
    """
)


@pytest.fixture
def commands_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "tool.py"
    script.write_text(SCRIPT)
    path = tmp_path / "commands.yaml"
    spec = {
        "commands": {
            "tool": {
                "argv": [sys.executable, str(script), "{mode}", "{day}"],
                "cwd": str(tmp_path),
                "args": {
                    "mode": {"pattern": "echo|flood|fail|spawn"},
                    "day": {"pattern": r"\d{4}-\d{2}-\d{2}", "required": False},
                },
            }
        }
    }
    path.write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("GROVE_COMMANDS_FILE", str(path))
    monkeypatch.setenv("GROVE_DATABASE_URL", "postgresql://secret@db/x")
    return path


def test_without_a_commands_file_the_type_is_unavailable(monkeypatch) -> None:
    monkeypatch.delenv("GROVE_COMMANDS_FILE", raising=False)
    assert "GROVE_COMMANDS_FILE" in get_job_type("command").unavailable_reason()
    with pytest.raises(ValidationFailed, match="no commands file"):
        parse_grove_object(_config("command", {"command": "tool"}))


def test_declared_command_runs_with_its_output_as_log_lines(commands_file) -> None:
    outcome = run_job("command", {"command": "tool", "args": {"mode": "echo", "day": "2026-01-02"}})
    assert outcome.status == "success", outcome.error
    assert ("info", "day 2026-01-02 for test-config") in [
        (r.level, r.message) for r in outcome.logs
    ]
    assert ("error", "on stderr") in [(r.level, r.message) for r in outcome.logs]
    assert "no secrets" in outcome.messages  # grove-jobs' own settings stay out
    assert outcome.result.data == {"command": "tool", "exitCode": 0}


def test_optional_placeholder_without_value_is_left_out(commands_file) -> None:
    spec = command.load_commands().commands["tool"]
    argv = command.build_argv(spec, {"mode": "echo"})
    assert argv[-1] == "echo" and "{day}" not in argv


@pytest.mark.parametrize(
    ("args", "path", "message"),
    [
        ({"mode": "rm -rf /"}, "payload.parameters.args.mode", "must match the pattern"),
        ({"mode": "echo", "extra": "x"}, "payload.parameters.args.extra", "no argument"),
        ({}, "payload.parameters.args.mode", "required"),
        ({"mode": "echo", "day": "2026-01-02; ls"}, "payload.parameters.args.day", "pattern"),
    ],
)
def test_arguments_are_checked_against_the_declaration(commands_file, args, path, message):
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(_config("command", {"command": "tool", "args": args}))
    (error,) = caught.value.errors
    assert error.path == path and message in error.message


def test_undeclared_command_is_refused(commands_file) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_grove_object(_config("command", {"command": "/bin/sh"}))
    assert caught.value.errors[0].path == "payload.parameters.command"
    assert "declared: tool" in caught.value.errors[0].message


def test_program_cannot_be_a_placeholder(tmp_path, monkeypatch) -> None:
    path = tmp_path / "commands.yaml"
    path.write_text(
        yaml.safe_dump({"commands": {"x": {"argv": ["{p}"], "args": {"p": {"pattern": ".*"}}}}})
    )
    monkeypatch.setenv("GROVE_COMMANDS_FILE", str(path))
    assert "cannot be a placeholder" in get_job_type("command").unavailable_reason()


def test_output_is_capped_with_a_note(commands_file) -> None:
    outcome = run_job("command", {"command": "tool", "args": {"mode": "flood"}})
    lines = [r for r in outcome.logs if r.message.startswith("line ")]
    assert len(lines) == command.MAX_LOG_LINES
    assert "output cut: 500 more lines not logged" in outcome.messages


def test_non_zero_exit_fails_with_its_code(commands_file) -> None:
    outcome = run_job("command", {"command": "tool", "args": {"mode": "fail"}}, catch=True)
    assert outcome.status == "failed" and outcome.error_kind is None
    assert "exited with code 3" in outcome.error


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _child_pid(outcome) -> int:
    (line,) = [r.message for r in outcome.logs if r.message.startswith("child ")]
    return int(line.split()[1])


def test_timeout_kills_the_whole_process_group(commands_file) -> None:
    started = time.monotonic()
    outcome = run_job("command", {"command": "tool", "args": {"mode": "spawn"}}, timeout_seconds=2)
    assert outcome.status == "timed_out"
    assert time.monotonic() - started < 10
    assert _wait_gone(_child_pid(outcome))


def test_cancel_kills_the_whole_process_group(commands_file) -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    outcome = run_job("command", {"command": "tool", "args": {"mode": "spawn"}}, cancel=cancel)
    assert outcome.status == "cancelled"
    assert _wait_gone(_child_pid(outcome))
