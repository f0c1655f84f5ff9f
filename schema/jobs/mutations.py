"""Solve job mutations: request proposals (queues a solve job), cancel a job."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.jobs.types import SolveJob, SolvePreset
from schema.permissions import CoordinatorOnly
from server.errors import ErrorCode, NotFound
from server.jobs import service
from server.jobs.plugins import PolicyOverrides, SolveRequest


@strawberry.input(description="Rules for one solve; a field left out keeps what the Problem builder decided.")
class SolvePolicyInput:
    max_members: int | None = strawberry.field(default=None, description="At most this many members.")
    min_members: int | None = strawberry.field(default=None, description="At least this many members.")
    max_share: float | None = strawberry.field(
        default=None, description="Largest share of the production value one member may take, in (0, 1]."
    )
    pinned: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Factories that must be members."
    )
    excluded: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Factories that must not be members."
    )
    lead_certification: str | None = strawberry.field(
        default=None, description="A certification the lead factory must hold, e.g. `ISO 9001`."
    )
    coordination_cost: int | None = strawberry.field(
        default=None, description="Cost of coordinating each member, in JPY."
    )
    lateness_penalty_per_day: int | None = strawberry.field(
        default=None, description="JPY per line per day late; makes due dates soft."
    )
    cohesion_bonus: int | None = strawberry.field(
        default=None, description="JPY credited per unit of collaboration weight between two members."
    )

    def to_service(self) -> PolicyOverrides:
        return PolicyOverrides(
            max_members=self.max_members,
            min_members=self.min_members,
            max_share=self.max_share,
            pinned=tuple(str(p) for p in self.pinned) if self.pinned is not None else None,
            excluded=tuple(str(p) for p in self.excluded) if self.excluded is not None else None,
            lead_certification=self.lead_certification,
            coordination_cost=self.coordination_cost,
            lateness_penalty_per_day=self.lateness_penalty_per_day,
            cohesion_bonus=self.cohesion_bonus,
        )


@strawberry.input(description="A request for consortium proposals for one RFQ: queues a solve job.")
class ProposalsRequestInput:
    rfq_id: strawberry.ID = strawberry.field(description="The RFQ to find consortia for.")
    presets: list[SolvePreset] = strawberry.field(
        default_factory=lambda: [SolvePreset.CHEAPEST],
        description="What to optimise for, one solution each, in this order (1 to 4, default cheapest).",
    )
    alternatives: int = strawberry.field(
        default=0, description="Further consortia with different members for the first preset (0 to 5)."
    )
    time_limit_s: int = strawberry.field(
        default=30, description="Solver time for the whole job, in seconds (1 to 3600)."
    )
    firm_only: bool = strawberry.field(default=False, description="Leave estimated offers out.")
    policy: SolvePolicyInput | None = strawberry.field(default=None, description="Rules for this solve.")
    problem: JSON | None = strawberry.field(
        default=None,
        description="A Problem JSON (`machikoba.problem/1`, docs/solver-format.md) to solve instead of "
        "the one built from the RFQ; for tests and tools, until the server builds Problems itself.",
    )

    def to_service(self) -> SolveRequest:
        return SolveRequest(
            presets=tuple(str(p.value) for p in self.presets),
            alternatives=self.alternatives,
            time_limit_s=self.time_limit_s,
            firm_only=self.firm_only,
            policy=self.policy.to_service() if self.policy is not None else PolicyOverrides(),
            problem=self.problem if isinstance(self.problem, dict) else None,
        )


@strawberry.type(description="Result of requesting proposals.")
class ProposalsRequestPayload:
    job: SolveJob | None = strawberry.field(description="The queued solve job; null on error.")
    errors: list[Error] = strawberry.field(description="Every problem with the input; empty on success.")


@strawberry.type(description="Result of cancelling a solve job.")
class JobCancelPayload:
    job: SolveJob | None = strawberry.field(
        description="The job: cancelled, or (when it was running) with `cancelRequested` until its worker "
        "stops; null on error."
    )
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type
class JobsMutation:
    @strawberry.mutation(
        description="Request consortium proposals for an RFQ: queues a solve job and returns it at once; "
        "follow it with `job` or `solveProgress`. Coordinators only.",
        permission_classes=[CoordinatorOnly],
    )
    async def proposals_request(
        self,
        info: Info,
        input: Annotated[ProposalsRequestInput, strawberry.argument(description="What to solve.")],
    ) -> ProposalsRequestPayload:
        try:
            rfq_id = parse_id(input.rfq_id, kind="RFQ")
        except NotFound as missing:
            # Reported like an RFQ that does not exist: in the payload, on its field.
            return ProposalsRequestPayload(
                job=None, errors=[Error(field="rfqId", code=ErrorCode.NOT_FOUND, message=missing.message)]
            )
        if input.problem is not None and not isinstance(input.problem, dict):
            return ProposalsRequestPayload(
                job=None,
                errors=[
                    Error(field="problem", code=ErrorCode.INVALID, message="problem must be a JSON object.")
                ],
            )
        row, errors = await attempt(
            service.request_solve(
                info.context.pool, info.context.principal, rfq_id=rfq_id, request=input.to_service()
            )
        )
        return ProposalsRequestPayload(job=SolveJob.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Cancel a solve job: a queued one at once, a running one as soon as its worker "
        "notices (within about a second). A finished job is INVALID_STATE; an unknown id NOT_FOUND. "
        "Coordinators only.",
        permission_classes=[CoordinatorOnly],
    )
    async def job_cancel(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The job's id.")]
    ) -> JobCancelPayload:
        job_id = parse_id(id, kind="job")
        row, errors = await attempt(
            service.cancel_job(info.context.pool, info.context.principal, job_id=job_id)
        )
        return JobCancelPayload(job=SolveJob.from_row(row) if row else None, errors=errors)
