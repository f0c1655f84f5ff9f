"""GraphQL types of the auth domain: the caller, buyers, API keys."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from schema.auth.loaders import buyers_by_id, users_by_id
from schema.context import Info
from server.auth import repo
from server.auth.principal import Principal, Role
from server.auth.rules import acts_for_buyer


@strawberry.enum(description="The kind of caller.")
class CallerRole(enum.Enum):
    ANONYMOUS = strawberry.enum_value("anonymous", description="Not signed in.")
    FACTORY_OWNER = strawberry.enum_value("factory_owner", description="Owner of one or more factories.")
    BUYER = strawberry.enum_value("buyer", description="An overseas buyer's integration (API key).")
    COORDINATOR = strawberry.enum_value("coordinator", description="Staff of the cluster office.")

    @classmethod
    def of(cls, role: Role) -> CallerRole:
        return cls(role.value)


@strawberry.type(description="An overseas buyer organisation.")
class Buyer:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    name: str = strawberry.field(description="Organisation name.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    currency: str = strawberry.field(description="ISO 4217 code of the currency it is quoted in.")
    created_at: dt.datetime = strawberry.field(description="When it was onboarded.")
    row: strawberry.Private[repo.Buyer]

    @strawberry.field(
        description="Where the cluster office writes to. Only the buyer and coordinators see it."
    )
    def contact_email(self, info: Info) -> str | None:
        if not acts_for_buyer(info.context.principal, self.row.id):
            return None
        return self.row.contact_email

    @classmethod
    def from_row(cls, row: repo.Buyer) -> Buyer:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            country=row.country,
            currency=row.currency,
            created_at=row.created_at,
            row=row,
        )


@strawberry.type(description="An API key of a buyer. The secret itself is shown only once, when created.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Stable identifier; pass it to `apiKeyRevoke`.")
    buyer_id: strawberry.ID = strawberry.field(description="The buyer the key acts for.")
    name: str = strawberry.field(description="A label chosen when it was created.")
    prefix: str = strawberry.field(description="The key's first characters, to tell keys apart.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    last_used_at: dt.datetime | None = strawberry.field(description="Last use, to the minute.")
    revoked_at: dt.datetime | None = strawberry.field(description="When it was revoked, if it was.")
    expires_at: dt.datetime | None = strawberry.field(
        description="When it stops working by itself; null: when revoked. A key created with another key "
        "expires no later than that key."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        description="The key this one was created with (revoking that one revokes this one too); null when "
        "a coordinator created it."
    )

    @classmethod
    def from_row(cls, row: repo.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(str(row.id)),
            buyer_id=strawberry.ID(str(row.buyer_id)),
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            expires_at=row.expires_at,
            parent_id=strawberry.ID(str(row.parent_id)) if row.parent_id else None,
        )


@strawberry.type(description="A signed-in person (factory owner or coordinator).")
class User:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    email: str = strawberry.field(description="Sign-in email, lower case.")
    display_name: str = strawberry.field(description="Name shown to others.")
    role: CallerRole = strawberry.field(description="Factory owner or coordinator.")
    nda_accepted_at: dt.datetime | None = strawberry.field(
        description="When the person accepted the platform NDA (`ndaAccept`); null if never. Factory owners "
        "see RFQs that require an NDA only after accepting it."
    )

    @classmethod
    def from_row(cls, row: repo.User) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            display_name=row.display_name,
            role=CallerRole(row.role),
            nda_accepted_at=row.nda_accepted_at,
        )


@strawberry.type(description="Who the request is authenticated as.")
class Me:
    role: CallerRole = strawberry.field(description="The kind of caller.")
    principal: strawberry.Private[Principal]

    @classmethod
    def of(cls, principal: Principal) -> Me:
        """The caller; its person or buyer is read only when asked for (`me { __typename }` reads none)."""
        return cls(role=CallerRole.of(principal.role), principal=principal)

    @strawberry.field(description="The person, for factory owners and coordinators.")
    async def user(self, info: Info) -> User | None:
        if self.principal.user_id is None:
            return None
        row = await info.context.loader(users_by_id).load(self.principal.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The buyer organisation, for API-key callers.")
    async def buyer(self, info: Info) -> Buyer | None:
        if self.principal.buyer_id is None:
            return None
        row = await info.context.loader(buyers_by_id).load(self.principal.buyer_id)
        return Buyer.from_row(row) if row else None
