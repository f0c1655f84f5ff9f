"""capabilityUpsert, capabilityRemove, capacitySet and Factory.capacity."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from server import db
from server.clock import FixedClock
from server.factories import repo
from tests.conftest import Caller, GraphQLClient, error_code
from tests.factories.conftest import THIS_MONDAY, TURNING, make_factory

UPSERT = """
mutation($factoryId: ID!, $input: CapabilityUpsertInput!) {
  capabilityUpsert(factoryId: $factoryId, input: $input) {
    capability {
      processCode process { nameEn category } materials bestToleranceUm maxEnvelopeMm minLot maxLot
      hoursPerWeek hourlyRateJpy setupCostJpy setupHours leadDays
    }
    errors { field code message }
  }
}
"""
REMOVE = """
mutation($factoryId: ID!, $processCode: String!) {
  capabilityRemove(factoryId: $factoryId, processCode: $processCode) {
    factory { capabilities { processCode } }
    errors { field code message }
  }
}
"""
CAPACITY_SET = """
mutation($factoryId: ID!, $processCode: String!, $weeks: [CapacityWeekInput!]!) {
  capacitySet(factoryId: $factoryId, processCode: $processCode, weeks: $weeks) {
    capacity { processCode weekStart isoWeek hours isOverride }
    errors { field code message }
  }
}
"""
CAPACITY = """
query($id: ID!, $fromWeek: Date, $weeks: Int!) {
  factory(id: $id) { capacity(fromWeek: $fromWeek, weeks: $weeks) { processCode weekStart hours isOverride } }
}
"""

MILLING_INPUT: dict[str, Any] = {
    "processCode": "cnc_milling",
    "materials": ["A7075", "peek"],
    "bestToleranceUm": 10,
    "maxEnvelopeMm": 800,
    "minLot": 5,
    "maxLot": 500,
    "hoursPerWeek": 60,
    "hourlyRateJpy": 9500,
    "setupCostJpy": 30000,
    "setupHours": 2,
    "leadDays": 14,
}


def upsert(factory: repo.Factory, **changes: Any) -> dict[str, Any]:
    return {"factoryId": str(factory.id), "input": {**MILLING_INPUT, **changes}}


async def capability_codes(pool: db.Pool, factory: repo.Factory) -> list[str]:
    async with pool.acquire() as conn:
        rows = await repo.capabilities_by_factory_ids(conn, factory_ids=[factory.id])
    return [c.process_code for c in rows]


def week(n: int) -> dt.date:
    """The Monday ``n`` weeks after this week's."""
    return THIS_MONDAY + dt.timedelta(weeks=n)


# --- capabilityUpsert ---------------------------------------------------------------------------------


async def test_owner_declares_a_capability(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    # when
    body = await gql(UPSERT, upsert(factory), token=owner.token)
    # then
    payload = body["data"]["capabilityUpsert"]
    assert payload["errors"] == []
    assert payload["capability"] == {
        "processCode": "cnc_milling",
        "process": {"nameEn": "CNC milling", "category": "PRECISION_MACHINING"},
        "materials": ["A7075", "PEEK"],
        "bestToleranceUm": 10.0,
        "maxEnvelopeMm": 800,
        "minLot": 5,
        "maxLot": 500,
        "hoursPerWeek": 60.0,
        "hourlyRateJpy": 9500,
        "setupCostJpy": 30000,
        "setupHours": 2.0,
        "leadDays": 14,
    }
    assert await capability_codes(pool, factory) == ["cnc_turning", "cnc_milling"]


async def test_upsert_replaces_an_existing_capability(
    gql: GraphQLClient, coordinator: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    # given: the factory turns already; a coordinator corrects it
    changed = {**MILLING_INPUT, "processCode": "cnc_turning", "materials": ["C3604"], "hourlyRateJpy": 7000}
    # when
    body = await gql(UPSERT, {"factoryId": str(factory.id), "input": changed}, token=coordinator.token)
    # then
    capability = body["data"]["capabilityUpsert"]["capability"]
    assert capability["materials"] == ["C3604"]
    assert capability["hourlyRateJpy"] == 7000
    assert await capability_codes(pool, factory) == ["cnc_turning"]


async def test_upsert_denied_callers(
    gql: GraphQLClient, other_owner: Caller, buyer: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    assert error_code(await gql(UPSERT, upsert(factory))) == "UNAUTHENTICATED"
    assert error_code(await gql(UPSERT, upsert(factory), token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(UPSERT, upsert(factory), token=other_owner.token)) == "FORBIDDEN"
    missing = {"factoryId": str(uuid.uuid4()), "input": MILLING_INPUT}
    assert error_code(await gql(UPSERT, missing, token=other_owner.token)) == "NOT_FOUND"
    assert await capability_codes(pool, factory) == ["cnc_turning"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"processCode": "telepathy"}, {("processCode", "UNKNOWN_PROCESS")}),
        ({"materials": ["SUS304", "UNOBTAINIUM"]}, {("materials.1", "UNKNOWN_MATERIAL")}),
        (
            {"processCode": "injection_moulding", "materials": ["PC", "SUS304"]},
            {("materials.1", "MATERIAL_MISMATCH")},
        ),
        ({"processCode": "carburizing", "materials": ["POM"]}, {("materials.0", "MATERIAL_MISMATCH")}),
        ({"materials": []}, {("materials", "REQUIRED")}),
        ({"materials": ["SUS304" * 10]}, {("materials.0", "TOO_LONG")}),
        ({"minLot": 600, "maxLot": 500}, {("maxLot", "OUT_OF_RANGE")}),
        (
            {
                "bestToleranceUm": 0,
                "hoursPerWeek": 169,
                "hourlyRateJpy": 0,
                "leadDays": -1,
                "maxEnvelopeMm": 0,
            },
            {
                ("bestToleranceUm", "OUT_OF_RANGE"),
                ("hoursPerWeek", "OUT_OF_RANGE"),
                ("hourlyRateJpy", "OUT_OF_RANGE"),
                ("leadDays", "OUT_OF_RANGE"),
                ("maxEnvelopeMm", "OUT_OF_RANGE"),
            },
        ),
        (
            {"setupCostJpy": -1, "setupHours": -0.5, "minLot": 0},
            {
                ("setupCostJpy", "OUT_OF_RANGE"),
                ("setupHours", "OUT_OF_RANGE"),
                ("minLot", "OUT_OF_RANGE"),
            },
        ),
    ],
)
async def test_upsert_validation_errors_write_nothing(
    gql: GraphQLClient,
    owner: Caller,
    factory: repo.Factory,
    pool: db.Pool,
    changes: dict[str, Any],
    expected: set[tuple[str, str]],
) -> None:
    body = await gql(UPSERT, upsert(factory, **changes), token=owner.token)
    payload = body["data"]["capabilityUpsert"]
    assert payload["capability"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == expected
    assert await capability_codes(pool, factory) == ["cnc_turning"]


async def test_database_refuses_unknown_or_mismatched_materials(pool: db.Pool, factory: repo.Factory) -> None:
    # The trigger is the last line behind the service's checks.
    fields = {k: v for k, v in TURNING.items() if k not in ("process_code", "materials")}
    async with pool.acquire() as conn:
        for process_code, materials in (("cnc_turning", ["NOPE"]), ("injection_moulding", ["SUS304"])):
            with pytest.raises(asyncpg.CheckViolationError):
                await repo.upsert_capability(
                    conn,
                    capability=repo.NewCapability(
                        factory_id=factory.id, process_code=process_code, materials=materials, **fields
                    ),
                )


# --- capabilityRemove ---------------------------------------------------------------------------------


async def test_owner_removes_a_capability(gql: GraphQLClient, owner: Caller, factory: repo.Factory) -> None:
    variables = {"factoryId": str(factory.id), "processCode": "cnc_turning"}
    body = await gql(REMOVE, variables, token=owner.token)
    assert body["data"]["capabilityRemove"] == {"factory": {"capabilities": []}, "errors": []}
    again = await gql(REMOVE, variables, token=owner.token)
    assert [(e["field"], e["code"]) for e in again["data"]["capabilityRemove"]["errors"]] == [
        ("processCode", "NOT_FOUND")
    ]


async def test_remove_unknown_process(gql: GraphQLClient, owner: Caller, factory: repo.Factory) -> None:
    body = await gql(REMOVE, {"factoryId": str(factory.id), "processCode": "nope"}, token=owner.token)
    assert [e["code"] for e in body["data"]["capabilityRemove"]["errors"]] == ["UNKNOWN_PROCESS"]


async def test_remove_denied_callers(
    gql: GraphQLClient, other_owner: Caller, buyer: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    variables = {"factoryId": str(factory.id), "processCode": "cnc_turning"}
    assert error_code(await gql(REMOVE, variables)) == "UNAUTHENTICATED"
    assert error_code(await gql(REMOVE, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(REMOVE, variables, token=other_owner.token)) == "FORBIDDEN"
    malformed = {"factoryId": "abc", "processCode": "cnc_turning"}
    assert error_code(await gql(REMOVE, malformed, token=other_owner.token)) == "NOT_FOUND"
    assert await capability_codes(pool, factory) == ["cnc_turning"]


# --- capacity -----------------------------------------------------------------------------------------


async def test_owner_sets_capacity_and_reads_it_back(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory
) -> None:
    # given: a Wednesday stands for its week
    wednesday = week(2) + dt.timedelta(days=2)
    weeks = [
        {"weekStart": wednesday.isoformat(), "hours": 12.5},
        {"weekStart": week(1).isoformat(), "hours": 0},
    ]
    # when
    body = await gql(
        CAPACITY_SET,
        {"factoryId": str(factory.id), "processCode": "cnc_turning", "weeks": weeks},
        token=owner.token,
    )
    # then
    payload = body["data"]["capacitySet"]
    assert payload["errors"] == []
    year, number, _ = week(1).isocalendar()
    assert payload["capacity"] == [
        {
            "processCode": "cnc_turning",
            "weekStart": week(1).isoformat(),
            "isoWeek": f"{year}-W{number:02d}",
            "hours": 0.0,
            "isOverride": True,
        },
        {
            "processCode": "cnc_turning",
            "weekStart": week(2).isoformat(),
            "isoWeek": payload["capacity"][1]["isoWeek"],
            "hours": 12.5,
            "isOverride": True,
        },
    ]
    read = await gql(CAPACITY, {"id": str(factory.id), "weeks": 4}, token=owner.token)
    assert [(w["weekStart"], w["hours"], w["isOverride"]) for w in read["data"]["factory"]["capacity"]] == [
        (week(0).isoformat(), 40.0, False),
        (week(1).isoformat(), 0.0, True),
        (week(2).isoformat(), 12.5, True),
        (week(3).isoformat(), 40.0, False),
    ]


async def test_null_hours_clear_an_override(
    gql: GraphQLClient, owner: Caller, coordinator: Caller, factory: repo.Factory
) -> None:
    base = {"factoryId": str(factory.id), "processCode": "cnc_turning"}
    await gql(
        CAPACITY_SET, {**base, "weeks": [{"weekStart": week(1).isoformat(), "hours": 8}]}, token=owner.token
    )
    # when: the coordinator clears it
    body = await gql(
        CAPACITY_SET,
        {**base, "weeks": [{"weekStart": week(1).isoformat(), "hours": None}]},
        token=coordinator.token,
    )
    # then
    assert body["data"]["capacitySet"]["capacity"][0]["hours"] == 40.0
    assert body["data"]["capacitySet"]["capacity"][0]["isOverride"] is False


async def test_capacity_set_validation_errors_write_nothing(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    weeks = [
        {"weekStart": week(-1).isoformat(), "hours": 10},
        {"weekStart": week(1).isoformat(), "hours": 10},
        {"weekStart": (week(1) + dt.timedelta(days=6)).isoformat(), "hours": 5},
        {"weekStart": week(2).isoformat(), "hours": 168.5},
        {"weekStart": "9999-12-31", "hours": 1},
    ]
    body = await gql(
        CAPACITY_SET,
        {"factoryId": str(factory.id), "processCode": "cnc_turning", "weeks": weeks},
        token=owner.token,
    )
    payload = body["data"]["capacitySet"]
    assert payload["capacity"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("weeks.0.weekStart", "DATE_IN_PAST"),
        ("weeks.2.weekStart", "INVALID"),
        ("weeks.3.hours", "OUT_OF_RANGE"),
        ("weeks.4.weekStart", "OUT_OF_RANGE"),
    }
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM capacity_weeks") == 0


async def test_capacity_set_needs_a_capability(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory
) -> None:
    weeks = [{"weekStart": week(1).isoformat(), "hours": 10}]
    for process_code, code in (("cnc_milling", "NOT_FOUND"), ("nope", "UNKNOWN_PROCESS")):
        body = await gql(
            CAPACITY_SET,
            {"factoryId": str(factory.id), "processCode": process_code, "weeks": weeks},
            token=owner.token,
        )
        assert [(e["field"], e["code"]) for e in body["data"]["capacitySet"]["errors"]] == [
            ("processCode", code)
        ]
    empty = await gql(
        CAPACITY_SET,
        {"factoryId": str(factory.id), "processCode": "cnc_turning", "weeks": []},
        token=owner.token,
    )
    assert [e["code"] for e in empty["data"]["capacitySet"]["errors"]] == ["REQUIRED"]


async def test_capacity_set_denied_callers(
    gql: GraphQLClient, other_owner: Caller, buyer: Caller, factory: repo.Factory
) -> None:
    variables = {
        "factoryId": str(factory.id),
        "processCode": "cnc_turning",
        "weeks": [{"weekStart": week(1).isoformat(), "hours": 10}],
    }
    assert error_code(await gql(CAPACITY_SET, variables)) == "UNAUTHENTICATED"
    assert error_code(await gql(CAPACITY_SET, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(CAPACITY_SET, variables, token=other_owner.token)) == "FORBIDDEN"


async def test_removing_a_capability_removes_its_capacity(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    await gql(
        CAPACITY_SET,
        {
            "factoryId": str(factory.id),
            "processCode": "cnc_turning",
            "weeks": [{"weekStart": week(1).isoformat(), "hours": 10}],
        },
        token=owner.token,
    )
    await gql(REMOVE, {"factoryId": str(factory.id), "processCode": "cnc_turning"}, token=owner.token)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM capacity_weeks") == 0


async def test_capacity_query_arguments_are_checked(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory
) -> None:
    for variables in ({"weeks": 0}, {"weeks": 105}, {"weeks": 4, "fromWeek": "1900-01-01"}):
        body = await gql(CAPACITY, {"id": str(factory.id), **variables}, token=owner.token)
        assert error_code(body) == "BAD_USER_INPUT", variables
        assert body["errors"][0]["extensions"]["errors"][0]["code"] == "OUT_OF_RANGE"


# Monday 30 November 2026, 01:00 in Japan: still Sunday in UTC.
JAPANS_MONDAY = FixedClock(dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize("clock", [JAPANS_MONDAY])
async def test_weeks_and_certificates_follow_the_day_in_japan(
    gql: GraphQLClient, pool: db.Pool, owner: Caller
) -> None:
    # given: a certificate that ran out on Sunday
    factory = await make_factory(
        pool, owner, "Kato Gear", certifications=[("ISO9001", dt.date(2026, 11, 29))], capabilities=[TURNING]
    )
    query = """
    query($id: ID!) { factory(id: $id) { certifications { isValid } capacity(weeks: 1) { weekStart } } }
    """
    # when
    body = await gql(query, {"id": str(factory.id)}, token=owner.token)
    # then: it is Monday in Japan, so the current week starts today and Sunday's certificate is expired
    data = body["data"]["factory"]
    assert data["capacity"] == [{"weekStart": "2026-11-30"}]
    assert data["certifications"] == [{"isValid": False}]
