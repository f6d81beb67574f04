"""GROVE_LOG_FORMAT: JSON lines with the documented fields, text with the same extras."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from grove_jobs.observability import logs

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A buffer for configure_logging(stream=...); the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logs.bind_run()


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_time_level_logger_message_and_run_fields(captured) -> None:
    assert logs.configure_logging("INFO", fmt="json", worker_id="host:1", stream=captured) == "json"
    logging.getLogger("grove_jobs.test").info("plain %s", "line")
    logs.bind_run(execution_id=7, config_id="nightly", attempt=2)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("grove_jobs.test").exception("it failed")
    first, second = (json.loads(line) for line in _lines(captured))
    assert TIME.match(first["time"]), first["time"]
    assert first == {
        "time": first["time"],
        "level": "info",
        "logger": "grove_jobs.test",
        "message": "plain line",
        "worker_id": "host:1",
    }
    assert second["level"] == "error"
    assert (second["execution_id"], second["config_id"], second["attempt"]) == (7, "nightly", 2)
    assert "RuntimeError: boom" in second["exc"]


def test_an_explicit_extra_wins_over_the_bound_run(captured) -> None:
    logs.configure_logging("INFO", fmt="json", stream=captured)
    logs.bind_run(execution_id=1, config_id="a", attempt=1)
    logging.getLogger("x").warning("other run", extra={"execution_id": 9})
    assert json.loads(_lines(captured)[0])["execution_id"] == 9


def test_text_mode_appends_the_same_fields(captured) -> None:
    logs.configure_logging("INFO", fmt="text", worker_id="w", stream=captured)
    logs.bind_run(execution_id=3, config_id="c", attempt=1)
    logging.getLogger("grove_jobs.test").warning("hello")
    line = _lines(captured)[0]
    assert line.endswith("WARNING grove_jobs.test: hello execution_id=3 config_id=c attempt=1 "
                         "worker_id=w")  # fmt: skip


def test_uvicorn_lines_are_formatted_too(captured) -> None:
    logging.getLogger("uvicorn.error").propagate = False  # as uvicorn's own config leaves it
    logs.configure_logging("INFO", fmt="json", stream=captured)
    logging.getLogger("uvicorn.error").info("Uvicorn running")
    assert json.loads(_lines(captured)[0])["logger"] == "uvicorn.error"


@pytest.mark.parametrize("value", ["xml", "JSONL", "txt"])
def test_other_formats_are_refused(value: str) -> None:
    with pytest.raises(logs.LogFormatError, match="GROVE_LOG_FORMAT"):
        logs.log_format(value)


def test_the_default_is_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROVE_LOG_FORMAT", raising=False)
    assert logs.log_format() == "text"
    monkeypatch.setenv("GROVE_LOG_FORMAT", "JSON")
    assert logs.log_format() == "json"
