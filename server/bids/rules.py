"""Who may see and do what with bids: one function per rule, used by every path that needs it.

Bids are sealed:

- :func:`visible_bids` — an owner sees its own factories' bids only, coordinators see every bid, buyers see
  none (not even who bid): a typed :data:`BidScope` that :func:`server.bids.repo.bid_condition` renders;
- :func:`may_bid_for` — only a factory's owner bids for it;
- :func:`may_see_candidates` — every factory's eligibility for a package is the cluster office's view.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from server.auth.principal import Principal, Role
from server.errors import Unauthenticated


@dataclass(frozen=True)
class EveryBid:
    """Every bid (the cluster office)."""


@dataclass(frozen=True)
class BidsOfOwner:
    """The bids of the factories this user owns."""

    owner_user_id: UUID


@dataclass(frozen=True)
class NoBids:
    """None, and nothing about who bid (buyers)."""


BidScope = EveryBid | BidsOfOwner | NoBids


def visible_bids(principal: Principal) -> BidScope:
    """The bids ``principal`` may see; anonymous callers and invalid credentials are UNAUTHENTICATED."""
    principal.require_signed_in()
    if principal.role is Role.COORDINATOR:
        return EveryBid()
    if principal.role is Role.FACTORY_OWNER and principal.user_id is not None:
        return BidsOfOwner(principal.user_id)
    if principal.role is Role.BUYER:
        return NoBids()
    raise Unauthenticated()


def may_bid_for(principal: Principal, *, factory_owner_user_id: UUID) -> bool:
    """Only the factory's owner bids for it (and withdraws its bids); coordinators do not bid."""
    return principal.is_factory_owner and principal.user_id == factory_owner_user_id


def may_see_candidates(principal: Principal) -> bool:
    """Every factory's eligibility for a package: coordinators only."""
    return principal.is_coordinator


__all__ = [
    "BidScope",
    "BidsOfOwner",
    "EveryBid",
    "NoBids",
    "may_bid_for",
    "may_see_candidates",
    "visible_bids",
]
