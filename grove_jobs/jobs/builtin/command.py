"""``command``: run one of the commands an administrator declared, never a shell.

The commands file (``GROVE_COMMANDS_FILE``, YAML) is the whole list of what may run::

    commands:
      export-reports:
        argv: [/opt/acme/bin/export, --day, "{day}", --format, "{format}"]
        cwd: /opt/acme             # optional
        env: {ACME_MODE: batch}    # optional, added to the environment
        args:
          day: {pattern: "\\d{4}-\\d{2}-\\d{2}"}
          format: {pattern: "csv|json", required: false}

A config's parameters name a command and give values for its declared arguments only. A
placeholder is a whole argv element and never the program, and a value must match its pattern
entirely, so nothing from a config reaches a shell or becomes an executable path.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from grove_jobs.clock import iso_z
from grove_jobs.engine.context import JobCancelled, JobContext, JobResult
from grove_jobs.engine.fencing import child_group
from grove_jobs.jobs.registry import job_type
from grove_jobs.schema.base import CamelModel

COMMANDS_FILE_VARIABLE = "GROVE_COMMANDS_FILE"
MAX_LOG_LINES = 1000
MAX_LOG_BYTES = 64 * 1024
# Stop the process group this long before the deadline: the sidecar kills the worker at the
# deadline, and a worker killed first would leave the command's processes behind.
DEADLINE_MARGIN_SECONDS = 0.5
TERM_GRACE_SECONDS = 0.3
_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_-]*)\}$")


class CommandsFileError(ValueError):
    """The commands file is missing or invalid."""


class CommandFailed(RuntimeError):
    """The command exited with a non-zero status (the attempt fails and may be retried)."""

    def __init__(self, name: str, code: int):
        self.code = code
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        super().__init__(f"command {name!r} {how}")


class ArgumentSpec(BaseModel):
    """A declared argument: a value must match ``pattern`` entirely."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    required: bool = True

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


class CommandSpec(BaseModel):
    """One declared command."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[str] = Field(min_length=1)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    args: dict[str, ArgumentSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _placeholders_are_declared(self) -> CommandSpec:
        if _PLACEHOLDER.match(self.argv[0]):
            raise ValueError("argv[0] (the program) cannot be a placeholder")
        for element in self.argv:
            if (found := _PLACEHOLDER.match(element)) and found.group(1) not in self.args:
                raise ValueError(f"placeholder {element} is not a declared argument")
        return self


class CommandsFile(BaseModel):
    """The commands file: ``commands: {NAME: CommandSpec}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commands: dict[str, CommandSpec]


def commands_file_path() -> Path | None:
    """The configured commands file. Read from the environment, like every GROVE_ setting,
    because parameter validation happens where no settings object is passed in."""
    value = os.environ.get(COMMANDS_FILE_VARIABLE, "").strip()
    return Path(value) if value else None


def load_commands() -> CommandsFile:
    """The declared commands; :class:`CommandsFileError` when there is no valid file."""
    path = commands_file_path()
    if path is None:
        raise CommandsFileError(f"no commands file: set {COMMANDS_FILE_VARIABLE}")
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise CommandsFileError(f"cannot read commands file {path}: {exc.strerror}") from None
    return _load(str(path), stamp)


@lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> CommandsFile:
    # Keyed by modification time, so an edited file is read again without a restart.
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return CommandsFile.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise CommandsFileError(f"cannot read commands file {path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CommandsFileError(f"invalid commands file {path}: {where}: {first['msg']}") from None


def unavailable_reason(_settings: Any = None) -> str | None:
    """Why ``command`` cannot run here (no or an invalid commands file), else None."""
    try:
        load_commands()
    except CommandsFileError as exc:
        return str(exc)
    return None


def _argument_error(name: str, message: str) -> ValidationError:
    # Located at args.<name>, so forms and the API show the error next to that value.
    error = PydanticCustomError("command_argument", "{message}", {"message": message})
    return ValidationError.from_exception_data(
        "CommandParameters", [InitErrorDetails(type=error, loc=("args", name), input=name)]
    )


class CommandParameters(CamelModel):
    """Which declared command to run, with values for its declared arguments."""

    command: str = Field(min_length=1, max_length=100)
    args: dict[str, str] = Field(default_factory=dict)

    @field_validator("command")
    @classmethod
    def _declared(cls, value: str) -> str:
        try:
            commands = load_commands().commands
        except CommandsFileError as exc:
            raise ValueError(str(exc)) from None
        if value not in commands:
            known = ", ".join(sorted(commands)) or "none"
            raise ValueError(f"{value!r} is not a declared command (declared: {known})")
        return value

    @model_validator(mode="after")
    def _arguments_match(self) -> CommandParameters:
        spec = load_commands().commands[self.command]
        for name, value in self.args.items():
            if name not in spec.args:
                raise _argument_error(name, f"{self.command!r} declares no argument {name!r}")
            if not spec.args[name].matches(value):
                raise _argument_error(name, f"must match the pattern {spec.args[name].pattern!r}")
        for name, arg in spec.args.items():
            if arg.required and name not in self.args:
                raise _argument_error(name, "required by the command")
        return self


def build_argv(spec: CommandSpec, args: dict[str, str]) -> list[str]:
    """The argv to execute: placeholders replaced by values; an optional one without a value
    is left out."""
    argv = []
    for element in spec.argv:
        found = _PLACEHOLDER.match(element)
        if found is None:
            argv.append(element)
        elif found.group(1) in args:
            argv.append(args[found.group(1)])
    return argv


def child_environment(spec: CommandSpec, ctx: JobContext) -> dict[str, str]:
    """The sidecar's environment without grove-jobs' own settings (they hold its secrets),
    the command's declared variables, and what the run is about."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROVE_")}
    env.update(spec.env)
    env["GROVE_EXECUTION_ID"] = str(ctx.execution_id)
    env["GROVE_CONFIG_ID"] = ctx.config_id
    env["GROVE_ATTEMPT"] = str(ctx.attempt)
    if ctx.scheduled_for is not None:
        env["GROVE_SCHEDULED_FOR"] = iso_z(ctx.scheduled_for)
    return env


class _OutputLog:
    """Turns the command's output into log lines, within the per-run caps."""

    def __init__(self, ctx: JobContext):
        self.ctx = ctx
        self.lines = 0
        self.bytes = 0
        self.dropped = 0
        self.pending = {"stdout": b"", "stderr": b""}

    def feed(self, stream: str, data: bytes, final: bool = False) -> None:
        buffer = self.pending[stream] + data
        *complete, rest = buffer.split(b"\n")
        if final and rest:
            complete.append(rest)
            rest = b""
        self.pending[stream] = rest
        for raw in complete:
            self._emit(stream, raw)

    def _emit(self, stream: str, raw: bytes) -> None:
        if self.lines >= MAX_LOG_LINES or self.bytes + len(raw) > MAX_LOG_BYTES:
            self.dropped += 1
            return
        self.lines += 1
        self.bytes += len(raw)
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        (self.ctx.log.error if stream == "stderr" else self.ctx.log.info)(text)

    def close(self) -> None:
        for stream in ("stdout", "stderr"):
            self.feed(stream, b"", final=True)
        if self.dropped:
            self.ctx.log.warn(
                f"output cut: {self.dropped} more lines not logged (at most {MAX_LOG_LINES} "
                f"lines and {MAX_LOG_BYTES // 1024} KB per run)"
            )


@job_type(
    "command",
    parameters=CommandParameters,
    title="Command",
    description="Runs one of the commands an administrator declared in GROVE_COMMANDS_FILE; "
    "its output becomes log lines and a non-zero exit fails the attempt.",
    available=unavailable_reason,
)
def run(params: CommandParameters, ctx: JobContext) -> JobResult:
    """Run the declared command in its own process group, streaming its output to the log."""
    spec = load_commands().commands[params.command]
    argv = build_argv(spec, params.args)
    ctx.log.info(f"running {params.command}: {' '.join(argv)}")
    process = subprocess.Popen(
        argv,
        cwd=spec.cwd,
        env=child_environment(spec, ctx),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: timeout and cancel stop all of it
    )
    output = _OutputLog(ctx)
    try:
        with child_group(process.pid):  # a worker stopped at its lease fence kills it too
            _pump(process, output, ctx)
    finally:
        _stop_group(process)
        output.close()
    code = process.returncode
    if code != 0:
        raise CommandFailed(params.command, code)
    ctx.log.info(f"{params.command} exited with code 0")
    return JobResult(data={"command": params.command, "exitCode": code})


def _pump(process: subprocess.Popen, output: _OutputLog, ctx: JobContext) -> None:
    """Read both pipes until the command exits, stopping it on cancel or near the deadline."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, "stdout")
        selector.register(process.stderr, selectors.EVENT_READ, "stderr")
        while selector.get_map():
            if ctx.cancelled():
                raise JobCancelled("cancelled")
            if ctx.remaining() <= DEADLINE_MARGIN_SECONDS:
                raise JobCancelled("timed_out")
            for key, _ in selector.select(timeout=0.1):
                data = os.read(key.fileobj.fileno(), 65536)
                if data:
                    output.feed(key.data, data)
                else:
                    selector.unregister(key.fileobj)
    while process.poll() is None:  # pipes closed; the process may still be finishing
        if ctx.cancelled():
            raise JobCancelled("cancelled")
        if ctx.remaining() <= DEADLINE_MARGIN_SECONDS:
            raise JobCancelled("timed_out")
        time.sleep(0.02)


def _stop_group(process: subprocess.Popen) -> None:
    """Stop what is left of the command's process group: TERM, then KILL."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(TERM_GRACE_SECONDS)
    # Children that outlived the leader would keep running without this.
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
