"""The repair solve: after a decline (or an invitation left past its deadline), re-plan around the members who
accepted.

:func:`queue_repair` runs inside the transaction that closed the invitation. It takes the approved
proposal's stored Problem and makes it the repair's:

- every accepted member's share is a fixed assignment (``Problem.fixed``: factory, package, quantity and
  its days, as invited), so the solver keeps it exactly;
- every member who declined or let its deadline pass is excluded (``policy.excluded``);
- free capacity is read again, today: the stored Problem's hours are those of the day it was solved, and
  since then other RFQs may have booked hours (awards) and owners may have changed their capacity. Weeks
  before the current one keep their stored hours (only the fixed shares can lie there); no other
  assignment may start before today.

The solve is queued as a revision of the approved proposal (``proposal_revisions``): its proposal is the
next version of the lineage, with a diff against the approved one, for a coordinator to approve
(:func:`server.proposals.service.approve_proposal` then invites only new or changed shares).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Sequence
from uuid import UUID

from server.auth.principal import Principal
from server.bids import repo as bids_repo
from server.bids.eligibility import free_hours_by_week
from server.clock import iso_monday
from server.db import Connection
from server.invitations import repo
from server.jobs import queue
from server.jobs import repo as jobs_repo
from server.jobs.plugins import SolveRequest
from server.proposals import repo as proposals_repo
from server.rfqs import events
from server.rfqs import repo as rfqs_repo
from solver import Capacity, FixedAssignment, Problem, ProblemError, problem_from_json, problem_to_json

log = logging.getLogger(__name__)

REPAIR_TIME_LIMIT_S = 30
"""The repair's solve time limit: only the decliners' shares are open, so the search is small."""


@dataclasses.dataclass(frozen=True)
class RepairInputs:
    """What the repair keeps and leaves out, from the approved proposal's invitations."""

    fixed: tuple[FixedAssignment, ...]
    excluded: tuple[str, ...]


def repair_inputs(
    problem: Problem, invitations: Sequence[repo.Invitation], lines: Sequence[repo.Line]
) -> RepairInputs:
    """Accepted shares become fixed assignments (days relative to the Problem's origin); declined and
    expired members are excluded."""
    accepted = {i.id: i for i in invitations if i.status == "accepted"}
    fixed = tuple(
        FixedAssignment(
            factory=str(accepted[line.invitation_id].factory_id),
            package=str(line.package_id),
            quantity=line.quantity,
            start_day=(line.start_date - problem.origin).days,
            end_day=(line.end_date - problem.origin).days,
        )
        for line in lines
        if line.invitation_id in accepted
    )
    excluded = tuple(sorted({str(i.factory_id) for i in invitations if i.status in ("declined", "expired")}))
    return RepairInputs(fixed=fixed, excluded=excluded)


async def current_capacity(
    conn: Connection, problem: Problem, *, today: dt.date, due: dt.date
) -> tuple[Capacity, ...]:
    """``problem``'s capacity with every week from today's on read again from the registry (free hours:
    the capability's or its week's override, minus live bookings); earlier weeks keep their stored hours."""
    current_week = (iso_monday(today) - problem.origin).days // 7
    pairs = sorted({(o.factory, problem.package_by_id[o.package].process) for o in problem.offers})
    factory_ids = sorted({UUID(f) for f, _ in pairs})
    specs = await bids_repo.factory_specs(
        conn,
        where=bids_repo.FactoryFilter(factory_ids=factory_ids),
        process_codes=sorted({p for _, p in pairs}),
        weeks_from=iso_monday(today),
        weeks_to=due,
    )
    by_id = {str(s.id): s for s in specs}
    rows = [c for c in problem.capacity if c.week < current_week]
    for factory, process in pairs:
        spec = by_id.get(factory)
        capability = spec.capabilities.get(process) if spec else None
        if spec is None or capability is None:
            continue  # the factory gave the process up since: no hours
        for monday, hours in sorted(free_hours_by_week(spec, capability, start=today, end=due).items()):
            if hours > 0:
                rows.append(Capacity(factory, process, (monday - problem.origin).days // 7, float(hours)))
    return tuple(rows)


async def repair_problem(
    conn: Connection,
    proposal: proposals_repo.Proposal,
    invitations: Sequence[repo.Invitation],
    *,
    today: dt.date,
) -> Problem:
    """The approved proposal's Problem made the repair's (see the module docstring). Raises ProblemError
    when it cannot be (e.g. a fixed share no longer fits the Problem)."""
    problem = problem_from_json(proposal.problem)
    lines = await repo.lines_of(conn, invitation_ids=[i.id for i in invitations])
    inputs = repair_inputs(problem, invitations, lines)
    rfq = next(iter(await rfqs_repo.rfqs_by_ids(conn, ids=[proposal.rfq_id])))
    capacity = await current_capacity(conn, problem, today=today, due=rfq.due_date)
    fixed_pairs = {(f.factory, f.package) for f in inputs.fixed}
    today_day = (today - problem.origin).days
    offers = tuple(
        o
        if (o.factory, o.package) in fixed_pairs
        else dataclasses.replace(o, earliest_start_day=max(o.earliest_start_day, today_day))
        for o in problem.offers
    )
    policy = dataclasses.replace(
        problem.policy,
        excluded=problem.policy.excluded | frozenset(inputs.excluded),
        pinned=problem.policy.pinned - frozenset(inputs.excluded),
    )
    return dataclasses.replace(problem, capacity=capacity, offers=offers, policy=policy, fixed=inputs.fixed)


async def queue_repair(
    conn: Connection,
    principal: Principal,
    *,
    proposal: proposals_repo.Proposal,
    today: dt.date,
    cause: repo.Invitation,
) -> UUID | None:
    """Queue the repair solve of the approved ``proposal`` in the caller's transaction; returns the job id,
    or None when no repair Problem can be made (then an event says why: a coordinator revises by hand).

    The job is requested in the name of the coordinator who approved the proposal.
    """
    invitations = await repo.invitations_of_proposals(conn, proposal_ids=[proposal.id])
    try:
        problem = await repair_problem(conn, proposal, invitations, today=today)
    except ProblemError as exc:
        log.warning("no repair for proposal %s: %s", proposal.id, exc)
        await events.record(
            conn,
            principal,
            rfq_id=proposal.rfq_id,
            kind=events.EventKind.PROPOSAL_REPAIR_IMPOSSIBLE,
            payload={"proposal": str(proposal.id), "cause": str(cause.id), "error": str(exc)},
        )
        return None
    assert proposal.reviewed_by_user_id is not None  # approved
    request = SolveRequest(presets=(proposal.preset,), alternatives=0, time_limit_s=REPAIR_TIME_LIMIT_S)
    job = await jobs_repo.insert_job(
        conn,
        rfq_id=proposal.rfq_id,
        requested_by=proposal.reviewed_by_user_id,
        request=request.to_json(),
        problem_json=json.dumps(problem_to_json(problem)),
    )
    changes = {
        "repair": {
            "cause": str(cause.id),
            "fixed": [
                {"factory": f.factory, "package": f.package, "quantity": f.quantity} for f in problem.fixed
            ],
            "excluded": sorted(problem.policy.excluded),
            "capacityAsOf": today.isoformat(),
        }
    }
    await conn.execute(
        "INSERT INTO proposal_revisions (job_id, parent_proposal_id, changes) VALUES ($1, $2, $3)",
        job.id,
        proposal.id,
        changes,
    )
    queue_job_id = await queue.enqueue(conn, job_id=job.id)
    await jobs_repo.set_queue_job_id(conn, job_id=job.id, queue_job_id=queue_job_id)
    await events.record(
        conn,
        principal,
        rfq_id=proposal.rfq_id,
        kind=events.EventKind.PROPOSAL_REPAIR_QUEUED,
        # No "invitation" key: the decliner reads its invitation's events; this one names others' shares.
        payload={"proposal": str(proposal.id), "job": str(job.id), **changes},
    )
    return job.id


__all__ = ["REPAIR_TIME_LIMIT_S", "RepairInputs", "current_capacity", "queue_repair", "repair_inputs"]
