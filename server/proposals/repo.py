"""SQL for proposals and their assignments."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from server.db import Connection


@dataclass(frozen=True)
class Proposal:
    id: UUID
    rfq_id: UUID
    job_id: UUID
    preset: str
    rank: int
    lineage_id: UUID
    parent_id: UUID | None
    version: int
    solver_status: str
    review_state: str
    objective: Decimal | None
    bound: Decimal | None
    gap: Decimal | None
    total_cost_jpy: int | None
    members: list[UUID]
    lead_factory_id: UUID | None
    firm_share: Decimal | None
    problem: dict[str, Any]
    solution: dict[str, Any]
    diff: dict[str, Any] | None
    estimated_pairs: list[list[str]]
    reviewed_by_user_id: UUID | None
    reviewed_at: dt.datetime | None
    review_note: str
    row_version: int
    created_at: dt.datetime
    price_confirmation_required: bool = False
    answer_by: dt.datetime | None = None


@dataclass(frozen=True)
class NewAssignment:
    factory_id: UUID
    package_id: UUID
    quantity: int
    start_date: dt.date
    end_date: dt.date
    weekly_hours: list[dict[str, Any]]
    estimated: bool


@dataclass(frozen=True)
class Assignment(NewAssignment):
    proposal_id: UUID


@dataclass(frozen=True)
class NewProposal:
    """One solver answer of a job, ready to store."""

    preset: str
    rank: int
    solver_status: str
    objective: float | None
    bound: float | None
    gap: float | None
    total_cost_jpy: int | None
    members: list[UUID]
    lead_factory_id: UUID | None
    firm_share: float | None
    problem: dict[str, Any]
    solution: dict[str, Any]
    diff: dict[str, Any] | None
    estimated_pairs: list[list[str]]
    assignments: list[NewAssignment]


_COLUMNS = """
    id, rfq_id, job_id, preset, rank, lineage_id, parent_id, version, solver_status, review_state,
    objective, bound, gap, total_cost_jpy, members, lead_factory_id, firm_share, problem, solution, diff,
    estimated_pairs, reviewed_by_user_id, reviewed_at, review_note, row_version, created_at,
    price_confirmation_required, answer_by
"""


_COLUMNS_WITHOUT_PROBLEM = _COLUMNS.replace(" problem,", " '{}'::jsonb AS problem,")
assert _COLUMNS_WITHOUT_PROBLEM != _COLUMNS


def _proposal(row: Any) -> Proposal:
    return Proposal(**dict(row))


async def insert_proposals(
    conn: Connection,
    *,
    rfq_id: UUID,
    job_id: UUID,
    parent: Proposal | None,
    proposals: Sequence[NewProposal],
) -> list[UUID]:
    """Store a job's answers; a retried job whose answers are stored already writes nothing (the unique
    (job, preset, rank) decides) and gets the ids stored the first time."""
    ids: list[UUID] = []
    for p in proposals:
        new_id = uuid.uuid4()
        stored: UUID | None = await conn.fetchval(
            """
            INSERT INTO proposals
                (id, rfq_id, job_id, preset, rank, lineage_id, parent_id, version, solver_status, objective,
                 bound, gap, total_cost_jpy, members, lead_factory_id, firm_share, problem, solution, diff,
                 estimated_pairs)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
            ON CONFLICT ON CONSTRAINT proposals_job_preset_rank_key DO NOTHING
            RETURNING id
            """,
            new_id,
            rfq_id,
            job_id,
            p.preset,
            p.rank,
            parent.lineage_id if parent else new_id,  # the first of a lineage is its root
            parent.id if parent else None,
            parent.version + 1 if parent else 1,
            p.solver_status,
            p.objective,
            p.bound,
            p.gap,
            p.total_cost_jpy,
            p.members,
            p.lead_factory_id,
            p.firm_share,
            p.problem,
            p.solution,
            p.diff,
            p.estimated_pairs,
        )
        if stored is None:
            existing: UUID = await conn.fetchval(
                "SELECT id FROM proposals WHERE job_id = $1 AND preset = $2 AND rank = $3",
                job_id,
                p.preset,
                p.rank,
            )
            ids.append(existing)
            continue
        await conn.executemany(
            """
            INSERT INTO proposal_assignments
                (proposal_id, factory_id, package_id, quantity, start_date, end_date, weekly_hours, estimated)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [
                (
                    new_id,
                    a.factory_id,
                    a.package_id,
                    a.quantity,
                    a.start_date,
                    a.end_date,
                    a.weekly_hours,
                    a.estimated,
                )
                for a in p.assignments
            ],
        )
        ids.append(new_id)
    return ids


async def proposal_by_id(conn: Connection, *, proposal_id: UUID, for_update: bool = False) -> Proposal | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM proposals WHERE id = $1{lock}", proposal_id)
    return _proposal(row) if row else None


async def approved_proposal_of(
    conn: Connection, *, rfq_id: UUID, for_update: bool = False
) -> Proposal | None:
    """The RFQ's approved proposal (at most one: a unique index)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM proposals WHERE rfq_id = $1 AND review_state = 'approved'{lock}", rfq_id
    )
    return _proposal(row) if row else None


async def proposals_by_ids(conn: Connection, *, ids: Sequence[UUID]) -> list[Proposal]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM proposals WHERE id = ANY($1::uuid[])", list(ids))
    return [_proposal(r) for r in rows]


async def proposals_of_rfq(conn: Connection, *, rfq_id: UUID, with_problem: bool = True) -> list[Proposal]:
    """The RFQ's proposals, oldest first. ``with_problem=False`` leaves each one's Problem out (an empty
    dict), for a reader that does not show it: it is the largest column by far, and decoding it the largest
    cost of reading a page of proposals."""
    columns = _COLUMNS if with_problem else _COLUMNS_WITHOUT_PROBLEM
    rows = await conn.fetch(
        f"SELECT {columns} FROM proposals WHERE rfq_id = $1 ORDER BY created_at, preset, rank", rfq_id
    )
    return [_proposal(r) for r in rows]


async def proposals_of_jobs(conn: Connection, *, job_ids: Sequence[UUID]) -> list[Proposal]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM proposals WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, preset, rank",
        list(job_ids),
    )
    return [_proposal(r) for r in rows]


async def assignments_of(conn: Connection, *, proposal_ids: Sequence[UUID]) -> list[Assignment]:
    rows = await conn.fetch(
        """
        SELECT proposal_id, factory_id, package_id, quantity, start_date, end_date, weekly_hours, estimated
        FROM proposal_assignments WHERE proposal_id = ANY($1::uuid[])
        ORDER BY proposal_id, package_id, factory_id
        """,
        list(proposal_ids),
    )
    return [Assignment(**dict(r)) for r in rows]


async def set_review(
    conn: Connection,
    *,
    proposal_id: UUID,
    state: str,
    user_id: UUID,
    now: dt.datetime,
    note: str = "",
) -> Proposal:
    """Record a review decision; bumps ``row_version`` so a stale approval can be told apart."""
    row = await conn.fetchrow(
        f"""
        UPDATE proposals
        SET review_state = $2, reviewed_by_user_id = $3, reviewed_at = $4, review_note = $5,
            row_version = row_version + 1
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        proposal_id,
        state,
        user_id,
        now,
        note,
    )
    assert row is not None
    return _proposal(row)
