"""Record rules of the factories domain: who may change a factory, and who sees its private figures.

Role gates (who may call at all) are on the GraphQL fields and in ``principal.require_*``; these rules decide
about one factory, and every service and type of the domain asks them rather than repeating them.
"""

from __future__ import annotations

from uuid import UUID

from server.auth.principal import Principal
from server.db import Connection
from server.errors import Forbidden, NotFound
from server.factories import repo


def may_manage(principal: Principal, factory: repo.Factory) -> bool:
    """The one rule for changing a factory: its owner or a coordinator."""
    if principal.is_coordinator:
        return True
    return principal.is_factory_owner and principal.user_id == factory.owner_user_id


def may_see_private(principal: Principal, factory: repo.Factory) -> bool:
    """The one rule for a factory's private figures (hours, rates, setup costs, lead days, capacity).

    Whoever may manage the factory sees them; buyers and other owners see the public profile only.
    """
    return may_manage(principal, factory)


def may_see(principal: Principal, factory: repo.Factory) -> bool:
    """Approved factories are public to signed-in callers; a pending or rejected one only to its owner and
    coordinators (the cluster office has not vouched for it)."""
    return factory.approval_status == "approved" or may_manage(principal, factory)


def registry_visibility(principal: Principal) -> tuple[bool, UUID | None]:
    """What the registry lists for ``principal``: ``(approved_only, or_owned_by)`` of
    :class:`repo.FactorySearch` — coordinators everything, owners approved factories and their own."""
    if principal.is_coordinator:
        return False, None
    return True, principal.user_id


def is_mine(principal: Principal, factory: repo.Factory) -> bool:
    """The caller owns this factory."""
    return principal.user_id is not None and principal.user_id == factory.owner_user_id


async def factory_to_change(conn: Connection, principal: Principal, factory_id: UUID) -> repo.Factory:
    """The factory, locked for this transaction; NOT_FOUND when unknown, FORBIDDEN unless :func:`may_manage`.

    Factory profiles are visible to every signed-in caller, so telling "not yours" from "no such" reveals
    nothing; FORBIDDEN is the more useful answer.
    """
    factory = await repo.factory_by_id(conn, factory_id=factory_id, for_update=True)
    if factory is None or not may_see(principal, factory):
        raise NotFound("No such factory.")
    if not may_manage(principal, factory):
        raise Forbidden("Only the factory's owner or a coordinator may change it.")
    return factory


def registry_class(principal: Principal) -> str:
    """The callers to whom the registry (factories, their capabilities, capacity, certifications, clusters)
    looks the same: the visibility class a cached answer is keyed by (:mod:`server.cache`).

    Every rule of this module reads the principal through its role and its ``user_id`` only — never a
    buyer, an API key or a session — so callers with the same role and user id are decided alike: all
    buyers share one class, as do all anonymous callers; an owner or a coordinator is a class of its own
    (its own factories, pending ones included, and their private figures, ``isMine``). A new rule that reads
    anything else must add it here.
    """
    if principal.user_id is None:
        return principal.role.value
    return f"{principal.role.value}:{principal.user_id}"
