"""SQL for users, sessions, buyers and API keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from server.db import Connection


@dataclass(frozen=True)
class User:
    id: UUID
    email: str
    password_hash: str
    role: str
    display_name: str
    organisation_id: UUID | None
    created_at: dt.datetime
    nda_accepted_at: dt.datetime | None


@dataclass(frozen=True)
class Buyer:
    id: UUID
    organisation_id: UUID
    name: str
    country: str
    currency: str
    contact_email: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ApiKey:
    id: UUID
    buyer_id: UUID
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None
    parent_id: UUID | None  # the key that created this one, if a key did


@dataclass(frozen=True)
class SessionPrincipalRow:
    session_id: UUID
    user_id: UUID
    role: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime


@dataclass(frozen=True)
class ApiKeyPrincipalRow:
    api_key_id: UUID
    buyer_id: UUID
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None


_USER_COLUMNS = "id, email, password_hash, role, display_name, organisation_id, created_at, nda_accepted_at"
_BUYER_SELECT = """
    SELECT b.id, b.organisation_id, o.name, b.country, b.currency, b.contact_email, b.created_at
    FROM buyers b JOIN organisations o ON o.id = b.organisation_id
"""
_API_KEY_COLUMNS = (
    "id, buyer_id, name, prefix, created_at, last_used_at, revoked_at, expires_at,"
    " created_by_api_key_id AS parent_id"
)


async def create_organisation(conn: Connection, *, kind: str, name: str) -> UUID:
    org_id: UUID = await conn.fetchval(
        "INSERT INTO organisations (kind, name) VALUES ($1, $2) RETURNING id", kind, name
    )
    return org_id


async def create_user(
    conn: Connection,
    *,
    email: str,
    password_hash: str,
    role: str,
    display_name: str,
    organisation_id: UUID | None,
) -> User:
    row = await conn.fetchrow(
        f"""
        INSERT INTO users (email, password_hash, role, display_name, organisation_id)
        VALUES ($1, $2, $3, $4, $5) RETURNING {_USER_COLUMNS}
        """,
        email,
        password_hash,
        role,
        display_name,
        organisation_id,
    )
    assert row is not None
    return User(**dict(row))


async def user_by_email(conn: Connection, *, email: str) -> User | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE email = $1", email)
    return User(**dict(row)) if row else None


async def accept_nda(conn: Connection, *, user_id: UUID, now: dt.datetime) -> User:
    """Record the first acceptance of the platform NDA (accepting again keeps the first date)."""
    row = await conn.fetchrow(
        f"""
        UPDATE users SET nda_accepted_at = coalesce(nda_accepted_at, $2) WHERE id = $1
        RETURNING {_USER_COLUMNS}
        """,
        user_id,
        now,
    )
    assert row is not None
    return User(**dict(row))


async def users_by_ids(conn: Connection, *, ids: list[UUID]) -> list[User]:
    rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ANY($1)", ids)
    return [User(**dict(r)) for r in rows]


async def create_session(
    conn: Connection, *, user_id: UUID, token_hash: bytes, expires_at: dt.datetime, now: dt.datetime
) -> UUID:
    session_id: UUID = await conn.fetchval(
        """
        INSERT INTO auth_sessions (user_id, token_hash, created_at, last_seen_at, expires_at)
        VALUES ($1, $2, $3, $3, $4) RETURNING id
        """,
        user_id,
        token_hash,
        now,
        expires_at,
    )
    return session_id


async def end_sessions_beyond(conn: Connection, *, user_id: UUID, keep: int, now: dt.datetime) -> None:
    """Revoke a person's live sessions except the ``keep`` newest."""
    await conn.execute(
        """
        UPDATE auth_sessions SET revoked_at = $3
        WHERE id IN (
            SELECT id FROM auth_sessions
            WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $3
            ORDER BY created_at DESC, id DESC
            OFFSET $2
        )
        """,
        user_id,
        keep,
        now,
    )


async def delete_dead_sessions(
    conn: Connection, *, user_id: UUID | None, now: dt.datetime, idle: dt.timedelta
) -> int:
    """Delete ended sessions (expired, idle past ``idle``, or revoked) of one person, or of everyone."""
    status: str = await conn.execute(
        """
        DELETE FROM auth_sessions
        WHERE ($1::uuid IS NULL OR user_id = $1)
          AND (expires_at <= $2 OR last_seen_at <= $2::timestamptz - $3::interval OR revoked_at IS NOT NULL)
        """,
        user_id,
        now,
        idle,
    )
    return int(status.split()[-1])


async def touch_session(conn: Connection, *, session_id: UUID, now: dt.datetime) -> None:
    await conn.execute("UPDATE auth_sessions SET last_seen_at = $2 WHERE id = $1", session_id, now)


async def revoke_session(conn: Connection, *, session_id: UUID) -> None:
    await conn.execute(
        "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", session_id
    )


async def session_principal(conn: Connection, *, token_hash: bytes) -> SessionPrincipalRow | None:
    row = await conn.fetchrow(
        """
        SELECT s.id AS session_id, s.user_id, u.role, s.expires_at, s.revoked_at, s.last_seen_at
        FROM auth_sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1
        """,
        token_hash,
    )
    return SessionPrincipalRow(**dict(row)) if row else None


async def api_key_principal(conn: Connection, *, key_hash: bytes) -> ApiKeyPrincipalRow | None:
    row = await conn.fetchrow(
        "SELECT id AS api_key_id, buyer_id, revoked_at, expires_at FROM api_keys WHERE key_hash = $1",
        key_hash,
    )
    return ApiKeyPrincipalRow(**dict(row)) if row else None


async def use_api_key(conn: Connection, *, key_hash: bytes, now: dt.datetime) -> ApiKeyPrincipalRow | None:
    """The key ``key_hash`` names, as :func:`api_key_principal`; when it is valid at ``now`` (not revoked,
    not expired) its ``last_used_at`` is set too, in the same statement — only once a minute, so that a busy
    integration does not write on every request (and a concurrent request that finds it just written does
    not write again)."""
    row = await conn.fetchrow(
        """
        WITH k AS (
            SELECT id, buyer_id, revoked_at, expires_at FROM api_keys WHERE key_hash = $1
        ), touched AS (
            UPDATE api_keys a SET last_used_at = now()
            FROM k
            WHERE a.id = k.id AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)
              AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute')
        )
        SELECT id AS api_key_id, buyer_id, revoked_at, expires_at FROM k
        """,
        key_hash,
        now,
    )
    return ApiKeyPrincipalRow(**dict(row)) if row else None


async def create_buyer(
    conn: Connection,
    *,
    organisation_id: UUID,
    country: str,
    currency: str,
    contact_email: str | None,
) -> UUID:
    buyer_id: UUID = await conn.fetchval(
        """
        INSERT INTO buyers (organisation_id, country, currency, contact_email)
        VALUES ($1, $2, $3, $4) RETURNING id
        """,
        organisation_id,
        country,
        currency,
        contact_email,
    )
    return buyer_id


async def buyer_name_taken(conn: Connection, *, name: str) -> bool:
    """Whether a buyer organisation has this name, ignoring case (the unique index's rule)."""
    taken: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM organisations WHERE kind = 'buyer' AND lower(name) = lower($1))", name
    )
    return taken


async def buyers_by_ids(conn: Connection, *, ids: list[UUID]) -> list[Buyer]:
    rows = await conn.fetch(_BUYER_SELECT + " WHERE b.id = ANY($1)", ids)
    return [Buyer(**dict(r)) for r in rows]


async def list_buyers(conn: Connection) -> list[Buyer]:
    rows = await conn.fetch(_BUYER_SELECT + " ORDER BY o.name, b.id")
    return [Buyer(**dict(r)) for r in rows]


async def create_api_key(
    conn: Connection,
    *,
    buyer_id: UUID,
    name: str,
    prefix: str,
    key_hash: bytes,
    created_by_user_id: UUID | None,
    created_by_api_key_id: UUID | None,
    expires_at: dt.datetime | None,
) -> ApiKey:
    row = await conn.fetchrow(
        f"""
        INSERT INTO api_keys (buyer_id, name, prefix, key_hash, created_by_user_id, created_by_api_key_id,
                              expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_API_KEY_COLUMNS}
        """,
        buyer_id,
        name,
        prefix,
        key_hash,
        created_by_user_id,
        created_by_api_key_id,
        expires_at,
    )
    assert row is not None
    return ApiKey(**dict(row))


async def api_key_by_id(conn: Connection, *, api_key_id: UUID) -> ApiKey | None:
    row = await conn.fetchrow(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE id = $1", api_key_id)
    return ApiKey(**dict(row)) if row else None


async def api_keys_by_buyer_ids(conn: Connection, *, buyer_ids: list[UUID]) -> list[ApiKey]:
    rows = await conn.fetch(
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE buyer_id = ANY($1) ORDER BY created_at, id",
        buyer_ids,
    )
    return [ApiKey(**dict(r)) for r in rows]


_KEY_AND_DESCENDANTS = """
    WITH RECURSIVE lineage AS (
        SELECT id FROM api_keys WHERE id = $1
        UNION
        SELECT k.id FROM api_keys k JOIN lineage l ON k.created_by_api_key_id = l.id
    )
"""


async def revoke_api_key(conn: Connection, *, api_key_id: UUID, now: dt.datetime) -> ApiKey:
    """Revoke a key and every key created from it, directly or through others (they cannot outlive it)."""
    await conn.execute(
        _KEY_AND_DESCENDANTS
        + "UPDATE api_keys SET revoked_at = $2 WHERE id IN (SELECT id FROM lineage) AND revoked_at IS NULL",
        api_key_id,
        now,
    )
    key = await api_key_by_id(conn, api_key_id=api_key_id)
    assert key is not None
    return key


async def is_same_or_descendant(conn: Connection, *, ancestor_id: UUID, api_key_id: UUID) -> bool:
    """Whether ``api_key_id`` is ``ancestor_id`` or was created from it (directly or through other keys)."""
    found: bool = await conn.fetchval(
        _KEY_AND_DESCENDANTS + "SELECT EXISTS (SELECT 1 FROM lineage WHERE id = $2)", ancestor_id, api_key_id
    )
    return found
