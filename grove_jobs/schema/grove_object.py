"""``GroveObject``: ``{"meta": {...}, "payload": {...}}``, the payload typed by ``meta.type``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SerializeAsAny, ValidationError

from grove_jobs.exceptions import FieldError, ValidationFailed
from grove_jobs.schema.base import CamelModel
from grove_jobs.schema.limits import walk_strings
from grove_jobs.schema.meta import MANAGED_META_FIELDS, GroveMeta
from grove_jobs.schema.registry import get_type


class GroveObject(CamelModel):
    """A stored, typed object. Build it with :func:`parse_grove_object`."""

    meta: GroveMeta
    payload: SerializeAsAny[BaseModel]

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def type(self) -> str:
        return self.meta.type

    def comparable(self) -> dict[str, Any]:
        """The JSON form without server-managed fields: equal iff nothing a user edits differs."""
        data = self.to_json_dict()
        for name in MANAGED_META_FIELDS:
            data["meta"].pop(GroveMeta.model_fields[name].alias or name, None)
        return data


def pydantic_errors(exc: ValidationError, prefix: str = "", source: str | None = None):
    """Turn a pydantic ValidationError into FieldErrors with camelCase dotted paths."""
    errors = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        path = ".".join(filter(None, [prefix, *loc]))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        errors.append(FieldError(path=path, message=message, source=source))
    return errors


def nul_errors(data: Any, path: str = "", source: str | None = None) -> list[FieldError]:
    """NUL characters anywhere in the input: PostgreSQL cannot store them in text or JSONB,
    so they are rejected up front on every database alike. Input nested deeper than
    MAX_DEPTH raises ValidationFailed (the walk is iterative: no RecursionError)."""
    return [
        FieldError(where, "must not contain NUL (\\x00) characters", source)
        for where, text in walk_strings(data, path, source)
        if "\x00" in text
    ]


def parse_grove_object(
    data: Any, *, source: str | None = None, stored: bool = False
) -> GroveObject:
    """Validate raw JSON into a GroveObject; raises ValidationFailed listing every error.

    ``stored`` reads a row that was validated when it was written: a job config whose job type
    is not installed in this process is then accepted as it is (listed, exported, refused for
    edits and runs), instead of failing the whole read."""
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("", "expected an object with meta and payload", source)])
    if found := nul_errors(data, source=source):
        raise ValidationFailed(found)
    errors: list[FieldError] = [
        FieldError(key, "unknown field", source) for key in data if key not in ("meta", "payload")
    ]
    meta = None
    try:
        meta = GroveMeta.model_validate(data.get("meta"))
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc, "meta", source))
    payload_model = None
    # Even when meta is invalid (say, a bad id), a known type still lets the payload be checked,
    # so every error is reported in one go.
    raw_meta = data.get("meta")
    type_name = meta.type if meta is not None else None
    if meta is None and isinstance(raw_meta, dict):
        raw_type = raw_meta.get("type")
        type_name = raw_type if isinstance(raw_type, str) and raw_type else None
    if type_name is not None:
        try:
            payload_model = get_type(type_name).payload_model
        except KeyError as exc:
            errors.append(FieldError("meta.type", exc.args[0], source))
    payload = None
    if payload_model is not None:
        if "payload" not in data:
            errors.append(FieldError("payload", "Field required", source))
        else:
            try:
                payload = payload_model.model_validate(
                    data["payload"], context={"stored": True} if stored else None
                )
            except ValidationError as exc:
                errors.extend(pydantic_errors(exc, "payload", source))
    if errors or meta is None or payload is None:
        raise ValidationFailed(errors)
    return GroveObject(meta=meta, payload=payload)


def validate_payload(type_name: str, data: Any) -> BaseModel:
    """Validate a payload for a registered type; errors are prefixed with ``payload``."""
    model = get_type(type_name).payload_model
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_errors(exc, "payload")) from exc
