"""Who may act for a buyer: one function per rule, used by every path that needs it."""

from __future__ import annotations

from uuid import UUID

from server.auth.principal import Principal


def acts_for_buyer(principal: Principal, buyer_id: UUID) -> bool:
    """The buyer itself or the cluster office: who manages a buyer's API keys and sees its contact address
    (never factory owners, never another buyer)."""
    return principal.is_coordinator or (principal.is_buyer and principal.buyer_id == buyer_id)


__all__ = ["acts_for_buyer"]
