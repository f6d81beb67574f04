"""Base model: camelCase JSON, snake_case Python, unknown fields rejected, immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """Every schema model: frozen, strict about unknown fields, camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )

    def to_json_dict(self) -> dict:
        """The camelCase JSON form (what the API, CLI and database store)."""
        return self.model_dump(mode="json", by_alias=True)


def unique_items(values: list | None) -> list | None:
    """A field validator for lists whose items must not repeat."""
    if values is not None and len(set(values)) != len(values):
        raise ValueError("must not contain duplicates")
    return values
