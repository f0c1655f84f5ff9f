"""Helpers for the quote and award tests: an RFQ with an approved proposal whose members accepted.

The proposal is stored through the proposals repository (no solve: these tests are about what follows the
approval) and approved through its service, which invites every member; :func:`invite` answers the
invitations through the invitations service (``invitationAccept`` / ``invitationDecline``'s code path).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from server import db
from server.auth.principal import Principal, Role
from server.clock import iso_monday, iso_week_label
from server.invitations import answers
from server.invitations import repo as invitations_repo
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
                    members=list(dict.fromkeys([turning.factory_id, inspection.factory_id])),
                    lead_factory_id=turning.factory_id,
                    firm_share=1.0,
                    # the offers the invitations are priced from (firm bids at the standard prices)
                    problem={
                        "offers": [
                            {
                                "factory": str(member.factory_id),
                                "package": str(package),
                                "unit_price": UNIT_PRICE[process],
                                "setup_cost": SETUP[process],
                                "firm": True,
                            }
                            for member in (turning, inspection)
                            for package, process in zip(packages, UNIT_PRICE, strict=True)
                        ]
                    },
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
    """The members answer the invitations the approval sent, through the invitations service as over the
    API: ``accepted`` (at the offered prices), ``declined`` (a repair is attempted) or ``pending`` (no
    answer)."""
    assert status in ("accepted", "declined", "pending")
    async with pool.acquire() as conn:
        invitations = await invitations_repo.invitations_of_proposals(conn, proposal_ids=[proposal_id])
    assert invitations, "the approval invites every member"
    for invitation in invitations:
        owner = Principal(Role.FACTORY_OWNER, user_id=invitation.owner_user_id)
        if status == "accepted":
            await answers.accept_invitation(
                pool, owner, invitation_id=invitation.id, now=utc_now(), price_tolerance_pct=5.0
            )
        elif status == "declined":
            await answers.decline_invitation(
                pool, owner, invitation_id=invitation.id, reason="No capacity after all.", now=utc_now()
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
