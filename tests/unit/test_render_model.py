"""RenderTree / RenderElement: the wire shape, exact JSON round-trips, structural rejections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from grove_jobs.render import RenderElement, RenderMeta, RenderTree, format_utc

SAMPLE = {
    "type": "root",
    "children": [
        {
            "type": "JobPhaseIndicator",
            "props": {"phase": "running", "startedAt": "2024-05-01T11:57:00Z"},
            "key": "phase",
        },
        {
            "type": "base/Stack",
            "props": {
                "direction": "horizontal",
                "children": [
                    {"type": "Text", "props": {"text": "  spaced  ", "variant": "code"}},
                    {"type": "Metric", "props": {"label": "n", "value": 1.5, "delta": None}},
                ],
            },
        },
        {"type": "Divider", "props": {}},
    ],
    "meta": {"catalog": "job-status", "version": "1", "generatedAt": "2024-05-01T12:00:00Z"},
}


def test_sample_round_trips_exactly() -> None:
    tree = RenderTree.model_validate(SAMPLE)
    assert tree.to_json_dict() == SAMPLE
    text = json.dumps(SAMPLE)
    assert json.dumps(RenderTree.model_validate_json(text).to_json_dict()) == text


def test_optional_fields_are_omitted_not_null() -> None:
    tree = RenderTree(children=[RenderElement(type="Divider")])
    assert tree.to_json_dict() == {"type": "root", "children": [{"type": "Divider", "props": {}}]}


def test_meta_generated_at_is_utc_with_z() -> None:
    paris = timezone(timedelta(hours=2))
    meta = RenderMeta(catalog="c", version="1", generated_at=datetime(2024, 5, 1, 14, tzinfo=paris))
    assert meta.to_json_dict()["generatedAt"] == "2024-05-01T12:00:00Z"
    assert RenderMeta.model_validate(meta.to_json_dict()) == meta


def test_meta_rejects_naive_generated_at() -> None:
    with pytest.raises(ValidationError):
        RenderMeta(catalog="c", version="1", generated_at=datetime(2024, 5, 1))


def test_format_utc() -> None:
    assert format_utc(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    value = datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=timezone(timedelta(hours=-5)))
    assert format_utc(value) == "2024-01-02T08:04:05.000600Z"


def test_element_children_built_from_models_are_stored_as_json() -> None:
    child = RenderElement(type="Text", props={"text": "hi"}, key="a")
    stack = RenderElement(type="Stack", props={"children": [child]})
    assert stack.props["children"] == [{"type": "Text", "props": {"text": "hi"}, "key": "a"}]
    assert stack.children == [child]
    assert stack == RenderElement.model_validate(stack.to_json_dict())


def test_walk_yields_json_paths_depth_first() -> None:
    tree = RenderTree.model_validate(SAMPLE)
    assert [(path, el.type) for path, el in tree.walk()] == [
        ("$.children[0]", "JobPhaseIndicator"),
        ("$.children[1]", "base/Stack"),
        ("$.children[1].props.children[0]", "Text"),
        ("$.children[1].props.children[1]", "Metric"),
        ("$.children[2]", "Divider"),
    ]


def test_models_are_frozen() -> None:
    tree = RenderTree.model_validate(SAMPLE)
    with pytest.raises(ValidationError):
        tree.children[0].type = "Other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "tree",
    [
        pytest.param({"type": "tree", "children": []}, id="root-type"),
        pytest.param({"type": "root", "children": {}}, id="children-not-list"),
        pytest.param({"type": "root", "children": [{"props": {}}]}, id="no-type"),
        pytest.param({"type": "root", "children": [{"type": ""}]}, id="empty-type"),
        pytest.param({"type": "root", "children": [{"type": "A", "props": []}]}, id="props-list"),
        pytest.param({"type": "root", "children": [{"type": "A", "key": 3}]}, id="key-int"),
        pytest.param({"type": "root", "children": [{"type": "A", "x": 1}]}, id="extra-field"),
        pytest.param({"type": "root", "children": [], "extra": 1}, id="extra-root-field"),
        pytest.param(
            {"type": "root", "children": [{"type": "A", "key": "k"}, {"type": "B", "key": "k"}]},
            id="duplicate-keys",
        ),
        pytest.param(
            {"type": "root", "children": [{"type": "S", "props": {"children": {"type": "A"}}}]},
            id="nested-children-not-list",
        ),
        pytest.param(
            {"type": "root", "children": [{"type": "S", "props": {"children": [{"x": 1}]}}]},
            id="nested-child-without-type",
        ),
        pytest.param({"type": "root", "meta": {"catalog": "c"}}, id="meta-without-version"),
    ],
)
def test_malformed_structure_is_rejected(tree: dict) -> None:
    with pytest.raises(ValidationError):
        RenderTree.model_validate(tree)


def test_props_must_be_json() -> None:
    with pytest.raises(ValidationError):
        RenderElement(type="A", props={"when": datetime(2024, 1, 1, tzinfo=UTC)})


# --- property: any structurally valid tree survives JSON unchanged ----------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5).filter(lambda k: k != "children"), inner, max_size=3)
    ),
    max_leaves=8,
)


def _elements(depth: int) -> st.SearchStrategy[list[dict]]:
    def element(children: list[dict] | None) -> st.SearchStrategy[dict]:
        props = st.dictionaries(
            st.text(min_size=1, max_size=6).filter(lambda k: k != "children"), _json, max_size=3
        )
        if children is not None:
            props = props.map(lambda p: {**p, "children": children})
        base = st.builds(
            lambda t, p: {"type": t, "props": p}, st.text(min_size=1, max_size=12), props
        )
        keyed = st.builds(lambda e, k: {**e, "key": k}, base, st.text(min_size=1, max_size=6))
        return st.one_of(base, keyed)

    nested = _elements(depth - 1).flatmap(element) if depth else st.just(None).flatmap(element)
    return st.lists(st.one_of(st.just(None).flatmap(element), nested), max_size=3).map(_unique_keys)


def _unique_keys(elements: list[dict]) -> list[dict]:
    seen: set[str] = set()
    result = []
    for element in elements:
        if "key" in element and element["key"] in seen:
            element = {k: v for k, v in element.items() if k != "key"}
        seen.add(element.get("key", ""))
        result.append(element)
    return result


@settings(max_examples=60, deadline=None)
@given(children=_elements(2))
def test_any_valid_tree_round_trips(children: list[dict]) -> None:
    tree = {"type": "root", "children": children}
    text = json.dumps(tree)
    assert json.dumps(RenderTree.model_validate_json(text).to_json_dict()) == text
