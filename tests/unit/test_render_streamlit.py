"""The Streamlit registry: every component draws, bad elements stay contained, data stays text."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.render import (
    code_span,
    default_registry,
    duration_figure,
    escape_markdown,
    timeline_figure,
)
from grove_jobs.render import JOB_HISTORY, execution_tree, history_tree, validate_tree
from grove_jobs.render.catalogs import DurationChartProps, ExecutionTimelineProps
from grove_jobs.schema.execution import Execution, ExecutionStatus, LogLine

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T0 = "2024-05-01T11:57:00Z"
T1 = "2024-05-01T12:00:00Z"
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "**bold**"]


# The app scripts: AppTest runs each function's source as a page, with the given kwargs.


def _page(trees: list[dict], strict: bool = False) -> None:
    import streamlit as st

    from dashboard.render import render_tree

    for index, tree in enumerate(trees):
        problems = render_tree(tree, key=f"tree-{index}", timezone="Europe/Paris", strict=strict)
        st.text(f"problems: {len(problems)}")


def _page_with_broken_renderer(tree: dict) -> None:
    import streamlit as st

    from dashboard.render import default_registry, render_tree

    def explode(props: object, ctx: object) -> None:
        st.text("half-drawn")
        raise RuntimeError("renderer bug")

    registry = default_registry()
    registry.register("base/Divider", explode)
    render_tree(tree, registry=registry, key="broken")


def run_page(*trees: dict, strict: bool = False) -> AppTest:
    app = AppTest.from_function(_page, kwargs={"trees": list(trees), "strict": strict})
    app.run(timeout=30)
    assert not app.exception, [e.value for e in app.exception]
    return app


def values(app: AppTest, kind: str) -> list[str]:
    return [str(element.value) for element in getattr(app, kind)]


def markdown_bodies(app: AppTest) -> list[str]:
    """Every element body Streamlit parses as markdown."""
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "subheader")
    return [body for kind in kinds for body in values(app, kind)] + [m.label for m in app.metric]


def plotly_ids(app: AppTest) -> list[str]:
    return [chart.proto.id for chart in app.get("plotly_chart")]


def el(type_: str, key: str | None = None, **props: Any) -> dict:
    element: dict[str, Any] = {"type": type_, "props": props}
    if key:
        element["key"] = key
    return element


def tree(*children: dict) -> dict:
    meta = {"catalog": "t", "version": "1", "generatedAt": T1}
    return {"type": "root", "children": list(children), "meta": meta}


TIMELINE_RUNS = [
    {
        "id": 1,
        "status": "success",
        "startedAt": "2024-05-01T10:00:00Z",
        "completedAt": "2024-05-01T10:02:00Z",
        "durationSeconds": 120,
        "trigger": "schedule",
        "attempt": 1,
    },
    {
        "id": 2,
        "status": "failed",
        "startedAt": "2024-05-01T11:00:00Z",
        "completedAt": "2024-05-01T11:00:30Z",
        "durationSeconds": 30,
        "trigger": "manual",
        "attempt": 2,
    },
    {
        "id": 3,
        "status": "running",
        "startedAt": "2024-05-01T11:58:00Z",
        "durationSeconds": 120,
        "trigger": "api",
        "attempt": 1,
    },
    {"id": 4, "status": "queued", "startedAt": T1, "trigger": "manual", "attempt": 1},
]
DURATION_RUNS = [
    {"id": 1, "status": "success", "startedAt": "2024-05-01T10:00:00Z", "durationSeconds": 120},
    {"id": 2, "status": "failed", "startedAt": "2024-05-01T11:00:00Z", "durationSeconds": 30},
]

EVERY_COMPONENT = tree(
    el(
        "Stack",
        "stack",
        direction="horizontal",
        gap="medium",
        children=[
            el("Text", "body", text="plain body"),
            el("Text", "code", text="print(1)", variant="code"),
            el("base/Badge", "badge", label="beta", color="amber"),
        ],
    ),
    el("Text", "heading", text="Heading", variant="heading"),
    el("Text", "caption", text="a caption", variant="caption"),
    el("Metric", "metric", label="Rows", value=12, delta=-3),
    el("Divider", "divider"),
    el("JobPhaseIndicator", "phase", phase="complete", startedAt=T0, completedAt=T1),
    el("JobProgressBar", "progress", itemsProcessed=3, itemsTotal=4, percentage=75),
    el(
        "JobMetricRow",
        "metrics",
        metrics=[
            {"label": "Duration", "value": "3 min"},
            {"label": "Failed items", "value": 2, "color": "red"},
        ],
    ),
    el("JobLogEntry", "log-1", timestamp=T0, level="info", message="started"),
    el("JobLogEntry", "log-2", timestamp=T1, level="error", message="went wrong"),
    el("JobErrorAlert", "error", error="final failure", retryable=False, retryCount=2),
    el("NextRunCountdown", "next", nextRunAt="2024-05-01T14:00:00Z", timezone="Europe/Paris"),
    el("ExecutionTimeline", "timeline", runs=TIMELINE_RUNS, timezone="Europe/Paris"),
    el("DurationChart", "durations", runs=DURATION_RUNS, p50=75, p95=115.5, timezone="UTC"),
    el("SuccessRate", "rate", succeeded=1, failed=1, total=2, rate=0.5),
    el("StatusCounts", "counts", counts={"success": 1, "failed": 1}),
)


def test_every_component_renders() -> None:
    assert validate_tree(EVERY_COMPONENT, JOB_HISTORY) == []
    assert set(default_registry().types()) >= {
        c.qualified_name for c in JOB_HISTORY.components.values()
    }
    app = run_page(EVERY_COMPONENT)
    assert not app.warning
    texts = values(app, "text")
    assert {"plain body", "started", "went wrong", "problems: 0"} <= set(texts)
    assert {"13:57:00", "14:00:00"} <= set(texts)  # log times in the page's timezone (CEST)
    assert {"print(1)", "final failure"} <= set(values(app, "code"))
    assert values(app, "subheader") == ["Heading"]
    assert values(app, "caption")[0] == "a caption"
    assert values(app, "error") == ["**Run failed** (2 retries so far)"]
    markdown = values(app, "markdown")
    assert ":orange-badge[beta]" in markdown
    assert ":green-badge[:material/check_circle: Complete]" in markdown
    assert {":blue-badge[INFO]", ":red-badge[ERROR]"} <= set(markdown)
    assert {":green-badge[Success 1]", ":red-badge[Failed 1]"} <= set(markdown)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Rows"] == "12"
    assert metrics["Duration"] == "3 min"
    assert metrics[":red[Failed items]"] == "2"
    assert metrics["Success rate"] == "50%"
    assert metrics["Next run"] == "in 2 hours"  # counted from the tree's generatedAt
    [progress] = app.get("progress")
    assert progress.proto.value == 75
    assert len(app.get("divider")) == 1
    ids = plotly_ids(app)
    assert len(ids) == len(set(ids)) == 2


def test_real_trees_render_side_by_side_with_unique_chart_keys() -> None:
    runs = [
        Execution(
            id=i,
            job_config_id="mock-health-check",
            status=status,
            trigger="schedule",
            attempt=1,
            max_attempts=3,
            queued_at=AT - timedelta(hours=i),
            run_after=AT - timedelta(hours=i),
            started_at=AT - timedelta(hours=i),
            completed_at=AT - timedelta(hours=i) + timedelta(seconds=10 * i),
            error="boom" if status == ExecutionStatus.FAILED else None,
        )
        for i, status in enumerate(
            [ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.PARTIAL], start=1
        )
    ]
    history = history_tree(runs, timezone="Europe/Paris", at=AT).to_json_dict()
    status = execution_tree(
        runs[1], [], next_run_at=AT + timedelta(minutes=5), timezone="Europe/Paris", at=AT
    ).to_json_dict()
    app = run_page(status, history, history)
    ids = plotly_ids(app)
    assert len(ids) == 4
    assert len(set(ids)) == 4
    assert values(app, "warning") == ["**Attempt 1 failed; retrying**"]
    assert values(app, "text")[-3:] == ["problems: 0"] * 3


def test_malformed_tree_renders_what_it_can() -> None:
    broken = tree(
        el("Text", "first", text="first sibling"),
        el("NoSuchThing", "mystery", foo=1),
        el("JobProgressBar", "bar", itemsProcessed=-5, itemsTotal=1, percentage=0),
        "not an element",
        {"type": "Text", "props": ["x"]},
        el(
            "Stack",
            "stack",
            direction="sideways",
            children=[el("Text", text="child of a broken stack"), el("Gizmo")],
        ),
        el("Text", "last", text="last sibling"),
    )
    app = run_page(broken)
    texts = values(app, "text")
    assert {"first sibling", "child of a broken stack", "last sibling"} <= set(texts)
    warnings = values(app, "warning")
    assert len(warnings) == 6
    expectations = [
        ("NoSuchThing", "$.children[1]", "unknown component"),
        ("JobProgressBar", "$.children[2]", "invalid props"),
        ("?", "$.children[3]", "malformed"),
        ("Text", "$.children[4]", "malformed"),
        ("Stack", "$.children[5]", "invalid props"),
        ("Gizmo", "$.children[5].props.children[1]", "unknown component"),
    ]
    for warning, (type_, path, what) in zip(warnings, expectations, strict=True):
        assert f"` {type_} `" in warning
        assert f"` {path} `" in warning
        assert what in warning
    # Error details name the exact prop.
    assert any("$.children[2].props.itemsProcessed" in t for t in texts)
    assert "problems: 6" in texts


@pytest.mark.parametrize(
    "root",
    [
        {"type": "root", "children": "nope"},
        {"type": "branch", "children": [el("Text", text="still drawn")]},
        {"type": "root", "children": [], "meta": "x"},
    ],
)
def test_malformed_roots_warn_without_raising(root: dict) -> None:
    app = run_page(root)
    assert app.warning
    assert all("` $" in w for w in values(app, "warning"))


def test_a_failing_renderer_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    page = tree(el("Text", text="before"), el("Divider"), el("Text", text="after"))
    caplog.set_level(logging.ERROR, logger="dashboard.render.registry")
    app = AppTest.from_function(_page_with_broken_renderer, kwargs={"tree": page})
    app.run(timeout=30)
    assert not app.exception
    assert values(app, "text") == ["before", "after"]  # the half-drawn output was replaced
    [error] = values(app, "error")
    assert "` Divider `" in error
    assert "` $.children[1] `" in error
    assert "RuntimeError" in error
    assert any("Divider" in r.getMessage() for r in caplog.records)


def test_strict_rendering_refuses_extra_props_lenient_ignores_them() -> None:
    page = tree(el("Text", text="styled", colour="red"))
    assert "styled" in values(run_page(page), "text")
    strict = run_page(page, strict=True)
    assert "styled" not in values(strict, "text")
    [warning] = values(strict, "warning")
    assert "invalid props" in warning


def _execution(status: ExecutionStatus, **fields: Any) -> Execution:
    """A manual run of mock-health-check, started a minute before AT; ``fields`` override."""
    started = AT - timedelta(minutes=1)
    defaults: dict[str, Any] = {
        "id": 9,
        "job_config_id": "mock-health-check",
        "trigger": "manual",
        "attempt": 1,
        "max_attempts": 1,
        "queued_at": started,
        "run_after": started,
        "started_at": started,
        "completed_at": AT,
    }
    return Execution(status=status, **{**defaults, **fields})


def test_hostile_strings_stay_literal_text() -> None:
    hostile_logs = [
        LogLine(id=i, execution_id=9, at=AT - timedelta(seconds=5 - i), level="error", message=m)
        for i, m in enumerate(HOSTILE)
    ]
    error = " ".join(HOSTILE)
    execution = _execution(ExecutionStatus.FAILED, error=error)
    status = execution_tree(
        execution, hostile_logs, next_run_at=None, timezone="UTC", at=AT
    ).to_json_dict()
    extras = tree(
        el("Text", text=HOSTILE[0], variant="caption"),
        el("Text", text=HOSTILE[2], variant="heading"),
        el("Metric", label=HOSTILE[2], value=HOSTILE[1]),
        el("Badge", label="[x](javascript:alert(1))"),
        el(HOSTILE[0]),
    )
    app = run_page(status, extras)
    texts = values(app, "text")
    for message in HOSTILE:
        assert message in texts  # each log line verbatim, as plain text
    assert error in values(app, "code")  # the error verbatim, as a code block
    for body in markdown_bodies(app):
        for needle in (*HOSTILE, "javascript:alert", "[x]("):
            if needle in body:
                # Only inside an inline code span (the warning naming an unknown type).
                assert code_span(needle) in body, body
    assert "\\*\\*bold\\*\\*" in values(app, "subheader")
    assert escape_markdown(HOSTILE[0]) in values(app, "caption")


# --- pure helpers ---------------------------------------------------------------------------


def test_escape_markdown_escapes_every_punctuation_character() -> None:
    assert escape_markdown("a*b_c") == "a\\*b\\_c"
    assert escape_markdown(":red[x] $x$ <b>") == "\\:red\\[x\\] \\$x\\$ \\<b\\>"
    assert escape_markdown("plain words 123") == "plain words 123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Text", "` Text `"), ("a`b", "`` a`b ``"), ("``", "``` `` ```"), ("a\n\nb", "` a  b `")],
)
def test_code_span(text: str, expected: str) -> None:
    assert code_span(text) == expected


def _trace_by_name(figure: Any) -> dict[str, Any]:
    return {trace.name: trace for trace in figure.data}


def test_timeline_figure_bars_coloured_by_status_in_local_time() -> None:
    props = ExecutionTimelineProps.model_validate(
        {"runs": TIMELINE_RUNS, "timezone": "Europe/Paris"}
    )
    figure = timeline_figure(props)
    traces = _trace_by_name(figure)
    # Legend entries use the same word for a status as every badge (one state everywhere).
    assert set(traces) == {"Success", "Failed", "Running", "Queued"}
    assert traces["Success"].marker.color == "#2e9d57"
    assert traces["Failed"].marker.color == "#d64545"
    assert traces["Running"].marker.color == "#1f77d4"
    assert traces["Queued"].marker.color == "#9ecbf5"
    success = traces["Success"]
    assert success.orientation == "h"
    assert success.base[0] == "2024-05-01 12:00:00"  # 10:00Z in Paris (CEST)
    assert success.x[0] == 120_000
    assert traces["Queued"].x[0] > 0  # unstarted runs still get a visible sliver
    assert list(success.customdata[0]) == [
        "1",
        "Success",
        "schedule",
        1,
        "2024-05-01 12:00:00 CEST",
        "2024-05-01 12:02:00 CEST",
        "2 min 00 s",
    ]
    for field in ("Status", "Trigger", "Attempt", "Start", "End", "Duration"):
        assert field in success.hovertemplate
    assert figure.layout.xaxis.type == "date"
    assert "Europe/Paris" in figure.layout.xaxis.title.text
    assert list(figure.layout.yaxis.categoryarray) == ["#1", "#2", "#3", "#4"]
    json.loads(figure.to_json())


def test_chart_labels_escape_html_in_string_ids() -> None:
    run = {**DURATION_RUNS[0], "id": "<b>x</b>"}
    props = DurationChartProps.model_validate({"runs": [run], "timezone": "UTC"})
    [trace] = duration_figure(props).data
    assert trace.x[0] == "#&lt;b&gt;x&lt;/b&gt;"


def test_duration_figure_has_labelled_dashed_percentile_lines() -> None:
    props = DurationChartProps.model_validate(
        {"runs": DURATION_RUNS, "p50": 75, "p95": 115.5, "timezone": "UTC"}
    )
    figure = duration_figure(props)
    assert set(_trace_by_name(figure)) == {"Success", "Failed"}
    assert [trace.y[0] for trace in figure.data] == [120, 30]
    lines = [shape for shape in figure.layout.shapes]
    assert [(s.y0, s.line.dash) for s in lines] == [(75, "dash"), (115.5, "dash")]
    labels = [a.text for a in figure.layout.annotations]
    assert labels[0].startswith("p50 ") and labels[1].startswith("p95 ")
    no_lines = duration_figure(DurationChartProps.model_validate({"runs": [], "timezone": "UTC"}))
    assert not no_lines.layout.shapes


def test_a_run_between_attempts_reads_retrying_in_badge_box_and_metric() -> None:
    run = _execution(
        ExecutionStatus.RETRYING,
        trigger="schedule",
        max_attempts=3,
        run_after=AT + timedelta(seconds=44),
        completed_at=AT - timedelta(seconds=10),
        error="RuntimeError: flaky",
    )
    tree_json = execution_tree(run, [], next_run_at=None, timezone="UTC", at=AT).to_json_dict()
    app = run_page(tree_json)
    markdown = values(app, "markdown")
    assert ":orange-badge[:material/replay: Retrying · attempt 2 at 14:00:44]" in markdown
    assert values(app, "warning") == ["**Attempt 1 failed; retrying**"]
    assert {m.label: m.value for m in app.metric}[":orange[Status]"] == "Retrying"


@pytest.mark.parametrize(
    ("status", "word", "heading"),
    [
        (ExecutionStatus.TIMED_OUT, "Timed out", "Run timed out"),
        (ExecutionStatus.CANCELLED, "Cancelled", "Run cancelled"),
        (ExecutionStatus.FAILED, "Failed", "Run failed"),
    ],
)
def test_a_run_that_ended_badly_reads_the_same_word_in_badge_box_and_metric(
    status: ExecutionStatus, word: str, heading: str
) -> None:
    run = _execution(status, completed_at=AT - timedelta(seconds=55), error="stopped")
    tree_json = execution_tree(run, [], next_run_at=None, timezone="UTC", at=AT).to_json_dict()
    app = run_page(tree_json)
    badges = [m for m in values(app, "markdown") if "-badge[" in m]
    assert badges and badges[0].endswith(f" {word}]")  # not the phase's "Failed"
    assert values(app, "error") == [f"**{heading}**"]
    assert {m.label.split("[")[-1].rstrip("]"): m.value for m in app.metric}["Status"] == word


def test_a_version_2_tree_without_a_status_shows_its_phase() -> None:
    app = run_page(tree(el("JobPhaseIndicator", "phase", phase="failed")))
    assert ":red-badge[:material/error: Failed]" in values(app, "markdown")


def test_a_long_traceback_is_collapsed_behind_show_traceback() -> None:
    frames = [f'  File "job.py", line {n}, in step{n}' for n in range(12)]
    error = "\n".join(["Traceback (most recent call last):", *frames, "ValueError: bad row 7"])
    app = run_page(tree(el("JobErrorAlert", "error", error=error, retryable=False)))
    [expander] = app.expander
    assert expander.label == "Show traceback"
    codes = values(app, "code")
    assert codes[0] == "ValueError: bad row 7"  # the summary, outside the expander
    assert codes[1] == error  # the whole traceback, inside it
