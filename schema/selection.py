"""What a query selects below a field, so that a page's resolver loads the nested lists it will show in one
query each (and skips the ones it will not), instead of one loader call per item."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    """The fields of ``selections``, through fragments (whatever their type condition)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def selected_paths(info: Any, *prefix: str) -> set[str]:
    """Names of the fields selected at ``prefix`` below the resolved field, e.g. ``selected_paths(info,
    "edges", "node")`` on a connection: ``{"id", "capabilities", …}``. Aliases and fragments are seen
    through; a field under ``@skip``/``@include`` counts as selected (loading it is then merely unneeded)."""
    level = [child for f in _fields(info.selected_fields) for child in _fields(f.selections)]
    for name in prefix:
        level = [child for f in level if f.name == name for child in _fields(f.selections)]
    return {f.name for f in level}


__all__ = ["selected_paths"]
