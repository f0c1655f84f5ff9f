"""The cluster office's vetting of factories: a registration is pending until a coordinator approves it.

Only approved factories are listed to others, see RFQs and (later) bid: anyone can sign up and declare any
process, so without this step anyone could read every open RFQ. A coordinator may also withdraw an approval
(reject) or approve a rejected factory after a second look.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from server.auth.principal import Principal, Role
from server.db import Pool, transaction
from server.errors import NotFound, ValidationFailed
from server.factories import repo
from server.validation import Errors, clean_text


async def review_factory(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID,
    approve: bool,
    note: str,
    now: dt.datetime,
) -> repo.Factory:
    """Approve or reject a factory; a rejection needs a reason, which its owner reads. Coordinators only."""
    principal.require_role(Role.COORDINATOR)
    assert principal.user_id is not None
    errors = Errors()
    note = clean_text(
        errors, "reason" if not approve else "note", note, max_length=2000, required=not approve
    )
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        factory = await repo.factory_by_id(conn, factory_id=factory_id, for_update=True)
        if factory is None:
            raise NotFound("No such factory.")
        return await repo.set_approval(
            conn,
            factory_id=factory_id,
            status="approved" if approve else "rejected",
            note=note,
            user_id=principal.user_id,
            now=now,
        )


__all__ = ["review_factory"]
