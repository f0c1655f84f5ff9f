"""GraphQL types of solve jobs: the job, its request, its latest progress and the solutions it stored."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.ids import to_id
from schema.jobs.loaders import solutions_by_job_id
from server.jobs import repo


@strawberry.enum(description="Where a solve job stands.")
class SolveJobStatus(enum.Enum):
    QUEUED = strawberry.enum_value(
        "queued", description="Waiting for a worker (again, after a worker stopped)."
    )
    RUNNING = strawberry.enum_value("running", description="A worker is solving it; `progress` moves.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="Solved; its results are stored.")
    FAILED = strawberry.enum_value("failed", description="Could not be solved; `error` says why.")
    CANCELLED = strawberry.enum_value("cancelled", description="Cancelled by a coordinator.")


@strawberry.enum(description="What a consortium is optimised for.")
class SolvePreset(enum.Enum):
    CHEAPEST = strawberry.enum_value("cheapest", description="Lowest total cost.")
    FASTEST = strawberry.enum_value(
        "fastest", description="Earliest completion, then lowest cost at that completion."
    )
    FEWEST_MEMBERS = strawberry.enum_value(
        "fewest_members", description="Fewest member factories, then lowest cost."
    )
    BALANCED = strawberry.enum_value(
        "balanced", description="Cost with small charges per day of completion and per member."
    )


@strawberry.type(description="The latest improving solution found by a running (or finished) solve.")
class SolveProgress:
    objective: float = strawberry.field(description="Objective of the best solution so far (JPY-based).")
    bound: float = strawberry.field(description="Best proven bound on the objective.")
    gap: float = strawberry.field(description="Relative gap between objective and bound (0 = optimal).")
    elapsed_s: float = strawberry.field(description="Seconds since the solve of this job started.")
    preset: str = strawberry.field(description="The preset being solved (`cheapest`, `fastest` …).")
    phase: str = strawberry.field(description="The solver's phase within the preset (e.g. `cost`).")


@strawberry.type(description="What the coordinator asked for.")
class SolveJobRequest:
    presets: list[SolvePreset] = strawberry.field(description="Presets solved, in this order.")
    alternatives: int = strawberry.field(
        description="Further consortia with different members, for the first preset."
    )
    time_limit_s: int = strawberry.field(description="Solver time for the whole job, in seconds.")
    firm_only: bool = strawberry.field(description="Whether estimated offers were left out.")


@strawberry.type(description="One solution a finished job stored, as the solver wrote it.")
class SolveSolution:
    rank: int = strawberry.field(
        description="1, 2 … in the order of the presets asked for, then the first preset's alternatives."
    )
    preset: SolvePreset = strawberry.field(description="The preset it was solved for.")
    status: str = strawberry.field(description="`optimal`, `feasible`, `infeasible` or `unknown`.")
    objective: float | None = strawberry.field(description="The preset's objective; null when none found.")
    members: list[str] = strawberry.field(description="Factory ids of the consortium's members.")
    solution: JSON = strawberry.field(
        description="The whole solution (`machikoba.solution/1`, docs/solver-format.md): assignments, "
        "costs, completion, and the explanation when infeasible."
    )

    @classmethod
    def from_row(cls, row: repo.StoredSolution) -> SolveSolution:
        data: dict[str, Any] = row.solution
        return cls(
            rank=row.rank,
            preset=SolvePreset(row.preset),
            status=str(data.get("status")),
            objective=data.get("objective"),
            members=list(data.get("members") or []),
            solution=cast(JSON, data),
        )


@strawberry.type(
    description="A solve of an RFQ's consortia: queued, run by a worker, and finished. Coordinators only."
)
class SolveJob:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    rfq_id: strawberry.ID = strawberry.field(description="The RFQ being solved.")
    status: SolveJobStatus = strawberry.field(description="Where the job stands.")
    request: SolveJobRequest = strawberry.field(description="What was asked for.")
    progress: SolveProgress | None = strawberry.field(
        description="The latest improving solution; null before the first one."
    )
    error: str | None = strawberry.field(
        description="Why the job failed (or why its last attempt did, when it is queued again); else null."
    )
    attempts: int = strawberry.field(
        description="How many times a worker started it (a worker that stopped mid-solve is replaced)."
    )
    version: int = strawberry.field(
        description="Increases with every change: a client keeps the state with the highest version."
    )
    cancel_requested: bool = strawberry.field(
        description="A coordinator cancelled the running job; the worker is stopping it."
    )
    created_at: dt.datetime = strawberry.field(description="When it was requested (UTC).")
    started_at: dt.datetime | None = strawberry.field(description="When its latest attempt started (UTC).")
    finished_at: dt.datetime | None = strawberry.field(description="When it finished (UTC).")
    job_id: strawberry.Private[UUID]

    @classmethod
    def from_row(cls, row: repo.SolveJob) -> SolveJob:
        request = row.request
        progress = (
            SolveProgress(
                objective=row.objective,
                bound=row.bound if row.bound is not None else row.objective,
                gap=row.gap if row.gap is not None else 0.0,
                elapsed_s=row.elapsed_s or 0.0,
                preset=row.preset or "",
                phase=row.phase or "",
            )
            if row.objective is not None
            else None
        )
        return cls(
            id=to_id(row.id),
            rfq_id=to_id(row.rfq_id),
            status=SolveJobStatus(row.status),
            request=SolveJobRequest(
                presets=[SolvePreset(p) for p in request["presets"]],
                alternatives=request["alternatives"],
                time_limit_s=request["timeLimitS"],
                firm_only=request["firmOnly"],
            ),
            progress=progress,
            error=row.error,
            attempts=row.attempts,
            version=row.version,
            cancel_requested=row.cancel_requested_at is not None,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            job_id=row.id,
        )

    @strawberry.field(
        description="The solutions the job stored, best first per preset; empty until it succeeded. "
        "(Proposals built from them come with the proposals domain.)"
    )
    async def solutions(self, info: Info) -> list[SolveSolution]:
        rows = await info.context.loader(solutions_by_job_id).load(self.job_id)
        return [SolveSolution.from_row(r) for r in rows]
