"""``meta``: the identity and presentation of any stored GroveObject."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from grove_jobs.schema.base import CamelModel

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
ObjectStatus = Literal["active", "draft", "archived"]
Tag = Annotated[str, Field(min_length=1, max_length=40)]

# Fields the server owns: accepted on input (so an export re-applies cleanly) but never compared
# or trusted when deciding whether anything changed.
MANAGED_META_FIELDS = ("created_at", "updated_at", "created_by")


class GroveMeta(CamelModel):
    """Identity (a stable slug), presentation and lifecycle of an object."""

    id: str = Field(pattern=SLUG_PATTERN, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=4000)
    icon: str | None = Field(default=None, max_length=64)
    color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    status: ObjectStatus = "active"
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    favorite: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = Field(default=None, max_length=200)

    @field_validator("id", mode="before")
    @classmethod
    def _explain_slug(cls, value: object) -> object:
        if isinstance(value, str) and not _is_slug(value):
            raise ValueError(
                f"{value!r} is not a slug: use 1-64 lowercase letters, digits and single "
                "hyphens, starting and ending with a letter or digit"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("tags must not repeat")
        return value


def _is_slug(value: str) -> bool:
    return bool(re.fullmatch(SLUG_PATTERN, value)) and "--" not in value
