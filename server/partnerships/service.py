"""Partnerships: an owner declares that one of its factories works with another; the partner confirms.

Confirmed partnerships are the "weak ties" between owners that the consortium solver rewards
(``cohesion_bonus`` per unit of collaboration weight): see :func:`repo.collaboration_weights`.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from server.auth.principal import Principal, Role
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, Forbidden, NotFound, ValidationFailed, fail
from server.factories import repo as factories_repo
from server.partnerships import repo, rules
from server.validation import Errors, clean_text


async def _owners(conn: Connection, partnership: repo.Partnership) -> tuple[UUID, UUID]:
    """The owners of the declaring factory and of the partner."""
    factories = {
        f.id: f
        for f in await factories_repo.factories_by_ids(
            conn, ids=[partnership.factory_id, partnership.partner_factory_id]
        )
    }
    return (
        factories[partnership.factory_id].owner_user_id,
        factories[partnership.partner_factory_id].owner_user_id,
    )


async def declare_partnership(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID,
    partner_factory_id: UUID,
    note: str,
    now: dt.datetime,
) -> repo.Partnership:
    """Declare that ``factory_id`` (the caller's) works with ``partner_factory_id`` (another owner's)."""
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    errors = Errors()
    note = clean_text(errors, "note", note, max_length=1000, required=False)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        factories = {
            f.id: f for f in await factories_repo.factories_by_ids(conn, ids=[factory_id, partner_factory_id])
        }
        own, partner = factories.get(factory_id), factories.get(partner_factory_id)
        if own is None:
            raise NotFound("No such factory.")
        if own.owner_user_id != principal.user_id:
            raise Forbidden("Only a factory's owner may declare its partnerships.")
        if partner is None:
            raise fail("partnerFactoryId", ErrorCode.NOT_FOUND, "No such factory.")
        if partner.owner_user_id == principal.user_id:
            raise fail(
                "partnerFactoryId", ErrorCode.INVALID, "Both factories are yours: name another owner's."
            )
        declared = await repo.declare(
            conn,
            factory_id=factory_id,
            partner_factory_id=partner_factory_id,
            note=note,
            user_id=principal.user_id,
            now=now,
        )
        if declared is None:
            raise fail(
                "partnerFactoryId", ErrorCode.ALREADY_EXISTS, "These two factories are partners already."
            )
        return declared


async def confirm_partnership(
    pool: Pool, principal: Principal, *, partnership_id: UUID, now: dt.datetime
) -> repo.Partnership:
    """The partner's owner confirms; from then on the tie counts in solves."""
    principal.require_role(Role.FACTORY_OWNER)
    async with transaction(pool) as conn:
        partnership = await repo.partnership_for_update(conn, partnership_id=partnership_id)
        if partnership is None or partnership.ended_at is not None:
            raise NotFound("No such partnership.")
        owners = await _owners(conn, partnership)
        if not rules.may_see(principal, owners=set(owners)):
            raise NotFound("No such partnership.")
        if not rules.may_confirm(principal, partner_owner=owners[1]):
            raise Forbidden("Only the partner factory's owner may confirm.")
        if partnership.confirmed_at is not None:
            return partnership
        return await repo.confirm(conn, partnership_id=partnership_id, now=now)


async def end_partnership(
    pool: Pool, principal: Principal, *, partnership_id: UUID, now: dt.datetime
) -> repo.Partnership:
    """Either side's owner, or a coordinator, ends a partnership (declared or confirmed)."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    async with transaction(pool) as conn:
        partnership = await repo.partnership_for_update(conn, partnership_id=partnership_id)
        if partnership is None or partnership.ended_at is not None:
            raise NotFound("No such partnership.")
        if not rules.may_end(principal, owners=set(await _owners(conn, partnership))):
            raise NotFound("No such partnership.")
        return await repo.end(conn, partnership_id=partnership_id, now=now)


async def partnerships_of(pool: Pool, principal: Principal, *, factory_id: UUID) -> list[repo.Partnership]:
    """A factory's live partnerships: its owner and coordinators only."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    async with pool.acquire() as conn:
        factory = await factories_repo.factory_by_id(conn, factory_id=factory_id)
        if factory is None:
            raise NotFound("No such factory.")
        if not rules.may_see(principal, owners={factory.owner_user_id}):
            raise Forbidden("Only the factory's owner or a coordinator sees its partnerships.")
        return await repo.of_factory(conn, factory_id=factory_id)


__all__ = ["confirm_partnership", "declare_partnership", "end_partnership", "partnerships_of"]
