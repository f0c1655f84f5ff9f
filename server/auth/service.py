"""Sign-up, sign-in, sessions, buyer onboarding and API keys.

Every function takes the calling :class:`Principal` first, decides whether it may act, validates, and runs
in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from server.auth import repo
from server.auth.principal import ANONYMOUS, Principal, Role
from server.auth.rules import acts_for_buyer
from server.auth.tokens import (
    API_KEY_DISPLAY_CHARS,
    API_KEY_PREFIX,
    DUMMY_PASSWORD_HASH,
    SESSION_PREFIX,
    hash_password,
    new_token,
    token_hash,
    token_kind,
    verify_password,
)
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, Forbidden, NotFound, ValidationFailed, fail
from server.validation import Errors, clean_country, clean_currency, clean_email, clean_text

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class SignedIn:
    """A new session: the bearer token is shown once, here, and never again."""

    user: repo.User
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedApiKey:
    """A new API key: the secret is shown once, here, and never again."""

    api_key: repo.ApiKey
    secret: str


def _clean_account(email: str, password: str, display_name: str) -> tuple[str, str]:
    """A new account's email and display name, cleaned; every problem with the three raised at once."""
    errors = Errors()
    email = clean_email(errors, "email", email)
    display_name = clean_text(errors, "displayName", display_name, max_length=200, required=False)
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.add("password", ErrorCode.WEAK_PASSWORD, f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    elif len(password) > 200:
        errors.add("password", ErrorCode.TOO_LONG, "password is at most 200 characters.")
    if errors:
        raise ValidationFailed(errors)
    return email, display_name


async def _insert_user(
    conn: Connection, *, email: str, password: str, role: Role, display_name: str
) -> repo.User:
    try:
        return await repo.create_user(
            conn,
            email=email,
            password_hash=hash_password(password),
            role=role.value,
            display_name=display_name,
            organisation_id=None,
        )
    except asyncpg.UniqueViolationError:
        raise fail("email", ErrorCode.ALREADY_EXISTS, "An account with this email exists.") from None


async def _start_session(
    conn: Connection, user: repo.User, *, now: dt.datetime, ttl: dt.timedelta
) -> SignedIn:
    token = new_token(SESSION_PREFIX)
    expires_at = now + ttl
    await repo.create_session(conn, user_id=user.id, token_hash=token_hash(token), expires_at=expires_at)
    return SignedIn(user=user, token=token, expires_at=expires_at)


async def sign_up_factory_owner(
    pool: Pool,
    principal: Principal,
    *,
    email: str,
    password: str,
    display_name: str,
    now: dt.datetime,
    session_ttl: dt.timedelta,
) -> SignedIn:
    """Create a factory owner's account and sign it in. Open to anonymous callers."""
    principal.require_valid()
    if principal.role is not Role.ANONYMOUS:
        raise Forbidden("Sign out before creating another account.")
    email, display_name = _clean_account(email, password, display_name)
    async with transaction(pool) as conn:
        user = await _insert_user(
            conn, email=email, password=password, role=Role.FACTORY_OWNER, display_name=display_name
        )
        return await _start_session(conn, user, now=now, ttl=session_ttl)


async def log_in(
    pool: Pool,
    principal: Principal,
    *,
    email: str,
    password: str,
    now: dt.datetime,
    session_ttl: dt.timedelta,
) -> SignedIn:
    """Check an email and password; open a session. The error does not say which of the two was wrong."""
    principal.require_valid()
    async with transaction(pool) as conn:
        user = await repo.user_by_email(conn, email=email.strip().lower())
        valid = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
        if user is None or not valid:
            raise fail(None, ErrorCode.INVALID_CREDENTIALS, "Email or password is not correct.")
        return await _start_session(conn, user, now=now, ttl=session_ttl)


async def log_out(pool: Pool, principal: Principal) -> None:
    """End the caller's session; its token stops working at once."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    assert principal.session_id is not None
    async with transaction(pool) as conn:
        await repo.revoke_session(conn, session_id=principal.session_id)


async def principal_from_token(pool: Pool, authorization: str | None, *, now: dt.datetime) -> Principal:
    """Resolve an ``Authorization`` header to a principal; invalid credentials give ``auth_error``."""
    if not authorization:
        return ANONYMOUS
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Principal(Role.ANONYMOUS, auth_error="Send credentials as 'Authorization: Bearer <token>'.")
    kind = token_kind(token)
    if kind is None:
        return Principal(Role.ANONYMOUS, auth_error="The bearer token is malformed.")
    async with pool.acquire() as conn:
        if kind == "session":
            row = await repo.session_principal(conn, token_hash=token_hash(token))
            if row is None or row.revoked_at is not None:
                return Principal(Role.ANONYMOUS, auth_error="This session has ended; sign in again.")
            if row.expires_at <= now:
                return Principal(Role.ANONYMOUS, auth_error="This session has expired; sign in again.")
            return Principal(Role(row.role), user_id=row.user_id, session_id=row.session_id)
        key = await repo.api_key_principal(conn, key_hash=token_hash(token))
        if key is None or key.revoked_at is not None:
            return Principal(Role.ANONYMOUS, auth_error="This API key is unknown or revoked.")
        await repo.touch_api_key(conn, api_key_id=key.api_key_id)
        return Principal(Role.BUYER, buyer_id=key.buyer_id, api_key_id=key.api_key_id)


async def create_coordinator(pool: Pool, *, email: str, password: str, display_name: str) -> repo.User:
    """Create a coordinator account. Reached from the CLI only: no API caller may create one."""
    email, display_name = _clean_account(email, password, display_name)
    async with transaction(pool) as conn:
        return await _insert_user(
            conn, email=email, password=password, role=Role.COORDINATOR, display_name=display_name
        )


async def _issue_api_key(
    conn: Connection, principal: Principal, *, buyer_id: UUID, name: str
) -> IssuedApiKey:
    secret = new_token(API_KEY_PREFIX)
    api_key = await repo.create_api_key(
        conn,
        buyer_id=buyer_id,
        name=name,
        prefix=secret[:API_KEY_DISPLAY_CHARS],
        key_hash=token_hash(secret),
        created_by_user_id=principal.user_id,
        created_by_api_key_id=principal.api_key_id,
    )
    return IssuedApiKey(api_key=api_key, secret=secret)


async def onboard_buyer(
    pool: Pool,
    principal: Principal,
    *,
    name: str,
    country: str,
    currency: str,
    contact_email: str | None,
    first_key_name: str = "first key",
) -> tuple[repo.Buyer, IssuedApiKey]:
    """Register an overseas buyer organisation and issue its first API key. Coordinators only."""
    principal.require_role(Role.COORDINATOR)
    errors = Errors()
    name = clean_text(errors, "name", name, max_length=200)
    country = clean_country(errors, "country", country)
    currency = clean_currency(errors, "currency", currency)
    if contact_email:
        contact_email = clean_email(errors, "contactEmail", contact_email)
    first_key_name = clean_text(errors, "firstKeyName", first_key_name, max_length=100)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        if await repo.buyer_name_taken(conn, name=name):
            raise fail("name", ErrorCode.ALREADY_EXISTS, f"A buyer named {name!r} exists already.")
        try:
            org_id = await repo.create_organisation(conn, kind="buyer", name=name)
        except asyncpg.UniqueViolationError:
            # A concurrent onboarding of the same name committed between the check and the insert.
            raise fail("name", ErrorCode.ALREADY_EXISTS, f"A buyer named {name!r} exists already.") from None
        buyer_id = await repo.create_buyer(
            conn, organisation_id=org_id, country=country, currency=currency, contact_email=contact_email
        )
        issued = await _issue_api_key(conn, principal, buyer_id=buyer_id, name=first_key_name)
        (buyer,) = await repo.buyers_by_ids(conn, ids=[buyer_id])
        return buyer, issued


async def create_api_key(
    pool: Pool, principal: Principal, *, buyer_id: UUID | None, name: str
) -> IssuedApiKey:
    """Issue a new API key for ``buyer_id`` (a buyer: its own when omitted)."""
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    target = buyer_id or principal.buyer_id
    if target is None:
        raise fail("buyerId", ErrorCode.REQUIRED, "Say which buyer the key is for.")
    if not acts_for_buyer(principal, target):
        raise Forbidden("A buyer may only create keys for itself.")
    errors = Errors()
    name = clean_text(errors, "name", name, max_length=100)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        if not await repo.buyers_by_ids(conn, ids=[target]):
            raise fail("buyerId", ErrorCode.NOT_FOUND, "No such buyer.")
        return await _issue_api_key(conn, principal, buyer_id=target, name=name)


async def revoke_api_key(pool: Pool, principal: Principal, *, api_key_id: UUID) -> repo.ApiKey:
    """Revoke a key; it stops working at once. Revoking twice is harmless."""
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    async with transaction(pool) as conn:
        key = await repo.api_key_by_id(conn, api_key_id=api_key_id)
        if key is None or not acts_for_buyer(principal, key.buyer_id):
            # Another buyer's key is reported exactly like a missing one: ids reveal nothing.
            raise NotFound("No such API key.")
        return await repo.revoke_api_key(conn, api_key_id=api_key_id)


async def list_buyers(pool: Pool, principal: Principal) -> list[repo.Buyer]:
    """Every buyer organisation. Coordinators only."""
    principal.require_role(Role.COORDINATOR)
    async with pool.acquire() as conn:
        return await repo.list_buyers(conn)


async def list_api_keys(pool: Pool, principal: Principal, *, buyer_id: UUID | None) -> list[repo.ApiKey]:
    """A buyer's keys, newest last: its own for a buyer, the named buyer's for a coordinator."""
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    target = buyer_id or principal.buyer_id
    if target is None:
        raise fail("buyerId", ErrorCode.REQUIRED, "buyerId is required: say whose API keys to list.")
    if not acts_for_buyer(principal, target):
        raise Forbidden("A buyer may only list its own keys.")
    async with pool.acquire() as conn:
        return await repo.api_keys_by_buyer_ids(conn, buyer_ids=[target])
