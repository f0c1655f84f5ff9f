"""Helpers for the bids tests: factories with chosen capabilities, an RFQ stored through the service, and a
GraphQL client whose clock the test fixes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from server import clock, db
from server.app import create_app
from server.rfqs import repo as rfqs_repo
from server.rfqs import service as rfq_service
from server.settings import Settings
from tests.conftest import Caller, GraphQLClient, jst_today


@dataclass(frozen=True)
class Cap:
    """A capability to insert; the defaults take the standard RFQ below."""

    process_code: str = "cnc_turning"
    materials: tuple[str, ...] = ("SUS304", "S45C")
    best_tolerance_um: Decimal = Decimal(2)
    max_envelope_mm: int = 500
    min_lot: int = 1
    max_lot: int = 10_000
    hours_per_week: Decimal = Decimal(40)
    hourly_rate_jpy: int = 6000
    setup_cost_jpy: int = 12_000
    setup_hours: Decimal = Decimal(2)
    lead_days: int = 0
    busy_weeks: dict[dt.date, Decimal] = field(default_factory=dict)


async def add_factory(
    pool: db.Pool,
    owner: Caller,
    *,
    name: str = "Machi Works",
    capabilities: tuple[Cap, ...] = (Cap(), Cap(process_code="cmm_inspection")),
    certifications: dict[str, dt.date] | None = None,
) -> UUID:
    """A factory of ``owner`` (by default: turning and CMM, ISO 9001 valid for three years)."""
    if certifications is None:
        certifications = {"ISO9001": jst_today() + dt.timedelta(days=1000)}
    async with db.transaction(pool) as conn:
        factory_id: UUID = await conn.fetchval(
            """
            INSERT INTO factories (owner_user_id, name_ja, name_en, prefecture, city, approval_status)
            VALUES ($1, $2, $3, '13', '大田区', 'approved') RETURNING id
            """,
            owner.principal.user_id,
            name,
            name,
        )
        for code, until in certifications.items():
            await conn.execute(
                "INSERT INTO factory_certifications (factory_id, certification_code, valid_until) "
                "VALUES ($1, $2, $3)",
                factory_id,
                code,
                until,
            )
        for cap in capabilities:
            await conn.execute(
                """
                INSERT INTO capabilities (factory_id, process_code, materials, best_tolerance_um,
                                          max_envelope_mm, min_lot, max_lot, hours_per_week, hourly_rate_jpy,
                                          setup_cost_jpy, setup_hours, lead_days)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                """,
                factory_id,
                cap.process_code,
                list(cap.materials),
                cap.best_tolerance_um,
                cap.max_envelope_mm,
                cap.min_lot,
                cap.max_lot,
                cap.hours_per_week,
                cap.hourly_rate_jpy,
                cap.setup_cost_jpy,
                cap.setup_hours,
                cap.lead_days,
            )
            for week, hours in cap.busy_weeks.items():
                await conn.execute(
                    "INSERT INTO capacity_weeks (factory_id, process_code, week_start, hours) "
                    "VALUES ($1, $2, $3, $4)",
                    factory_id,
                    cap.process_code,
                    week,
                    hours,
                )
    return factory_id


def rfq_input(today: dt.date, **overrides: Any) -> rfq_service.RfqInput:
    """One line, SUS304 shaft: turning then CMM inspection, 500 pieces at 10 µm, ISO 9001 required."""
    values: dict[str, Any] = {
        "title": "Shafts",
        "incoterm": "DAP",
        "destination_country": "US",
        "due_date": today + dt.timedelta(days=60),
        "bid_deadline": today + dt.timedelta(days=14),
        "lines": [
            rfq_service.LineInput(
                name="Drive shaft",
                material="SUS304",
                quantity=500,
                tolerance_um=Decimal(10),
                envelope_mm=120,
                required_certifications=["ISO9001"],
                target_unit_price=Decimal("12.50"),
                operations=[
                    rfq_service.OperationInput("cnc_turning"),
                    rfq_service.OperationInput("cmm_inspection"),
                ],
            )
        ],
    }
    values.update(overrides)
    return rfq_service.RfqInput(**values)


async def submit_rfq(
    pool: db.Pool, buyer: Caller, *, today: dt.date | None = None, **overrides: Any
) -> rfqs_repo.Rfq:
    today = today or jst_today()
    return await rfq_service.submit_rfq(pool, buyer.principal, rfq_input(today, **overrides), today=today)


async def package_ids(pool: db.Pool, rfq_id: UUID) -> list[UUID]:
    """The RFQ's packages in line and routing order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT p.id FROM rfq_packages p JOIN rfq_lines l ON l.id = p.rfq_line_id
            WHERE p.rfq_id = $1 ORDER BY l.position, p.operation_position
            """,
            rfq_id,
        )
    return [r["id"] for r in rows]


async def counts(pool: db.Pool) -> tuple[int, int]:
    """How many bids and RFQ events are stored."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT (SELECT count(*) FROM bids), (SELECT count(*) FROM rfq_events)")
    assert row is not None
    return row[0], row[1]


def bid_input(package_id: UUID, factory_id: UUID, **overrides: Any) -> dict[str, Any]:
    """A valid BidSubmitInput for the standard RFQ, with ``overrides``."""
    value: dict[str, Any] = {
        "packageId": str(package_id),
        "factoryId": str(factory_id),
        "unitPriceJpy": 1800,
        "setupCostJpy": 24_000,
        "hoursPerUnit": 0.25,
        "setupHours": 3,
        "validUntil": (jst_today() + dt.timedelta(days=45)).isoformat(),
    }
    value.update(overrides)
    return value


ClientAt = Callable[[clock.Clock], Awaitable[GraphQLClient]]


@pytest.fixture
async def client_at(pool: db.Pool, tmp_path: Path) -> AsyncIterator[ClientAt]:
    """``await client_at(FixedClock(...))``: a GraphQL client of an app whose clock is fixed."""
    opened: list[httpx.AsyncClient] = []

    async def make(fixed: clock.Clock) -> GraphQLClient:
        app = create_app(
            Settings(database_url="unused", data_dir=tmp_path, env="dev"), pool=pool, clock=fixed
        )
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        opened.append(http)
        return GraphQLClient(http)

    yield make
    for http in opened:
        await http.aclose()
