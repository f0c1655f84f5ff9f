"""SQL for member invitations (migration 0011: ``invitations``, ``invitation_lines``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from server.db import Connection, SqlArgs
from server.rfqs.events import RfqEvent


@dataclass(frozen=True)
class Invitation:
    id: UUID
    proposal_id: UUID
    rfq_id: UUID
    factory_id: UUID
    owner_user_id: UUID  # the factory's owner, joined: the rules ask for it
    status: str
    answer_by: dt.datetime
    offered_price_jpy: int
    agreed_price_jpy: int | None
    estimated: bool
    answered_at: dt.datetime | None
    answered_by_user_id: UUID | None
    decline_reason: str
    carried_from_id: UUID | None
    created_at: dt.datetime


@dataclass(frozen=True)
class NewLine:
    package_id: UUID
    quantity: int
    start_date: dt.date
    end_date: dt.date
    weekly_hours: list[dict[str, Any]]
    unit_price_jpy: int
    setup_cost_jpy: int
    estimated: bool
    agreed_unit_price_jpy: int | None = None


@dataclass(frozen=True, kw_only=True)
class Line(NewLine):
    invitation_id: UUID


@dataclass(frozen=True)
class NewInvitation:
    proposal_id: UUID
    rfq_id: UUID
    factory_id: UUID
    answer_by: dt.datetime
    lines: Sequence[NewLine]
    # A carried-over share starts accepted, with the answer of the invitation it comes from.
    carried_from: Invitation | None = None

    @property
    def offered_price_jpy(self) -> int:
        return sum(line.quantity * line.unit_price_jpy + line.setup_cost_jpy for line in self.lines)

    @property
    def estimated(self) -> bool:
        return any(line.estimated for line in self.lines)


_COLUMNS = """
    i.id, i.proposal_id, i.rfq_id, i.factory_id, f.owner_user_id, i.status, i.answer_by,
    i.offered_price_jpy, i.agreed_price_jpy, i.estimated, i.answered_at, i.answered_by_user_id,
    i.decline_reason, i.carried_from_id, i.created_at
"""
_FROM = "invitations i JOIN factories f ON f.id = i.factory_id"


def _invitation(row: Any) -> Invitation:
    return Invitation(**dict(row))


async def insert_invitations(conn: Connection, *, invitations: Sequence[NewInvitation]) -> list[UUID]:
    """Write the invitations and their lines; returns their ids in the same order."""
    ids: list[UUID] = []
    for new in invitations:
        carried = new.carried_from
        invitation_id: UUID = await conn.fetchval(
            """
            INSERT INTO invitations
                (proposal_id, rfq_id, factory_id, status, answer_by, offered_price_jpy, agreed_price_jpy,
                 estimated, answered_at, answered_by_user_id, carried_from_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            RETURNING id
            """,
            new.proposal_id,
            new.rfq_id,
            new.factory_id,
            "accepted" if carried else "pending",
            carried.answer_by if carried else new.answer_by,
            new.offered_price_jpy,
            carried.agreed_price_jpy if carried else None,
            new.estimated,
            carried.answered_at if carried else None,
            carried.answered_by_user_id if carried else None,
            carried.id if carried else None,
        )
        await conn.executemany(
            """
            INSERT INTO invitation_lines
                (invitation_id, package_id, quantity, start_date, end_date, weekly_hours, unit_price_jpy,
                 setup_cost_jpy, estimated, agreed_unit_price_jpy)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [
                (
                    invitation_id,
                    line.package_id,
                    line.quantity,
                    line.start_date,
                    line.end_date,
                    line.weekly_hours,
                    line.unit_price_jpy,
                    line.setup_cost_jpy,
                    line.estimated,
                    line.agreed_unit_price_jpy,
                )
                for line in new.lines
            ],
        )
        ids.append(invitation_id)
    return ids


async def invitation_by_id(
    conn: Connection, *, invitation_id: UUID, for_update: bool = False
) -> Invitation | None:
    lock = " FOR UPDATE OF i" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE i.id = $1{lock}", invitation_id)
    return _invitation(row) if row else None


async def invitations_by_ids(conn: Connection, *, ids: Sequence[UUID]) -> list[Invitation]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM {_FROM} WHERE i.id = ANY($1::uuid[])", list(ids))
    return [_invitation(r) for r in rows]


async def invitations_of_proposals(conn: Connection, *, proposal_ids: Sequence[UUID]) -> list[Invitation]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM {_FROM} WHERE i.proposal_id = ANY($1::uuid[])
        ORDER BY i.proposal_id, f.name_en, i.id
        """,
        list(proposal_ids),
    )
    return [_invitation(r) for r in rows]


async def lines_of(conn: Connection, *, invitation_ids: Sequence[UUID]) -> list[Line]:
    rows = await conn.fetch(
        """
        SELECT l.invitation_id, l.package_id, l.quantity, l.start_date, l.end_date, l.weekly_hours,
               l.unit_price_jpy, l.setup_cost_jpy, l.estimated, l.agreed_unit_price_jpy
        FROM invitation_lines l
        JOIN rfq_packages p ON p.id = l.package_id
        JOIN rfq_lines rl ON rl.id = p.rfq_line_id
        WHERE l.invitation_id = ANY($1::uuid[])
        ORDER BY l.invitation_id, rl.position, p.operation_position
        """,
        list(invitation_ids),
    )
    return [Line(**dict(r)) for r in rows]


async def open_invitations_of_owner(
    conn: Connection, *, owner_user_id: UUID, limit: int, after: tuple[dt.datetime, UUID] | None
) -> list[Invitation]:
    """Pending invitations of the owner's factories, soonest deadline first (keyset on answer_by, id)."""
    args = SqlArgs()
    conditions = [f"f.owner_user_id = {args.add(owner_user_id)}", "i.status = 'pending'"]
    if after is not None:
        conditions.append(f"(i.answer_by, i.id) > ({args.add(after[0])}, {args.add(after[1])})")
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM {_FROM}
        WHERE {" AND ".join(conditions)}
        ORDER BY i.answer_by, i.id
        LIMIT {args.add(limit + 1)}
        """,
        *args.values,
    )
    return [_invitation(r) for r in rows]


async def count_open_invitations_of_owner(conn: Connection, *, owner_user_id: UUID) -> int:
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM {_FROM} WHERE f.owner_user_id = $1 AND i.status = 'pending'", owner_user_id
    )
    return count


async def set_accepted(
    conn: Connection,
    *,
    invitation_id: UUID,
    user_id: UUID,
    now: dt.datetime,
    agreed_unit_prices: dict[UUID, int],
) -> Invitation:
    """Accept with the agreed unit price of each line (package id → JPY); the share's agreed price is their
    sum with the setup costs."""
    await conn.executemany(
        "UPDATE invitation_lines SET agreed_unit_price_jpy = $3 WHERE invitation_id = $1 AND package_id = $2",
        [(invitation_id, package, price) for package, price in agreed_unit_prices.items()],
    )
    await conn.execute(
        """
        UPDATE invitations i
        SET status = 'accepted', answered_at = $2, answered_by_user_id = $3,
            agreed_price_jpy = (SELECT sum(l.quantity * l.agreed_unit_price_jpy + l.setup_cost_jpy)
                                FROM invitation_lines l WHERE l.invitation_id = i.id)
        WHERE i.id = $1
        """,
        invitation_id,
        now,
        user_id,
    )
    changed = await invitation_by_id(conn, invitation_id=invitation_id)
    assert changed is not None
    return changed


async def release_accepted(
    conn: Connection, *, invitation_id: UUID, now: dt.datetime, reason: str
) -> Invitation:
    """Withdraw an accepted share (its agreed prices with it): the award lost the member's hours to another
    award, so the repair re-plans the share instead of keeping it fixed."""
    await conn.execute(
        """
        UPDATE invitations SET status = 'withdrawn', agreed_price_jpy = NULL, answered_at = $2,
                               decline_reason = $3
        WHERE id = $1 AND status = 'accepted'
        """,
        invitation_id,
        now,
        reason,
    )
    await conn.execute(
        "UPDATE invitation_lines SET agreed_unit_price_jpy = NULL WHERE invitation_id = $1", invitation_id
    )
    changed = await invitation_by_id(conn, invitation_id=invitation_id)
    assert changed is not None
    return changed


async def set_closed(
    conn: Connection,
    *,
    invitation_id: UUID,
    status: str,
    now: dt.datetime,
    user_id: UUID | None = None,
    reason: str = "",
) -> Invitation:
    """Close a pending invitation as ``declined``, ``expired`` or ``withdrawn``."""
    await conn.execute(
        """
        UPDATE invitations SET status = $2, answered_at = $3, answered_by_user_id = $4, decline_reason = $5
        WHERE id = $1
        """,
        invitation_id,
        status,
        now,
        user_id,
        reason,
    )
    changed = await invitation_by_id(conn, invitation_id=invitation_id)
    assert changed is not None
    return changed


async def overdue_invitations(conn: Connection, *, rfq_id: UUID, now: dt.datetime) -> list[Invitation]:
    """The RFQ's pending invitations past their deadline, locked (the caller holds the RFQ's lock)."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM {_FROM}
        WHERE i.rfq_id = $1 AND i.status = 'pending' AND i.answer_by < $2
        ORDER BY i.answer_by, i.id
        FOR UPDATE OF i
        """,
        rfq_id,
        now,
    )
    return [_invitation(r) for r in rows]


_EVENT_COLUMNS = "id, rfq_id, at, kind, actor_role, actor_user_id, actor_buyer_id, buyer_visible, payload"


async def events_of_invitations(conn: Connection, *, invitations: Sequence[Invitation]) -> list[RfqEvent]:
    """The RFQ log's events about these invitations (their payload names the invitation, or the one it was
    carried from), oldest first."""
    names = {str(i.id) for i in invitations} | {
        str(i.carried_from_id) for i in invitations if i.carried_from_id
    }
    rows = await conn.fetch(
        f"""
        SELECT {_EVENT_COLUMNS} FROM rfq_events
        WHERE rfq_id = ANY($1::uuid[]) AND payload ->> 'invitation' = ANY($2::text[])
        ORDER BY id
        """,
        list({i.rfq_id for i in invitations}),
        sorted(names),
    )
    return [RfqEvent(**dict(r)) for r in rows]


__all__ = [
    "Invitation",
    "Line",
    "NewInvitation",
    "NewLine",
    "count_open_invitations_of_owner",
    "events_of_invitations",
    "insert_invitations",
    "invitation_by_id",
    "invitations_by_ids",
    "invitations_of_proposals",
    "lines_of",
    "open_invitations_of_owner",
    "overdue_invitations",
    "set_accepted",
    "set_closed",
]
