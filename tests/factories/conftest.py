"""Fixtures of the factories tests: factories inserted through the service, as the demo seeder does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from server import db
from server.factories import repo, service
from tests.conftest import Caller

TODAY = service.today()
NEXT_YEAR = TODAY + dt.timedelta(days=365)
LAST_MONTH = TODAY - dt.timedelta(days=30)
THIS_MONDAY = service.iso_monday(TODAY)

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
) -> repo.Factory:
    """A factory owned by ``caller``, with the given certifications and capabilities."""
    factory = await service.register_factory(
        pool,
        caller.principal,
        name_ja=f"{name_en} 製作所",
        name_en=name_en,
        prefecture=prefecture,
        city="Ota-ku",
        cluster=cluster,
        employees=12,
        founded_year=1968,
        description="",
        certifications=[service.HeldCertification(code, until) for code, until in certifications],
    )
    for capability in capabilities:
        await service.upsert_capability(pool, caller.principal, factory_id=factory.id, **capability)
    return factory


def capability(**changes: Any) -> dict[str, Any]:
    """The turning capability with ``changes``."""
    return {**TURNING, **changes}


@pytest.fixture
async def factory(pool: db.Pool, owner: Caller) -> repo.Factory:
    """The owner's factory in Ota: CNC turning of SUS304 and A6061, ISO 9001 valid for a year."""
    return await make_factory(
        pool, owner, "Sato Precision", certifications=[("ISO9001", NEXT_YEAR)], capabilities=[TURNING]
    )
