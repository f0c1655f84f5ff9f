"""The Problem builder against a full registry: 500 factories, an RFQ of 100 work packages.

A fresh embedded PostgreSQL is loaded with ``seed --demo`` scaled to ``--factories`` shops, confirmed
partnerships between ``--partnerships`` random pairs of them, and one RFQ of ``--lines`` lines × their
routings (100 packages by default: 20 housings milled, anodized, inspected; 10 shafts turned, carburized,
ground, cleaned) that every demo process can take, at loose tolerances and without certifications, so that
as many factories as possible are eligible (the worst case for the builder). The demo bidder places firm bids
(up to four per package), so every other eligible factory gets an estimate.

Then ``build_problem`` (``server/proposals/problem_builder.py``) runs ``--runs`` times on one connection;
each run reads everything again. The target (issue 7) is under 1 s. Results, with the machine, go to
``bench/results/problem_builder.{json,md}``.

    .venv/bin/python -m bench.problem_builder [--factories 500] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.solver.gap_common import machine_info, machine_markdown
from server import db
from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from server.bids.service import offer_snapshot
from server.clock import JST
from server.demo import seed_demo
from server.demo.bids import seed_demo_bids
from server.demo.seed import DEMO_BUYERS
from server.jobs.plugins import SolveRequest
from server.migrate import migrate
from server.partnerships import service as partnership_service
from server.proposals.problem_builder import build_problem
from server.rfqs import service as rfq_service
from server.rfqs.service import LineInput, OperationInput, RfqInput
from solver import problem_to_json

RESULTS = Path(__file__).resolve().parent / "results"
TODAY = dt.date(2026, 12, 2)  # fixed, so runs compare: the demo's dates are relative to it
TITLE = "Benchmark: 100 work packages"

HOUSING = ("cnc_milling", "anodizing", "cmm_inspection")
SHAFT = ("cnc_turning", "carburizing", "cylindrical_grinding", "cleaning_inspection")


def rfq_input(housings: int, shafts: int, *, today: dt.date = TODAY) -> RfqInput:
    def line(i: int, name: str, material: str, routing: tuple[str, ...]) -> LineInput:
        return LineInput(
            part_number=f"B-{i:03d}",
            name=f"{name} {i}",
            material=material,
            quantity=400 + 20 * i,
            tolerance_um=Decimal(50),
            envelope_mm=100,
            operations=[OperationInput(code) for code in routing],
        )

    lines = [line(i, "Housing", "A6061", HOUSING) for i in range(1, housings + 1)]
    lines += [line(housings + i, "Shaft", "SCM440", SHAFT) for i in range(1, shafts + 1)]
    return RfqInput(
        title=TITLE,
        incoterm="DAP",
        destination_country="US",
        due_date=today + dt.timedelta(weeks=12),
        bid_deadline=today + dt.timedelta(weeks=2),
        lines=lines,
    )


async def load(pool: db.Pool, args: argparse.Namespace, *, today: dt.date = TODAY) -> UUID:
    """The scaled demo, the partnerships, the benchmark RFQ and its bids; the RFQ's id.

    ``today`` dates the demo and the RFQ (``bench.jobs`` passes the real date: its server's worker builds the
    Problem as of the system clock, and a fixed date would let the RFQ's due date pass one day).
    """
    t0 = time.perf_counter()
    await seed_demo(pool, today=today, factory_count=args.factories, progress=lambda m: print(f"  {m}"))
    now = dt.datetime.combine(today, dt.time(12), tzinfo=JST)
    async with pool.acquire() as conn:
        factories = [
            (r["id"], r["owner_user_id"]) for r in await conn.fetch("SELECT id, owner_user_id FROM factories")
        ]
    rng = random.Random(7)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < args.partnerships:
        a, b = sorted(rng.sample(range(len(factories)), 2))
        if factories[a][1] != factories[b][1]:
            pairs.add((a, b))
    for a, b in sorted(pairs):
        (fa, owner_a), (fb, owner_b) = factories[a], factories[b]
        declared = await partnership_service.declare_partnership(
            pool,
            Principal(Role.FACTORY_OWNER, user_id=owner_a),
            factory_id=fa,
            partner_factory_id=fb,
            note="",
            now=now,
        )
        await partnership_service.confirm_partnership(
            pool, Principal(Role.FACTORY_OWNER, user_id=owner_b), partnership_id=declared.id, now=now
        )
    buyer = await auth_service.principal_from_token(pool, f"Bearer {DEMO_BUYERS[0][3]}", now=now)
    housings = args.packages * 3 // 5 // len(HOUSING)
    shafts = (args.packages - housings * len(HOUSING)) // len(SHAFT)
    rfq = await rfq_service.submit_rfq(pool, buyer, rfq_input(housings, shafts, today=today), today=today)
    placed = await seed_demo_bids(pool, rfq_title=TITLE, today=today, report=lambda m: print(f"  {m}"))
    print(f"  loaded in {time.perf_counter() - t0:.0f} s: {placed}")
    return rfq.id


async def measure(pool: db.Pool, rfq_id: UUID, runs: int) -> dict[str, Any]:
    totals, snapshots = [], []
    async with pool.acquire() as conn:
        for _ in range(runs):
            t0 = time.perf_counter()
            problem = await build_problem(conn, rfq_id, SolveRequest(), today=TODAY)
            totals.append(time.perf_counter() - t0)
            # The bids domain's share: the same snapshot the builder reads.
            t0 = time.perf_counter()
            await offer_snapshot(conn, rfq_id=rfq_id, today=TODAY)
            snapshots.append(time.perf_counter() - t0)
        registered = await conn.fetchval("SELECT count(*) FROM factories")
    return {
        "registered_factories": registered,
        "packages": len(problem.packages),
        "problem_factories": len(problem.factories),
        "offers": len(problem.offers),
        "estimated_offers": sum(1 for o in problem.offers if not o.firm),
        "capacity_rows": len(problem.capacity),
        "transport_links": len(problem.transport),
        "collaborations": len(problem.collaborations),
        "json_kb": round(len(json.dumps(problem_to_json(problem))) / 1000, 1),
        "runs": runs,
        "build_s": {
            "first": round(totals[0], 3),
            "median": round(statistics.median(totals), 3),
            "min": round(min(totals), 3),
            "max": round(max(totals), 3),
        },
        "offer_snapshot_median_s": round(statistics.median(snapshots), 3),
    }


def markdown(result: dict[str, Any], machine: dict[str, Any]) -> str:
    b = result["build_s"]
    return "\n".join(
        [
            "# The Problem builder: database → solver.Problem",
            "",
            "`build_problem` (`server/proposals/problem_builder.py`) on an embedded PostgreSQL holding the "
            f"demo registry scaled to {result['registered_factories']} factories (`seed --demo`), "
            f"{result['collaborations_registered']} confirmed partnerships, and an RFQ of "
            f"{result['packages']} work packages (20 housings: milling, anodizing, CMM; 10 shafts: turning, "
            "carburizing, grinding, cleaning) at loose tolerances and without certifications, with the "
            "demo's firm bids (up to four per package), so every other eligible factory gets an estimate. "
            "Each run reads everything again on one pooled connection. Target: under 1 s. Run with "
            "`.venv/bin/python -m bench.problem_builder`.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| build_problem, first run | {b['first']} s |",
            f"| build_problem, median / min / max of {result['runs']} | {b['median']} / {b['min']} / "
            f"{b['max']} s |",
            f"| of which offer_snapshot (bids domain: packages, eligibility, offers), median | "
            f"{result['offer_snapshot_median_s']} s |",
            f"| Problem: factories / offers (estimated) | {result['problem_factories']} / {result['offers']} "
            f"({result['estimated_offers']}) |",
            f"| Problem: capacity rows / transport links / collaborations | {result['capacity_rows']} / "
            f"{result['transport_links']} / {result['collaborations']} |",
            f"| Problem JSON | {result['json_kb']} kB |",
            "",
            machine_markdown(machine) + f" (load at end {machine['loadavg_end']})",
            "",
        ]
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="machikoba-bench-") as tmp:
        embedded = db.start_embedded(Path(tmp))
        try:
            pool = await db.create_pool(embedded.dsn)
            try:
                async with pool.acquire() as conn:
                    await migrate(conn)
                rfq_id = await load(pool, args)
                result = await measure(pool, rfq_id, args.runs)
            finally:
                await pool.close()
        finally:
            embedded.stop()
    result["collaborations_registered"] = args.partnerships
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--factories", type=int, default=500)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--partnerships", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    machine = machine_info()
    result = asyncio.run(run(args))
    machine["loadavg_end"] = machine_info()["loadavg"]
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "problem_builder.json").write_text(
        json.dumps({"result": result, "machine": machine}, indent=2) + "\n"
    )
    (RESULTS / "problem_builder.md").write_text(markdown(result, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
