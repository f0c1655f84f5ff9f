"""Consortium proposals: stored from a solve job's solutions, reviewed by coordinators.

- :func:`store_job_proposals` is the solve jobs' result store (:mod:`server.jobs.plugins`): it turns each
  solution of a finished job into a proposal, keyed on (job, preset, rank) so a retried job stores nothing
  twice. A job that revises a proposal (:func:`revise_proposal`) stores the next version of its lineage,
  with a diff against it.
- :func:`approve_proposal` (with the version the coordinator looked at), :func:`reject_proposal`.
- Buyers and factory owners never see proposals: every function here is for coordinators.

An infeasible result is a proposal too, with the solver's explanation: the RFQ stays where it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from server.auth.principal import Principal, Role
from server.clock import JST, end_of_day_jst, iso_week_label
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, NotFound, ValidationFailed, fail
from server.invitations.invite import invite_members
from server.invitations.working_days import default_answer_day
from server.jobs import plugins
from server.jobs import repo as jobs_repo
from server.jobs import service as jobs_service
from server.proposals import repo
from server.proposals.diff import diff
from server.rfqs import events, lifecycle
from server.rfqs import repo as rfqs_repo
from server.settings import Settings
from server.validation import Errors, clean_text
from solver import Problem, problem_from_json, problem_to_json, solution_from_json, solution_to_json

log = logging.getLogger(__name__)

DEFAULT_PRICE_TOLERANCE_PCT = Settings.price_tolerance_pct


# --- storing a job's answers -----------------------------------------------------------------------------


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _proposal_of(
    problem: Problem, problem_json: dict[str, Any], job_solution: plugins.JobSolution
) -> repo.NewProposal | None:
    """A solver answer as a proposal; None when the Problem's ids are not this database's (an inline
    Problem given for a test or from the CLI names its own factories: there is nothing to link to)."""
    solution = job_solution.solution
    factory_ids = {f.id: _uuid(f.id) for f in problem.factories}
    package_ids = {p.id: _uuid(p.id) for p in problem.packages}
    if None in factory_ids.values() or None in package_ids.values():
        return None
    firm = {(o.factory, o.package): o.firm for o in problem.offers}
    unit_price = {(o.factory, o.package): o.unit_price for o in problem.offers}
    origin = problem.origin
    assignments = []
    value_total = value_firm = 0
    for a in solution.assignments:
        is_firm = firm.get((a.factory, a.package), True)
        value = unit_price.get((a.factory, a.package), 0) * a.quantity
        value_total += value
        value_firm += value if is_firm else 0
        factory_id, package_id = factory_ids[a.factory], package_ids[a.package]
        assert factory_id is not None
        assert package_id is not None
        assignments.append(
            repo.NewAssignment(
                factory_id=factory_id,
                package_id=package_id,
                quantity=a.quantity,
                start_date=origin + dt.timedelta(days=a.start_day),
                end_date=origin + dt.timedelta(days=a.end_day),
                weekly_hours=[
                    {"week": iso_week_label(origin + dt.timedelta(weeks=week)), "hours": round(hours, 3)}
                    for week, hours in a.hours
                ],
                estimated=not is_firm,
            )
        )
    members = [factory_ids[m] for m in solution.members]
    lead = factory_ids.get(solution.lead) if solution.lead else None
    return repo.NewProposal(
        preset=job_solution.preset,
        rank=job_solution.rank,
        solver_status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        gap=solution.gap,
        total_cost_jpy=solution.costs.total if solution.costs is not None else None,
        members=[m for m in members if m is not None],
        lead_factory_id=lead,
        firm_share=(value_firm / value_total) if value_total else None,
        problem=problem_json,
        solution=solution_to_json(solution),
        diff=None,
        estimated_pairs=sorted(
            [a.factory, a.package] for a in solution.assignments if not firm.get((a.factory, a.package), True)
        ),
        assignments=assignments,
    )


async def store_job_proposals(
    conn: Connection, job_id: UUID, solutions: Sequence[plugins.JobSolution]
) -> None:
    """The solve jobs' result store: the raw solutions (``SolveJob.solutions``) and one proposal each."""
    await plugins.store_solutions(conn, job_id, solutions)
    job = await jobs_repo.job_by_id(conn, job_id=job_id)
    problem_json = await jobs_repo.solved_problem(conn, job_id=job_id)
    if job is None or problem_json is None:
        return
    problem = problem_from_json(problem_json)
    parent_id: UUID | None = await conn.fetchval(
        "SELECT parent_proposal_id FROM proposal_revisions WHERE job_id = $1", job_id
    )
    parent = await repo.proposal_by_id(conn, proposal_id=parent_id) if parent_id else None
    proposals = []
    for job_solution in solutions:
        proposal = _proposal_of(problem, problem_json, job_solution)
        if proposal is None:
            log.info("solve job %s solved a Problem of its own ids: no proposals stored", job_id)
            return
        if parent is not None:
            change = diff(solution_from_json(parent.solution), job_solution.solution)
            proposal = dataclasses.replace(proposal, diff=change.to_json())
        proposals.append(proposal)
    await repo.insert_proposals(conn, rfq_id=job.rfq_id, job_id=job_id, parent=parent, proposals=proposals)


# --- reading -------------------------------------------------------------------------------------------


async def proposals_of_rfq(
    pool: Pool, principal: Principal, *, rfq_id: UUID, with_problem: bool = True
) -> list[repo.Proposal]:
    """An RFQ's proposals, oldest first, for side-by-side comparison. Coordinators only. ``with_problem``:
    see :func:`server.proposals.repo.proposals_of_rfq`."""
    principal.require_role(Role.COORDINATOR)
    async with pool.acquire() as conn:
        if not await rfqs_repo.rfqs_by_ids(conn, ids=[rfq_id]):
            raise NotFound("No such RFQ.")
        return await repo.proposals_of_rfq(conn, rfq_id=rfq_id, with_problem=with_problem)


async def get_proposal(pool: Pool, principal: Principal, *, proposal_id: UUID) -> repo.Proposal:
    principal.require_role(Role.COORDINATOR)
    async with pool.acquire() as conn:
        proposal = await repo.proposal_by_id(conn, proposal_id=proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


# --- review --------------------------------------------------------------------------------------------


async def _proposal_for_review(conn: Connection, proposal_id: UUID) -> tuple[repo.Proposal, rfqs_repo.Rfq]:
    """The proposal and its RFQ, the RFQ locked first: reviews of one RFQ's proposals run one at a time."""
    proposal = await repo.proposal_by_id(conn, proposal_id=proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    rfq = await rfqs_repo.rfq_for_update(conn, rfq_id=proposal.rfq_id)
    assert rfq is not None  # a foreign key
    locked = await repo.proposal_by_id(conn, proposal_id=proposal_id, for_update=True)
    assert locked is not None
    return locked, rfq


async def approve_proposal(
    pool: Pool,
    principal: Principal,
    *,
    proposal_id: UUID,
    expected_version: int,
    now: dt.datetime,
    answer_by: dt.date | None = None,
    price_tolerance_pct: float = DEFAULT_PRICE_TOLERANCE_PCT,
) -> repo.Proposal:
    """Approve the version the coordinator looked at; the RFQ becomes ``proposed`` and each member is invited
    to its share (:func:`server.invitations.invite.invite_members`), to answer by the end of ``answer_by``
    (JST; default: 3 working days from today).

    On a ``proposed`` RFQ only a repair of its approved proposal (:mod:`server.invitations.repair`) can be
    approved: it replaces
    that one (which becomes ``superseded``), and only new or changed shares are invited again.

    CONFLICT when the proposal changed since (``expectedVersion`` is stale) or another proposal of the RFQ
    was approved first: of concurrent approvals exactly one wins. INVALID_STATE for a proposal that is not
    a draft, or that has no consortium (infeasible). DATE_IN_PAST for an ``answerBy`` before today.
    """
    principal.require_role(Role.COORDINATOR)
    assert principal.user_id is not None
    today = now.astimezone(JST).date()
    if answer_by is not None and answer_by < today:
        raise fail("answerBy", ErrorCode.DATE_IN_PAST, "answerBy lies before today (JST).")
    answer_until = end_of_day_jst(answer_by or default_answer_day(today))
    async with transaction(pool) as conn:
        proposal, rfq = await _proposal_for_review(conn, proposal_id)
        if proposal.row_version != expected_version:
            raise fail(
                "expectedVersion",
                ErrorCode.CONFLICT,
                f"The proposal changed since you loaded it (version {proposal.row_version}); reload it.",
            )
        if proposal.review_state != "draft":
            raise fail(None, ErrorCode.INVALID_STATE, f"This proposal is {proposal.review_state} already.")
        if proposal.solver_status not in ("optimal", "feasible"):
            raise fail(None, ErrorCode.INVALID_STATE, "This proposal has no consortium to approve.")
        previous: repo.Proposal | None = None
        if rfq.status == lifecycle.RfqStatus.PROPOSED.value:
            previous = await repo.approved_proposal_of(conn, rfq_id=rfq.id, for_update=True)
            # Only a repair of the approved proposal replaces it (a draft revised before the approval lost).
            is_repair = await conn.fetchval(
                "SELECT changes ? 'repair' FROM proposal_revisions WHERE job_id = $1", proposal.job_id
            )
            if previous is None or proposal.parent_id != previous.id or not is_repair:
                raise fail(
                    None,
                    ErrorCode.CONFLICT,
                    "The RFQ is proposed: only a repair of its approved proposal can replace it.",
                )
        elif rfq.status not in (lifecycle.RfqStatus.OPEN.value, lifecycle.RfqStatus.BIDDING_CLOSED.value):
            raise fail(
                None,
                ErrorCode.CONFLICT,
                f"The RFQ is {rfq.status}: another proposal was approved first, or it was withdrawn.",
            )
        if previous is not None:
            await repo.set_review(
                conn,
                proposal_id=previous.id,
                state="superseded",
                user_id=principal.user_id,
                now=now,
                note=f"replaced by version {proposal.version} ({proposal_id})",
            )
        try:
            await repo.set_review(
                conn, proposal_id=proposal_id, state="approved", user_id=principal.user_id, now=now
            )
        except asyncpg.UniqueViolationError:
            raise fail(None, ErrorCode.CONFLICT, "Another proposal of this RFQ was approved first.") from None
        if previous is None:
            await lifecycle.transition(
                conn, principal, rfq=rfq, to=lifecycle.RfqStatus.PROPOSED, reason=f"proposal {proposal_id}"
            )
        payload: dict[str, Any] = {"proposal": str(proposal_id), "version": proposal.version}
        if previous is not None:
            payload["replaces"] = str(previous.id)
        await events.record(
            conn, principal, rfq_id=rfq.id, kind=events.EventKind.PROPOSAL_APPROVED, payload=payload
        )
        approved = await repo.proposal_by_id(conn, proposal_id=proposal_id)
        assert approved is not None
        await invite_members(
            conn,
            principal,
            proposal=approved,
            previous=previous,
            answer_by=answer_until,
            now=now,
            price_tolerance_pct=price_tolerance_pct,
        )
        invited = await repo.proposal_by_id(conn, proposal_id=proposal_id)
        assert invited is not None
        return invited


async def reject_proposal(
    pool: Pool, principal: Principal, *, proposal_id: UUID, reason: str, now: dt.datetime
) -> repo.Proposal:
    """Set a draft proposal aside, with the reason. Coordinators only."""
    principal.require_role(Role.COORDINATOR)
    assert principal.user_id is not None
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=2000)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        proposal, rfq = await _proposal_for_review(conn, proposal_id)
        if proposal.review_state != "draft":
            raise fail(None, ErrorCode.INVALID_STATE, f"This proposal is {proposal.review_state} already.")
        rejected = await repo.set_review(
            conn, proposal_id=proposal_id, state="rejected", user_id=principal.user_id, now=now, note=reason
        )
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.PROPOSAL_REJECTED,
            payload={"proposal": str(proposal_id), "reason": reason},
        )
        return rejected


# --- revision ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Revision:
    """What a coordinator changes for the next version: pins, exclusions, policy, due date, quantities."""

    pinned: tuple[UUID, ...] = ()
    excluded: tuple[UUID, ...] = ()
    policy: plugins.PolicyOverrides = dataclasses.field(default_factory=plugins.PolicyOverrides)
    due_date: dt.date | None = None
    quantities: tuple[tuple[UUID, int], ...] = ()  # (package, quantity)
    time_limit_s: int = 30

    def to_json(self) -> dict[str, Any]:
        return {
            "pinned": [str(f) for f in self.pinned],
            "excluded": [str(f) for f in self.excluded],
            "policy": self.policy.to_json(),
            "dueDate": self.due_date.isoformat() if self.due_date else None,
            "quantities": [{"package": str(p), "quantity": q} for p, q in self.quantities],
        }


def _revised_problem(errors: Errors, problem: Problem, revision: Revision) -> dict[str, Any]:
    """The parent's Problem with the revision applied, as JSON; problems with the revision go to errors."""
    data = problem_to_json(problem)
    factories = {f["id"] for f in data["factories"]}
    for field_name, ids in (("pinned", revision.pinned), ("excluded", revision.excluded)):
        for i, factory in enumerate(ids):
            if str(factory) not in factories:
                errors.add(
                    f"{field_name}.{i}", ErrorCode.NOT_FOUND, "This factory is not among the candidates."
                )
    if set(revision.pinned) & set(revision.excluded):
        errors.add("excluded", ErrorCode.INVALID, "A factory cannot be pinned and excluded at once.")
    policy = data["policy"]
    policy["pinned"] = sorted(set(policy.get("pinned", [])) | {str(f) for f in revision.pinned})
    policy["excluded"] = sorted(set(policy.get("excluded", [])) | {str(f) for f in revision.excluded})
    packages = {p["id"]: p for p in data["packages"]}
    for i, (package, quantity) in enumerate(revision.quantities):
        if str(package) not in packages:
            errors.add(f"quantities.{i}.packageId", ErrorCode.NOT_FOUND, "No such work package in this RFQ.")
        elif not 1 <= quantity <= 100_000_000:
            errors.add(f"quantities.{i}.quantity", ErrorCode.OUT_OF_RANGE, "quantity must be 1 to 100000000.")
        else:
            packages[str(package)]["quantity"] = quantity
            packages[str(package)]["min_lot"] = min(packages[str(package)].get("min_lot", 1), quantity)
    if revision.due_date is not None:
        if revision.due_date < problem.origin:
            errors.add("dueDate", ErrorCode.DATE_IN_PAST, "dueDate lies before the solve's first day.")
        for p in data["packages"]:
            if p.get("due") is not None:
                p["due"] = revision.due_date.isoformat()
    for key, value in revision.policy.to_json().items():
        if key not in ("pinned", "excluded"):  # merged above, with the revision's own lists
            policy[key] = value
    return data


async def revise_proposal(
    pool: Pool, principal: Principal, *, proposal_id: UUID, revision: Revision
) -> jobs_repo.SolveJob:
    """Solve the proposal's Problem again with the coordinator's changes; the job's proposal is the next
    version of the lineage, with a diff against this one. Returns the queued job."""
    principal.require_role(Role.COORDINATOR)
    async with pool.acquire() as conn:
        parent = await repo.proposal_by_id(conn, proposal_id=proposal_id)
    if parent is None:
        raise NotFound("No such proposal.")
    errors = Errors()
    revised = _revised_problem(errors, problem_from_json(parent.problem), revision)
    if errors:
        raise ValidationFailed(errors)
    request = plugins.SolveRequest(
        presets=(parent.preset,), alternatives=0, time_limit_s=revision.time_limit_s, problem=revised
    )

    async def link(conn: Connection, job: jobs_repo.SolveJob) -> None:
        await conn.execute(
            "INSERT INTO proposal_revisions (job_id, parent_proposal_id, changes) VALUES ($1, $2, $3)",
            job.id,
            parent.id,
            revision.to_json(),
        )
        await events.record(
            conn,
            principal,
            rfq_id=parent.rfq_id,
            kind=events.EventKind.PROPOSAL_REVISED,
            payload={"proposal": str(parent.id), "job": str(job.id), "changes": revision.to_json()},
        )

    return await jobs_service.request_solve(
        pool, principal, rfq_id=parent.rfq_id, request=request, in_same_transaction=link
    )


__all__ = [
    "Revision",
    "approve_proposal",
    "get_proposal",
    "proposals_of_rfq",
    "reject_proposal",
    "revise_proposal",
    "store_job_proposals",
]
