"""Role gates declared on fields: ``@strawberry.field(permission_classes=[CoordinatorOnly])``.

A gate makes the rule visible where the field is declared and refuses a caller before any resolver work.
The service keeps its own check (``principal.require_role``): it is the authority, because the CLI and the
background worker call services without GraphQL. Record rules (may *this* caller see *this* RFQ) live in
``server/<domain>/rules.py``.

A refused caller gets ``UNAUTHENTICATED`` (no or bad credentials) or ``FORBIDDEN`` (wrong role), raised by
:class:`server.auth.principal.Principal` and translated in :mod:`schema.errors`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from schema.context import Info
from server.auth.principal import Role


class _RoleGate(BasePermission):
    """Passes callers whose role is one of ``roles``; an empty tuple means any signed-in caller."""

    roles: ClassVar[tuple[Role, ...]] = ()

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if self.roles:
            principal.require_role(*self.roles)
        else:
            principal.require_signed_in()
        return True


class ValidCredentials(BasePermission):
    """Anyone, even anonymous, but not a request whose credentials were sent and are not valid."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.principal.require_valid()
        return True


class SignedIn(_RoleGate):
    """Any signed-in caller: factory owner, buyer or coordinator."""


class CoordinatorOnly(_RoleGate):
    roles = (Role.COORDINATOR,)


class BuyerOnly(_RoleGate):
    roles = (Role.BUYER,)


class FactoryOwnerOnly(_RoleGate):
    roles = (Role.FACTORY_OWNER,)


class BuyerOrCoordinator(_RoleGate):
    roles = (Role.BUYER, Role.COORDINATOR)


class FactoryOwnerOrCoordinator(_RoleGate):
    roles = (Role.FACTORY_OWNER, Role.COORDINATOR)


__all__ = [
    "BuyerOnly",
    "BuyerOrCoordinator",
    "CoordinatorOnly",
    "FactoryOwnerOnly",
    "FactoryOwnerOrCoordinator",
    "SignedIn",
    "ValidCredentials",
]
