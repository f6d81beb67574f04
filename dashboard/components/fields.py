"""Forms generated from pydantic models: one widget per field, keyed by the field's JSON path.

The widget for a field follows its type: ``Literal`` or ``Enum`` -> selectbox, a list of
those -> multiselect, ``list[str]`` -> one value per line, ``bool`` -> toggle,
``int``/``float`` -> number input (bounded by the field's constraints), ``str`` -> text input,
a nested model -> its own fields, anything else -> JSON text, validated like the rest. That is
enough for any payload model or a team's parameter model, so a newly registered type gets an
editor without dashboard changes.

Labels come from model field names (code, not data), so they go to widgets as they are; values
are shown by widgets, which never interpret them.

Widget keys are ``<namespace>|<json path>``; a path such as ``payload.schedule.cronExpression``
is also what a ``FieldError`` names, which is how errors land next to their widget. Values are
mirrored into a drafts dict, so edits survive the widget being off-screen (another tab, another
page) until they are saved or discarded.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import streamlit as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from dashboard.display import humanize_key, safe

DRAFTS = "_drafts"
NONE_LABEL = "—"
# Constraints pydantic and annotated-types put in field metadata.
_BOUNDS = ("ge", "gt", "le", "lt", "min_length", "max_length")


@dataclass
class Form:
    """Widget namespace plus the field errors of the last save attempt."""

    ns: str
    errors: Mapping[str, Sequence[str]] = field(default_factory=dict)
    disabled: bool = False
    claimed: set[str] = field(default_factory=set)

    def key(self, path: str) -> str:
        return f"{self.ns}|{path}"

    def seed(self, path: str, initial: Any) -> str:
        """The widget key for ``path``, with its value set (draft first, else ``initial``)."""
        key = self.key(path)
        if key not in st.session_state:
            drafts: dict[str, Any] = st.session_state.setdefault(DRAFTS, {})
            st.session_state[key] = drafts.get(key, initial)
        return key

    def keep(self, key: str, value: Any) -> None:
        """Remember a widget's value beyond the widget's lifetime."""
        st.session_state.setdefault(DRAFTS, {})[key] = value

    def show_errors(self, path: str, *, leaf: bool = True) -> None:
        """Every error at ``path`` (and, for a leaf widget, below it) as an alert."""
        matched = [p for p in self.errors if p == path or (leaf and p.startswith(path + "."))]
        self.claimed.update(matched)
        for error_path in matched:
            for message in self.errors[error_path]:
                st.error(safe(message), icon=":material/error:")

    def unclaimed(self) -> list[tuple[str, str]]:
        """(path, message) of errors no widget showed, for a summary near the Save button."""
        return [(p, m) for p, msgs in self.errors.items() if p not in self.claimed for m in msgs]


def discard(ns: str) -> None:
    """Forget drafts and widget values of a namespace (the form reloads from stored data)."""
    prefix = f"{ns}|"
    drafts: dict[str, Any] = st.session_state.setdefault(DRAFTS, {})
    for key in [k for k in drafts if k.startswith(prefix)]:
        del drafts[key]
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]


def field_key_class(path: str) -> str:
    """A CSS-safe container key for a field (``st-key-field-payload-limits-batchSize``)."""
    return "field-" + "".join(c if c.isalnum() else "-" for c in path)


# --------------------------------------------------------------------------- type analysis


@dataclass(frozen=True)
class Shape:
    """A field's type with Annotated/Optional peeled off, plus its numeric/length bounds."""

    base: Any
    optional: bool
    bounds: dict[str, Any]


def shape_of(annotation: Any, info: FieldInfo | None = None) -> Shape:
    """Analyse a field annotation (and its FieldInfo constraints)."""
    bounds: dict[str, Any] = {}
    metadata: list[Any] = list(info.metadata) if info is not None else []
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) < len(get_args(annotation)):
                optional = True
            if len(members) == 1:
                annotation = members[0]
                continue
        break
    for item in metadata:
        nested = item.metadata if isinstance(item, FieldInfo) else [item]
        for constraint in nested:
            for name in _BOUNDS:
                value = getattr(constraint, name, None)
                if value is not None:
                    bounds[name] = value
    return Shape(annotation, optional, bounds)


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def is_discriminator(info: FieldInfo) -> bool:
    """A single-value Literal (such as parameters' jobType): fixed, so not worth a widget."""
    shape = shape_of(info.annotation, info)
    return get_origin(shape.base) is Literal and len(get_args(shape.base)) == 1


# --------------------------------------------------------------------------- rendering


def model_form(
    form: Form,
    model: type[BaseModel],
    value: Mapping[str, Any] | None,
    path: str,
    *,
    skip: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    helps: Mapping[str, str] | None = None,
    columns: int = 1,
) -> dict[str, Any]:
    """A widget per field of ``model``; returns the edited JSON (camelCase keys). Fields that
    get no widget (skipped, discriminators) keep their value."""
    current = dict(value or {})
    result = dict(current)
    fields = [
        (name, info)
        for name, info in model.model_fields.items()
        if name not in skip and (info.alias or name) not in skip and not is_discriminator(info)
    ]
    slots = st.columns(columns) if columns > 1 else None
    for index, (name, info) in enumerate(fields):
        alias = info.alias or name
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json", by_alias=True)
        elif isinstance(default, Enum):
            default = default.value
        raw = current.get(alias, default)
        label = (labels or {}).get(alias) or humanize_key(alias)
        container = slots[index % columns] if slots else st.container()
        with container:
            result[alias] = field_input(
                form,
                f"{path}.{alias}",
                info.annotation,
                info,
                raw,
                label=label,
                help_text=(helps or {}).get(alias),
            )
    return result


def field_input(
    form: Form,
    path: str,
    annotation: Any,
    info: FieldInfo | None,
    value: Any,
    *,
    label: str,
    help_text: str | None = None,
) -> Any:
    """The widget for one field, its errors underneath; returns the field's JSON value."""
    shape = shape_of(annotation, info)
    if help_text is None and info is not None:
        help_text = info.description
    if is_model(shape.base):
        return _nested_model(form, path, shape, value, label)
    with st.container(key=field_key_class(path)):
        result = _scalar_or_list(form, path, shape, value, label, help_text)
        form.show_errors(path)
    return result


def _nested_model(form: Form, path: str, shape: Shape, value: Any, label: str) -> Any:
    with st.container(key=field_key_class(path)):
        st.markdown(f"**{label}**")
        form.show_errors(path, leaf=False)
        if shape.optional:
            present = _widget(
                form,
                path + "#on",
                value is not None,
                lambda k: st.toggle(f"Set {label}", key=k, disabled=form.disabled),
            )
            if not present:
                return None
        mapping = value if isinstance(value, Mapping) else {}
        return model_form(form, shape.base, mapping, path)


def _widget(form: Form, path: str, initial: Any, make: Callable[[str], Any]) -> Any:
    key = form.seed(path, initial)
    result = make(key)
    form.keep(key, result)
    return result


def choices(annotation: Any) -> list[Any] | None:
    """The JSON values a ``Literal`` or ``Enum`` field allows, else None."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [member.value for member in annotation]
    return None


def _scalar_or_list(
    form: Form, path: str, shape: Shape, value: Any, label: str, help_text: str | None
) -> Any:
    base, bounds = shape.base, shape.bounds
    disabled = form.disabled
    if (allowed := choices(base)) is not None:
        options: list[Any] = allowed
        value = value.value if isinstance(value, Enum) else value
        if shape.optional:
            options = [None, *options]
        initial = value if value in options else options[0]
        return _widget(
            form,
            path,
            initial,
            lambda k: st.selectbox(
                label, options, key=k, help=help_text, disabled=disabled, format_func=_option_text
            ),
        )
    if base is bool:
        return _widget(
            form,
            path,
            bool(value),
            lambda k: st.toggle(label, key=k, help=help_text, disabled=disabled),
        )
    if base is int or base is float:
        return _number(form, path, base, shape, value, label, help_text)
    if base is str:
        text = "" if value is None else str(value)
        long = (bounds.get("max_length") or 0) > 500
        widget = st.text_area if long else st.text_input
        result = _widget(
            form,
            path,
            text,
            lambda k: widget(label, key=k, help=help_text, disabled=disabled),
        )
        return None if shape.optional and not result else result
    if get_origin(base) is list:
        return _list(form, path, shape, value, label, help_text)
    if _is_number_union(base):
        number = _number(form, path, float, shape, value, label, help_text)
        # ``int | float`` fields keep whole numbers as ints (a count reads back as 5, not 5.0).
        return int(number) if isinstance(number, float) and number.is_integer() else number
    return _json_fallback(form, path, value, label, help_text)


def _is_number_union(annotation: Any) -> bool:
    if get_origin(annotation) not in (Union, types.UnionType):
        return False
    return {a for a in get_args(annotation) if a is not type(None)} == {int, float}


def _option_text(option: Any) -> str:
    return NONE_LABEL if option is None else str(option)


def _number(
    form: Form,
    path: str,
    base: type,
    shape: Shape,
    value: Any,
    label: str,
    help_text: str | None,
) -> Any:
    bounds = shape.bounds
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if base is int:
        low = None if low is None else int(low) + (1 if "gt" in bounds else 0)
        high = None if high is None else int(high) - (1 if "lt" in bounds else 0)
        initial = (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        step: int | float = 1
        number_format = None
    else:
        low = None if low is None else float(low)
        high = None if high is None else float(high)
        initial = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        step = 0.5
        # "%g": 12 shows as 12 and 0.25 as 0.25, where the default "%0.2f" shows 12.00.
        number_format = "%g"
    if initial is None and not shape.optional:
        initial = low if low is not None else step * 0
    return _widget(
        form,
        path,
        initial,
        lambda k: st.number_input(
            label,
            min_value=low,
            max_value=high,
            step=step,
            key=k,
            help=help_text,
            disabled=form.disabled,
            format=number_format,
        ),
    )


def _list(
    form: Form, path: str, shape: Shape, value: Any, label: str, help_text: str | None
) -> Any:
    (item,) = get_args(shape.base) or (Any,)
    item_shape = shape_of(item)
    current = list(value) if isinstance(value, list) else []
    if (options := choices(item_shape.base)) is not None:
        current = [v.value if isinstance(v, Enum) else v for v in current]
        initial = [v for v in current if v in options]
        result = _widget(
            form,
            path,
            initial,
            lambda k: st.multiselect(label, options, key=k, help=help_text, disabled=form.disabled),
        )
        return None if shape.optional and not result else list(result)
    if item_shape.base in (str, int, float):
        hint = help_text or "One value per line."
        text = _widget(
            form,
            path,
            "\n".join(str(v) for v in current),
            lambda k: st.text_area(label, key=k, help=hint, disabled=form.disabled, height=100),
        )
        values: list[Any] = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if item_shape.base is not str:
            values = [_number_or_text(v) for v in values]
        return None if shape.optional and not values else values
    if is_model(item_shape.base):
        return _model_list(form, path, item_shape.base, current, label)
    return _json_fallback(form, path, value, label, help_text)


def _number_or_text(text: str) -> Any:
    # Left as text when it is not a number, so validation names the bad line.
    try:
        return json.loads(text)
    except ValueError:
        return text


def _model_list(
    form: Form, path: str, model: type[BaseModel], current: list[Any], label: str
) -> list[Any]:
    st.markdown(f"**{label}**")
    count_key = form.seed(path + "#count", len(current))
    count = int(st.session_state[count_key])
    items = []
    for index in range(count):
        with st.container(border=True):
            raw = current[index] if index < len(current) else {}
            # Items are small records (a criterion, a rule): one row each reads best.
            columns = min(3, len(model.model_fields))
            items.append(model_form(form, model, raw, f"{path}.{index}", columns=columns))
    with st.container(horizontal=True):
        if st.button(
            "Add", key=form.key(path + "#add"), icon=":material/add:", disabled=form.disabled
        ):
            st.session_state[count_key] = count + 1
            form.keep(count_key, count + 1)
            st.rerun()
        if count and st.button(
            "Remove last", key=form.key(path + "#remove"), disabled=form.disabled
        ):
            st.session_state[count_key] = count - 1
            form.keep(count_key, count - 1)
            st.rerun()
    return items


def _json_fallback(form: Form, path: str, value: Any, label: str, help_text: str | None) -> Any:
    """Types the generator has no widget for: JSON text, parsed back (last resort)."""
    text = _widget(
        form,
        path,
        json.dumps(value, indent=2),
        lambda k: st.text_area(f"{label} (JSON)", key=k, help=help_text, disabled=form.disabled),
    )
    try:
        return json.loads(text)
    except ValueError:
        return text
