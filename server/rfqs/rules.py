"""Who may see and do what with an RFQ: one function per rule, used by every path that needs it.

- :func:`visible_rfqs` — which RFQs a caller sees at all (``rfq(id)``, ``rfqs``, anything later), as a
  typed :data:`RfqScope` that the repository renders as SQL (:func:`server.rfqs.repo.scope_condition`).
- :func:`may_manage_rfq` — who may change an RFQ (cancel it).
- :func:`may_see_buyer` — whether the caller learns who the buyer is.
- :func:`may_see_target_price` — whether the caller sees the buyer's target unit prices.
- :func:`visible_events` — which events of an RFQ's log the caller reads, as a typed :data:`EventScope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from server.auth.principal import Principal, Role
from server.errors import Unauthenticated

if TYPE_CHECKING:  # the repository imports the scopes below to render them
    from server.rfqs.repo import Rfq


@dataclass(frozen=True)
class EveryRfq:
    """Every RFQ, in every status (the cluster office)."""


@dataclass(frozen=True)
class RfqsOfBuyer:
    """One buyer's own RFQs, in every status."""

    buyer_id: UUID


@dataclass(frozen=True)
class OpenRfqsMatchingOwner:
    """Open RFQs with at least one operation that an *approved* factory of this owner could do (a capability
    with the operation's process and the line's material among the capability's materials); RFQs that
    require an NDA only once the owner accepted the platform NDA."""

    owner_user_id: UUID


RfqScope = EveryRfq | RfqsOfBuyer | OpenRfqsMatchingOwner


@dataclass(frozen=True)
class EveryEvent:
    """Every event of the RFQ log (coordinators)."""


@dataclass(frozen=True)
class BuyerSafeEvents:
    """The events marked buyer-safe: no bids, no factory ids or names."""


@dataclass(frozen=True)
class NoEvents:
    """None at all."""


EventScope = EveryEvent | BuyerSafeEvents | NoEvents


def visible_rfqs(principal: Principal) -> RfqScope:
    """The RFQs ``principal`` may see.

    - a buyer sees its own RFQs, in every status;
    - a coordinator sees every RFQ;
    - a factory owner sees the **open** RFQs that its factories could work on. The parts are what factories
      bid on; who the buyer is, is a separate rule (:func:`may_see_buyer`);
    - anonymous callers and invalid credentials are refused (UNAUTHENTICATED).
    """
    principal.require_signed_in()
    if principal.role is Role.COORDINATOR:
        return EveryRfq()
    if principal.role is Role.BUYER and principal.buyer_id is not None:
        return RfqsOfBuyer(principal.buyer_id)
    if principal.role is Role.FACTORY_OWNER and principal.user_id is not None:
        return OpenRfqsMatchingOwner(principal.user_id)
    raise Unauthenticated()


def may_manage_rfq(principal: Principal, rfq: Rfq) -> bool:
    """The owning buyer and coordinators may change an RFQ; nobody else (not even a factory that sees it)."""
    return principal.is_coordinator or (principal.is_buyer and principal.buyer_id == rfq.buyer_id)


def may_see_buyer(principal: Principal, rfq: Rfq) -> bool:
    """The buyer's identity: to its owner and coordinators; to others only when the buyer disclosed it."""
    return may_manage_rfq(principal, rfq) or rfq.disclose_buyer


def may_filter_by_buyer(principal: Principal) -> bool:
    """Listing RFQs by buyer: coordinators, and buyers (who see only their own anyway). Never factory owners:
    a buyer id read from one disclosed RFQ must not find that buyer's undisclosed ones. The answer does not
    depend on the id given, so neither the result, the error nor its timing says anything about it."""
    return principal.is_coordinator or principal.is_buyer


def may_see_target_price(principal: Principal, rfq: Rfq) -> bool:
    """Target unit prices are the buyer's negotiating position: the owning buyer and coordinators only."""
    return may_manage_rfq(principal, rfq)


def visible_events(principal: Principal, rfq: Rfq) -> EventScope:
    """Which events of ``rfq``'s log the caller reads: coordinators all of them; the owning buyer the
    buyer-safe ones; anybody else (factory owners, other buyers) none."""
    if principal.is_coordinator:
        return EveryEvent()
    if principal.is_buyer and principal.buyer_id == rfq.buyer_id:
        return BuyerSafeEvents()
    return NoEvents()


__all__ = [
    "BuyerSafeEvents",
    "EventScope",
    "EveryEvent",
    "EveryRfq",
    "NoEvents",
    "OpenRfqsMatchingOwner",
    "RfqScope",
    "RfqsOfBuyer",
    "may_filter_by_buyer",
    "may_manage_rfq",
    "may_see_buyer",
    "may_see_target_price",
    "visible_events",
    "visible_rfqs",
]
