"""Bid mutations: submit (create or replace) a sealed bid, withdraw it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.bids.types import Bid
from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.permissions import FactoryOwnerOnly
from server.bids import service


@strawberry.input(description="A factory's bid on one work package. Money in whole JPY, hours as numbers.")
class BidSubmitInput:
    package_id: strawberry.ID = strawberry.field(description="The work package bid on.")
    factory_id: strawberry.ID = strawberry.field(description="Your factory that bids.")
    unit_price_jpy: int = strawberry.field(description="Price per piece, JPY: 1 to 100,000,000.")
    setup_cost_jpy: int = strawberry.field(description="One-off setup cost, JPY: 0 to 1,000,000,000.")
    hours_per_unit: float = strawberry.field(
        description="Machine hours per piece: more than 0, at most 1000, up to 4 decimals."
    )
    setup_hours: float = strawberry.field(description="Machine hours of the setup: 0 to 2000, 2 decimals.")
    valid_until: dt.date = strawberry.field(description="Last day the bid holds: the bid deadline or later.")
    max_quantity: int | None = strawberry.field(
        default=None, description="Most pieces you would make, 1 to the package's quantity; null: all."
    )
    earliest_start: dt.date | None = strawberry.field(
        default=None, description="First day you could start: today or later, before the due date."
    )
    note: str = strawberry.field(default="", description="A note for the cluster office (optional).")

    def to_service(self) -> service.BidInput:
        return service.BidInput(
            package_id=parse_id(self.package_id, kind="work package"),
            factory_id=parse_id(self.factory_id, kind="factory"),
            unit_price_jpy=self.unit_price_jpy,
            setup_cost_jpy=self.setup_cost_jpy,
            hours_per_unit=Decimal(str(self.hours_per_unit)),
            setup_hours=Decimal(str(self.setup_hours)),
            valid_until=self.valid_until,
            max_quantity=self.max_quantity,
            earliest_start=self.earliest_start,
            note=self.note,
        )


@strawberry.type(description="Result of submitting a bid.")
class BidSubmitPayload:
    bid: Bid | None = strawberry.field(description="The stored bid; null on error.")
    errors: list[Error] = strawberry.field(
        description="Every problem; empty on success. Nothing was written."
    )


@strawberry.type(description="Result of withdrawing a bid.")
class BidWithdrawPayload:
    bid: Bid | None = strawberry.field(description="The withdrawn bid as it was; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success. Nothing was written.")


@strawberry.type
class BidMutation:
    @strawberry.mutation(
        description="Create or replace your factory's sealed bid on one work package: only for your own "
        "factories (FORBIDDEN), while the RFQ is open (INVALID_STATE) and before the end of its bid-deadline "
        "day in JST (BID_DEADLINE_PASSED), on packages the factory is eligible for (NOT_ELIGIBLE, with every "
        "reason). Factory owners only.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def bid_submit(
        self,
        info: Info,
        input: Annotated[BidSubmitInput, strawberry.argument(description="The bid.")],
    ) -> BidSubmitPayload:
        row, errors = await attempt(
            service.submit_bid(
                info.context.pool, info.context.principal, input.to_service(), now=info.context.clock.now()
            )
        )
        return BidSubmitPayload(bid=Bid.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Withdraw one of your factories' bids, while the RFQ is open and before its bid deadline "
        "(JST). Another owner's bid is NOT_FOUND. Factory owners only.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def bid_withdraw(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The bid's id.")]
    ) -> BidWithdrawPayload:
        bid_id = parse_id(id, kind="bid")
        row, errors = await attempt(
            service.withdraw_bid(
                info.context.pool, info.context.principal, bid_id=bid_id, now=info.context.clock.now()
            )
        )
        return BidWithdrawPayload(bid=Bid.from_row(row) if row else None, errors=errors)
