"""Solve jobs as a coordinator sees them: request a solve, read a job, cancel it.

A request writes the ``solve_jobs`` row and pgqueuer's queue row in one transaction: a crash between the
two leaves neither. Workers (:mod:`server.jobs.worker`) do the rest.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import get_args
from uuid import UUID

from server.auth.principal import Principal
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, FieldError, NotFound, ValidationFailed, fail
from server.jobs import queue, repo, rules
from server.jobs.plugins import PolicyOverrides, SolveRequest, apply_request
from server.rfqs import repo as rfqs_repo
from server.rfqs import rules as rfqs_rules
from server.validation import Errors, check_range, check_storable
from solver import ProblemError, problem_from_json
from solver.problem import Preset

PRESETS: tuple[str, ...] = get_args(Preset)
MAX_ALTERNATIVES = 5
MIN_TIME_LIMIT_S = 1
MAX_TIME_LIMIT_S = 3600
MAX_MEMBERS = 1000
MAX_FACTORY_IDS = 1000
MAX_MONEY = 10**12
"""Largest JPY amount a policy may name (coordination cost, lateness penalty, cohesion bonus)."""


def _clean_policy(errors: Errors, policy: PolicyOverrides) -> None:
    check_range(errors, "policy.maxMembers", policy.max_members, low=1, high=MAX_MEMBERS)
    check_range(errors, "policy.minMembers", policy.min_members, low=1, high=MAX_MEMBERS)
    if (
        policy.min_members is not None
        and policy.max_members is not None
        and 1 <= policy.min_members <= MAX_MEMBERS
        and 1 <= policy.max_members <= MAX_MEMBERS
        and policy.min_members > policy.max_members
    ):
        errors.add("policy.minMembers", ErrorCode.INVALID, "policy.minMembers exceeds policy.maxMembers.")
    if policy.max_share is not None and not (math.isfinite(policy.max_share) and 0 < policy.max_share <= 1):
        errors.add(
            "policy.maxShare", ErrorCode.OUT_OF_RANGE, "policy.maxShare must be above 0 and at most 1."
        )
    for name, value in (
        ("coordinationCost", policy.coordination_cost),
        ("latenessPenaltyPerDay", policy.lateness_penalty_per_day),
        ("cohesionBonus", policy.cohesion_bonus),
    ):
        check_range(errors, f"policy.{name}", value, low=0, high=MAX_MONEY)
    for name, ids in (("pinned", policy.pinned), ("excluded", policy.excluded)):
        if ids is not None and len(ids) > MAX_FACTORY_IDS:
            errors.add(
                f"policy.{name}",
                ErrorCode.OUT_OF_RANGE,
                f"policy.{name} names at most {MAX_FACTORY_IDS} factories.",
            )
        for i, factory in enumerate(ids or ()):
            check_storable(errors, f"policy.{name}.{i}", factory)
    both = set(policy.pinned or ()) & set(policy.excluded or ())
    if both:
        errors.add(
            "policy.excluded",
            ErrorCode.INVALID,
            f"A factory cannot be both pinned and excluded: {', '.join(sorted(both))}.",
        )
    if policy.lead_certification is not None:
        check_storable(errors, "policy.leadCertification", policy.lead_certification)


def _check_problem(errors: Errors, request: SolveRequest) -> None:
    assert request.problem is not None
    try:
        apply_request(problem_from_json(request.problem), request)
    except ProblemError as exc:
        errors.add(f"problem.{exc.field}" if exc.field else "problem", ErrorCode.INVALID, exc.message)


def clean_request(errors: Errors, request: SolveRequest) -> SolveRequest:
    """``request`` with duplicate presets dropped; every problem with it is added to ``errors``."""
    presets: list[str] = []
    if not request.presets:
        errors.add("presets", ErrorCode.REQUIRED, "Ask for at least one preset.")
    for i, preset in enumerate(request.presets):
        if preset not in PRESETS:
            errors.add(f"presets.{i}", ErrorCode.INVALID, f"Use one of: {', '.join(PRESETS)}.")
        elif preset not in presets:
            presets.append(preset)
    check_range(errors, "alternatives", request.alternatives, low=0, high=MAX_ALTERNATIVES)
    check_range(errors, "timeLimitS", request.time_limit_s, low=MIN_TIME_LIMIT_S, high=MAX_TIME_LIMIT_S)
    _clean_policy(errors, request.policy)
    return SolveRequest(
        presets=tuple(presets),
        alternatives=request.alternatives,
        time_limit_s=request.time_limit_s,
        firm_only=request.firm_only,
        policy=request.policy,
        problem=request.problem,
    )


async def request_solve(
    pool: Pool,
    principal: Principal,
    *,
    rfq_id: UUID,
    request: SolveRequest,
    in_same_transaction: Callable[[Connection, repo.SolveJob], Awaitable[None]] | None = None,
) -> repo.SolveJob:
    """Queue a solve of the RFQ's consortia; the job is ``queued`` when this returns.

    Coordinators only. A missing RFQ (or one the caller may not see) is a NOT_FOUND payload error on
    ``rfqId``; a cancelled RFQ is INVALID_STATE; bad numbers are errors on their fields. The job row and its
    queue row are written in one transaction.
    """
    principal.require_role(*rules.SOLVING_ROLES)
    assert principal.user_id is not None
    errors = Errors()
    cleaned = clean_request(errors, request)
    if cleaned.problem is not None and not errors:
        # A Problem given with the request must be solvable as given (parsed in a thread: it may be large).
        await asyncio.to_thread(_check_problem, errors, cleaned)
    # A Problem given with the request is stored beside it (it may be megabytes): encoded in a thread.
    problem_json = (
        await asyncio.to_thread(json.dumps, cleaned.problem) if cleaned.problem is not None else None
    )
    async with transaction(pool) as conn:
        rfq = await rfqs_repo.visible_rfq(conn, rfq_id=rfq_id, scope=rfqs_rules.visible_rfqs(principal))
        if rfq is None:
            errors.insert(0, FieldError("rfqId", ErrorCode.NOT_FOUND, "No such RFQ."))
        elif rfq.status == "cancelled":
            errors.insert(0, FieldError("rfqId", ErrorCode.INVALID_STATE, "This RFQ is cancelled."))
        if errors:
            raise ValidationFailed(errors)
        job = await repo.insert_job(
            conn,
            rfq_id=rfq_id,
            requested_by=principal.user_id,
            request=cleaned.to_json(),
            problem_json=problem_json,
        )
        if in_same_transaction is not None:
            # What the caller records with the job (a revision's lineage) commits with it, or neither does.
            await in_same_transaction(conn, job)
        queue_job_id = await queue.enqueue(conn, job_id=job.id)
        await repo.set_queue_job_id(conn, job_id=job.id, queue_job_id=queue_job_id)
        return job


async def _visible_job(conn: Connection, principal: Principal, job_id: UUID, *, lock: bool) -> repo.SolveJob:
    job = await (repo.job_for_update if lock else repo.job_by_id)(conn, job_id=job_id)
    if job is None or not rules.may_see_job(principal, job):
        raise NotFound("No such job.")
    return job


async def get_job(
    pool: Pool, principal: Principal, *, job_id: UUID, rfq_id: UUID | None = None
) -> repo.SolveJob:
    """One job the caller may see; with ``rfq_id``, only when it belongs to that RFQ. NOT_FOUND otherwise."""
    principal.require_role(*rules.SOLVING_ROLES)
    async with pool.acquire() as conn:
        job = await _visible_job(conn, principal, job_id, lock=False)
    if rfq_id is not None and job.rfq_id != rfq_id:
        raise NotFound("No such job.")
    return job


async def cancel_job(pool: Pool, principal: Principal, *, job_id: UUID) -> repo.SolveJob:
    """Cancel a job: a queued one at once (and its queue row goes); a running one is marked for the worker,
    which stops the solve at its next poll and sets ``cancelled``. A finished job is INVALID_STATE."""
    principal.require_role(*rules.SOLVING_ROLES)
    async with transaction(pool) as conn:
        job = await _visible_job(conn, principal, job_id, lock=True)
        if not rules.may_cancel_job(principal, job):
            raise NotFound("No such job.")
        if job.is_finished:
            raise fail(None, ErrorCode.INVALID_STATE, f"This job has finished already; it {job.status}.")
        if job.status == "queued":
            if job.queue_job_id is not None:
                await queue.cancel(conn, queue_job_id=job.queue_job_id)
            return await repo.finish(conn, job_id=job.id, status="cancelled", error=None)
        return await repo.request_cancel(conn, job_id=job.id)


__all__ = ["PRESETS", "cancel_job", "clean_request", "get_job", "request_solve"]
