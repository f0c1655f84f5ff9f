"""The one connection shape of every list: ``edges { node cursor }``, ``pageInfo`` and ``totalCount``.

``Connection[Factory]`` is named ``FactoryConnection`` in the schema (strawberry names generic types by
their argument). Build one from a service's :class:`server.pagination.Page` with :func:`connection`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry
from strawberry.relay import PageInfo

from server.pagination import Page

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


@strawberry.type(description="An item in a page, with the cursor that continues after it.")
class Edge(Generic[NodeT]):
    node: NodeT = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Opaque cursor: pass as `after` to continue after this item.")


@strawberry.type(description="A page of a list, in the list's order.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more pages follow, and where they start.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the list holds over all pages (one more query).")
    async def total_count(self) -> int:
        return await self.count()


def connection(page: Page[RowT], node: Callable[[RowT], NodeT]) -> Connection[NodeT]:
    """The connection of ``page``, each row made a GraphQL object by ``node``."""
    return Connection(
        edges=[Edge(node=node(row), cursor=c) for row, c in zip(page.items, page.cursors, strict=True)],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=False,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.end_cursor,
        ),
        count=page.total_count,
    )


__all__ = ["Connection", "Edge", "connection"]
