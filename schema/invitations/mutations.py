"""Invitation answers (the invited factory's owner) and the coordinator's price confirmation."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.invitations.types import Invitation
from schema.permissions import CoordinatorOnly, FactoryOwnerOrCoordinator
from schema.proposals.mutations import ProposalPayload
from schema.proposals.types import Proposal
from server.invitations import answers, pricing

_INVITATION_ID = strawberry.argument(description="The invitation's id.")


@strawberry.input(description="Your unit price for one estimated line of your share.")
class UnitPriceInput:
    package_id: strawberry.ID = strawberry.field(description="The work package (an estimated line).")
    unit_price_jpy: int = strawberry.field(description="Unit price in JPY, 0 to 10,000,000,000.")


@strawberry.input(description="Accepting an invitation.")
class InvitationAcceptInput:
    unit_prices: list[UnitPriceInput] = strawberry.field(
        default_factory=list,
        description="Adjusted unit prices of estimated lines; an estimated line left out keeps its estimate. "
        "A firm bid's price cannot be changed here.",
    )


@strawberry.type(description="Result of answering an invitation.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(
        description="The invitation as it is now; null on error."
    )
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type
class InvitationsMutation:
    @strawberry.mutation(
        description="Accept your factory's share, confirming or adjusting estimated prices. Errors: "
        "NOT_FOUND "
        "(not visible to you), FORBIDDEN (a coordinator: only the owner answers), ANSWER_DEADLINE_PASSED, "
        "INVALID_STATE (answered already, or the RFQ moved on). When adjusted prices move the proposal's "
        "total beyond the tolerance, a coordinator must confirm it (`proposalConfirmPrices`).",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def invitation_accept(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _INVITATION_ID],
        input: Annotated[
            InvitationAcceptInput | None, strawberry.argument(description="Price adjustments, if any.")
        ] = None,
    ) -> InvitationPayload:
        adjustments = [
            answers.PriceAdjustment(parse_id(p.package_id, kind="work package"), p.unit_price_jpy)
            for p in (input.unit_prices if input else [])
        ]
        row, errors = await attempt(
            answers.accept_invitation(
                info.context.pool,
                info.context.principal,
                invitation_id=parse_id(id, kind="invitation"),
                unit_prices=adjustments,
                now=info.context.clock.now(),
                price_tolerance_pct=info.context.settings.price_tolerance_pct,
            )
        )
        return InvitationPayload(invitation=Invitation.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Decline your factory's share, with a reason. A repair solve is queued at once: the "
        "accepted members' shares stay fixed, yours is re-planned among the others. Errors as for "
        "`invitationAccept`.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def invitation_decline(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _INVITATION_ID],
        reason: Annotated[str, strawberry.argument(description="Why, for the cluster office (required).")],
    ) -> InvitationPayload:
        row, errors = await attempt(
            answers.decline_invitation(
                info.context.pool,
                info.context.principal,
                invitation_id=parse_id(id, kind="invitation"),
                reason=reason,
                now=info.context.clock.now(),
            )
        )
        return InvitationPayload(invitation=Invitation.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Confirm the approved proposal's total after members' accepted prices moved it "
        "beyond the "
        "tolerance (`priceConfirmationRequired`). INVALID_STATE when no confirmation is needed.",
        permission_classes=[CoordinatorOnly],
    )
    async def proposal_confirm_prices(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The approved proposal.")],
    ) -> ProposalPayload:
        row, errors = await attempt(
            pricing.confirm_prices(
                info.context.pool,
                info.context.principal,
                proposal_id=parse_id(id, kind="proposal"),
                now=info.context.clock.now(),
            )
        )
        return ProposalPayload(proposal=Proposal.from_row(row) if row else None, errors=errors)
