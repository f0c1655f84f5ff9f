"""Proposal review: approve, reject, revise. Coordinators only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.jobs.mutations import SolvePolicyInput
from schema.jobs.types import SolveJob
from schema.permissions import CoordinatorOnly
from schema.proposals.types import Proposal
from server.proposals import service

_PROPOSAL_ID = strawberry.argument(description="The proposal's id.")


@strawberry.input(description="A new quantity for one work package.")
class QuantityOverrideInput:
    package_id: strawberry.ID = strawberry.field(description="The work package.")
    quantity: int = strawberry.field(description="Pieces, 1 to 100,000,000.")


@strawberry.input(description="What to change for the next version of a proposal.")
class ProposalChangesInput:
    pinned: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Factories that must be members."
    )
    excluded: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Factories that must not be members."
    )
    policy: SolvePolicyInput | None = strawberry.field(default=None, description="Policy changes.")
    due_date: dt.date | None = strawberry.field(default=None, description="Another due date for every line.")
    quantities: list[QuantityOverrideInput] = strawberry.field(
        default_factory=list, description="Other quantities per work package."
    )
    time_limit_s: int = strawberry.field(default=30, description="Solve time limit in seconds, 1 to 600.")


@strawberry.type(description="Result of a review action on a proposal.")
class ProposalPayload:
    proposal: Proposal | None = strawberry.field(description="The proposal as it is now; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type(description="Result of asking for a revision.")
class ProposalRevisePayload:
    job: SolveJob | None = strawberry.field(
        description="The queued solve; its proposal is the next version, with a diff. Null on error."
    )
    errors: list[Error] = strawberry.field(description="Problems with the changes; empty on success.")


@strawberry.type
class ProposalsMutation:
    @strawberry.mutation(
        description="Approve the version you looked at (`expectedVersion` = its `rowVersion`); the RFQ "
        "becomes PROPOSED and each member is invited to its share. On a PROPOSED RFQ, approving a "
        "repair of "
        "its approved proposal (a repair) replaces it: only new or changed shares are invited again. "
        "CONFLICT when it changed since, or another proposal of the RFQ won.",
        permission_classes=[CoordinatorOnly],
    )
    async def proposal_approve(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _PROPOSAL_ID],
        expected_version: Annotated[int, strawberry.argument(description="The `rowVersion` you reviewed.")],
        answer_by: Annotated[
            dt.date | None,
            strawberry.argument(
                description="The members answer their invitations by the end of this day (JST); default: "
                "3 working days from today (weekends and Japanese public holidays skipped)."
            ),
        ] = None,
    ) -> ProposalPayload:
        row, errors = await attempt(
            service.approve_proposal(
                info.context.pool,
                info.context.principal,
                proposal_id=parse_id(id, kind="proposal"),
                expected_version=expected_version,
                now=info.context.clock.now(),
                answer_by=answer_by,
                price_tolerance_pct=info.context.settings.price_tolerance_pct,
            )
        )
        return ProposalPayload(proposal=Proposal.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Set a draft proposal aside, with the reason.", permission_classes=[CoordinatorOnly]
    )
    async def proposal_reject(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _PROPOSAL_ID],
        reason: Annotated[str, strawberry.argument(description="Why, for the other coordinators.")],
    ) -> ProposalPayload:
        row, errors = await attempt(
            service.reject_proposal(
                info.context.pool,
                info.context.principal,
                proposal_id=parse_id(id, kind="proposal"),
                reason=reason,
                now=info.context.clock.now(),
            )
        )
        return ProposalPayload(proposal=Proposal.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Solve the proposal's Problem again with changes (pins, exclusions, policy, due date, "
        "quantities). The result is the next version of this proposal, with a diff.",
        permission_classes=[CoordinatorOnly],
    )
    async def proposal_revise(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _PROPOSAL_ID],
        changes: Annotated[ProposalChangesInput, strawberry.argument(description="What to change.")],
    ) -> ProposalRevisePayload:
        revision = service.Revision(
            pinned=tuple(parse_id(f, kind="factory") for f in changes.pinned),
            excluded=tuple(parse_id(f, kind="factory") for f in changes.excluded),
            policy=changes.policy.to_service() if changes.policy else service.Revision().policy,
            due_date=changes.due_date,
            quantities=tuple(
                (parse_id(q.package_id, kind="work package"), q.quantity) for q in changes.quantities
            ),
            time_limit_s=changes.time_limit_s,
        )
        job, errors = await attempt(
            service.revise_proposal(
                info.context.pool,
                info.context.principal,
                proposal_id=parse_id(id, kind="proposal"),
                revision=revision,
            )
        )
        return ProposalRevisePayload(job=SolveJob.from_row(job) if job else None, errors=errors)
