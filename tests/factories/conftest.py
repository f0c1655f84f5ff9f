"""Fixtures of the factories tests: a fixed day, and factories inserted through the services.

The app's clock stands still at :data:`NOW`, and services get :data:`TODAY`, so the dates below are
literals: no test depends on the day it runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from server import db
from server.clock import Clock, FixedClock
from server.factories import profile, repo
from server.factories.capabilities import upsert_capability
from tests.conftest import Caller

# 12:00 in Japan on Wednesday 2 December 2026.
NOW = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 2)
THIS_MONDAY = dt.date(2026, 11, 30)
NEXT_YEAR = dt.date(2027, 12, 2)
LAST_MONTH = dt.date(2026, 11, 2)

TURNING: dict[str, Any] = {
    "process_code": "cnc_turning",
    "materials": ["SUS304", "A6061"],
    "best_tolerance_um": 5,
    "max_envelope_mm": 300,
    "min_lot": 1,
    "max_lot": 1000,
    "hours_per_week": 40,
    "hourly_rate_jpy": 8000,
    "setup_cost_jpy": 20000,
    "setup_hours": 1.5,
    "lead_days": 10,
}


async def make_factory(
    pool: db.Pool,
    caller: Caller,
    name_en: str,
    *,
    prefecture: str = "13",
    cluster: str | None = "Ota",
    certifications: Sequence[tuple[str, dt.date]] = (),
    capabilities: Sequence[dict[str, Any]] = (),
    approved: bool = True,
) -> repo.Factory:
    """A factory owned by ``caller``, with the given certifications and capabilities, approved by the
    cluster office unless ``approved`` is false."""
    factory = await profile.register_factory(
        pool,
        caller.principal,
        today=TODAY,
        name_ja=f"{name_en} 製作所",
        name_en=name_en,
        prefecture=prefecture,
        city="Ota-ku",
        cluster=cluster,
        employees=12,
        founded_year=1968,
        description="",
        certifications=[profile.HeldCertification(code, until) for code, until in certifications],
    )
    for declared in capabilities:
        await upsert_capability(pool, caller.principal, factory_id=factory.id, **declared)
    if approved:
        # Recorded as reviewed by the owner itself: these tests are about the factory, not the review.
        assert caller.principal.user_id is not None
        async with db.transaction(pool) as conn:
            factory = await repo.set_approval(
                conn,
                factory_id=factory.id,
                status="approved",
                note="",
                user_id=caller.principal.user_id,
                now=NOW,
            )
    return factory


def capability(**changes: Any) -> dict[str, Any]:
    """The turning capability with ``changes``."""
    return {**TURNING, **changes}


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


@pytest.fixture
async def factory(pool: db.Pool, owner: Caller) -> repo.Factory:
    """The owner's factory in Ota: CNC turning of SUS304 and A6061, ISO 9001 valid for a year."""
    return await make_factory(
        pool, owner, "Sato Precision", certifications=[("ISO9001", NEXT_YEAR)], capabilities=[TURNING]
    )
