"""Demo stage: an RFQ whose consortium is being invited, with one member that declined and a repair.

:func:`seed_demo_invitations` takes its own RFQ through the real services: bids, a solve (as
:mod:`server.demo.proposals` does it), the coordinator's approval (invitations), the lead's accept, another
member's decline (which queues the repair solve), the repair solved here like a worker would, and the
coordinator's approval of the repaired version: the lead's unchanged share stays accepted, the replacement
and the members who have not answered yet have pending invitations. Each step checks whether it is done, so
a run that stopped half-way is completed by the next.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from server.auth.principal import Principal, Role
from server.clock import JST
from server.db import Connection, Pool, transaction
from server.demo.bids import seed_demo_bids
from server.demo.proposals import DEMO_DETERMINISTIC_TIME_S, DEMO_TIME_LIMIT_S, seed_demo_proposals
from server.invitations import answers
from server.invitations import repo as invitations_repo
from server.jobs import plugins
from server.jobs import repo as jobs_repo
from server.proposals import repo as proposals_repo
from server.proposals import service as proposals_service
from server.rfqs import service as rfq_service
from server.rfqs.service import LineInput, OperationInput, RfqInput
from solver import problem_from_json, solve

INVITATIONS_RFQ_TITLE = "Gearbox housings, anodized, 3,000 pieces"


def invitations_rfq(today: dt.date) -> RfqInput:
    """The RFQ of this stage: large enough for a consortium of several members."""
    op = OperationInput
    return RfqInput(
        title=INVITATIONS_RFQ_TITLE,
        description="Housings for an agricultural gearbox, anodized, every piece measured.",
        incoterm="FOB",
        destination_country="US",
        due_date=today + dt.timedelta(weeks=12),
        bid_deadline=today + dt.timedelta(weeks=1),
        lines=[
            LineInput(
                part_number="GB-310-H",
                name="Gearbox housing",
                material="A7075",
                quantity=3000,
                tolerance_um=Decimal("20"),
                envelope_mm=180,
                required_certifications=["ISO9001"],
                operations=[op("cnc_milling"), op("anodizing"), op("cmm_inspection")],
            )
        ],
    )


async def pending_invitee_email(conn: Connection) -> str | None:
    """The email of the owner of the first invited factory (by English name) of this stage that has a
    pending invitation and a bid: a member caller who sees invitations, bids and offers in the demo."""
    email: str | None = await conn.fetchval(
        """
        SELECT u.email FROM invitations i
        JOIN factories f ON f.id = i.factory_id JOIN users u ON u.id = f.owner_user_id
        JOIN rfqs r ON r.id = i.rfq_id
        WHERE r.title = $1 AND i.status = 'pending'
          AND EXISTS (SELECT 1 FROM bids b WHERE b.factory_id = f.id)
        ORDER BY f.name_en LIMIT 1
        """,
        INVITATIONS_RFQ_TITLE,
    )
    return email


def _noon(today: dt.date) -> dt.datetime:
    """The demo's "now" for its answers: noon of ``today`` in Japan."""
    return dt.datetime.combine(today, dt.time(12), tzinfo=JST)


def _replaceable(proposal: proposals_repo.Proposal, assignments: list[proposals_repo.Assignment]) -> UUID:
    """The member with the most other offerers on its least-offered package: the safest one to decline."""
    offerers: dict[str, set[str]] = {}
    for offer in proposal.problem["offers"]:
        offerers.setdefault(offer["package"], set()).add(offer["factory"])
    packages_of: dict[UUID, set[str]] = {}
    for a in assignments:
        packages_of.setdefault(a.factory_id, set()).add(str(a.package_id))
    candidates = [m for m in proposal.members if m != proposal.lead_factory_id] or list(proposal.members)
    return max(
        candidates,
        key=lambda m: (min(len(offerers[p] - {str(m)}) for p in packages_of[m]), str(m)),
    )


async def _solve_repair(pool: Pool, job: jobs_repo.SolveJob) -> None:
    """Solve a queued repair job here, as a worker would (deterministically), and store its proposal; the
    queue row stays, and the worker that takes it finds the job finished."""
    async with pool.acquire() as conn:
        text = await jobs_repo.problem_text(conn, job_id=job.id)
    assert text is not None  # a repair job carries its Problem
    problem = problem_from_json(json.loads(text))
    request = plugins.SolveRequest.from_json(job.request)
    solution = await asyncio.to_thread(
        solve, problem, time_limit_s=DEMO_TIME_LIMIT_S, deterministic_time_s=DEMO_DETERMINISTIC_TIME_S
    )
    async with transaction(pool) as conn:
        await proposals_service.store_job_proposals(
            conn, job.id, [plugins.JobSolution(rank=1, preset=request.presets[0], solution=solution)]
        )
        await jobs_repo.finish(conn, job_id=job.id, status="succeeded")


async def seed_demo_invitations(
    pool: Pool,
    *,
    buyer: Principal,
    coordinator_id: UUID,
    today: dt.date,
    report: Callable[[str], None],
) -> str | None:
    """Bring this stage's RFQ as far as it goes (see the module docstring); what was done, or None."""
    coordinator = Principal(Role.COORDINATOR, user_id=coordinator_id)
    now = _noon(today)
    async with pool.acquire() as conn:
        rfq_id: UUID | None = await conn.fetchval(
            "SELECT id FROM rfqs WHERE title = $1 ORDER BY created_at LIMIT 1", INVITATIONS_RFQ_TITLE
        )
    if rfq_id is None:
        report(f"submitting the RFQ {INVITATIONS_RFQ_TITLE!r}")
        rfq_id = (await rfq_service.submit_rfq(pool, buyer, invitations_rfq(today), today=today)).id
    await seed_demo_bids(pool, rfq_title=INVITATIONS_RFQ_TITLE, today=today, report=report)
    await seed_demo_proposals(
        pool, rfq_title=INVITATIONS_RFQ_TITLE, coordinator_id=coordinator_id, today=today, report=report
    )
    async with pool.acquire() as conn:
        all_proposals = await proposals_repo.proposals_of_rfq(conn, rfq_id=rfq_id)
        approved = await proposals_repo.approved_proposal_of(conn, rfq_id=rfq_id)
    first = next((p for p in all_proposals if p.version == 1), None)
    if first is None or first.solver_status not in ("optimal", "feasible") or len(first.members) < 2:
        return None  # no consortium to invite (the solve found none): the stage stays at review
    done: list[str] = []
    if approved is None:
        report(f"approving the consortium of {INVITATIONS_RFQ_TITLE!r}: invitations go out")
        approved = await proposals_service.approve_proposal(
            pool, coordinator, proposal_id=first.id, expected_version=first.row_version, now=now
        )
        done.append(f"{len(approved.members)} invitations")
    if approved.version == 1:
        async with pool.acquire() as conn:
            invitations = await invitations_repo.invitations_of_proposals(conn, proposal_ids=[approved.id])
            assignments = await proposals_repo.assignments_of(conn, proposal_ids=[approved.id])
            owners = {i.factory_id: i.owner_user_id for i in invitations}
        by_factory = {i.factory_id: i for i in invitations}
        decliner = _replaceable(approved, assignments)
        accepter = next(
            m for m in ([approved.lead_factory_id] + list(approved.members)) if m and m != decliner
        )
        if by_factory[accepter].status == "pending":
            await answers.accept_invitation(
                pool,
                Principal(Role.FACTORY_OWNER, user_id=owners[accepter]),
                invitation_id=by_factory[accepter].id,
                now=now,
                price_tolerance_pct=100.0,
            )
        if by_factory[decliner].status == "pending":
            report("one member declines its share: a repair solve is queued")
            await answers.decline_invitation(
                pool,
                Principal(Role.FACTORY_OWNER, user_id=owners[decliner]),
                invitation_id=by_factory[decliner].id,
                reason="Our anodizing line is booked for a customer audit in those weeks.",
                now=now,
            )
            done.append("a decline")
        async with pool.acquire() as conn:
            job_ids = [
                r["job_id"]
                for r in await conn.fetch(
                    "SELECT job_id FROM proposal_revisions WHERE parent_proposal_id = $1", approved.id
                )
            ]
            jobs = [j for j in [await jobs_repo.job_by_id(conn, job_id=i) for i in job_ids] if j is not None]
        for job in jobs:
            if job.status == "queued":
                report("solving the repair")
                await _solve_repair(pool, job)
        async with pool.acquire() as conn:
            children = [
                p
                for p in await proposals_repo.proposals_of_rfq(conn, rfq_id=rfq_id)
                if p.parent_id == approved.id and p.review_state == "draft"
            ]
        repaired = next((c for c in children if c.solver_status in ("optimal", "feasible")), None)
        if repaired is not None:
            report("approving the repaired consortium: only new or changed shares are invited")
            await proposals_service.approve_proposal(
                pool, coordinator, proposal_id=repaired.id, expected_version=repaired.row_version, now=now
            )
            done.append("a repair")
    return f"{INVITATIONS_RFQ_TITLE!r}: " + ", ".join(done) if done else None


__all__ = ["INVITATIONS_RFQ_TITLE", "invitations_rfq", "seed_demo_invitations"]
