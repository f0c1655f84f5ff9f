"""Sign-up, sign-in, sessions, buyer onboarding and API keys.

Every function takes the calling :class:`Principal` first, decides whether it may act, validates, and runs
in one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from server.auth import repo, throttle
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
from server.errors import ErrorCode, Forbidden, NotFound, RateLimited, ValidationFailed, fail
from server.settings import SessionPolicy
from server.validation import Errors, clean_country, clean_currency, clean_email, clean_text, is_storable

MIN_PASSWORD_LENGTH = 10
INVALID_CREDENTIALS_MESSAGE = "Email or password is not correct."
DEFAULT_SESSION_POLICY = SessionPolicy()
# How stale a session's last_seen_at may grow before a request writes it again (the idle timeout's grain).
SESSION_TOUCH_INTERVAL = dt.timedelta(minutes=1)


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
    conn: Connection, *, email: str, password_hash: str, role: Role, display_name: str
) -> repo.User:
    try:
        return await repo.create_user(
            conn,
            email=email,
            password_hash=password_hash,
            role=role.value,
            display_name=display_name,
            organisation_id=None,
        )
    except asyncpg.UniqueViolationError:
        raise fail("email", ErrorCode.ALREADY_EXISTS, "An account with this email exists.") from None


async def _start_session(
    conn: Connection, user: repo.User, *, now: dt.datetime, sessions: SessionPolicy
) -> SignedIn:
    """A new session for ``user``; its oldest sessions beyond the per-person cap end, expired ones go."""
    token = new_token(SESSION_PREFIX)
    expires_at = now + sessions.ttl
    await repo.create_session(
        conn, user_id=user.id, token_hash=token_hash(token), expires_at=expires_at, now=now
    )
    await repo.end_sessions_beyond(conn, user_id=user.id, keep=sessions.per_user, now=now)
    await repo.delete_dead_sessions(conn, user_id=user.id, now=now, idle=sessions.idle)
    return SignedIn(user=user, token=token, expires_at=expires_at)


# Only so many argon2 verifications run at once in a process: each takes a core for ~50 ms, and a burst of
# wrong passwords must not starve every other request of CPU.
_PASSWORD_CHECKS = asyncio.Semaphore(1)


def _login_email(email: str) -> str:
    """The address as stored, or INVALID_CREDENTIALS for text no account can have (NUL, surrogates …)."""
    cleaned = email.strip().lower()
    if not is_storable(cleaned) or len(cleaned) > 254:
        raise fail(None, ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
    return cleaned


async def _refuse_while_throttled(pool: Pool, keys: list[str], now: dt.datetime) -> None:
    async with pool.acquire() as conn:
        wait = await throttle.wait_before_attempt(conn, keys=keys, now=now)
    if wait > dt.timedelta(0):
        seconds = math.ceil(wait.total_seconds())
        raise RateLimited(f"Too many failed attempts; try again in {seconds} s.", retry_after_s=seconds)


async def sign_up_factory_owner(
    pool: Pool,
    principal: Principal,
    *,
    email: str,
    password: str,
    display_name: str,
    now: dt.datetime,
    sessions: SessionPolicy,
    client_address: str | None = None,
) -> SignedIn:
    """Create a factory owner's account and sign it in. Open to anonymous callers.

    An address already registered is ALREADY_EXISTS (see docs/security.md for why this is told); sign-ups
    that hit an existing address count against the client address in the login throttle, so the answer
    cannot be used to test many addresses.
    """
    principal.require_valid()
    if principal.role is not Role.ANONYMOUS:
        raise Forbidden("Sign out before creating another account.")
    email, display_name = _clean_account(email, password, display_name)
    signup = throttle.signup_key(client_address)
    if signup is not None:
        await _refuse_while_throttled(pool, [signup], now)
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        async with transaction(pool) as conn:
            user = await _insert_user(
                conn,
                email=email,
                password_hash=password_hash,
                role=Role.FACTORY_OWNER,
                display_name=display_name,
            )
            return await _start_session(conn, user, now=now, sessions=sessions)
    except ValidationFailed:
        if signup is not None:
            async with transaction(pool) as conn:
                await throttle.record_failure(
                    conn, key=signup, free=throttle.DEFAULT_POLICY.address_free_failures, now=now
                )
        raise


async def log_in(
    pool: Pool,
    principal: Principal,
    *,
    email: str,
    password: str,
    now: dt.datetime,
    sessions: SessionPolicy,
    client_address: str | None = None,
) -> SignedIn:
    """Check an email and password; open a session. The error does not say which of the two was wrong.

    Failed attempts are throttled per account and per client address (:mod:`server.auth.throttle`): while a
    back-off runs, the answer is RATE_LIMITED, before any password is checked.
    """
    principal.require_valid()
    email = _login_email(email)
    keys = [throttle.account_key(email)]
    address = throttle.address_key(client_address)
    if address is not None:
        keys.append(address)
    await _refuse_while_throttled(pool, keys, now)
    async with pool.acquire() as conn:
        user = await repo.user_by_email(conn, email=email)
    async with _PASSWORD_CHECKS:
        # Checked again in turn: attempts that queued behind others may be throttled by now, and then cost
        # no argon2 verification; a failure is recorded before the next attempt of this process checks.
        await _refuse_while_throttled(pool, keys, now)
        valid = await asyncio.to_thread(
            verify_password, user.password_hash if user else DUMMY_PASSWORD_HASH, password
        )
        if user is None or not valid:
            async with transaction(pool) as conn:
                await throttle.record_failure(
                    conn, key=keys[0], free=throttle.DEFAULT_POLICY.free_failures, now=now
                )
                if address is not None:
                    await throttle.record_failure(
                        conn, key=address, free=throttle.DEFAULT_POLICY.address_free_failures, now=now
                    )
    if user is None or not valid:
        raise fail(None, ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
    async with transaction(pool) as conn:
        await throttle.clear(conn, key=keys[0])
        return await _start_session(conn, user, now=now, sessions=sessions)


async def log_out(pool: Pool, principal: Principal) -> None:
    """End the caller's session; its token stops working at once."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    assert principal.session_id is not None
    async with transaction(pool) as conn:
        await repo.revoke_session(conn, session_id=principal.session_id)


async def accept_nda(pool: Pool, principal: Principal, *, now: dt.datetime) -> repo.User:
    """A factory owner accepts the platform NDA; from then on it sees RFQs that require one."""
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    async with transaction(pool) as conn:
        return await repo.accept_nda(conn, user_id=principal.user_id, now=now)


async def purge_sessions(pool: Pool, *, now: dt.datetime, sessions: SessionPolicy) -> int:
    """Delete every ended session (expired, idle too long, or revoked); how many went. For the CLI/cron."""
    async with transaction(pool) as conn:
        return await repo.delete_dead_sessions(conn, user_id=None, now=now, idle=sessions.idle)


async def principal_from_token(
    pool: Pool,
    authorization: str | None,
    *,
    now: dt.datetime,
    sessions: SessionPolicy = DEFAULT_SESSION_POLICY,
) -> Principal:
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
            if row.last_seen_at + sessions.idle <= now:
                return Principal(Role.ANONYMOUS, auth_error="This session was idle too long; sign in again.")
            if row.last_seen_at < now - SESSION_TOUCH_INTERVAL:  # no write on every request
                await repo.touch_session(conn, session_id=row.session_id, now=now)
            return Principal(Role(row.role), user_id=row.user_id, session_id=row.session_id)
        # One round trip: the key, and its last use noted when it is valid.
        key = await repo.use_api_key(conn, key_hash=token_hash(token), now=now)
        if key is None or key.revoked_at is not None:
            return Principal(Role.ANONYMOUS, auth_error="This API key is unknown or revoked.")
        if key.expires_at is not None and key.expires_at <= now:
            return Principal(Role.ANONYMOUS, auth_error="This API key has expired.")
        return Principal(Role.BUYER, buyer_id=key.buyer_id, api_key_id=key.api_key_id)


async def create_coordinator(pool: Pool, *, email: str, password: str, display_name: str) -> repo.User:
    """Create a coordinator account. Reached from the CLI only: no API caller may create one."""
    email, display_name = _clean_account(email, password, display_name)
    async with transaction(pool) as conn:
        return await _insert_user(
            conn,
            email=email,
            password_hash=hash_password(password),
            role=Role.COORDINATOR,
            display_name=display_name,
        )


async def _issue_api_key(
    conn: Connection, principal: Principal, *, buyer_id: UUID, name: str, expires_at: dt.datetime | None
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
        expires_at=expires_at,
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
        issued = await _issue_api_key(
            conn, principal, buyer_id=buyer_id, name=first_key_name, expires_at=None
        )
        (buyer,) = await repo.buyers_by_ids(conn, ids=[buyer_id])
        return buyer, issued


async def create_api_key(
    pool: Pool,
    principal: Principal,
    *,
    buyer_id: UUID | None,
    name: str,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> IssuedApiKey:
    """Issue a new API key for ``buyer_id`` (a buyer: its own when omitted).

    A key created with a key is that key's child: it expires no later than its parent (and inherits the
    parent's expiry when none is given), and revoking the parent revokes it. Keys of one buyer all have the
    same rights, so a child can neither outlive nor out-rank what created it.
    """
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    target = buyer_id or principal.buyer_id
    if target is None:
        raise fail("buyerId", ErrorCode.REQUIRED, "Say which buyer the key is for.")
    if not acts_for_buyer(principal, target):
        raise Forbidden("A buyer may only create keys for itself.")
    errors = Errors()
    name = clean_text(errors, "name", name, max_length=100)
    if expires_at is not None and expires_at <= now:
        errors.add("expiresAt", ErrorCode.DATE_IN_PAST, "expiresAt must lie in the future.")
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        if not await repo.buyers_by_ids(conn, ids=[target]):
            raise fail("buyerId", ErrorCode.NOT_FOUND, "No such buyer.")
        if principal.api_key_id is not None:
            parent = await repo.api_key_by_id(conn, api_key_id=principal.api_key_id)
            assert parent is not None  # it authenticated this request
            if parent.expires_at is not None:
                if expires_at is None:
                    expires_at = parent.expires_at
                elif expires_at > parent.expires_at:
                    raise fail(
                        "expiresAt",
                        ErrorCode.OUT_OF_RANGE,
                        "A key cannot outlive the key that creates it "
                        f"(expires {parent.expires_at.isoformat()}).",
                    )
        return await _issue_api_key(conn, principal, buyer_id=target, name=name, expires_at=expires_at)


async def revoke_api_key(
    pool: Pool, principal: Principal, *, api_key_id: UUID, now: dt.datetime
) -> repo.ApiKey:
    """Revoke a key and the keys created from it; they stop working at once. Revoking twice is harmless.

    A coordinator may revoke any key; a key may revoke itself and the keys created from it, not its parent
    or its siblings.
    """
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    async with transaction(pool) as conn:
        key = await repo.api_key_by_id(conn, api_key_id=api_key_id)
        if key is None or not acts_for_buyer(principal, key.buyer_id):
            # Another buyer's key is reported exactly like a missing one: ids reveal nothing.
            raise NotFound("No such API key.")
        if principal.api_key_id is not None and not await repo.is_same_or_descendant(
            conn, ancestor_id=principal.api_key_id, api_key_id=api_key_id
        ):
            raise Forbidden("A key may revoke only itself and the keys created from it.")
        return await repo.revoke_api_key(conn, api_key_id=api_key_id, now=now)


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
