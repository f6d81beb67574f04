"""The RenderTree wire model: status as JSON data that any front end can draw.

The model checks *structure* only (a root, elements with a type, props objects, children lists).
Whether an element's type exists and its props fit is a catalog question, answered by
``grove_jobs.render.validation``; keeping the two apart lets a renderer show a tree that uses a
component it does not know yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from grove_jobs.clock import iso_z

CHILDREN_PROP = "children"


class _WireModel(BaseModel):
    """Frozen, camelCase, unknown keys rejected; ``None`` optionals are left out of the JSON."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Optional fields are absent rather than null, so a tree dumped and parsed again is
        # byte-for-byte the JSON it came from.
        return {k: v for k, v in handler(self).items() if v is not None}

    def to_json_dict(self) -> dict[str, Any]:
        """The camelCase JSON form."""
        return self.model_dump(mode="json", by_alias=True)


class RenderElement(_WireModel):
    """One component: ``{"type", "props", "key"?}``; children live in ``props.children``."""

    type: str = Field(min_length=1)
    props: dict[str, JsonValue] = Field(default_factory=dict)
    key: str | None = Field(default=None, min_length=1)

    @field_validator("props", mode="before")
    @classmethod
    def _children_to_json(cls, value: object) -> object:
        # Lets builders write ``props={"children": [RenderElement(...)]}``; the stored form is
        # always plain JSON so equality and round-trips do not depend on how a tree was built.
        if isinstance(value, dict) and isinstance(value.get(CHILDREN_PROP), list):
            children = [
                c.to_json_dict() if isinstance(c, RenderElement) else c
                for c in value[CHILDREN_PROP]
            ]
            value = {**value, CHILDREN_PROP: children}
        return value

    @model_validator(mode="after")
    def _children_are_elements(self) -> RenderElement:
        if CHILDREN_PROP in self.props:
            children = self.props[CHILDREN_PROP]
            if not isinstance(children, list):
                raise ValueError("props.children must be a list of elements")
            _check_siblings([RenderElement.model_validate(c) for c in children])
        return self

    @property
    def children(self) -> list[RenderElement]:
        """The parsed ``props.children`` (empty for components without children)."""
        raw = self.props.get(CHILDREN_PROP)
        return [RenderElement.model_validate(c) for c in raw] if isinstance(raw, list) else []


class RenderMeta(_WireModel):
    """Which catalog (and version) a tree was built against, and when."""

    catalog: str = Field(min_length=1)
    version: str = Field(min_length=1)
    generated_at: AwareDatetime | None = None

    @field_serializer("generated_at")
    def _utc_z(self, value: datetime | None) -> str | None:
        return None if value is None else format_utc(value)


class RenderTree(_WireModel):
    """``{"type": "root", "children": [...], "meta": {...}}``."""

    type: Literal["root"] = "root"
    children: list[RenderElement] = Field(default_factory=list)
    meta: RenderMeta | None = None

    @model_validator(mode="after")
    def _unique_keys(self) -> RenderTree:
        _check_siblings(self.children)
        return self

    def walk(self) -> list[tuple[str, RenderElement]]:
        """Every element, depth-first, with its JSON path (``$.children[0].props.children[1]``)."""
        found: list[tuple[str, RenderElement]] = []

        def visit(elements: list[RenderElement], prefix: str) -> None:
            for index, element in enumerate(elements):
                path = f"{prefix}[{index}]"
                found.append((path, element))
                visit(element.children, f"{path}.props.{CHILDREN_PROP}")

        visit(self.children, "$.children")
        return found


def format_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, the one timestamp form trees carry."""
    return iso_z(value.astimezone(UTC))


def _check_siblings(elements: list[RenderElement]) -> None:
    # Front ends derive widget keys from element keys; two siblings sharing one would collide.
    seen: set[str] = set()
    for element in elements:
        if element.key is not None:
            if element.key in seen:
                raise ValueError(f"duplicate key {element.key!r} among siblings")
            seen.add(element.key)
