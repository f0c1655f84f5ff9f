"""Solve job queries: one job by id."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.ids import parse_id, parse_optional_id
from schema.jobs.types import SolveJob
from schema.permissions import CoordinatorOnly
from server.jobs import service


@strawberry.type
class JobsQuery:
    @strawberry.field(
        description="One solve job: status, latest progress, error and results. Coordinators only; an "
        "unknown id, or a job of another RFQ than `rfqId`, is a NOT_FOUND error.",
        permission_classes=[CoordinatorOnly],
    )
    async def job(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The job's id.")],
        rfq_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="When given, the job must belong to this RFQ."),
        ] = None,
    ) -> SolveJob:
        row = await service.get_job(
            info.context.pool,
            info.context.principal,
            job_id=parse_id(id, kind="job"),
            rfq_id=parse_optional_id(rfq_id, kind="job"),
        )
        return SolveJob.from_row(row)
