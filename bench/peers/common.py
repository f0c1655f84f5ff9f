"""What both peers share: the documents they answer, the token lookup, and the page's SQL.

The token lookup is the project's own query (``server.auth.repo.session_principal``): each peer pays for
the same session check per request as the project does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any

import asyncpg

# The two documents of the benchmark; the peers answer exactly these (and refuse anything else).
HEAVY = """
query Heavy {
  factories(first: 50) {
    edges {
      node {
        id nameEn nameJa city
        prefecture { code nameEn }
        certifications { code name validUntil isValid }
        capabilities {
          process { code nameEn }
          materials bestToleranceUm maxEnvelopeMm minLot maxLot
          hoursPerWeek hourlyRateJpy setupCostJpy leadDays
        }
      }
    }
  }
}
"""
ME = "{ me { __typename } }"

PAGE_SIZE = 50

SESSION_SQL = """
SELECT s.id AS session_id, s.user_id, u.role, s.expires_at, s.revoked_at, s.last_seen_at
FROM auth_sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1
"""

# The coordinator's registry: every factory, in (English name, id) order; prefecture names joined.
FACTORIES_SQL = """
SELECT f.id, f.name_en, f.name_ja, f.city, f.prefecture, p.name_en AS prefecture_name_en
FROM factories f JOIN prefectures p ON p.code = f.prefecture
ORDER BY f.name_en, f.id LIMIT $1
"""
CAPABILITIES_SQL = """
SELECT c.factory_id, c.process_code, pr.name_en AS process_name_en, c.materials, c.best_tolerance_um,
       c.max_envelope_mm, c.min_lot, c.max_lot, c.hours_per_week, c.hourly_rate_jpy, c.setup_cost_jpy,
       c.lead_days
FROM capabilities c JOIN processes pr ON pr.code = c.process_code
WHERE c.factory_id = ANY($1::uuid[])
ORDER BY c.factory_id, pr.sort_order, c.process_code
"""
CERTIFICATIONS_SQL = """
SELECT fc.factory_id, fc.certification_code AS code, c.name, fc.valid_until
FROM factory_certifications fc JOIN certifications c ON c.code = fc.certification_code
WHERE fc.factory_id = ANY($1::uuid[])
ORDER BY fc.factory_id, fc.certification_code
"""

JST = dt.timezone(dt.timedelta(hours=9))


def today_jst() -> dt.date:
    return dt.datetime.now(JST).date()


def dsn() -> str:
    return os.environ["DATABASE_URL"]


async def session_role(conn: asyncpg.Connection | Any, authorization: str | None) -> str | None:
    """The role of a live session named by ``Authorization: Bearer <token>``, or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:].strip()
    row = await conn.fetchrow(SESSION_SQL, hashlib.sha256(token.encode()).digest())
    now = dt.datetime.now(dt.UTC)
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    role: str = row["role"]
    return role
