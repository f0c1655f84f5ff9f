"""Helpers for the rfqs tests: a valid RFQ input, submitting it, and factories with capabilities."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any
from uuid import UUID

from server import db
from tests.conftest import Caller, GraphQLClient, jst_today

RFQ_FIELDS = """
  id title currency incoterm destinationCountry dueDate bidDeadline ndaRequired discloseBuyer status
  buyer { name }
  lines {
    position partNumber name quantity toleranceUm envelopeMm requiredCertifications targetUnitPrice notes
    material { code family }
    operations { position notes process { code nameEn } }
  }
"""
SUBMIT = f"""
mutation($input: RfqSubmitInput!) {{
  rfqSubmit(input: $input) {{ rfq {{ {RFQ_FIELDS} }} errors {{ field code message }} }}
}}
"""


def days(n: int) -> str:
    return (jst_today() + dt.timedelta(days=n)).isoformat()


SHAFT = {
    "partNumber": "SH-100",
    "name": "Drive shaft",
    "material": "SUS304",
    "quantity": 500,
    "toleranceUm": 5,
    "envelopeMm": 120,
    "requiredCertifications": ["ISO9001"],
    "targetUnitPrice": "12.50",
    "operations": [
        {"processCode": "cnc_turning"},
        {"processCode": "cylindrical_grinding", "notes": "Ra 0.4"},
        {"processCode": "cmm_inspection"},
    ],
}
BRACKET = {
    "name": "Bracket",
    "material": "A6061",
    "quantity": 200,
    "toleranceUm": 20,
    "envelopeMm": 80,
    "operations": [{"processCode": "cnc_milling"}, {"processCode": "anodizing"}],
}


def rfq_input(**overrides: Any) -> dict[str, Any]:
    """A valid RfqSubmitInput (two lines), with ``overrides`` applied."""
    value: dict[str, Any] = {
        "title": "Gearbox parts",
        "description": "Pilot lot",
        "incoterm": "DAP",
        "destinationCountry": "US",
        "dueDate": days(90),
        "bidDeadline": days(14),
        "lines": [copy.deepcopy(SHAFT), copy.deepcopy(BRACKET)],
    }
    value.update(overrides)
    return value


async def submit(gql: GraphQLClient, caller: Caller | None, **overrides: Any) -> dict[str, Any]:
    """Submit ``rfq_input(**overrides)`` as ``caller``; return the whole response body."""
    return await gql(SUBMIT, {"input": rfq_input(**overrides)}, token=caller.token if caller else None)


async def submitted_id(gql: GraphQLClient, caller: Caller, **overrides: Any) -> str:
    """Submit and return the new RFQ's id, failing the test on any error."""
    body = await submit(gql, caller, **overrides)
    payload = body["data"]["rfqSubmit"]
    assert payload["errors"] == [], payload["errors"]
    rfq_id: str = payload["rfq"]["id"]
    return rfq_id


async def add_factory(pool: db.Pool, owner: Caller, capabilities: list[tuple[str, list[str]]]) -> UUID:
    """A factory of ``owner`` with a capability per ``(process_code, materials)``, inserted with plain SQL."""
    async with db.transaction(pool) as conn:
        factory_id: UUID = await conn.fetchval(
            """
            INSERT INTO factories (owner_user_id, name_ja, name_en, prefecture, city, approval_status)
            VALUES ($1, '町工場', 'Machi Works', '13', 'Ota', 'approved') RETURNING id
            """,
            owner.principal.user_id,
        )
        for process_code, materials in capabilities:
            await conn.execute(
                """
                INSERT INTO capabilities (
                    factory_id, process_code, materials, best_tolerance_um, max_envelope_mm, max_lot,
                    hours_per_week, hourly_rate_jpy, lead_days
                )
                VALUES ($1, $2, $3, 2, 500, 10000, 40, 6000, 10)
                """,
                factory_id,
                process_code,
                materials,
            )
    return factory_id


async def row_counts(pool: db.Pool) -> tuple[int, int, int]:
    """How many RFQs, lines and operations are stored."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM rfqs), (SELECT count(*) FROM rfq_lines),
                   (SELECT count(*) FROM rfq_operations)
            """
        )
    assert row is not None
    return row[0], row[1], row[2]
