"""Helpers for the quote and award tests: an RFQ with an approved proposal whose members accepted.

The proposal is stored through the proposals repository (no solve: these tests are about what follows the
approval) and approved through its service. Invitations belong to the award-invitations part of issue 8;
until its service is on main, :func:`accept_all` writes them with plain SQL, as the contract between the two
parts allows: one accepted invitation per member, its lines at the proposal's figures.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from server import db
from server.clock import iso_monday, iso_week_label
from server.proposals import repo as proposals_repo
from server.proposals import service as proposals_service
from server.quotes import rates
from tests.bids.conftest import Cap, add_factory, package_ids, submit_rfq
from tests.conftest import Caller, jst_today, make_factory_owner, utc_now

UNIT_PRICE = {"cnc_turning": 1800, "cmm_inspection": 300}
SETUP = {"cnc_turning": 24_000, "cmm_inspection": 5_000}
TRANSPORT_JPY = 12_000


@dataclass(frozen=True)
class Member:
    owner: Caller
    factory_id: UUID


@dataclass(frozen=True)
class Approved:
    rfq_id: UUID
    proposal_id: UUID
    packages: list[UUID]  # turning, then inspection
    turning: Member
    inspection: Member


def week(n: int) -> dt.date:
    """The Monday ``n`` weeks after this week's (JST)."""
    return iso_monday(jst_today()) + dt.timedelta(weeks=n)


async def members(pool: db.Pool, tag: str) -> tuple[Member, Member]:
    """Two factories in Tokyo (Ota), 40 h a week of turning and of CMM each; ISO 9001."""
    made = []
    for role in ("turning", "inspection"):
        owner = await make_factory_owner(pool, f"{tag}-{role}@koba.example")
        factory = await add_factory(
            pool, owner, name=f"{tag} {role}", capabilities=(Cap(), Cap(process_code="cmm_inspection"))
        )
        async with pool.acquire() as conn:
            await conn.execute("UPDATE factories SET cluster = 'Ota' WHERE id = $1", factory)
        made.append(Member(owner, factory))
    return made[0], made[1]


async def approved(
    pool: db.Pool,
    buyer: Caller,
    coordinator: Caller,
    *,
    turning: Member,
    inspection: Member,
    turning_hours: dict[dt.date, float] | None = None,
    inspection_hours: dict[dt.date, float] | None = None,
    **rfq: Any,
) -> Approved:
    """A standard RFQ (500 shafts: turning then CMM) with an approved proposal: ``turning`` turns, in the
    weeks and hours given (default 30 h in week 2), ``inspection`` inspects (default 10 h in week 3)."""
    turning_hours = turning_hours or {week(2): 30.0}
    inspection_hours = inspection_hours or {week(3): 10.0}
    stored = await submit_rfq(pool, buyer, **rfq)
    packages = await package_ids(pool, stored.id)

    def assignment(factory: UUID, package: UUID, hours: dict[dt.date, float]) -> proposals_repo.NewAssignment:
        return proposals_repo.NewAssignment(
            factory_id=factory,
            package_id=package,
            quantity=500,
            start_date=min(hours),
            end_date=max(hours) + dt.timedelta(days=4),
            weekly_hours=[{"week": iso_week_label(w), "hours": h} for w, h in sorted(hours.items())],
            estimated=False,
        )

    async with db.transaction(pool) as conn:
        (proposal_id,) = await proposals_repo.insert_proposals(
            conn,
            rfq_id=stored.id,
            job_id=uuid.uuid4(),
            parent=None,
            proposals=[
                proposals_repo.NewProposal(
                    preset="cheapest",
                    rank=0,
                    solver_status="optimal",
                    objective=1.0,
                    bound=1.0,
                    gap=0.0,
                    total_cost_jpy=1,
                    members=[turning.factory_id, inspection.factory_id],
                    lead_factory_id=turning.factory_id,
                    firm_share=1.0,
                    problem={},
                    solution={"costs": {"transport": TRANSPORT_JPY}},
                    diff=None,
                    estimated_pairs=[],
                    assignments=[
                        assignment(turning.factory_id, packages[0], turning_hours),
                        assignment(inspection.factory_id, packages[1], inspection_hours),
                    ],
                )
            ],
        )
    await proposals_service.approve_proposal(
        pool, coordinator.principal, proposal_id=proposal_id, expected_version=1, now=utc_now()
    )
    return Approved(stored.id, proposal_id, packages, turning, inspection)


async def invite(pool: db.Pool, proposal_id: UUID, *, status: str = "accepted") -> None:
    """One invitation per member of the proposal, at the proposal's shares; ``status`` for all of them
    (accepted: agreed at the offered prices). Plain SQL until award-invitations' service is on main."""
    async with db.transaction(pool) as conn:
        proposal = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id)
        assert proposal is not None
        assignments = await proposals_repo.assignments_of(conn, proposal_ids=[proposal_id])
        processes = {
            r["id"]: r["process_code"]
            for r in await conn.fetch(
                """
                SELECT p.id, o.process_code FROM rfq_packages p
                JOIN rfq_operations o ON o.rfq_line_id = p.rfq_line_id AND o.position = p.operation_position
                WHERE p.rfq_id = $1
                """,
                proposal.rfq_id,
            )
        }
        by_factory: dict[UUID, list[proposals_repo.Assignment]] = {}
        for a in assignments:
            by_factory.setdefault(a.factory_id, []).append(a)
        accepted = status == "accepted"
        for factory_id, shares in by_factory.items():
            price = sum(
                a.quantity * UNIT_PRICE[processes[a.package_id]] + SETUP[processes[a.package_id]]
                for a in shares
            )
            invitation = await conn.fetchval(
                """
                INSERT INTO invitations (proposal_id, rfq_id, factory_id, status, answer_by,
                                         offered_price_jpy, agreed_price_jpy, estimated, answered_at)
                VALUES ($1, $2, $3, $4, now() + interval '3 days', $5, $6, false,
                        CASE WHEN $4 = 'pending' THEN NULL ELSE now() END)
                RETURNING id
                """,
                proposal_id,
                proposal.rfq_id,
                factory_id,
                status,
                price,
                price if accepted else None,
            )
            await conn.executemany(
                """
                INSERT INTO invitation_lines (invitation_id, package_id, quantity, start_date, end_date,
                                              weekly_hours, unit_price_jpy, setup_cost_jpy, estimated,
                                              agreed_unit_price_jpy)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9)
                """,
                [
                    (
                        invitation,
                        a.package_id,
                        a.quantity,
                        a.start_date,
                        a.end_date,
                        a.weekly_hours,
                        UNIT_PRICE[processes[a.package_id]],
                        SETUP[processes[a.package_id]],
                        UNIT_PRICE[processes[a.package_id]] if accepted else None,
                    )
                    for a in shares
                ],
            )


async def set_rate(pool: db.Pool, coordinator: Caller, currency: str, jpy_per_unit: str) -> None:
    await rates.set_rate(
        pool,
        coordinator.principal,
        currency=currency,
        jpy_per_unit=Decimal(jpy_per_unit),
        today=jst_today(),
        now=utc_now(),
    )
