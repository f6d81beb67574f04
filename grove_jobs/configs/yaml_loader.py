"""A YAML loader for untrusted config files: safe tags only, bounded nesting, bounded alias
expansion, and duplicate keys refused (PyYAML silently keeps the last one)."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from grove_jobs.schema.limits import MAX_DEPTH

# Aliases may repeat a subtree (anchors and merge keys are handy), but an "alias bomb"
# repeats it exponentially: a 1 KB file can stand for billions of nodes. What aliases add,
# counted in expanded nodes, is capped far above any real config and far below a bomb.
MAX_ALIAS_NODES = 100_000
_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(yaml.YAMLError):
    """A document refused for its shape; the message names the line."""


class GuardedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the limits above, enforced while composing the node graph
    (before anything walks it), so refusing a hostile document takes milliseconds."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes once aliases are expanded
        self._aliased = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # the anchor is still being composed: the alias is inside it
                raise YamlRefused(f"alias *{event.anchor} at line {line} refers to its own parent")
            self._aliased += size
            if self._aliased > MAX_ALIAS_NODES:
                raise YamlRefused(
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes (at line {line})"
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep at line {line}")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in _children(node))
        return node

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        first: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE:
                continue
            line = key.start_mark.line + 1
            if (key.tag, key.value) in first:
                earlier = first[(key.tag, key.value)]
                raise YamlRefused(
                    f"duplicate key {key.value!r} at line {line} (first at line {earlier})"
                )
            first[(key.tag, key.value)] = line
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node.value, list):
        return list(node.value)
    return []


def load_yaml(text: str) -> Any:
    """Parse one YAML document with the limits above; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=GuardedLoader)  # a SafeLoader subclass: safe tags only
