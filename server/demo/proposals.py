"""Demo stage: one RFQ with proposals to review, solved while the demo is seeded.

The solve runs here, synchronously, through the same pieces as a solve job (the Problem builder, the solver
under a deterministic limit so the demo is the same on every machine, and the proposal store), and is
recorded as a finished job of the demo coordinator. The demo's first RFQ is left with bids only, ready for a
coordinator to solve over the API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from uuid import UUID

from server.db import Pool, transaction
from server.jobs import plugins
from server.jobs import repo as jobs_repo
from server.proposals.problem_builder import build_problem
from server.proposals.service import store_job_proposals
from solver import problem_to_json, solve

# Deterministic work units of CP-SAT: the same answer on a fast or a slow machine.
DEMO_DETERMINISTIC_TIME_S = 5.0
DEMO_TIME_LIMIT_S = 120.0


async def seed_demo_proposals(
    pool: Pool, *, rfq_title: str, coordinator_id: UUID, today: dt.date, report: Callable[[str], None]
) -> str | None:
    """Solve the RFQ titled ``rfq_title`` (cheapest) unless it has proposals; what was done, or None."""
    async with pool.acquire() as conn:
        rfq_id: UUID | None = await conn.fetchval(
            "SELECT id FROM rfqs WHERE title = $1 AND status = 'open' ORDER BY created_at LIMIT 1", rfq_title
        )
        if rfq_id is None or await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM proposals WHERE rfq_id = $1)", rfq_id
        ):
            return None
        request = plugins.SolveRequest(presets=("cheapest",), time_limit_s=int(DEMO_TIME_LIMIT_S))
        try:
            problem = await build_problem(conn, rfq_id, request, today=today)
        except plugins.JobInputError as refused:
            report(f"not solving {rfq_title!r}: {refused}")
            return None
    report(f"solving {rfq_title!r} for the demo's proposals ({len(problem.packages)} packages)")
    solution = await asyncio.to_thread(
        solve, problem, time_limit_s=DEMO_TIME_LIMIT_S, deterministic_time_s=DEMO_DETERMINISTIC_TIME_S
    )
    async with transaction(pool) as conn:
        job = await jobs_repo.insert_job(
            conn, rfq_id=rfq_id, requested_by=coordinator_id, request=request.to_json()
        )
        await jobs_repo.save_problem(conn, job_id=job.id, problem_json=json.dumps(problem_to_json(problem)))
        await store_job_proposals(
            conn, job.id, [plugins.JobSolution(rank=1, preset="cheapest", solution=solution)]
        )
        await jobs_repo.finish(conn, job_id=job.id, status="succeeded")
    return f"one proposal ({solution.status}) for {rfq_title!r}"


__all__ = ["seed_demo_proposals"]
