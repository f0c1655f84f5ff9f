"""``quoteAccept`` that books 100 assignments: the award's latency (issue 8 target: p99 under 100 ms).

A fresh embedded PostgreSQL gets ``seed --demo`` (300 factories). Each run (untimed setup, then one timed
call):

1. the US demo buyer submits an RFQ of 50 lines × (turning, CMM inspection) = 100 work packages;
2. a proposal assigns each package to one demo factory that has the process (100 assignments, each with
   hours in ``--weeks`` ISO weeks), stored through the proposals repository and approved through its
   service (which invites the members); every member accepts through the invitations service
   (``server.invitations.answers.accept_invitation``); a coordinator issues a JPY quote
   (``server.quotes.service.issue_quote``);
3. **timed**: the buyer's ``quoteAccept`` over GraphQL (in-process ASGI: the API-key lookup, the resolver, the
   service's transaction with the advisory locks, the capacity check, the bookings written with one
   ``INSERT … SELECT unnest(…)``, the RFQ's transition and events);
4. a coordinator cancels the awarded RFQ (untimed), releasing the bookings, so every run books against the
   same free capacity.

Results, with the machine and its load average (the machine is shared: other processes run too), go to
``bench/results/award.{json,md}``.

    .venv/bin/python -m bench.award [--runs 60] [--weeks 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from bench.solver.gap_common import machine_info, machine_markdown
from server import clock, db
from server.app import create_app
from server.auth import repo as auth_repo
from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from server.clock import iso_monday, iso_week_label
from server.demo import seed_demo
from server.demo.seed import DEMO_BUYERS, DEMO_COORDINATOR_EMAIL
from server.invitations import answers
from server.invitations import repo as invitations_repo
from server.migrate import migrate
from server.proposals import repo as proposals_repo
from server.proposals import service as proposals_service
from server.quotes import service as quotes_service
from server.rfqs import service as rfq_service
from server.rfqs.service import LineInput, OperationInput, RfqInput
from server.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
ROUTING = ("cnc_turning", "cmm_inspection")
ACCEPT = """
mutation($id: ID!, $k: String!) {
  quoteAccept(id: $id, idempotencyKey: $k) { quote { status } errors { code message } }
}
"""


def rfq_input(today: dt.date, n: int) -> RfqInput:
    return RfqInput(
        title=f"Award benchmark {n}",
        incoterm="DAP",
        destination_country="US",
        due_date=today + dt.timedelta(weeks=10),
        bid_deadline=today + dt.timedelta(weeks=1),
        lines=[
            LineInput(
                name=f"Pin {i}",
                material="S45C",
                quantity=100,
                tolerance_um=Decimal(50),
                envelope_mm=50,
                operations=[OperationInput(code) for code in ROUTING],
            )
            for i in range(1, 51)
        ],
    )


async def candidates(pool: db.Pool, *, first: dt.date, weeks: int) -> dict[str, list[UUID]]:
    """Factories with at least 5 free hours of the process in every week booked (the demo marks some weeks
    busy with overrides)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT c.factory_id, c.process_code FROM capabilities c
            WHERE c.process_code = ANY($1::text[]) AND c.hours_per_week >= 5
              AND NOT EXISTS (SELECT 1 FROM capacity_weeks w
                              WHERE w.factory_id = c.factory_id AND w.process_code = c.process_code
                                AND w.week_start >= $2 AND w.week_start < $3 AND w.hours < 5)
            ORDER BY c.factory_id
            """,
            list(ROUTING),
            first,
            first + dt.timedelta(weeks=weeks),
        )
    found: dict[str, list[UUID]] = {code: [] for code in ROUTING}
    for r in rows:
        found[r["process_code"]].append(r["factory_id"])
    return found


async def quoted(
    pool: db.Pool,
    buyer: Principal,
    coordinator: Principal,
    factories: dict[str, list[UUID]],
    *,
    run: int,
    weeks: int,
    today: dt.date,
) -> tuple[UUID, UUID]:
    """A quoted RFQ of 100 packages whose award books 100 assignments; (RFQ id, quote id)."""
    rfq = await rfq_service.submit_rfq(pool, buyer, rfq_input(today, run), today=today)
    async with pool.acquire() as conn:
        packages = await conn.fetch(
            """
            SELECT p.id, o.process_code FROM rfq_packages p
            JOIN rfq_lines l ON l.id = p.rfq_line_id
            JOIN rfq_operations o ON o.rfq_line_id = p.rfq_line_id AND o.position = p.operation_position
            WHERE p.rfq_id = $1 ORDER BY l.position, p.operation_position
            """,
            rfq.id,
        )
    first = iso_monday(today) + dt.timedelta(weeks=2)
    assignments = []
    for i, package in enumerate(packages):
        pool_of = factories[package["process_code"]]
        factory = pool_of[(i // 2) % len(pool_of)]
        assignments.append(
            proposals_repo.NewAssignment(
                factory_id=factory,
                package_id=package["id"],
                quantity=100,
                start_date=first,
                end_date=first + dt.timedelta(weeks=weeks) - dt.timedelta(days=3),
                weekly_hours=[
                    {"week": iso_week_label(first + dt.timedelta(weeks=w)), "hours": 0.25}
                    for w in range(weeks)
                ],
                estimated=False,
            )
        )
    members = sorted({a.factory_id for a in assignments})
    async with db.transaction(pool) as conn:
        (proposal_id,) = await proposals_repo.insert_proposals(
            conn,
            rfq_id=rfq.id,
            job_id=uuid.uuid4(),
            parent=None,
            proposals=[
                proposals_repo.NewProposal(
                    preset="cheapest",
                    rank=0,
                    solver_status="feasible",
                    objective=None,
                    bound=None,
                    gap=None,
                    total_cost_jpy=None,
                    members=members,
                    lead_factory_id=members[0],
                    firm_share=None,
                    # the offers the invitations are priced from: firm bids at 1,000 JPY a piece
                    problem={
                        "offers": [
                            {
                                "factory": str(a.factory_id),
                                "package": str(a.package_id),
                                "unit_price": 1000,
                                "setup_cost": 0,
                                "firm": True,
                            }
                            for a in assignments
                        ]
                    },
                    solution={"costs": {"transport": 50_000}},
                    diff=None,
                    estimated_pairs=[],
                    assignments=assignments,
                )
            ],
        )
    now = dt.datetime.now(dt.UTC)
    await proposals_service.approve_proposal(
        pool, coordinator, proposal_id=proposal_id, expected_version=1, now=now
    )
    # every member accepts the invitation the approval sent, as over the API (invitationAccept)
    async with pool.acquire() as conn:
        invitations = await invitations_repo.invitations_of_proposals(conn, proposal_ids=[proposal_id])
    for invitation in invitations:
        await answers.accept_invitation(
            pool,
            Principal(Role.FACTORY_OWNER, user_id=invitation.owner_user_id),
            invitation_id=invitation.id,
            now=now,
            price_tolerance_pct=5.0,
        )
    quote = await quotes_service.issue_quote(
        pool,
        coordinator,
        proposal_id=proposal_id,
        margin_pct=Decimal(10),
        valid_until=today + dt.timedelta(days=14),
        currency="JPY",
        today=today,
        now=now,
    )
    return rfq.id, quote.id


async def measure(pool: db.Pool, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    today = clock.today(clock.SYSTEM_CLOCK)
    await seed_demo(pool, today=today)
    async with pool.acquire() as conn:
        user = await auth_repo.user_by_email(conn, email=DEMO_COORDINATOR_EMAIL)
    assert user is not None
    coordinator = Principal(Role.COORDINATOR, user_id=user.id)
    key = DEMO_BUYERS[0][3]
    buyer = await auth_service.principal_from_token(pool, f"Bearer {key}", now=dt.datetime.now(dt.UTC))
    factories = await candidates(pool, first=iso_monday(today) + dt.timedelta(weeks=2), weeks=args.weeks)
    app = create_app(Settings(database_url="unused", data_dir=tmp, env="dev"), pool=pool)
    samples: list[float] = []
    bookings: list[int] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        for run in range(args.runs + args.warmup):
            rfq_id, quote_id = await quoted(
                pool, buyer, coordinator, factories, run=run, weeks=args.weeks, today=today
            )
            started = time.perf_counter()
            response = await http.post(
                "/graphql",
                json={"query": ACCEPT, "variables": {"id": str(quote_id), "k": f"bench-{run}"}},
                headers={"Authorization": f"Bearer {key}"},
            )
            elapsed = time.perf_counter() - started
            payload = response.json()["data"]["quoteAccept"]
            assert payload["errors"] == [], payload
            async with pool.acquire() as conn:
                count = await conn.fetchval(
                    "SELECT count(*) FROM capacity_bookings WHERE quote_id = $1", quote_id
                )
                assignments = await conn.fetchval(
                    "SELECT count(*) FROM invitation_lines il JOIN invitations i ON i.id = il.invitation_id "
                    "JOIN quotes q ON q.proposal_id = i.proposal_id WHERE q.id = $1",
                    quote_id,
                )
            assert assignments == 100, assignments
            await rfq_service.cancel_rfq(
                pool, coordinator, rfq_id=rfq_id, reason="benchmark", now=dt.datetime.now(dt.UTC)
            )
            if run >= args.warmup:
                samples.append(elapsed * 1000)
                bookings.append(count)
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 2)

    return {
        "runs": len(samples),
        "warmup": args.warmup,
        "assignments_per_award": 100,
        "weeks_per_assignment": args.weeks,
        "booking_rows_per_award": statistics.median(bookings),
        "ms": {
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2),
        },
        "target_p99_ms": 100,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="machikoba-bench-") as tmp:
        embedded = db.start_embedded(Path(tmp))
        try:
            pool = await db.create_pool(embedded.dsn)
            try:
                async with pool.acquire() as conn:
                    await migrate(conn)
                return await measure(pool, args, Path(tmp))
            finally:
                await pool.close()
        finally:
            embedded.stop()


def markdown(result: dict[str, Any], machine: dict[str, Any]) -> str:
    ms = result["ms"]
    verdict = "met" if ms["p99"] < result["target_p99_ms"] else "NOT met"
    return "\n".join(
        [
            "# quoteAccept: an award that books 100 assignments",
            "",
            "`bench/award.py`: the buyer's `quoteAccept` over GraphQL (in-process ASGI, no network) on an "
            "embedded PostgreSQL holding the 300-factory demo; each award books 100 assignments "
            f"(50 lines × turning + CMM) over {result['weeks_per_assignment']} ISO weeks = "
            f"{result['booking_rows_per_award']:.0f} booking rows (summed per factory × process × week), "
            "in one transaction with the advisory locks and the capacity check; each awarded RFQ is then "
            "cancelled (untimed) so every run books against the same free capacity.",
            "",
            "| runs | p50 ms | p95 ms | p99 ms | max ms | mean ms | target p99 |",
            "|---|---|---|---|---|---|---|",
            f"| {result['runs']} (+{result['warmup']} warm-up) | {ms['p50']} | {ms['p95']} | {ms['p99']} | "
            f"{ms['max']} | {ms['mean']} | < {result['target_p99_ms']} ms: {verdict} |",
            "",
            machine_markdown(machine) + f"; load average at the end {machine['loadavg_end']}.",
            "",
            "The machine is shared (2 cores, several engineers running tests and benchmarks at the same "
            "time): the load average above is part of the result.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=3)
    args = parser.parse_args()
    machine = machine_info()
    result = asyncio.run(run(args))
    machine["loadavg_end"] = machine_info()["loadavg"]
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "award.json").write_text(json.dumps({"result": result, "machine": machine}, indent=2) + "\n")
    (RESULTS / "award.md").write_text(markdown(result, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
