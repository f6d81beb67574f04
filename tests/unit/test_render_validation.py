"""Catalogs and tree validation: props per component, exact error paths, strict vs lenient."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from grove_jobs.exceptions import GroveError
from grove_jobs.render import (
    BASE,
    JOB_HISTORY,
    JOB_STATUS,
    Catalog,
    InvalidTree,
    RenderTree,
    TreeError,
    ensure_valid,
    is_valid,
    validate_tree,
)
from grove_jobs.render.catalogs import StatusName, TextProps
from grove_jobs.schema.execution import ExecutionStatus

T0 = "2024-05-01T12:00:00Z"
T1 = "2024-05-01T12:03:00+02:00"

VALID_PROPS: dict[str, list[dict]] = {
    "Stack": [
        {},
        {"direction": "horizontal", "gap": "large", "children": [{"type": "Divider"}]},
    ],
    "Text": [{"text": "hello"}, {"text": "", "variant": "code"}],
    "Metric": [{"label": "Items", "value": 3}, {"label": "x", "value": "1.5 s", "delta": -2.5}],
    "Badge": [{"label": "ok"}, {"label": "late", "color": "amber"}],
    "Divider": [{}],
    "JobPhaseIndicator": [
        {"phase": "queued"},
        {"phase": "complete", "startedAt": T0, "completedAt": T1},
    ],
    "JobProgressBar": [
        {"itemsProcessed": 0, "itemsTotal": 0, "percentage": 0},
        {"itemsProcessed": 40, "itemsTotal": 100, "percentage": 40.0},
    ],
    "JobMetricRow": [
        {"metrics": [{"label": "Duration", "value": "3 min"}]},
        {"metrics": [{"label": "Failed", "value": 2, "color": "red"}, {"label": "n", "value": 1}]},
    ],
    "JobLogEntry": [{"timestamp": T0, "level": "warn", "message": "<b>not html</b>"}],
    "JobErrorAlert": [
        {"error": "boom", "retryable": False},
        {"error": "boom", "retryable": True, "retryCount": 2},
    ],
    "NextRunCountdown": [{"nextRunAt": T0, "timezone": "Europe/Paris"}],
    "ExecutionTimeline": [
        {"runs": [], "timezone": "UTC"},
        {
            "runs": [
                {
                    "id": 7,
                    "status": "running",
                    "startedAt": T0,
                    "durationSeconds": 12.5,
                    "trigger": "manual",
                    "attempt": 1,
                },
                {
                    "id": "run-8",
                    "status": "success",
                    "startedAt": T0,
                    "completedAt": T1,
                    "trigger": "schedule",
                    "attempt": 2,
                },
            ],
            "timezone": "America/New_York",
        },
    ],
    "DurationChart": [
        {"runs": [], "timezone": "UTC"},
        {
            "runs": [{"id": 1, "status": "failed", "startedAt": T0, "durationSeconds": 3}],
            "p50": 3,
            "p95": 3.0,
            "timezone": "UTC",
        },
    ],
    "SuccessRate": [
        {"succeeded": 0, "failed": 0, "total": 0, "rate": 0},
        {"succeeded": 3, "failed": 1, "total": 4, "rate": 0.75},
    ],
    "StatusCounts": [{"counts": {}}, {"counts": {"success": 3, "timed_out": 1}}],
}

# (props, path relative to the element, code) — one problem each.
INVALID_PROPS: dict[str, list[tuple[dict, str]]] = {
    "Stack": [({"direction": "diagonal"}, ".props.direction"), ({"gap": 3}, ".props.gap")],
    "Text": [({}, ".props.text"), ({"text": "x", "variant": "html"}, ".props.variant")],
    "Metric": [
        ({"label": "x", "value": True}, ".props.value"),
        ({"label": "x", "value": [1]}, ".props.value"),
        ({"label": 1, "value": 1}, ".props.label"),
    ],
    "Badge": [({"label": "x", "color": "pink"}, ".props.color")],
    "Divider": [({"thickness": 2}, ".props.thickness")],
    "JobPhaseIndicator": [
        ({"phase": "waiting"}, ".props.phase"),
        ({"phase": "retrying", "attempt": 0}, ".props.attempt"),
        ({"phase": "running", "startedAt": "2024-05-01T12:00:00"}, ".props.startedAt"),
        ({"phase": "running", "startedAt": "yesterday"}, ".props.startedAt"),
    ],
    "JobProgressBar": [
        ({"itemsProcessed": -1, "itemsTotal": 1, "percentage": 0}, ".props.itemsProcessed"),
        ({"itemsProcessed": 1, "itemsTotal": "2", "percentage": 0}, ".props.itemsTotal"),
        ({"itemsProcessed": 1, "itemsTotal": 1, "percentage": 100.5}, ".props.percentage"),
        ({"itemsProcessed": 1, "itemsTotal": 1}, ".props.percentage"),
    ],
    "JobMetricRow": [
        ({"metrics": []}, ".props.metrics"),
        ({"metrics": [{"label": "a", "value": 1, "color": "gray"}]}, ".props.metrics[0].color"),
        ({"metrics": [{"label": "a", "value": None}]}, ".props.metrics[0].value"),
        ({"metrics": [{"label": "a", "value": 1, "bold": True}]}, ".props.metrics[0].bold"),
    ],
    "JobLogEntry": [
        ({"timestamp": T0, "level": "debug", "message": "m"}, ".props.level"),
        ({"timestamp": T0, "level": "info", "message": 5}, ".props.message"),
        ({"level": "info", "message": "m"}, ".props.timestamp"),
    ],
    "JobErrorAlert": [
        ({"error": "", "retryable": False}, ".props.error"),
        ({"error": "e", "retryable": "yes"}, ".props.retryable"),
        ({"error": "e", "retryable": 1}, ".props.retryable"),
        ({"error": "e", "retryable": True, "retryCount": -1}, ".props.retryCount"),
    ],
    "NextRunCountdown": [
        ({"nextRunAt": T0, "timezone": "Mars/Olympus"}, ".props.timezone"),
        ({"nextRunAt": T0}, ".props.timezone"),
    ],
    "ExecutionTimeline": [
        (
            {
                "runs": [
                    {
                        "id": 1,
                        "status": "done",
                        "startedAt": T0,
                        "trigger": "manual",
                        "attempt": 1,
                    }
                ],
                "timezone": "UTC",
            },
            ".props.runs[0].status",
        ),
        (
            {
                "runs": [
                    {"id": 1.5, "status": "queued", "startedAt": T0, "trigger": "api", "attempt": 1}
                ],
                "timezone": "UTC",
            },
            ".props.runs[0].id",
        ),
        (
            {
                "runs": [
                    {"id": 1, "status": "queued", "startedAt": T0, "trigger": "api", "attempt": -1}
                ],
                "timezone": "UTC",
            },
            ".props.runs[0].attempt",
        ),
    ],
    "DurationChart": [
        (
            {
                "runs": [{"id": 1, "status": "success", "startedAt": T0, "durationSeconds": -1}],
                "timezone": "UTC",
            },
            ".props.runs[0].durationSeconds",
        ),
        ({"runs": [], "p50": 5, "p95": 1, "timezone": "UTC"}, ".props"),
        ({"runs": [], "timezone": "UTC", "p99": 1}, ".props.p99"),
    ],
    "SuccessRate": [
        ({"succeeded": 1, "failed": 0, "total": 1, "rate": 1.5}, ".props.rate"),
        ({"succeeded": 2, "failed": 1, "total": 2, "rate": 1}, ".props"),
    ],
    "StatusCounts": [
        ({"counts": {"done": 1}}, ".props.counts.done"),
        ({"counts": {"success": -1}}, ".props.counts.success"),
    ],
}


def _tree(*children: dict) -> dict:
    return {"type": "root", "children": list(children)}


def _triples(errors: list[TreeError]) -> list[tuple[str, str, str]]:
    return [(e.path, e.code, e.severity) for e in errors]


# --- catalogs ---------------------------------------------------------------------------------


def test_catalogs_declare_the_documented_components() -> None:
    assert set(BASE.own) == {"Stack", "Text", "Metric", "Badge", "Divider"}
    assert set(JOB_STATUS.own) == {
        "JobPhaseIndicator",
        "JobProgressBar",
        "JobMetricRow",
        "JobLogEntry",
        "JobErrorAlert",
        "NextRunCountdown",
    }
    assert {"ExecutionTimeline", "DurationChart", "SuccessRate", "StatusCounts"} <= set(
        JOB_HISTORY.own
    )
    assert set(JOB_HISTORY.components) == set(BASE.own) | set(JOB_STATUS.own) | set(JOB_HISTORY.own)
    assert [c.name for c in JOB_HISTORY.lineage] == ["job-history", "job-status", "base"]


def test_every_component_has_valid_and_invalid_cases() -> None:
    assert set(VALID_PROPS) == set(JOB_HISTORY.components) == set(INVALID_PROPS)


def test_status_literal_matches_execution_status() -> None:
    assert set(typing.get_args(StatusName)) == {s.value for s in ExecutionStatus}


@pytest.mark.parametrize(
    ("catalog", "type_", "expected"),
    [
        (JOB_STATUS, "Text", "base/Text"),
        (JOB_STATUS, "base/Text", "base/Text"),
        (JOB_STATUS, "job-status/Text", "base/Text"),
        (JOB_STATUS, "JobLogEntry", "job-status/JobLogEntry"),
        (JOB_STATUS, "job-status/JobLogEntry", "job-status/JobLogEntry"),
        (JOB_HISTORY, "job-status/JobLogEntry", "job-status/JobLogEntry"),
        (JOB_STATUS, "base/JobLogEntry", None),
        (JOB_STATUS, "job-history/SuccessRate", None),
        (JOB_STATUS, "SuccessRate", None),
        (BASE, "other/Text", None),
        (BASE, "/Text", None),
        (BASE, "text", None),
    ],
)
def test_namespaced_resolution(catalog: Catalog, type_: str, expected: str | None) -> None:
    component = catalog.resolve(type_)
    assert (component.qualified_name if component else None) == expected
    assert (type_ in catalog) is (expected is not None)


def test_a_derived_catalog_may_override_a_base_component() -> None:
    class LoudText(BaseModel):
        text: str
        volume: int

    loud = Catalog("loud", "2", {"Text": LoudText}, extends=BASE)
    assert loud.resolve("Text").props is LoudText  # type: ignore[union-attr]
    assert loud.resolve("base/Text").props is TextProps  # type: ignore[union-attr]
    assert loud.resolve("Divider").catalog == "base"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["", "a/b"])
def test_catalog_and_component_names_cannot_contain_the_separator(name: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        Catalog(name, "1", {})
    with pytest.raises(ValueError, match="invalid"):
        Catalog("ok", "1", {name: TextProps})


def test_catalog_names_are_unique_in_a_lineage() -> None:
    with pytest.raises(ValueError, match="lineage"):
        Catalog("base", "2", {}, extends=JOB_STATUS)


def test_json_schema_is_camel_case() -> None:
    schema = JOB_HISTORY.json_schema()
    assert schema["catalog"] == "job-history"
    props = schema["components"]["JobProgressBar"]["props"]
    assert set(props["properties"]) == {"itemsProcessed", "itemsTotal", "percentage"}
    assert props["additionalProperties"] is False
    assert schema["components"]["Text"]["qualifiedName"] == "base/Text"


# --- props per component ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "props"),
    [(t, p) for t, cases in VALID_PROPS.items() for p in cases],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_valid_props(type_: str, props: dict) -> None:
    tree = _tree({"type": "Divider"}, {"type": type_, "props": props})
    assert validate_tree(tree, JOB_HISTORY) == []
    assert is_valid(tree, JOB_HISTORY)


@pytest.mark.parametrize(
    ("type_", "props", "where"),
    [(t, p, w) for t, cases in INVALID_PROPS.items() for p, w in cases],
    ids=lambda v: v if isinstance(v, str) and not v.startswith(".") else "",
)
def test_invalid_props(type_: str, props: dict, where: str) -> None:
    tree = _tree({"type": "Divider"}, {"type": type_, "props": props})
    errors = validate_tree(tree, JOB_HISTORY)
    assert _triples(errors) == [(f"$.children[1]{where}", "invalid_props", "error")]
    assert errors[0].message
    assert not is_valid(tree, JOB_HISTORY)


def test_job_status_catalog_does_not_know_history_components() -> None:
    tree = _tree({"type": "SuccessRate", "props": VALID_PROPS["SuccessRate"][0]})
    assert _triples(validate_tree(tree, JOB_STATUS)) == [
        ("$.children[0]", "unknown_component", "error")
    ]
    assert validate_tree(tree, [JOB_STATUS, JOB_HISTORY]) == []
    assert validate_tree(tree, [BASE, JOB_HISTORY]) == []


# --- paths, completeness ----------------------------------------------------------------------


def test_error_path_is_exact() -> None:
    tree = _tree(
        {"type": "Divider"},
        {"type": "Text", "props": {"text": "x"}},
        {"type": "JobMetricRow", "props": {"metrics": [{"label": "a", "value": 1, "color": "x"}]}},
    )
    [error] = validate_tree(tree, JOB_STATUS)
    assert error.path == "$.children[2].props.metrics[0].color"
    assert error.code == "invalid_props"
    assert "default" in error.message
    assert error.to_dict() == {
        "path": "$.children[2].props.metrics[0].color",
        "code": "invalid_props",
        "message": error.message,
        "severity": "error",
    }


def test_every_error_is_reported_including_children_of_broken_elements() -> None:
    tree = _tree(
        {"type": "Text", "props": {"text": 1, "variant": "loud"}},
        {
            "type": "Stack",
            "props": {
                "direction": "up",
                "children": [
                    {"type": "Badge", "props": {"label": "ok", "color": "pink"}},
                    {"type": "Mystery"},
                    {"type": "Stack", "props": {"children": [{"type": "Text", "props": {}}]}},
                ],
            },
        },
        {"type": "Nope", "props": {"children": [{"props": {}}]}},
    )
    assert _triples(validate_tree(tree, BASE)) == [
        ("$.children[0].props.text", "invalid_props", "error"),
        ("$.children[0].props.variant", "invalid_props", "error"),
        ("$.children[1].props.direction", "invalid_props", "error"),
        ("$.children[1].props.children[0].props.color", "invalid_props", "error"),
        ("$.children[1].props.children[1]", "unknown_component", "error"),
        (
            "$.children[1].props.children[2].props.children[0].props.text",
            "invalid_props",
            "error",
        ),
        ("$.children[2]", "unknown_component", "error"),
        ("$.children[2].props.children[0].type", "malformed", "error"),
    ]


def test_odd_prop_names_are_quoted_in_paths() -> None:
    tree = _tree({"type": "Divider", "props": {"a.b": 1, "2x": 2}})
    assert [e.path for e in validate_tree(tree, BASE)] == [
        '$.children[0].props["a.b"]',
        '$.children[0].props["2x"]',
    ]


def test_deep_nesting_does_not_hit_the_recursion_limit() -> None:
    element: dict = {"type": "Text", "props": {"text": 5}}
    for _ in range(5000):
        element = {"type": "Stack", "props": {"children": [element]}}
    [error] = validate_tree(_tree(element), BASE)
    assert error.path.endswith(".props.children[0].props.text")
    assert error.path.count("children[0]") == 5001


def test_render_tree_models_are_accepted() -> None:
    tree = RenderTree.model_validate(_tree({"type": "Badge", "props": {"label": "x"}}))
    assert validate_tree(tree, BASE) == []
    assert validate_tree(tree, [BASE]) == []


def test_ensure_valid_raises_with_every_error() -> None:
    tree = _tree({"type": "Nope"}, {"type": "Text"})
    with pytest.raises(InvalidTree) as caught:
        ensure_valid(tree, BASE)
    assert isinstance(caught.value, GroveError)
    assert [e.path for e in caught.value.errors] == ["$.children[0]", "$.children[1].props.text"]
    ensure_valid(_tree({"type": "Divider"}), BASE)


# --- strict vs lenient ------------------------------------------------------------------------


def test_unknown_components_are_errors_when_strict_and_warnings_when_lenient() -> None:
    tree = _tree({"type": "Divider"}, {"type": "FancyGauge", "props": {"value": 3}})
    assert _triples(validate_tree(tree, BASE)) == [("$.children[1]", "unknown_component", "error")]
    assert _triples(validate_tree(tree, BASE, strict=False)) == [
        ("$.children[1]", "unknown_component", "warning")
    ]
    assert not is_valid(tree, BASE)
    assert is_valid(tree, BASE, strict=False)


def test_extra_props_are_errors_when_strict_and_ignored_when_lenient() -> None:
    tree = _tree({"type": "Text", "props": {"text": "x", "font": "serif"}})
    [error] = validate_tree(tree, BASE)
    assert (error.path, error.code) == ("$.children[0].props.font", "invalid_props")
    assert "no such prop" in error.message
    assert validate_tree(tree, BASE, strict=False) == []


def test_children_on_a_childless_component_follow_the_extra_prop_rule() -> None:
    tree = _tree({"type": "Divider", "props": {"children": [{"type": "Text"}]}})
    assert _triples(validate_tree(tree, BASE)) == [
        ("$.children[0].props.children", "invalid_props", "error"),
        ("$.children[0].props.children[0].props.text", "invalid_props", "error"),
    ]
    assert _triples(validate_tree(tree, BASE, strict=False)) == [
        ("$.children[0].props.children[0].props.text", "invalid_props", "error"),
    ]


def test_extra_fields_on_root_element_and_meta() -> None:
    tree = {
        "type": "root",
        "children": [{"type": "Divider", "style": "bold"}],
        "meta": {"catalog": "base", "version": "1", "author": "x"},
        "theme": "dark",
    }
    assert _triples(validate_tree(tree, BASE)) == [
        ("$.theme", "malformed", "error"),
        ("$.meta.author", "malformed", "error"),
        ("$.children[0].style", "malformed", "error"),
    ]
    assert validate_tree(tree, BASE, strict=False) == []


MALFORMED = [
    pytest.param([], [("$", "a tree must be an object")], id="not-an-object"),
    pytest.param({"type": "tree"}, [("$.type", '"root"')], id="root-type"),
    pytest.param({"children": []}, [("$.type", '"root"')], id="root-without-type"),
    pytest.param({"type": "root", "children": {}}, [("$.children", "list")], id="children-dict"),
    pytest.param(_tree({"props": {}}), [("$.children[0].type", "no type")], id="no-type"),
    pytest.param(_tree({"type": 3}), [("$.children[0].type", "non-empty")], id="type-int"),
    pytest.param(_tree({"type": ""}), [("$.children[0].type", "non-empty")], id="type-empty"),
    pytest.param(_tree("Text"), [("$.children[0]", "a string")], id="element-string"),
    pytest.param(_tree(None), [("$.children[0]", "null")], id="element-null"),
    pytest.param(
        _tree({"type": "Divider", "props": [1]}), [("$.children[0].props", "object")], id="props"
    ),
    pytest.param(
        _tree({"type": "Divider", "props": "x"}), [("$.children[0].props", "object")], id="props-s"
    ),
    pytest.param(_tree({"type": "Divider", "key": 4}), [("$.children[0].key", "key")], id="key"),
    pytest.param(
        _tree({"type": "Divider", "key": "a"}, {"type": "Divider", "key": "a"}),
        [("$.children[1].key", "duplicate")],
        id="duplicate-key",
    ),
    pytest.param(
        _tree({"type": "Stack", "props": {"children": "x"}}),
        [("$.children[0].props.children", "list")],
        id="children-string",
    ),
    pytest.param(
        {"type": "root", "children": [], "meta": "base"}, [("$.meta", "object")], id="meta"
    ),
    pytest.param(
        {"type": "root", "children": [], "meta": {"catalog": "base"}},
        [("$.meta.version", "required")],
        id="meta-version",
    ),
    pytest.param(
        {"type": "root", "meta": {"catalog": "c", "version": "1", "generatedAt": "noon"}},
        [("$.meta.generatedAt", "datetime")],
        id="meta-generated-at",
    ),
]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
@pytest.mark.parametrize(("tree", "expected"), MALFORMED)
def test_malformed_structure_is_an_error_in_both_modes(
    tree: object, expected: list[tuple[str, str]], strict: bool
) -> None:
    errors = validate_tree(tree, BASE, strict=strict)  # type: ignore[arg-type]
    assert [(e.path, e.code, e.severity) for e in errors] == [
        (path, "malformed", "error") for path, _ in expected
    ]
    for error, (_, fragment) in zip(errors, expected, strict=True):
        assert fragment in error.message
    assert not is_valid(tree, BASE, strict=strict)  # type: ignore[arg-type]


def test_a_missing_children_list_or_meta_is_fine() -> None:
    assert validate_tree({"type": "root"}, BASE) == []


def test_invalid_children_are_not_also_reported_as_props_errors() -> None:
    tree = _tree({"type": "Stack", "props": {"children": 5, "direction": "up"}})
    assert _triples(validate_tree(tree, BASE)) == [
        ("$.children[0].props.children", "malformed", "error"),
        ("$.children[0].props.direction", "invalid_props", "error"),
    ]
