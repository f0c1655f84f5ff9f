"""Inviting the members of an approved proposal, in the approval's transaction.

:func:`invite_members` gives each member factory one invitation for its share: its assignments (packages,
quantities, days, weekly hours) priced from the proposal's Problem (the bid's unit price and setup cost, or
the estimate, marked as such), with the answer deadline.

When the approved proposal replaces an approved one (a repair, or any revision of it), only new or changed
shares are invited: a member whose previous invitation was accepted and whose share is the same (the same
packages, quantities and days) keeps it accepted, carried over with its agreed prices (``carried_from_id``);
the previous proposal's pending invitations are withdrawn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from uuid import UUID

from server.auth.principal import Principal
from server.db import Connection
from server.invitations import pricing, repo
from server.proposals import repo as proposals_repo
from server.rfqs import events


def shares_of(
    proposal: proposals_repo.Proposal, assignments: list[proposals_repo.Assignment]
) -> dict[UUID, list[repo.NewLine]]:
    """Each member's lines, priced from the proposal's Problem (package order as stored)."""
    prices = {
        (o["factory"], o["package"]): (int(o["unit_price"]), int(o.get("setup_cost", 0)))
        for o in proposal.problem["offers"]
    }
    shares: dict[UUID, list[repo.NewLine]] = defaultdict(list)
    for a in assignments:
        unit_price, setup_cost = prices[str(a.factory_id), str(a.package_id)]
        shares[a.factory_id].append(
            repo.NewLine(
                package_id=a.package_id,
                quantity=a.quantity,
                start_date=a.start_date,
                end_date=a.end_date,
                weekly_hours=a.weekly_hours,
                unit_price_jpy=unit_price,
                setup_cost_jpy=setup_cost,
                estimated=a.estimated,
            )
        )
    return shares


def _share_key(lines: list[repo.NewLine] | list[repo.Line]) -> set[tuple[UUID, int, dt.date, dt.date]]:
    return {(line.package_id, line.quantity, line.start_date, line.end_date) for line in lines}


async def invite_members(
    conn: Connection,
    principal: Principal,
    *,
    proposal: proposals_repo.Proposal,
    previous: proposals_repo.Proposal | None,
    answer_by: dt.datetime,
    now: dt.datetime,
    price_tolerance_pct: float,
) -> list[UUID]:
    """Invite the members of ``proposal`` (just approved, replacing ``previous`` if given); returns the new
    invitations' ids. Events: one ``invitation.sent`` or ``invitation.carried`` per member, one
    ``invitation.withdrawn`` per withdrawn invitation."""
    assignments = await proposals_repo.assignments_of(conn, proposal_ids=[proposal.id])
    shares = shares_of(proposal, assignments)
    before: dict[UUID, repo.Invitation] = {}
    before_lines: dict[UUID, list[repo.Line]] = defaultdict(list)
    if previous is not None:
        old = await repo.invitations_of_proposals(conn, proposal_ids=[previous.id])
        before = {i.factory_id: i for i in old}
        for line in await repo.lines_of(conn, invitation_ids=[i.id for i in old]):
            before_lines[line.invitation_id].append(line)
        for invitation in old:
            if invitation.status == "pending":
                await repo.set_closed(conn, invitation_id=invitation.id, status="withdrawn", now=now)
                await invitation_event(conn, principal, invitation, events.EventKind.INVITATION_WITHDRAWN, {})
    new: list[repo.NewInvitation] = []
    for factory_id in proposal.members:
        lines = shares.get(factory_id, [])
        if not lines:
            continue
        carried = before.get(factory_id)
        if carried is not None and carried.status == "accepted":
            old_lines = before_lines[carried.id]
            if _share_key(old_lines) == _share_key(lines):
                agreed = {line.package_id: line.agreed_unit_price_jpy for line in old_lines}
                lines = [
                    dataclasses.replace(line, agreed_unit_price_jpy=agreed[line.package_id]) for line in lines
                ]
                new.append(
                    repo.NewInvitation(
                        proposal_id=proposal.id,
                        rfq_id=proposal.rfq_id,
                        factory_id=factory_id,
                        answer_by=answer_by,
                        lines=lines,
                        carried_from=carried,
                    )
                )
                continue
        new.append(
            repo.NewInvitation(
                proposal_id=proposal.id,
                rfq_id=proposal.rfq_id,
                factory_id=factory_id,
                answer_by=answer_by,
                lines=lines,
            )
        )
    ids = await repo.insert_invitations(conn, invitations=new)
    for invitation in await repo.invitations_by_ids(conn, ids=ids):
        if invitation.carried_from_id is not None:
            await invitation_event(
                conn,
                principal,
                invitation,
                events.EventKind.INVITATION_CARRIED,
                {"from": str(invitation.carried_from_id)},
            )
        else:
            await invitation_event(
                conn,
                principal,
                invitation,
                events.EventKind.INVITATION_SENT,
                {
                    "answerBy": invitation.answer_by.isoformat(),
                    "offeredPriceJpy": invitation.offered_price_jpy,
                    "estimated": invitation.estimated,
                },
            )
    await conn.execute("UPDATE proposals SET answer_by = $2 WHERE id = $1", proposal.id, answer_by)
    if any(n.carried_from is not None for n in new):
        await pricing.check_drift(
            conn,
            principal,
            proposal_id=proposal.id,
            rfq_id=proposal.rfq_id,
            tolerance_pct=price_tolerance_pct,
        )
    return ids


async def invitation_event(
    conn: Connection,
    principal: Principal,
    invitation: repo.Invitation,
    kind: events.EventKind,
    extra: dict[str, object],
) -> None:
    """An event about one invitation; its payload names the invitation, so its factory's owner reads it."""
    await events.record(
        conn,
        principal,
        rfq_id=invitation.rfq_id,
        kind=kind,
        payload={
            "invitation": str(invitation.id),
            "proposal": str(invitation.proposal_id),
            "factory": str(invitation.factory_id),
            **extra,
        },
    )


__all__ = ["invitation_event", "invite_members", "shares_of"]
