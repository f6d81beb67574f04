"""Field markers for parameter models.

``Destructive`` marks a parameter whose value decides whether a run destroys data (``dryRun``,
a deletion threshold). Overriding such a field for one run is an edit of what the job does,
so it needs the editor role (dashboard) or the ``write`` scope (API)::

    class CleanupParameters(CamelModel):
        dry_run: Annotated[bool, Destructive] = True

The JSON schema of a marked field carries ``"destructive": true``.
"""

from __future__ import annotations

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = ["Destructive", "destructive_changes", "destructive_fields"]


class _DestructiveMarker:
    """The type of :data:`Destructive`; pydantic keeps it in the field's metadata."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema)["destructive"] = True
        return schema

    def __repr__(self) -> str:
        return "Destructive"


Destructive = _DestructiveMarker()


def destructive_fields(model: type[BaseModel]) -> dict[str, str]:
    """The marked fields of ``model``: Python name -> JSON name (alias)."""
    return {
        name: field.alias or name
        for name, field in model.model_fields.items()
        if any(isinstance(item, _DestructiveMarker) for item in field.metadata)
    }


def destructive_changes(before: BaseModel, after: BaseModel) -> list[str]:
    """JSON names of the marked fields whose value differs between two parameter sets."""
    marked = destructive_fields(type(after)) if type(before) is type(after) else {}
    return [
        alias for name, alias in marked.items() if getattr(before, name) != getattr(after, name)
    ]
