"""Auth mutations: account sign-up / log-in / log-out, buyer onboarding, API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from schema.auth.types import ApiKey, Buyer, User
from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id, parse_optional_id
from schema.permissions import BuyerOrCoordinator, CoordinatorOnly, FactoryOwnerOnly
from server.auth import service


@strawberry.input(description="A new factory owner's account.")
class AccountSignUpInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="At least 10 characters.")
    display_name: str = strawberry.field(default="", description="Name shown to others (optional).")


@strawberry.input(description="Email and password of a factory owner or coordinator.")
class AccountLogInInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="Password.")


@strawberry.type(description="Result of signing up or logging in.")
class AccountSessionPayload:
    user: User | None = strawberry.field(description="The signed-in person; null on error.")
    token: str | None = strawberry.field(
        description="Bearer token for the `Authorization: Bearer` header. Shown only here."
    )
    expires_at: dt.datetime | None = strawberry.field(description="When the token stops working.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of logging out.")
class AccountLogOutPayload:
    ok: bool = strawberry.field(description="True when the session was ended.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.input(description="A buyer organisation to onboard.")
class BuyerOnboardInput:
    name: str = strawberry.field(description="Organisation name.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code, e.g. `DE`.")
    currency: str = strawberry.field(description="ISO 4217 currency code it is quoted in, e.g. `EUR`.")
    contact_email: str | None = strawberry.field(default=None, description="Contact address (optional).")
    first_key_name: str = strawberry.field(default="first key", description="Label of its first API key.")


@strawberry.type(description="Result of onboarding a buyer.")
class BuyerOnboardPayload:
    buyer: Buyer | None = strawberry.field(description="The new buyer; null on error.")
    api_key: ApiKey | None = strawberry.field(description="Its first API key.")
    secret: str | None = strawberry.field(description="The first API key's secret. Shown only here.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.input(description="A new API key.")
class ApiKeyCreateInput:
    name: str = strawberry.field(description="A label to tell keys apart, e.g. `ERP production`.")
    buyer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The buyer; a buyer omits it (its own), a coordinator gives it."
    )
    expires_at: dt.datetime | None = strawberry.field(
        default=None,
        description="When the key stops working by itself (optional). A key created with a key that "
        "expires may not outlive it, and inherits its expiry when this is omitted.",
    )


@strawberry.type(description="Result of creating an API key.")
class ApiKeyCreatePayload:
    api_key: ApiKey | None = strawberry.field(description="The new key; null on error.")
    secret: str | None = strawberry.field(description="The key's secret. Shown only here, never again.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of revoking an API key.")
class ApiKeyRevokePayload:
    api_key: ApiKey | None = strawberry.field(description="The revoked key; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type(description="Result of accepting the platform NDA.")
class NdaAcceptPayload:
    user: User | None = strawberry.field(description="The person, with `ndaAcceptedAt` set; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create a factory owner's account and sign it in.")
    async def account_sign_up(
        self,
        info: Info,
        input: Annotated[AccountSignUpInput, strawberry.argument(description="The input; see its fields.")],
    ) -> AccountSessionPayload:
        info.context.claim_sign_in()
        signed, errors = await attempt(
            service.sign_up_factory_owner(
                info.context.pool,
                info.context.principal,
                email=input.email,
                password=input.password,
                display_name=input.display_name,
                now=info.context.clock.now(),
                sessions=info.context.settings.session_policy,
                client_address=info.context.client_address(),
            )
        )
        if signed is None:
            return AccountSessionPayload(user=None, token=None, expires_at=None, errors=errors)
        return AccountSessionPayload(
            user=User.from_row(signed.user), token=signed.token, expires_at=signed.expires_at, errors=[]
        )

    @strawberry.mutation(description="Sign in a factory owner or coordinator; returns a bearer token.")
    async def account_log_in(
        self,
        info: Info,
        input: Annotated[AccountLogInInput, strawberry.argument(description="The input; see its fields.")],
    ) -> AccountSessionPayload:
        info.context.claim_sign_in()
        signed, errors = await attempt(
            service.log_in(
                info.context.pool,
                info.context.principal,
                email=input.email,
                password=input.password,
                now=info.context.clock.now(),
                sessions=info.context.settings.session_policy,
                client_address=info.context.client_address(),
            )
        )
        if signed is None:
            return AccountSessionPayload(user=None, token=None, expires_at=None, errors=errors)
        return AccountSessionPayload(
            user=User.from_row(signed.user), token=signed.token, expires_at=signed.expires_at, errors=[]
        )

    @strawberry.mutation(description="End the caller's session; its token stops working at once.")
    async def account_log_out(self, info: Info) -> AccountLogOutPayload:
        _, errors = await attempt(service.log_out(info.context.pool, info.context.principal))
        return AccountLogOutPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        description="Onboard a buyer organisation and issue its first API key. Coordinators.",
        permission_classes=[CoordinatorOnly],
    )
    async def buyer_onboard(
        self,
        info: Info,
        input: Annotated[BuyerOnboardInput, strawberry.argument(description="The input; see its fields.")],
    ) -> BuyerOnboardPayload:
        result, errors = await attempt(
            service.onboard_buyer(
                info.context.pool,
                info.context.principal,
                name=input.name,
                country=input.country,
                currency=input.currency,
                contact_email=input.contact_email,
                first_key_name=input.first_key_name,
            )
        )
        if result is None:
            return BuyerOnboardPayload(buyer=None, api_key=None, secret=None, errors=errors)
        buyer, issued = result
        return BuyerOnboardPayload(
            buyer=Buyer.from_row(buyer),
            api_key=ApiKey.from_row(issued.api_key),
            secret=issued.secret,
            errors=[],
        )

    @strawberry.mutation(
        description="Create an API key: a buyer for itself, a coordinator for any buyer.",
        permission_classes=[BuyerOrCoordinator],
    )
    async def api_key_create(
        self,
        info: Info,
        input: Annotated[ApiKeyCreateInput, strawberry.argument(description="The input; see its fields.")],
    ) -> ApiKeyCreatePayload:
        buyer_id = parse_optional_id(input.buyer_id, kind="buyer")
        issued, errors = await attempt(
            service.create_api_key(
                info.context.pool,
                info.context.principal,
                buyer_id=buyer_id,
                name=input.name,
                now=info.context.clock.now(),
                expires_at=input.expires_at,
            )
        )
        if issued is None:
            return ApiKeyCreatePayload(api_key=None, secret=None, errors=errors)
        return ApiKeyCreatePayload(api_key=ApiKey.from_row(issued.api_key), secret=issued.secret, errors=[])

    @strawberry.mutation(
        description="Revoke an API key; it stops working at once.", permission_classes=[BuyerOrCoordinator]
    )
    async def api_key_revoke(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The key's id.")]
    ) -> ApiKeyRevokePayload:
        key_id = parse_id(id, kind="API key")
        key, errors = await attempt(
            service.revoke_api_key(
                info.context.pool, info.context.principal, api_key_id=key_id, now=info.context.clock.now()
            )
        )
        return ApiKeyRevokePayload(api_key=ApiKey.from_row(key) if key else None, errors=errors)

    @strawberry.mutation(
        description="Accept the platform NDA (recorded with the time). Factory owners; afterwards their "
        "approved factories also see RFQs that require an NDA.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def nda_accept(self, info: Info) -> NdaAcceptPayload:
        row, errors = await attempt(
            service.accept_nda(info.context.pool, info.context.principal, now=info.context.clock.now())
        )
        return NdaAcceptPayload(user=User.from_row(row) if row else None, errors=errors)
