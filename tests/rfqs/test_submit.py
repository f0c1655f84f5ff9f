"""rfqSubmit: who may submit, validation (every error code), all-or-nothing storage, idempotency."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from server import db
from server.catalogue.taxonomy import taxonomy_for
from server.errors import ErrorCode, ValidationFailed
from server.rfqs import service
from tests.conftest import Caller, GraphQLClient, QueryLog, error_code, jst_today, make_buyer
from tests.rfqs.conftest import BRACKET, SHAFT, days, row_counts, submit


def errors_of(body: dict[str, Any]) -> set[tuple[str | None, str]]:
    payload = body["data"]["rfqSubmit"]
    assert payload["rfq"] is None
    return {(e["field"], e["code"]) for e in payload["errors"]}


def line(base: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    value = copy.deepcopy(base)
    value.update(overrides)
    return value


# --- who may submit -----------------------------------------------------------------------------------


async def test_buyer_submits_a_whole_rfq(gql: GraphQLClient, buyer: Caller, pool: db.Pool) -> None:
    # when
    body = await submit(gql, buyer, currency=None)
    # then
    payload = body["data"]["rfqSubmit"]
    assert payload["errors"] == []
    rfq = payload["rfq"]
    assert rfq["status"] == "OPEN"
    assert rfq["currency"] == "USD"  # the buyer's own currency by default
    assert rfq["buyer"] == {"name": "Acme Robotics"}
    shaft, bracket = rfq["lines"]
    assert shaft["position"] == 1
    assert shaft["material"] == {"code": "SUS304", "family": "METAL"}
    assert shaft["targetUnitPrice"] == "12.50"
    assert shaft["requiredCertifications"] == ["ISO9001"]
    assert [(o["position"], o["process"]["code"]) for o in shaft["operations"]] == [
        (1, "cnc_turning"),
        (2, "cylindrical_grinding"),
        (3, "cmm_inspection"),
    ]
    assert shaft["operations"][1]["notes"] == "Ra 0.4"
    assert bracket["position"] == 2
    assert bracket["targetUnitPrice"] is None
    assert await row_counts(pool) == (1, 2, 5)


async def test_codes_are_case_folded(gql: GraphQLClient, buyer: Caller) -> None:
    shaft = line(SHAFT, material=" sus304 ", requiredCertifications=["iso9001"], targetUnitPrice="12.5000000")
    shaft["operations"] = [{"processCode": "CNC_Turning"}]
    body = await submit(gql, buyer, lines=[shaft], incoterm="fca", destinationCountry="de", currency="eur")
    rfq = body["data"]["rfqSubmit"]["rfq"]
    assert (rfq["incoterm"], rfq["destinationCountry"], rfq["currency"]) == ("FCA", "DE", "EUR")
    assert rfq["lines"][0]["material"]["code"] == "SUS304"
    assert rfq["lines"][0]["requiredCertifications"] == ["ISO9001"]
    assert rfq["lines"][0]["targetUnitPrice"] == "12.5000"


async def test_anonymous_may_not_submit(gql: GraphQLClient, pool: db.Pool) -> None:
    assert error_code(await submit(gql, None)) == "UNAUTHENTICATED"
    assert await row_counts(pool) == (0, 0, 0)


async def test_only_buyers_may_submit(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, coordinator: Caller
) -> None:
    assert error_code(await submit(gql, owner)) == "FORBIDDEN"
    assert error_code(await submit(gql, coordinator)) == "FORBIDDEN"
    assert await row_counts(pool) == (0, 0, 0)


# --- validation ---------------------------------------------------------------------------------------


async def test_header_errors_are_reported_together(gql: GraphQLClient, buyer: Caller) -> None:
    body = await submit(
        gql,
        buyer,
        title=" ",
        description="x" * 10_001,
        incoterm="FOO",
        destinationCountry="XX",
        currency="ABC",
        dueDate=days(-1),
        bidDeadline=days(-2),
    )
    assert errors_of(body) == {
        ("title", "REQUIRED"),
        ("description", "TOO_LONG"),
        ("incoterm", "INVALID"),
        ("destinationCountry", "UNKNOWN_COUNTRY"),
        ("currency", "UNKNOWN_CURRENCY"),
        ("dueDate", "DATE_IN_PAST"),
        ("bidDeadline", "DATE_IN_PAST"),
    }


@pytest.mark.parametrize(
    ("due", "deadline"),
    [(10, 10), (10, 20)],
    ids=["same-day", "deadline-after-due"],
)
async def test_due_date_must_follow_bid_deadline(
    gql: GraphQLClient, buyer: Caller, due: int, deadline: int
) -> None:
    body = await submit(gql, buyer, dueDate=days(due), bidDeadline=days(deadline))
    assert errors_of(body) == {("dueDate", "DATE_ORDER")}


async def test_due_date_too_far_ahead(gql: GraphQLClient, buyer: Caller) -> None:
    body = await submit(gql, buyer, dueDate=days(365 * 6))
    assert errors_of(body) == {("dueDate", "OUT_OF_RANGE")}


async def test_line_errors_carry_their_paths(gql: GraphQLClient, buyer: Caller) -> None:
    bad_shaft = line(
        SHAFT,
        name="",
        partNumber="P" * 101,
        quantity=0,
        toleranceUm=0,
        envelopeMm=-5,
        requiredCertifications=["ISO9001", "ISO99999"],
        targetUnitPrice="-1",
        notes="n" * 2001,
    )
    bad_shaft["operations"] = [
        {"processCode": "cnc_turning"},
        {"processCode": "injection_moulding"},  # plastics only: SUS304 is a metal
        {"processCode": "teleportation"},
    ]
    unknown_material = line(BRACKET, material="UNOBTAINIUM")
    no_operations = line(BRACKET, operations=[])
    body = await submit(gql, buyer, lines=[bad_shaft, unknown_material, no_operations])
    assert errors_of(body) == {
        ("lines.0.name", "REQUIRED"),
        ("lines.0.partNumber", "TOO_LONG"),
        ("lines.0.notes", "TOO_LONG"),
        ("lines.0.quantity", "OUT_OF_RANGE"),
        ("lines.0.toleranceUm", "OUT_OF_RANGE"),
        ("lines.0.envelopeMm", "OUT_OF_RANGE"),
        ("lines.0.requiredCertifications.1", "UNKNOWN_CERTIFICATION"),
        ("lines.0.targetUnitPrice", "OUT_OF_RANGE"),
        ("lines.0.operations.1.processCode", "MATERIAL_MISMATCH"),
        ("lines.0.operations.2.processCode", "UNKNOWN_PROCESS"),
        ("lines.1.material", "UNKNOWN_MATERIAL"),
        ("lines.2.operations", "REQUIRED"),
    }


async def test_no_lines_is_required(gql: GraphQLClient, buyer: Caller) -> None:
    assert errors_of(await submit(gql, buyer, lines=[])) == {("lines", "REQUIRED")}


async def test_too_many_lines_and_operations(gql: GraphQLClient, buyer: Caller) -> None:
    too_many_lines = [copy.deepcopy(BRACKET) for _ in range(service.MAX_LINES + 1)]
    assert errors_of(await submit(gql, buyer, lines=too_many_lines)) == {("lines", "OUT_OF_RANGE")}
    long_routing = line(BRACKET, operations=[{"processCode": "cnc_milling"}] * (service.MAX_OPERATIONS + 1))
    assert errors_of(await submit(gql, buyer, lines=[long_routing])) == {
        ("lines.0.operations", "OUT_OF_RANGE")
    }


async def test_hostile_values_are_payload_errors(gql: GraphQLClient, buyer: Caller) -> None:
    # NaN prices, NUL characters and absurd codes come back as errors, never as a server error.
    shaft = line(SHAFT, targetUnitPrice="NaN", toleranceUm=1e-300, name="shaft\x00", material="x" * 10_000)
    shaft["operations"] = [{"processCode": "\x00"}]
    fine_print = line(BRACKET, targetUnitPrice="1e-20000", toleranceUm=1.0005)
    body = await submit(gql, buyer, lines=[shaft, fine_print], title="t" * 201, idempotencyKey="k" * 201)
    assert errors_of(body) == {
        ("idempotencyKey", "TOO_LONG"),
        ("title", "TOO_LONG"),
        ("lines.0.targetUnitPrice", "INVALID"),
        ("lines.0.toleranceUm", "OUT_OF_RANGE"),
        ("lines.0.name", "INVALID"),
        ("lines.1.targetUnitPrice", "INVALID"),
        ("lines.1.toleranceUm", "INVALID"),
        ("lines.0.material", "UNKNOWN_MATERIAL"),
        ("lines.0.operations.0.processCode", "UNKNOWN_PROCESS"),
    }


async def test_one_bad_line_stores_nothing(gql: GraphQLClient, buyer: Caller, pool: db.Pool) -> None:
    # given: 49 good lines and one with an unknown process
    lines = [copy.deepcopy(SHAFT) for _ in range(49)]
    lines.append(line(BRACKET, operations=[{"processCode": "cnc_milling"}, {"processCode": "nope"}]))
    # when
    body = await submit(gql, buyer, lines=lines)
    # then
    assert errors_of(body) == {("lines.49.operations.1.processCode", "UNKNOWN_PROCESS")}
    assert await row_counts(pool) == (0, 0, 0)


# --- idempotency --------------------------------------------------------------------------------------


async def test_same_key_same_input_returns_the_first_rfq(
    gql: GraphQLClient, buyer: Caller, pool: db.Pool
) -> None:
    first = await submit(gql, buyer, idempotencyKey="order-42")
    again = await submit(gql, buyer, idempotencyKey="order-42")
    assert again["data"]["rfqSubmit"]["errors"] == []
    assert again["data"]["rfqSubmit"]["rfq"]["id"] == first["data"]["rfqSubmit"]["rfq"]["id"]
    assert await row_counts(pool) == (1, 2, 5)


async def test_same_key_different_input_is_a_conflict(
    gql: GraphQLClient, buyer: Caller, pool: db.Pool
) -> None:
    await submit(gql, buyer, idempotencyKey="order-42")
    body = await submit(gql, buyer, idempotencyKey="order-42", title="Another title")
    assert errors_of(body) == {("idempotencyKey", "IDEMPOTENCY_CONFLICT")}
    assert await row_counts(pool) == (1, 2, 5)


async def test_different_buyers_may_use_the_same_key(
    gql: GraphQLClient, buyer: Caller, other_buyer: Caller, pool: db.Pool
) -> None:
    mine = await submit(gql, buyer, idempotencyKey="order-42")
    theirs = await submit(gql, other_buyer, idempotencyKey="order-42")
    assert theirs["data"]["rfqSubmit"]["errors"] == []
    assert theirs["data"]["rfqSubmit"]["rfq"]["id"] != mine["data"]["rfqSubmit"]["rfq"]["id"]
    assert await row_counts(pool) == (2, 4, 10)


async def test_without_a_key_every_submit_is_new(gql: GraphQLClient, buyer: Caller, pool: db.Pool) -> None:
    await submit(gql, buyer)
    await submit(gql, buyer)
    assert (await row_counts(pool))[0] == 2


def _service_input(title: str = "Gearbox parts") -> service.RfqInput:
    today = jst_today()
    return service.RfqInput(
        title=title,
        incoterm="DAP",
        destination_country="US",
        due_date=today + dt.timedelta(days=60),
        bid_deadline=today + dt.timedelta(days=10),
        lines=[
            service.LineInput(
                name="Shaft",
                material="SUS304",
                quantity=100,
                tolerance_um=Decimal("5"),
                envelope_mm=100,
                operations=[service.OperationInput("cnc_turning")],
            )
        ],
    )


async def test_concurrent_submits_with_one_key_store_one_rfq(pool: db.Pool, buyer: Caller) -> None:
    # given: the same submit sent four times at once (a client retrying on a timeout)
    data = _service_input()
    # when
    results = await asyncio.gather(
        *(
            service.submit_rfq(pool, buyer.principal, data, today=jst_today(), idempotency_key="race")
            for _ in range(4)
        )
    )
    # then
    assert len({r.id for r in results}) == 1
    assert await row_counts(pool) == (1, 1, 1)


async def test_concurrent_submits_with_one_key_and_different_inputs(pool: db.Pool, buyer: Caller) -> None:
    results = await asyncio.gather(
        service.submit_rfq(
            pool, buyer.principal, _service_input("A"), today=jst_today(), idempotency_key="race"
        ),
        service.submit_rfq(
            pool, buyer.principal, _service_input("B"), today=jst_today(), idempotency_key="race"
        ),
        return_exceptions=True,
    )
    stored = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(stored) == 1
    assert len(refused) == 1
    assert refused[0].errors[0].code is ErrorCode.IDEMPOTENCY_CONFLICT
    assert await row_counts(pool) == (1, 1, 1)


async def test_a_retry_is_answered_even_once_its_input_is_no_longer_valid(
    pool: db.Pool, buyer: Caller
) -> None:
    # given: an RFQ stored under a key; later its bid deadline has passed
    data = _service_input()
    first = await service.submit_rfq(pool, buyer.principal, data, today=jst_today(), idempotency_key="late")
    later = data.bid_deadline + dt.timedelta(days=1)
    # when: the same submit is retried
    again = await service.submit_rfq(pool, buyer.principal, data, today=later, idempotency_key="late")
    # then: the first RFQ, not DATE_IN_PAST; another input under that key is still a conflict
    assert again.id == first.id
    with pytest.raises(ValidationFailed) as refused:
        await service.submit_rfq(
            pool, buyer.principal, _service_input("Other"), today=later, idempotency_key="late"
        )
    assert [e.code for e in refused.value.errors] == [ErrorCode.IDEMPOTENCY_CONFLICT]
    assert await row_counts(pool) == (1, 1, 1)


async def test_a_code_added_since_the_catalogue_was_read_is_accepted(pool: db.Pool, buyer: Caller) -> None:
    # given: this process holds its copy of the catalogue, and will not read it again for an hour
    await service.submit_rfq(pool, buyer.principal, _service_input(), today=jst_today())
    taxonomy_for(pool).check_interval_s = 3600
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO materials (code, name_ja, name_en, family)"
            " VALUES ('TI6AL4V', 'チタン', 'Ti-6Al-4V', 'metal')"
        )
    assert "TI6AL4V" not in (await taxonomy_for(pool).current()).materials
    base = _service_input()
    line = dataclasses.replace(base.lines[0], material="ti6al4v")
    # when: a submit names the new material (and an unknown one on another line)
    unknown = dataclasses.replace(base.lines[0], material="UNOBTAINIUM")
    with pytest.raises(ValidationFailed) as refused:
        await service.submit_rfq(
            pool, buyer.principal, dataclasses.replace(base, lines=[line, unknown]), today=jst_today()
        )
    rfq = await service.submit_rfq(
        pool, buyer.principal, dataclasses.replace(base, lines=[line]), today=jst_today()
    )
    # then: the new code is looked up in the database; only the unknown one is an error
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("lines.1.material", ErrorCode.UNKNOWN_MATERIAL)
    ]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT material FROM rfq_lines WHERE rfq_id = $1", rfq.id) == "TI6AL4V"


async def test_seeder_can_call_the_service(pool: db.Pool, coordinator: Caller) -> None:
    # The demo seeder submits through the same service with plain dataclasses.
    buyer = await make_buyer(pool, coordinator, "Lion City Instruments", "SG")
    rfq = await service.submit_rfq(pool, buyer.principal, _service_input(), today=jst_today())
    assert (rfq.currency, rfq.status) == ("SGD", "open")


# --- statements ----------------------------------------------------------------------------------------


def _lines(count: int) -> list[service.LineInput]:
    return [
        service.LineInput(
            name=f"Part {i}",
            material="SUS304",
            quantity=10 + i,
            tolerance_um=Decimal("5.5"),
            envelope_mm=100,
            required_certifications=["ISO9001"] if i % 2 else [],
            target_unit_price=Decimal("1.25") if i % 3 else None,
            operations=[
                service.OperationInput("cnc_turning"),
                service.OperationInput("cmm_inspection", "all"),
            ],
        )
        for i in range(count)
    ]


async def test_a_submit_runs_the_same_statements_for_two_lines_or_twenty(
    pool: db.Pool, buyer: Caller, query_log: QueryLog
) -> None:
    # given: warm connections (asyncpg introspects a type the first time a connection meets it)
    data = dataclasses.replace(_service_input(), lines=_lines(20))
    await service.submit_rfq(pool, buyer.principal, data, today=jst_today(), idempotency_key="warm")
    counted = []
    for count in (2, 20):
        data = dataclasses.replace(_service_input(f"{count} lines"), lines=_lines(count))
        # when
        query_log.queries.clear()
        query_log.recording = True
        await service.submit_rfq(pool, buyer.principal, data, today=jst_today(), idempotency_key=f"k{count}")
        query_log.recording = False
        # (the in-memory catalogue checks its version at most once a second, whatever the request)
        counted.append([q for q in query_log.app_queries if "FROM catalogue_version" not in q])
    # then: one round trip per table written, not per row (executemany would log once but run per row);
    # the codes are checked against the in-memory catalogue, the key is not looked up before the insert
    two, twenty = counted
    assert len(two) == len(twenty) == 4
    assert two[0].strip() == "BEGIN;"
    assert two[-1].strip() == "COMMIT;"
    inserts = [q for q in twenty if q.lstrip().startswith(("INSERT", "WITH"))]
    assert len(inserts) == 2


async def test_a_submit_stores_lines_operations_packages_and_its_event(pool: db.Pool, buyer: Caller) -> None:
    data = dataclasses.replace(_service_input(), lines=_lines(3))
    rfq = await service.submit_rfq(pool, buyer.principal, data, today=jst_today())
    async with pool.acquire() as conn:
        lines = await conn.fetch(
            "SELECT id, position, name, quantity, tolerance_um, required_certifications, target_unit_price"
            " FROM rfq_lines WHERE rfq_id = $1 ORDER BY position",
            rfq.id,
        )
        operations = await conn.fetch(
            "SELECT l.position AS line, o.position, o.process_code, o.notes FROM rfq_operations o"
            " JOIN rfq_lines l ON l.id = o.rfq_line_id WHERE l.rfq_id = $1 ORDER BY 1, 2",
            rfq.id,
        )
        packages = await conn.fetch(
            "SELECT rfq_line_id, operation_position FROM rfq_packages WHERE rfq_id = $1", rfq.id
        )
        payload = await conn.fetchval(
            "SELECT payload FROM rfq_events WHERE rfq_id = $1 AND kind = 'rfq.submitted'", rfq.id
        )
    assert [(r["position"], r["name"], r["quantity"]) for r in lines] == [
        (1, "Part 0", 10),
        (2, "Part 1", 11),
        (3, "Part 2", 12),
    ]
    assert [r["required_certifications"] for r in lines] == [[], ["ISO9001"], []]
    assert [r["target_unit_price"] for r in lines] == [None, Decimal("1.25"), Decimal("1.25")]
    assert {r["tolerance_um"] for r in lines} == {Decimal("5.5")}
    assert [tuple(r) for r in operations] == [
        (line, position, code, notes)
        for line in (1, 2, 3)
        for position, code, notes in ((1, "cnc_turning", ""), (2, "cmm_inspection", "all"))
    ]
    assert sorted((r["rfq_line_id"], r["operation_position"]) for r in packages) == sorted(
        (line["id"], position) for line in lines for position in (1, 2)
    )
    assert payload == {"lines": 3, "packages": 6}
