"""Who may see and change a partnership: one function per rule."""

from __future__ import annotations

from uuid import UUID

from server.auth.principal import Principal


def may_see(principal: Principal, *, owners: set[UUID]) -> bool:
    """A partnership is a private business relation: the owners of its two factories and coordinators."""
    return principal.is_coordinator or (principal.user_id is not None and principal.user_id in owners)


def may_confirm(principal: Principal, *, partner_owner: UUID) -> bool:
    """Only the owner of the factory that was named as partner confirms: a tie needs both sides."""
    return principal.is_factory_owner and principal.user_id == partner_owner


def may_end(principal: Principal, *, owners: set[UUID]) -> bool:
    """Either side may end it, and the cluster office."""
    return may_see(principal, owners=owners)


__all__ = ["may_confirm", "may_end", "may_see"]
