"""GraphQL types of partnerships between factories."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import strawberry

from schema.context import Info
from schema.factories.loaders import factories_by_id
from schema.factories.types import Factory
from schema.ids import to_id
from server.partnerships import repo


@strawberry.type(
    description="A working relation between two factories of different owners: declared by one owner, "
    "confirmed by the other. Confirmed ones make the solver prefer consortia of partners. Seen only by the "
    "two owners and coordinators."
)
class Partnership:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    note: str = strawberry.field(description="What the two do together, in the declaring owner's words.")
    declared_at: dt.datetime = strawberry.field(description="When it was declared.")
    confirmed_at: dt.datetime | None = strawberry.field(
        description="When the partner's owner confirmed it; null while it waits for that."
    )
    factory_id: strawberry.Private[UUID]
    partner_factory_id: strawberry.Private[UUID]

    @classmethod
    def from_row(cls, row: repo.Partnership) -> Partnership:
        return cls(
            id=to_id(row.id),
            note=row.note,
            declared_at=row.declared_at,
            confirmed_at=row.confirmed_at,
            factory_id=row.factory_id,
            partner_factory_id=row.partner_factory_id,
        )

    @strawberry.field(description="The factory whose owner declared the partnership.")
    async def factory(self, info: Info) -> Factory:
        row = await info.context.loader(factories_by_id).load(self.factory_id)
        assert row is not None  # a foreign key guarantees it
        return Factory.from_row(row)

    @strawberry.field(description="The factory named as partner; its owner confirms.")
    async def partner(self, info: Info) -> Factory:
        row = await info.context.loader(factories_by_id).load(self.partner_factory_id)
        assert row is not None
        return Factory.from_row(row)
