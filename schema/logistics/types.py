"""GraphQL types of logistics: transport between prefectures."""

from __future__ import annotations

import strawberry

from schema.catalogue.types import Prefecture, prefecture_of
from schema.context import Info
from server.logistics.transport import TransportLink as TransportLinkRow


@strawberry.type(
    description="Transport of one shipment between two prefectures, either direction: derived from the "
    "distance between their capitals (see docs/decisions.md), unless a coordinator overrode it."
)
class TransportLink:
    days: int = strawberry.field(description="Days in transit; 0 within one prefecture.")
    cost_jpy: int = strawberry.field(description="Cost of one shipment, in JPY.")
    road_km: float = strawberry.field(
        description="Estimated road distance between the capitals (great circle × 1.3), in km."
    )
    overridden: bool = strawberry.field(description="Whether a coordinator set these figures by hand.")
    from_code: strawberry.Private[str]
    to_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: TransportLinkRow) -> TransportLink:
        return cls(
            days=row.days,
            cost_jpy=row.cost_jpy,
            road_km=row.road_km,
            overridden=row.overridden,
            from_code=row.from_prefecture,
            to_code=row.to_prefecture,
        )

    @strawberry.field(description="One end (the lower JIS code).")
    def from_prefecture(self, info: Info) -> Prefecture:
        return prefecture_of(info.context.taxonomy, self.from_code)

    @strawberry.field(description="The other end (the higher JIS code, or the same prefecture).")
    def to_prefecture(self, info: Info) -> Prefecture:
        return prefecture_of(info.context.taxonomy, self.to_code)
