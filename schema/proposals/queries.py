"""Proposal queries: an RFQ's proposals side by side, and one proposal. Coordinators only."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.ids import parse_id
from schema.permissions import CoordinatorOnly
from schema.proposals.types import Proposal, with_proposal_details
from schema.selection import selected_paths
from server.proposals import service


@strawberry.type
class ProposalsQuery:
    @strawberry.field(
        description="An RFQ's proposals, oldest first, to compare side by side (cost, members, completion, "
        "firm share). Coordinators only.",
        permission_classes=[CoordinatorOnly],
    )
    async def proposals(
        self, info: Info, rfq_id: Annotated[strawberry.ID, strawberry.argument(description="The RFQ.")]
    ) -> list[Proposal]:
        rows = await service.proposals_of_rfq(
            info.context.pool,
            info.context.principal,
            rfq_id=parse_id(rfq_id, kind="RFQ"),
            with_problem="problem" in selected_paths(info),
        )
        proposals = [Proposal.from_row(r) for r in rows]
        await _with_details(info, proposals)
        return proposals

    @strawberry.field(description="One proposal. Coordinators only.", permission_classes=[CoordinatorOnly])
    async def proposal(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The proposal.")]
    ) -> Proposal:
        row = await service.get_proposal(
            info.context.pool, info.context.principal, proposal_id=parse_id(id, kind="proposal")
        )
        proposal = Proposal.from_row(row)
        await _with_details(info, [proposal])
        return proposal


async def _with_details(info: Info, proposals: list[Proposal]) -> None:
    """The proposals' nested lists, loaded for all of them at once as the query selects them."""
    await with_proposal_details(
        info,
        proposals,
        selected=selected_paths(info),
        assignment_fields=selected_paths(info, "assignments"),
        invitation_fields=selected_paths(info, "invitations"),
        invitation_line_fields=selected_paths(info, "invitations", "lines"),
    )
