"""Solve job subscriptions (graphql-transport-ws): a job's progress, live, across processes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from schema.context import Info
from schema.ids import parse_id, parse_optional_id
from schema.jobs.types import SolveJob
from schema.permissions import CoordinatorOnly
from server.jobs import events


@strawberry.type
class JobsSubscription:
    @strawberry.subscription(
        description="A solve job as it changes: first its latest state (so a late subscriber starts where "
        "the job is), then every improving solution and status change, ending with its final status. "
        "Authorised like `job`.",
        permission_classes=[CoordinatorOnly],
    )
    async def solve_progress(
        self,
        info: Info,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The job's id.")],
        rfq_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="When given, the job must belong to this RFQ."),
        ] = None,
    ) -> AsyncGenerator[SolveJob, None]:
        stream = events.watch_job(
            info.context.pool,
            info.context.principal,
            job_id=parse_id(job_id, kind="job"),
            rfq_id=parse_optional_id(rfq_id, kind="job"),
        )
        async for row in stream:
            yield SolveJob.from_row(row)
