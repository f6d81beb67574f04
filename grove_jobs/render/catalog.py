"""Catalogs: named, versioned sets of components, each with a pydantic props schema.

Name resolution (one rule, used by validation and by every renderer):

- A catalog *includes* the components of the catalog it ``extends`` (transitively).
- An unqualified type (``"Text"``) resolves to the most derived definition: a catalog may
  override a base component by declaring the same name.
- A qualified type (``"base/Text"``) names a catalog in the lineage and resolves as an unqualified
  lookup *from that catalog*: ``"job-status/Text"`` finds base's Text (job-status includes it),
  while ``"base/JobLogEntry"`` finds nothing (base does not include job-status).
- Anything else, including a qualifier that is not in the lineage, is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from grove_jobs.render.model import CHILDREN_PROP

NAMESPACE_SEPARATOR = "/"


class Props(BaseModel):
    """Base of every props schema: camelCase JSON, unknown props rejected, immutable.

    Unlike ``CamelModel`` strings are not stripped: props carry data text (log lines, errors)
    that must be shown exactly as written.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The camelCase JSON form, optional props left out when unset."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class Component:
    """A component as declared by one catalog."""

    name: str
    catalog: str
    props: type[BaseModel]

    @property
    def qualified_name(self) -> str:
        return f"{self.catalog}{NAMESPACE_SEPARATOR}{self.name}"

    @property
    def takes_children(self) -> bool:
        return any(
            name == CHILDREN_PROP or field.alias == CHILDREN_PROP
            for name, field in self.props.model_fields.items()
        )

    @property
    def description(self) -> str:
        return (self.props.__doc__ or "").strip()


class Catalog:
    """A named, versioned set of components, optionally extending a base catalog."""

    def __init__(
        self,
        name: str,
        version: str,
        components: Mapping[str, type[BaseModel]],
        *,
        extends: Catalog | None = None,
    ) -> None:
        for label in (name, *components):
            if not label or NAMESPACE_SEPARATOR in label:
                raise ValueError(f"invalid catalog or component name {label!r}")
        if extends is not None and name in {c.name for c in extends.lineage}:
            raise ValueError(f"catalog {name!r} already appears in its own lineage")
        self.name = name
        self.version = version
        self.extends = extends
        self.own: dict[str, Component] = {
            type_: Component(type_, name, model) for type_, model in components.items()
        }

    def __repr__(self) -> str:
        return f"Catalog({self.name!r}, version={self.version!r}, {len(self.components)} types)"

    @property
    def lineage(self) -> tuple[Catalog, ...]:
        """This catalog, then its base, then the base's base."""
        chain: list[Catalog] = []
        current: Catalog | None = self
        while current is not None:
            chain.append(current)
            current = current.extends
        return tuple(chain)

    @property
    def components(self) -> dict[str, Component]:
        """Every component this catalog includes, by unqualified name (overrides applied)."""
        merged: dict[str, Component] = {}
        for catalog in reversed(self.lineage):
            merged.update(catalog.own)
        return merged

    def resolve(self, type_: str) -> Component | None:
        """The component a type string names, or ``None`` (see the module docstring)."""
        namespace, sep, name = type_.rpartition(NAMESPACE_SEPARATOR)
        if not sep:
            return self._lookup(type_)
        for catalog in self.lineage:
            if catalog.name == namespace:
                return catalog._lookup(name)
        return None

    def __contains__(self, type_: object) -> bool:
        return isinstance(type_, str) and self.resolve(type_) is not None

    def json_schema(self) -> dict[str, Any]:
        """Props JSON Schema per component, for documentation and tree authors."""
        return {
            "catalog": self.name,
            "version": self.version,
            "components": {
                name: {
                    "qualifiedName": component.qualified_name,
                    "description": component.description,
                    "props": component.props.model_json_schema(by_alias=True),
                }
                for name, component in sorted(self.components.items())
            },
        }

    def _lookup(self, name: str) -> Component | None:
        for catalog in self.lineage:
            if name in catalog.own:
                return catalog.own[name]
        return None


def resolve_in(catalogs: Catalog | Iterable[Catalog], type_: str) -> Component | None:
    """Resolve against several catalogs; the first that knows the type wins."""
    for catalog in as_catalogs(catalogs):
        component = catalog.resolve(type_)
        if component is not None:
            return component
    return None


def as_catalogs(catalogs: Catalog | Iterable[Catalog]) -> Sequence[Catalog]:
    """Normalise the ``Catalog | Sequence[Catalog]`` arguments public functions accept."""
    return (catalogs,) if isinstance(catalogs, Catalog) else tuple(catalogs)
