"""Invitation queries: one invitation, and an owner's open invitations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.ids import parse_id
from schema.invitations.types import Invitation, with_invitation_details
from schema.pagination import Connection, connection
from schema.permissions import FactoryOwnerOnly, FactoryOwnerOrCoordinator
from schema.selection import selected_paths
from server.invitations import answers


@strawberry.type
class InvitationsQuery:
    @strawberry.field(
        description="One invitation: the invited factory's owner and coordinators only; anybody else gets "
        "NOT_FOUND.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def invitation(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The invitation.")]
    ) -> Invitation:
        row = await answers.get_invitation(
            info.context.pool, info.context.principal, invitation_id=parse_id(id, kind="invitation")
        )
        invitation = Invitation.from_row(row)
        await with_invitation_details(
            info, [invitation], selected=selected_paths(info), line_fields=selected_paths(info, "lines")
        )
        return invitation

    @strawberry.field(
        description="The pending invitations of the factories you own, soonest deadline first. Factory "
        "owners only.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def open_invitations(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100 (default 20).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[Invitation]:
        page = await answers.open_invitations(
            info.context.pool, info.context.principal, first=first, after=after
        )
        result = connection(page, Invitation.from_row)
        await with_invitation_details(
            info,
            [edge.node for edge in result.edges],
            selected=selected_paths(info, "edges", "node"),
            line_fields=selected_paths(info, "edges", "node", "lines"),
        )
        return result
