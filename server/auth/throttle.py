"""The login throttle: failed sign-ins per account and per client address, with an exponential back-off.

State lives in PostgreSQL (``login_throttle``) so that every server process, on any machine, enforces the
same limits. Libraries such as ``limits`` keep counters in memory, Redis or Memcached, none of which this
service runs; one small upsert per failure is cheap next to the argon2 verification it protects.

Policy: an account may fail ``free_failures`` times without delay; each further failure doubles the wait
(1 s, 2 s, 4 s … up to ``max_delay``). A client address gets ``address_free_failures`` before the same
back-off, so one address cannot try many accounts. A success clears the account's counter (not the
address's: an attacker with one valid account must not reset its budget).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.db import Connection


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 5
    address_free_failures: int = 20
    max_delay: dt.timedelta = dt.timedelta(minutes=15)
    forget_after: dt.timedelta = dt.timedelta(hours=24)

    def delay(self, failures: int, free: int) -> dt.timedelta:
        """The wait after the ``failures``-th failure of a key that has ``free`` failures without delay."""
        if failures <= free:
            return dt.timedelta(0)
        seconds = min(2.0 ** (failures - free - 1), self.max_delay.total_seconds())
        return dt.timedelta(seconds=seconds)


DEFAULT_POLICY = ThrottlePolicy()


def account_key(email: str) -> str:
    return f"account:{email}"


def address_key(address: str | None) -> str | None:
    return f"address:{address}" if address else None


def signup_key(address: str | None) -> str | None:
    return f"signup:{address}" if address else None


async def wait_before_attempt(conn: Connection, *, keys: list[str], now: dt.datetime) -> dt.timedelta:
    """How long the caller must still wait (zero when it may try now)."""
    locked_until: dt.datetime | None = await conn.fetchval(
        """
        SELECT max(locked_until) FROM login_throttle
        WHERE key = ANY($1::text[]) AND locked_until > $2 AND last_failure_at > $2::timestamptz - $3::interval
        """,
        keys,
        now,
        DEFAULT_POLICY.forget_after,
    )
    return locked_until - now if locked_until else dt.timedelta(0)


async def record_failure(
    conn: Connection, *, key: str, free: int, now: dt.datetime, policy: ThrottlePolicy = DEFAULT_POLICY
) -> None:
    """Count one failure of ``key`` (a counter older than ``forget_after`` starts again) and lock it."""
    failures: int = await conn.fetchval(
        """
        INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES ($1, 1, $2)
        ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN t.last_failure_at > $2::timestamptz - $3::interval
                            THEN t.failures + 1 ELSE 1 END,
            last_failure_at = $2
        RETURNING failures
        """,
        key,
        now,
        policy.forget_after,
    )
    delay = policy.delay(failures, free)
    if delay:
        await conn.execute("UPDATE login_throttle SET locked_until = $2 WHERE key = $1", key, now + delay)


async def clear(conn: Connection, *, key: str) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE key = $1", key)


__all__ = [
    "DEFAULT_POLICY",
    "ThrottlePolicy",
    "account_key",
    "address_key",
    "clear",
    "record_failure",
    "signup_key",
    "wait_before_attempt",
]
