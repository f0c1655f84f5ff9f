"""GraphQL types of invitations: a member's share of an approved proposal, to accept or decline.

Only the invited factory's owner and coordinators reach them (:mod:`server.invitations.rules`).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import cast
from uuid import UUID

import strawberry

from schema.bids.loaders import packages_by_id
from schema.bids.types import WorkPackage, factories_of, factory_of, package_of
from schema.context import Info
from schema.executor import preloaded
from schema.factories.types import Factory
from schema.ids import to_id
from schema.invitations.loaders import events_by_invitation, lines_by_invitation_id
from schema.proposals.types import WeekHours
from schema.rfqs.types import RfqEvent
from server.bids import repo as bids_repo
from server.invitations import repo


@strawberry.enum(description="Where an invitation stands.")
class InvitationStatus(enum.Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for the member's answer.")
    ACCEPTED = strawberry.enum_value("accepted", description="The member accepted its share and prices.")
    DECLINED = strawberry.enum_value("declined", description="The member declined; a repair solve follows.")
    EXPIRED = strawberry.enum_value(
        "expired", description="Unanswered past its deadline: counts as declined; a repair solve follows."
    )
    WITHDRAWN = strawberry.enum_value(
        "withdrawn", description="A repaired proposal replaced the one it belonged to before it was answered."
    )


@strawberry.type(description="One work package of a member's share: how many, when, at what price.")
class InvitationLine:
    quantity: int = strawberry.field(description="Pieces.")
    start_date: dt.date = strawberry.field(description="First day of the work.")
    end_date: dt.date = strawberry.field(description="Day the output is available (exclusive end).")
    weekly_hours: list[WeekHours] = strawberry.field(description="Machine hours per ISO week.")
    unit_price_jpy: int = strawberry.field(description="Offered unit price: the bid's, or the estimate.")
    setup_cost_jpy: int = strawberry.field(description="Setup cost of this line.")
    estimated: bool = strawberry.field(
        description="The price is an estimate from the factory's rates: accepting confirms or adjusts it."
    )
    agreed_unit_price_jpy: int | None = strawberry.field(
        description="The accepted unit price; null until then."
    )
    package_id: strawberry.Private[UUID]
    # Set when a page loaded the packages of all its lines at once (:func:`with_invitation_details`).
    loaded_package: strawberry.Private[WorkPackage | None] = None

    @classmethod
    def from_row(cls, row: repo.Line) -> InvitationLine:
        return cls(
            quantity=row.quantity,
            start_date=row.start_date,
            end_date=row.end_date,
            weekly_hours=[WeekHours(week=w["week"], hours=w["hours"]) for w in row.weekly_hours],
            unit_price_jpy=row.unit_price_jpy,
            setup_cost_jpy=row.setup_cost_jpy,
            estimated=row.estimated,
            agreed_unit_price_jpy=row.agreed_unit_price_jpy,
            package_id=row.package_id,
        )

    @strawberry.field(description="The work package.")
    @preloaded("loaded_package")
    def package(self, info: Info) -> WorkPackage:
        if self.loaded_package is not None:
            return self.loaded_package
        return cast(WorkPackage, package_of(info, self.package_id, line_package))


def line_package(info: Info, row: bids_repo.WorkPackage) -> WorkPackage:
    """An invitation line's package: members never see the buyer's target prices."""
    return WorkPackage.from_row(row, show_target_price=False, taxonomy=info.context.taxonomy)


@strawberry.type(
    description="A member factory's invitation to its share of an approved consortium proposal. Only the "
    "factory's owner and coordinators see it; only the owner answers it."
)
class Invitation:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    rfq_id: strawberry.ID = strawberry.field(description="The RFQ.")
    proposal_id: strawberry.ID = strawberry.field(description="The approved proposal it belongs to.")
    status: InvitationStatus = strawberry.field(description="Where it stands.")
    answer_by: dt.datetime = strawberry.field(description="The answer is due before this instant.")
    offered_price_jpy: int = strawberry.field(
        description="The share's price at the bid or estimated unit prices: Σ quantity × unit price + setup."
    )
    agreed_price_jpy: int | None = strawberry.field(description="The accepted price; null until accepted.")
    estimated: bool = strawberry.field(description="Some line's price is an estimate.")
    answered_at: dt.datetime | None = strawberry.field(description="When it was answered (or closed).")
    decline_reason: str = strawberry.field(description="The member's reason, when declined.")
    carried_from_id: strawberry.ID | None = strawberry.field(
        description="The accepted invitation of the replaced proposal that this one carries over unchanged."
    )
    created_at: dt.datetime = strawberry.field(description="When it was sent.")
    row: strawberry.Private[repo.Invitation]
    # Set when a page loaded these for all its invitations at once (:func:`with_invitation_details`).
    loaded_factory: strawberry.Private[Factory | None] = None
    loaded_lines: strawberry.Private[list[InvitationLine] | None] = None
    loaded_events: strawberry.Private[list[RfqEvent] | None] = None

    @classmethod
    def from_row(cls, row: repo.Invitation) -> Invitation:
        return cls(
            id=to_id(row.id),
            rfq_id=to_id(row.rfq_id),
            proposal_id=to_id(row.proposal_id),
            status=InvitationStatus(row.status),
            answer_by=row.answer_by,
            offered_price_jpy=row.offered_price_jpy,
            agreed_price_jpy=row.agreed_price_jpy,
            estimated=row.estimated,
            answered_at=row.answered_at,
            decline_reason=row.decline_reason,
            carried_from_id=to_id(row.carried_from_id) if row.carried_from_id else None,
            created_at=row.created_at,
            row=row,
        )

    # Each a plain value when the page loaded it, else an awaitable (see schema.factories.types.Factory).
    @strawberry.field(description="The invited factory.")
    @preloaded("loaded_factory")
    def factory(self, info: Info) -> Factory:
        if self.loaded_factory is not None:
            return self.loaded_factory
        return cast(Factory, factory_of(info, self.row.factory_id))

    @strawberry.field(description="The share: one line per work package.")
    @preloaded("loaded_lines")
    def lines(self, info: Info) -> list[InvitationLine]:
        if self.loaded_lines is not None:
            return self.loaded_lines
        return cast(list[InvitationLine], self._load_lines(info))

    async def _load_lines(self, info: Info) -> list[InvitationLine]:
        rows = await info.context.loader(lines_by_invitation_id).load(self.row.id)
        return [InvitationLine.from_row(r) for r in rows]

    @strawberry.field(
        description="This invitation's events from the RFQ's log (sent, carried, accepted, declined, "
        "expired, "
        "withdrawn), oldest first: what the factory's owner reads of the log."
    )
    @preloaded("loaded_events")
    def events(self, info: Info) -> list[RfqEvent]:
        if self.loaded_events is not None:
            return self.loaded_events
        return cast(list[RfqEvent], self._load_events(info))

    async def _load_events(self, info: Info) -> list[RfqEvent]:
        rows = await info.context.loader(events_by_invitation).load(self.row)
        return [RfqEvent.from_row(r) for r in rows]


async def with_invitation_details(
    info: Info, invitations: list[Invitation], *, selected: set[str], line_fields: set[str]
) -> None:
    """Give the invitations of one page (or of a page of proposals) what the query ``selected`` of them,
    loaded for all at once: lines (one query; their packages by ``line_fields`` through the request's
    package loader, one batch), events (one query), factories (one batch of the request's factory loader,
    which other lists of the request share). The page's service returned only invitations the caller may
    see; the lines' packages hide target prices as the loader path does."""
    if not invitations:
        return
    pool = info.context.pool
    if "factory" in selected:
        factories = await factories_of(info, [i.row.factory_id for i in invitations])
        for invitation, factory in zip(invitations, factories, strict=True):
            invitation.loaded_factory = factory
    if "lines" in selected:
        lines = await lines_by_invitation_id(pool, [i.row.id for i in invitations])
        for invitation, line_rows in zip(invitations, lines, strict=True):
            invitation.loaded_lines = [InvitationLine.from_row(r) for r in line_rows]
        all_lines = [line for i in invitations for line in i.loaded_lines or []]
        if "package" in line_fields and all_lines:
            packages = await info.context.loader(packages_by_id).load_many(
                [line.package_id for line in all_lines]
            )
            for line, package in zip(all_lines, packages, strict=True):
                assert package is not None  # a foreign key
                line.loaded_package = line_package(info, package)
    if "events" in selected:
        events = await events_by_invitation(pool, [i.row for i in invitations])
        for invitation, event_rows in zip(invitations, events, strict=True):
            invitation.loaded_events = [RfqEvent.from_row(r) for r in event_rows]
