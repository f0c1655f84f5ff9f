"""Batch functions of invitations, for ``info.context.loader(...)``."""

from __future__ import annotations

from uuid import UUID

from schema.batching import many_per_key
from server.db import Pool
from server.invitations import repo
from server.rfqs.events import RfqEvent


async def invitations_by_proposal_id(pool: Pool, proposal_ids: list[UUID]) -> list[list[repo.Invitation]]:
    async with pool.acquire() as conn:
        rows = await repo.invitations_of_proposals(conn, proposal_ids=proposal_ids)
    return many_per_key(rows, proposal_ids, key=lambda row: row.proposal_id)


async def lines_by_invitation_id(pool: Pool, invitation_ids: list[UUID]) -> list[list[repo.Line]]:
    async with pool.acquire() as conn:
        rows = await repo.lines_of(conn, invitation_ids=invitation_ids)
    return many_per_key(rows, invitation_ids, key=lambda row: row.invitation_id)


async def events_by_invitation(pool: Pool, invitations: list[repo.Invitation]) -> list[list[RfqEvent]]:
    """Each invitation's events: those whose payload names it or the invitation it was carried from."""
    async with pool.acquire() as conn:
        rows = await repo.events_of_invitations(conn, invitations=invitations)
    result: list[list[RfqEvent]] = []
    for invitation in invitations:
        names = {str(invitation.id)} | (
            {str(invitation.carried_from_id)} if invitation.carried_from_id else set()
        )
        result.append(
            [e for e in rows if e.rfq_id == invitation.rfq_id and e.payload.get("invitation") in names]
        )
    return result
