"""Who is calling: the principal every service receives as its first argument."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from uuid import UUID

from server.errors import Forbidden, Unauthenticated


class Role(enum.Enum):
    """The kind of caller. Anonymous callers may sign up and read the process taxonomy only."""

    ANONYMOUS = "anonymous"
    FACTORY_OWNER = "factory_owner"
    BUYER = "buyer"
    COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request.

    A factory owner or coordinator signs in with a password and carries ``user_id`` and ``session_id``; a
    buyer integration carries ``buyer_id`` and ``api_key_id``. ``auth_error`` is set when the request sent
    credentials that are not valid: such a request is refused everywhere, even where anonymous callers are
    allowed, so that a client with a broken token learns it at once.
    """

    role: Role
    user_id: UUID | None = None
    session_id: UUID | None = None
    buyer_id: UUID | None = None
    api_key_id: UUID | None = None
    auth_error: str | None = None

    @property
    def is_coordinator(self) -> bool:
        return self.role is Role.COORDINATOR

    @property
    def is_factory_owner(self) -> bool:
        return self.role is Role.FACTORY_OWNER

    @property
    def is_buyer(self) -> bool:
        return self.role is Role.BUYER

    def require_valid(self) -> None:
        """Refuse a request whose credentials were sent but not valid."""
        if self.auth_error is not None:
            raise Unauthenticated(self.auth_error)

    def require_signed_in(self) -> None:
        """Refuse anonymous callers and invalid credentials."""
        self.require_valid()
        if self.role is Role.ANONYMOUS:
            raise Unauthenticated()

    def require_role(self, *roles: Role) -> None:
        """Refuse callers whose role is not one of ``roles``."""
        self.require_signed_in()
        if self.role not in roles:
            raise Forbidden(f"Only {role_list(roles)} may do this.")


def role_list(roles: tuple[Role, ...]) -> str:
    """``(BUYER, COORDINATOR)`` → "a buyer or a coordinator", for messages people read."""
    names = [f"a {r.value.replace('_', ' ')}" for r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


ANONYMOUS = Principal(role=Role.ANONYMOUS)
