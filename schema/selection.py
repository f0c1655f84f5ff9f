"""What a query selects below a field, so that a page's resolver loads the nested lists it will show in one
query each (and skips the ones it will not), instead of one loader call per item."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)


def _fields(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterable[FieldNode]:
    """The fields of ``selection_set``, through fragments (whatever their type condition)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)


def selected_paths(info: Any, *prefix: str) -> set[str]:
    """Names of the fields selected at ``prefix`` below the resolved field, e.g. ``selected_paths(info,
    "edges", "node")`` on a connection: ``{"id", "capabilities", …}``. Aliases and fragments are seen
    through; a field under ``@skip``/``@include`` counts as selected (loading it is then merely unneeded).

    Read from graphql-core's nodes of the field (strawberry's ``info.selected_fields`` would first convert
    the whole selection below it, arguments included, on every request)."""
    raw = info._raw_info
    fragments: Mapping[str, FragmentDefinitionNode] = raw.fragments
    level = [child for node in raw.field_nodes for child in _fields(node.selection_set, fragments)]
    for name in prefix:
        level = [
            child
            for node in level
            if node.name.value == name
            for child in _fields(node.selection_set, fragments)
        ]
    return {node.name.value for node in level}


__all__ = ["selected_paths"]
