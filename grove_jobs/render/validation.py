"""Validate a RenderTree against catalogs, reporting every problem with its JSON path.

Rules:

- Structure (root ``type`` is ``"root"``, ``children`` lists, elements that are objects with a
  non-empty string ``type``, ``props`` objects, string ``key``s unique among siblings, a ``meta``
  object) is checked in both modes; breaking it is a ``malformed`` error.
- ``strict`` (the default, for trees we accept and store): unknown component types, unknown props
  and unknown fields on the root, elements or meta are errors.
- lenient (for drawing trees that may come from a newer producer): unknown component types are
  ``severity="warning"`` and unknown props or fields are ignored.
- Children (``props.children``) are checked even when their parent is broken, so one pass
  reports everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from grove_jobs.exceptions import GroveError
from grove_jobs.render.catalog import Catalog, Component, as_catalogs, resolve_in
from grove_jobs.render.model import CHILDREN_PROP, RenderMeta, RenderTree

ErrorCode = Literal["unknown_component", "invalid_props", "malformed"]
Severity = Literal["error", "warning"]

_ELEMENT_FIELDS = frozenset({"type", "props", "key"})
_ROOT_FIELDS = frozenset({"type", "children", "meta"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TreeError:
    """One problem in a tree, located by a JSON path such as ``$.children[2].props.level``."""

    path: str
    code: ErrorCode
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.code})"

    def to_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


class InvalidTree(GroveError):
    """A tree failed validation; ``errors`` lists every problem."""

    def __init__(self, errors: list[TreeError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors) or "invalid render tree")


@dataclass(frozen=True)
class ElementCheck:
    """The verdict on one element alone (its children are checked separately)."""

    path: str
    type: str | None
    key: str | None
    component: Component | None
    props: BaseModel | None  # set only when the props validated
    children: list[tuple[str, Any]] = field(default_factory=list)  # (path, raw child)
    errors: list[TreeError] = field(default_factory=list)


def validate_tree(
    tree: Mapping[str, Any] | RenderTree,
    catalogs: Catalog | Iterable[Catalog],
    *,
    strict: bool = True,
) -> list[TreeError]:
    """Every problem in ``tree`` in document order; an empty list means it is valid."""
    catalogs = as_catalogs(catalogs)
    errors, pending = check_root(tree, strict=strict)
    # An explicit stack rather than recursion: a hostile tree may nest deeper than Python's
    # recursion limit.
    stack = list(reversed(pending))
    while stack:
        path, raw = stack.pop()
        check = check_element(raw, path, catalogs, strict=strict)
        errors.extend(check.errors)
        stack.extend(reversed(check.children))
    return errors


def is_valid(
    tree: Mapping[str, Any] | RenderTree,
    catalogs: Catalog | Iterable[Catalog],
    *,
    strict: bool = True,
) -> bool:
    """True when ``validate_tree`` finds no errors (warnings do not count)."""
    return not any(e.severity == "error" for e in validate_tree(tree, catalogs, strict=strict))


def ensure_valid(
    tree: Mapping[str, Any] | RenderTree,
    catalogs: Catalog | Iterable[Catalog],
    *,
    strict: bool = True,
) -> None:
    """Raise ``InvalidTree`` unless the tree is valid."""
    errors = [e for e in validate_tree(tree, catalogs, strict=strict) if e.severity == "error"]
    if errors:
        raise InvalidTree(errors)


def check_root(
    tree: Mapping[str, Any] | RenderTree, *, strict: bool
) -> tuple[list[TreeError], list[tuple[str, Any]]]:
    """Errors of the root object itself, and its children as ``(path, raw)`` pairs."""
    if isinstance(tree, RenderTree):
        tree = tree.to_json_dict()
    if not isinstance(tree, Mapping):
        return [_malformed("$", f"a tree must be an object, not {_json_type(tree)}")], []
    errors = _unknown_fields(tree, _ROOT_FIELDS, "$", "tree") if strict else []
    if tree.get("type") != "root":
        errors.append(_malformed("$.type", 'the root type must be "root"'))
    meta = tree.get("meta")
    if meta is not None:
        errors.extend(_meta_errors(meta, strict=strict))
    children = tree.get("children", [])
    if not isinstance(children, list):
        errors.append(_malformed("$.children", "children must be a list of elements"))
        return errors, []
    pending = [(f"$.children[{i}]", child) for i, child in enumerate(children)]
    errors.extend(_duplicate_keys(pending))
    return errors, pending


def check_element(
    raw: Any,
    path: str,
    catalogs: Catalog | Iterable[Catalog],
    *,
    strict: bool = True,
) -> ElementCheck:
    """Check one element against the catalogs: structure, component type, props."""
    if not isinstance(raw, Mapping):
        message = f"an element must be an object, not {_json_type(raw)}"
        return ElementCheck(path, None, None, None, None, errors=[_malformed(path, message)])
    errors = _unknown_fields(raw, _ELEMENT_FIELDS, path, "element") if strict else []

    type_ = raw.get("type")
    if "type" not in raw:
        errors.append(_malformed(f"{path}.type", "the element has no type"))
    if not isinstance(type_, str) or not type_:
        type_ = None
        if "type" in raw:
            errors.append(_malformed(f"{path}.type", "type must be a non-empty string"))

    key = raw.get("key")
    if key is not None and (not isinstance(key, str) or not key):
        errors.append(_malformed(f"{path}.key", "key must be a non-empty string"))
        key = None

    props = raw.get("props", {})
    children: list[tuple[str, Any]] = []
    children_ok = True
    if not isinstance(props, Mapping):
        errors.append(_malformed(f"{path}.props", "props must be an object"))
        props = None
    elif CHILDREN_PROP in props:
        raw_children = props[CHILDREN_PROP]
        if isinstance(raw_children, list):
            prefix = f"{path}.props.{CHILDREN_PROP}"
            children = [(f"{prefix}[{i}]", c) for i, c in enumerate(raw_children)]
            errors.extend(_duplicate_keys(children))
        else:
            children_ok = False
            errors.append(
                _malformed(f"{path}.props.{CHILDREN_PROP}", "children must be a list of elements")
            )

    component = resolve_in(catalogs, type_) if type_ is not None else None
    if type_ is not None and component is None:
        names = ", ".join(c.name for c in as_catalogs(catalogs))
        errors.append(
            TreeError(
                path,
                "unknown_component",
                f"unknown component type {type_!r} (catalogs: {names})",
                "error" if strict else "warning",
            )
        )

    model = None
    if component is not None and props is not None:
        if not children_ok:
            # Already reported as malformed; do not report it a second time as a props error.
            props = {k: v for k, v in props.items() if k != CHILDREN_PROP}
        model, prop_errors = _validate_props(component, props, path, strict=strict)
        errors.extend(prop_errors)
    return ElementCheck(path, type_, key, component, model, children, errors)


def json_path(base: str, loc: Iterable[str | int]) -> str:
    """Extend a JSON path with a pydantic error location."""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself was invalid"
            continue
        if isinstance(part, int):
            base += f"[{part}]"
        elif _IDENTIFIER.match(part):
            base += f".{part}"
        else:
            base += f"[{json.dumps(part)}]"
    return base


def _validate_props(
    component: Component, props: Mapping[str, Any], path: str, *, strict: bool
) -> tuple[BaseModel | None, list[TreeError]]:
    if not strict:
        known = {f.alias or n for n, f in component.props.model_fields.items()}
        known |= set(component.props.model_fields)
        props = {k: v for k, v in props.items() if k in known}
    try:
        return component.props.model_validate(dict(props)), []
    except ValidationError as exc:
        errors = [
            TreeError(
                json_path(f"{path}.props", err["loc"]),
                "invalid_props",
                _message(err, component),
            )
            for err in exc.errors(include_url=False, include_input=False)
        ]
        return None, errors


def _message(err: Any, component: Component) -> str:
    if err["type"] == "extra_forbidden":
        return f"{component.name} has no such prop"
    if err["type"] == "value_error" and "error" in err.get("ctx", {}):
        message = str(err["ctx"]["error"])
    else:
        message = str(err["msg"])
    return f"invalid key: {message}" if "[key]" in err["loc"] else message


def _meta_errors(meta: Any, *, strict: bool) -> list[TreeError]:
    if not isinstance(meta, Mapping):
        return [_malformed("$.meta", "meta must be an object")]
    if not strict:
        known = {f.alias or n for n, f in RenderMeta.model_fields.items()}
        meta = {k: v for k, v in meta.items() if k in known}
    try:
        RenderMeta.model_validate(dict(meta))
    except ValidationError as exc:
        return [
            _malformed(json_path("$.meta", err["loc"]), str(err["msg"]))
            for err in exc.errors(include_url=False, include_input=False)
        ]
    return []


def _unknown_fields(
    obj: Mapping[str, Any], allowed: frozenset[str], path: str, what: str
) -> list[TreeError]:
    return [
        _malformed(json_path(path, [str(k)]), f"unknown {what} field")
        for k in obj
        if k not in allowed
    ]


def _duplicate_keys(siblings: list[tuple[str, Any]]) -> list[TreeError]:
    seen: set[str] = set()
    errors = []
    for path, raw in siblings:
        key = raw.get("key") if isinstance(raw, Mapping) else None
        if isinstance(key, str) and key:
            if key in seen:
                errors.append(_malformed(f"{path}.key", f"duplicate key {key!r} among siblings"))
            seen.add(key)
    return errors


def _malformed(path: str, message: str) -> TreeError:
    return TreeError(path, "malformed", message)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
