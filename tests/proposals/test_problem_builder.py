"""The Problem builder: a fixed RFQ maps to a checked-in Problem JSON; packages without offers are refused in
words a coordinator understands; ``firmOnly`` leaves estimates out; the seeded demo's first RFQ solves."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from server import db
from server.bids import service as bid_service
from server.clock import JST
from server.demo import seed_demo
from server.demo.seed import demo_rfqs
from server.jobs.plugins import JobInputError, PolicyOverrides, SolveRequest
from server.partnerships import service as partnership_service
from server.proposals.problem_builder import build_problem
from solver import Problem, problem_from_json, problem_to_json, solve, verify
from tests.bids.conftest import Cap, add_factory, package_ids, submit_rfq
from tests.conftest import Caller, make_factory_owner
from tests.solver.builders import WALL_S

TODAY = dt.date(2026, 12, 2)  # a Wednesday (JST); a fixed date, not the clock's
NOON = dt.datetime(2026, 12, 2, 12, tzinfo=JST)
CERTIFIED = {"ISO9001": dt.date(2029, 1, 1)}
EXPECTED = Path(__file__).parent / "data" / "expected_problem.json"
UPDATE = os.environ.get("MACHIKOBA_UPDATE_EXPECTED") == "1"  # rewrite the expected JSON instead of checking


async def _bid(pool: db.Pool, owner: Caller, package_id: UUID, factory_id: UUID, **figures: Any) -> None:
    values: dict[str, Any] = {
        "unit_price_jpy": 1800,
        "setup_cost_jpy": 24_000,
        "hours_per_unit": Decimal("0.25"),
        "setup_hours": Decimal(3),
        "valid_until": dt.date(2027, 2, 1),
    }
    values.update(figures)
    await bid_service.submit_bid(
        pool,
        owner.principal,
        bid_service.BidInput(package_id=package_id, factory_id=factory_id, **values),
        now=NOON,
    )


async def _move(pool: db.Pool, factory_id: UUID, prefecture: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE factories SET prefecture = $2 WHERE id = $1", factory_id, prefecture)


class Registry:
    """The fixed registry and RFQ of these tests (built in the test's database)."""

    def __init__(self, rfq_id: UUID, packages: list[UUID], factories: dict[str, UUID]) -> None:
        self.rfq_id = rfq_id
        self.packages = packages
        self.factories = factories


@pytest.fixture
async def registry(pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller) -> Registry:
    """One line (500 SUS304 drive shafts, 10 µm, ISO 9001), turning then CMM inspection, due in three weeks.

    - Ota Turning (Tokyo; turning, CMM): bids on turning; gets an estimate for CMM;
    - Kamata Turning (Tokyo; turning, 3 lead days, 10 free hours next week): bids on turning, capped at 300;
    - Suwa Inspection (Nagano; CMM, minimum lot 100): bids on CMM; a confirmed partner of Ota Turning;
    - Osaka Turning (Osaka): its ISO 9001 lapses before the due date, so it is not in the Problem.
    """
    third = await make_factory_owner(pool, "owner3@koba.example")
    monday = dt.date(2026, 11, 30)
    ota = await add_factory(
        pool,
        owner,
        name="Ota Turning",
        capabilities=(Cap(min_lot=50), Cap(process_code="cmm_inspection", hourly_rate_jpy=8000)),
        certifications=CERTIFIED | {"ISO14001": dt.date(2026, 12, 10)},
    )
    kamata = await add_factory(
        pool,
        other_owner,
        name="Kamata Turning",
        capabilities=(Cap(lead_days=3, busy_weeks={monday + dt.timedelta(weeks=1): Decimal(10)}),),
        certifications=CERTIFIED,
    )
    suwa = await add_factory(
        pool,
        third,
        name="Suwa Inspection",
        capabilities=(Cap(process_code="cmm_inspection", min_lot=100, hours_per_week=Decimal("22.5")),),
        certifications=CERTIFIED,
    )
    osaka = await add_factory(
        pool, third, name="Osaka Turning", certifications={"ISO9001": dt.date(2026, 12, 20)}
    )
    await _move(pool, suwa, "20")
    await _move(pool, osaka, "27")
    rfq = await submit_rfq(
        pool,
        buyer,
        today=TODAY,
        due_date=TODAY + dt.timedelta(days=21),
        bid_deadline=TODAY + dt.timedelta(days=7),
    )
    turning, cmm = await package_ids(pool, rfq.id)
    await _bid(pool, owner, turning, ota, earliest_start=dt.date(2026, 12, 4))
    await _bid(
        pool,
        other_owner,
        turning,
        kamata,
        unit_price_jpy=1650,
        hours_per_unit=Decimal("0.3"),
        max_quantity=300,
    )
    await _bid(pool, third, cmm, suwa, unit_price_jpy=400, setup_cost_jpy=0, hours_per_unit=Decimal("0.05"))
    declared = await partnership_service.declare_partnership(
        pool, owner.principal, factory_id=ota, partner_factory_id=suwa, note="", now=NOON
    )
    await partnership_service.confirm_partnership(pool, third.principal, partnership_id=declared.id, now=NOON)
    names = {"ota-turning": ota, "kamata-turning": kamata, "suwa-inspection": suwa, "osaka-turning": osaka}
    return Registry(rfq.id, [turning, cmm], names)


async def _built(pool: db.Pool, rfq_id: UUID, request: SolveRequest | None = None) -> Problem:
    async with pool.acquire() as conn:
        return await build_problem(conn, rfq_id, request or SolveRequest(), today=TODAY)


async def _stable(pool: db.Pool, problem: Problem, registry: Registry) -> dict[str, Any]:
    """The Problem JSON with every UUID replaced by a stable name: factories by name, the line as ``L1``,
    packages as ``L1-op1`` (line and routing positions)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT p.id, l.id AS line_id, l.position AS line, p.operation_position AS op
            FROM rfq_packages p JOIN rfq_lines l ON l.id = p.rfq_line_id WHERE p.rfq_id = $1
            """,
            registry.rfq_id,
        )
    names = {str(v): k for k, v in registry.factories.items()}
    for r in rows:
        names[str(r["id"])] = f"L{r['line']}-op{r['op']}"
        names[str(r["line_id"])] = f"L{r['line']}"

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    stable: dict[str, Any] = rename(problem_to_json(problem))
    return stable


async def test_a_fixed_rfq_maps_to_the_expected_problem(pool: db.Pool, registry: Registry) -> None:
    stable = await _stable(pool, await _built(pool, registry.rfq_id), registry)
    if UPDATE:
        EXPECTED.write_text(json.dumps(stable, indent=2, ensure_ascii=False) + "\n")
    assert stable == json.loads(EXPECTED.read_text())


async def test_the_problem_keeps_the_ids_the_proposals_store_maps_back(
    pool: db.Pool, registry: Registry
) -> None:
    problem = await _built(pool, registry.rfq_id)
    assert [p.id for p in problem.packages] == [str(p) for p in registry.packages]
    assert {f.id for f in problem.factories} == {
        str(registry.factories[n]) for n in ("ota-turning", "kamata-turning", "suwa-inspection")
    }
    assert [(p.operation, p.process, p.part) for p in problem.packages] == [
        (1, "cnc_turning", "Drive shaft"),
        (2, "cmm_inspection", "Drive shaft"),
    ]


async def test_the_request_is_applied(pool: db.Pool, registry: Registry) -> None:
    request = SolveRequest(
        presets=("fastest", "cheapest"),
        policy=PolicyOverrides(coordination_cost=0, excluded=(str(registry.factories["kamata-turning"]),)),
    )
    problem = await _built(pool, registry.rfq_id, request)
    assert problem.policy.preset == "fastest"
    assert problem.policy.coordination_cost == 0
    assert problem.policy.excluded == frozenset({str(registry.factories["kamata-turning"])})


async def test_firm_only_leaves_the_estimates_out(pool: db.Pool, registry: Registry) -> None:
    everything = await _built(pool, registry.rfq_id)
    firm = await _built(pool, registry.rfq_id, SolveRequest(firm_only=True))
    estimated = [(o.factory, o.package) for o in everything.offers if not o.firm]
    assert estimated == [(str(registry.factories["ota-turning"]), str(registry.packages[1]))]
    assert list(firm.offers) == [o for o in everything.offers if o.firm]


async def test_firm_only_refuses_a_package_priced_only_by_estimates(
    pool: db.Pool, registry: Registry
) -> None:
    # Suwa's week is now fully booked: it is no longer eligible, its bid still prices Ota's estimate …
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE capabilities SET hours_per_week = 0 WHERE factory_id = $1",
            registry.factories["suwa-inspection"],
        )
    problem = await _built(pool, registry.rfq_id)
    assert {o.factory for o in problem.offers if o.package == str(registry.packages[1])} == {
        str(registry.factories["ota-turning"])
    }
    # … but with firm offers only, the CMM package has none
    with pytest.raises(JobInputError) as refused:
        await _built(pool, registry.rfq_id, SolveRequest(firm_only=True))
    message = str(refused.value)
    assert "line 1 'Drive shaft', operation 2 CMM inspection (cmm_inspection)" in message
    assert "1 factories are eligible, but none has a firm bid on it" in message
    assert "cnc_turning" not in message


async def test_a_package_without_an_eligible_factory_is_refused_with_the_reasons(
    pool: db.Pool, buyer: Caller, owner: Caller, registry: Registry
) -> None:
    rfq = await submit_rfq(
        pool,
        buyer,
        today=TODAY,
        title="Titanium shafts",
        due_date=TODAY + dt.timedelta(days=21),
        bid_deadline=TODAY + dt.timedelta(days=7),
    )
    async with pool.acquire() as conn:
        await conn.execute("UPDATE rfq_lines SET material = 'TI64' WHERE rfq_id = $1", rfq.id)
    with pytest.raises(JobInputError) as refused:
        await _built(pool, rfq.id)
    message = str(refused.value)
    assert message.startswith("2 work package(s) have no offer")
    # 4 factories registered: 3 turn but not titanium (and 1 of those also lacks ISO 9001 until the due date)
    assert (
        "line 1 'Drive shaft', operation 1 CNC turning (cnc_turning): no factory is eligible "
        "(of 4 registered, failed filters: 1 PROCESS, 3 MATERIAL, 1 CERTIFICATION_EXPIRING)"
    ) in message
    assert "operation 2 CMM inspection (cmm_inspection): no factory is eligible" in message


async def test_an_inline_problem_is_solved_as_given(pool: db.Pool, registry: Registry) -> None:
    given = json.loads((Path(__file__).parents[2] / "docs" / "examples" / "problem.json").read_text())
    problem = await _built(pool, registry.rfq_id, SolveRequest(problem=given))
    assert problem == problem_from_json(given)


async def test_the_first_demo_rfq_builds_and_solves(pool: db.Pool) -> None:
    await seed_demo(pool, today=TODAY)
    async with pool.acquire() as conn:
        rfq_id = await conn.fetchval("SELECT id FROM rfqs WHERE title = $1", demo_rfqs(TODAY)[0].title)
        problem = await build_problem(conn, rfq_id, SolveRequest(), today=TODAY)
    assert len(problem.packages) == 7
    assert any(not o.firm for o in problem.offers)
    # Bounded by CP-SAT's deterministic time (the wall limit is only a safety net), so the answer does not
    # depend on how busy the machine is; only the status class is asserted.
    solution = solve(problem, time_limit_s=WALL_S, deterministic_time_s=5.0, workers=2, seed=0)
    assert solution.status in ("optimal", "feasible")
    assert verify(problem, solution) == []
