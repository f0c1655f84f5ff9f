"""Issue 11 for the RFQ, bid, proposal, invitation and quote reads: SQL statements and CPU per request.

One embedded PostgreSQL in a temporary directory with the whole demo (award and invitation stages
included); the application (``server.app.create_app``, default settings: the usual cost limit) in this
process, reached through httpx's ASGI transport as the tests reach it. Each document is read by its usual
caller: a buyer its RFQ page and quotes, the coordinator RFQ details, candidates, offers and proposals, the
owner of an invited factory its biddable RFQs and open invitations. For each: the statements one request
runs (after a warm-up, so the connections know their types; asyncpg's own type queries and the catalogue's
once-a-second version check are left out) and
the CPU time per request of this process over ``--requests`` sequential requests (the client's share,
httpx over ASGI, is in it and the same before and after).

    .venv/bin/python -m bench.api_pages [--requests 40] [--out api_pages] [--label TEXT] [--before FILE.json]

``--before`` adds a before → after table from an earlier run's JSON (e.g. the same harness run on the
previous commit's tree).

Results: ``bench/results/<out>.{json,md}`` with the machine and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.solver.gap_common import machine_info, machine_markdown
from server import db
from server.app import create_app
from server.auth import service as auth_service
from server.auth.principal import ANONYMOUS
from server.catalogue.taxonomy import taxonomy_for
from server.demo.award import AWARDED
from server.demo.invitations import INVITATIONS_RFQ_TITLE, pending_invitee_email
from server.demo.seed import DEMO_BUYERS, DEMO_COORDINATOR_EMAIL, DEMO_PASSWORD, seed_demo
from server.migrate import migrate
from server.settings import Settings

RESULTS = Path(__file__).parent / "results"

FACTORY = "id nameEn"
PACKAGE = "id position quantity dueDate process { code nameEn } material { code nameEn } line { id name }"
BID = f"id unitPriceJpy setupCostJpy hoursPerUnit validUntil factory {{ {FACTORY} }}"
LINES = """lines { id position name quantity toleranceUm targetUnitPrice material { code nameEn }
  operations { position process { code nameEn } } }"""

# name: (usual caller, variables entry, document)
DOCUMENTS: dict[str, tuple[str, str, str]] = {
    "rfqs_buyer": (
        "buyer",
        "",
        f"""{{ rfqs(first: 10) {{ totalCount edges {{ node {{ id title status dueDate bidDeadline
              buyer {{ id name }} {LINES} packages {{ {PACKAGE} }} }} }} }} }}""",
    ),
    "rfqs_bids_coordinator": (
        "coordinator",
        "",
        f"""{{ rfqs(first: 10) {{ edges {{ node {{ id title status
              packages {{ id position process {{ code }} line {{ id }} bids {{ {BID} }} }} }} }} }} }}""",
    ),
    "rfq_coordinator": (
        "coordinator",
        "invited",
        f"""query($rfq: ID!) {{ rfq(id: $rfq) {{ id title status buyer {{ id name }} {LINES}
              packages {{ {PACKAGE} bids {{ {BID} }} }} events {{ id at kind actor payload }} }} }}""",
    ),
    "candidates_coordinator": (
        "coordinator",
        "invited",
        f"""query($rfq: ID!) {{ rfq(id: $rfq) {{ id packages {{ id
              candidates(eligibleOnly: true) {{ eligible freeHours factory {{ {FACTORY} }} }}
              offers {{ unitPriceJpy estimated factory {{ {FACTORY} }} }} }} }} }}""",
    ),
    "biddable_owner": (
        "owner",
        "",
        f"""{{ biddableRfqs(first: 3) {{ edges {{ node {{
              rfq {{ id title dueDate bidDeadline lines {{ id name quantity }} }}
              packages {{ {PACKAGE} eligibility {{ eligible reasons {{ code message }} freeHours
                factory {{ {FACTORY} }} }} }}
              bids {{ {BID} package {{ id }} }} }} }} }} }}""",
    ),
    "proposals_coordinator": (
        "coordinator",
        "invited",
        f"""query($rfq: ID!) {{ proposals(rfqId: $rfq) {{ id version preset rank solverStatus reviewState
              totalCostJpy firmShare priceConfirmationRequired answerBy
              costs {{ production setup transport total }} diff {{ joined left }}
              members {{ {FACTORY} }} lead {{ {FACTORY} }}
              assignments {{ quantity startDate endDate estimated factory {{ {FACTORY} }}
                package {{ id position process {{ code }} }} }}
              invitations {{ id status offeredPriceJpy factory {{ {FACTORY} }}
                lines {{ quantity unitPriceJpy package {{ id }} }} }} }} }}""",
    ),
    "open_invitations_owner": (
        "owner",
        "",
        f"""{{ openInvitations(first: 20) {{ totalCount edges {{ node {{ id status answerBy offeredPriceJpy
              estimated factory {{ {FACTORY} }}
              lines {{ quantity startDate endDate weeklyHours {{ week hours }} unitPriceJpy setupCostJpy
                estimated package {{ {PACKAGE} }} }}
              events {{ kind at payload }} }} }} }} }}""",
    ),
    "quotes_buyer": (
        "buyer",
        "awarded",
        """query($rfq: ID!) { quotes(rfqId: $rfq) { id status currency totalAmount completionDate
              deliveryDate validUntil consortium { summary lead { area prefecture certifications }
              partnerFactories partnerPrefectures } exchangeRate { currency jpyPerUnit setOn }
              lines { lineId position name quantity unitPrice amount } } }""",
    ),
}

# asyncpg's own statements (type introspection, resets), not the application's, and the catalogue's version
# check, which runs at most once a second whatever the load (server/catalogue/taxonomy.py).
_NOT_COUNTED = (
    "RESET ALL",
    "pg_advisory_unlock_all",
    "typeinfo_tree",
    "set_config('jit'",
    "pg_catalog",
    "FROM catalogue_version",
)


class Statements:
    def __init__(self) -> None:
        self.recording = False
        self.texts: list[str] = []

    def __call__(self, query: str) -> None:
        if self.recording and not any(marker in query for marker in _NOT_COUNTED):
            self.texts.append(" ".join(query.split())[:120])


async def tokens_of(pool: db.Pool) -> dict[str, str]:
    async with pool.acquire() as conn:
        owner = await pending_invitee_email(conn)
    assert owner is not None, "the demo's invitations stage has no pending invitation"

    async def session(email: str) -> str:
        signed = await auth_service.log_in(
            pool,
            ANONYMOUS,
            email=email,
            password=DEMO_PASSWORD,
            now=dt.datetime.now(dt.UTC),
            sessions=Settings().session_policy,
        )
        return signed.token

    return {
        "coordinator": await session(DEMO_COORDINATOR_EMAIL),
        "owner": await session(owner),
        "buyer": DEMO_BUYERS[0][3],
    }


async def variables_of(pool: db.Pool) -> dict[str, dict[str, str]]:
    async with pool.acquire() as conn:
        invited = await conn.fetchval("SELECT id FROM rfqs WHERE title = $1", INVITATIONS_RFQ_TITLE)
        awarded = await conn.fetchval("SELECT id FROM rfqs WHERE title = $1", AWARDED)
    return {"": {}, "invited": {"rfq": str(invited)}, "awarded": {"rfq": str(awarded)}}


async def measure(dsn: str, requests: int, rounds: int) -> list[dict[str, Any]]:
    statements = Statements()
    pool = await db.create_pool(dsn, on_query=statements)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        print("seeding the demo (award and invitation stages included)…", flush=True)
        await seed_demo(pool)
        await taxonomy_for(pool).current()  # the app's lifespan reads the catalogue at start
        tokens = await tokens_of(pool)
        variables = await variables_of(pool)
        app = create_app(Settings(database_url="unused", env="dev"), pool=pool)
        rows: list[dict[str, Any]] = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def post(document: str, token: str, values: dict[str, str]) -> dict[str, Any]:
                response = await http.post(
                    "/graphql",
                    json={"query": document, "variables": values},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body: dict[str, Any] = response.json()
                return body

            for name, (caller, variable_set, document) in DOCUMENTS.items():
                token, values = tokens[caller], variables[variable_set]
                for _ in range(3):  # warm-up: parse cache, connection type caches
                    answer = await post(document, token, values)
                if answer.get("errors"):
                    raise RuntimeError(f"{name}: {answer['errors']}")
                statements.texts.clear()
                statements.recording = True
                await post(document, token, values)
                statements.recording = False
                counted = list(statements.texts)
                load_before = os.getloadavg()[0]
                # Rounds of requests; the round with the least CPU per request is reported (on a shared
                # machine, the others are slowed by neighbours: caches, hyper-threads), with the median.
                cpu_rounds: list[float] = []
                wall_rounds: list[float] = []
                per_round = max(1, requests // rounds)
                for _ in range(rounds):
                    cpu = time.process_time()
                    wall = time.perf_counter()
                    for _ in range(per_round):
                        await post(document, token, values)
                    cpu_rounds.append((time.process_time() - cpu) * 1000 / per_round)
                    wall_rounds.append((time.perf_counter() - wall) * 1000 / per_round)
                cpu_ms = min(cpu_rounds)
                wall_ms = min(wall_rounds)
                row = {
                    "document": name,
                    "caller": caller,
                    "statements": len(counted),
                    "statement_texts": counted,
                    "cpu_ms": round(cpu_ms, 2),
                    "cpu_ms_median": round(statistics.median(cpu_rounds), 2),
                    "wall_ms": round(wall_ms, 2),
                    "response_bytes": len(json.dumps(answer)),
                    "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                }
                print(
                    f"{name:26} {caller:12} statements {row['statements']:3}  CPU {row['cpu_ms']:8.2f} ms/req"
                    f"  wall {row['wall_ms']:8.2f} ms/req  load {row['loadavg']}",
                    flush=True,
                )
                rows.append(row)
        return rows
    finally:
        await pool.close()


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# API pages: statements and CPU per request ({result['label']})",
        "",
        machine_markdown(result["machine"]),
        "",
        "The machine is shared with other engineers (2 cores): CPU ms/request is this process's CPU time "
        "(application and the in-process httpx client), steadier than wall time under load, in the round "
        "(of 5) with the least (its median beside it); compare runs at similar load only. "
        f"{result['requests']} sequential requests per document after 3 warm-ups.",
        "",
        "| document | caller | statements | CPU ms/req (median) | wall ms/req | load (1 min) before → after"
        " |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['document']} | {row['caller']} | {row['statements']} | {row['cpu_ms']} "
            f"({row.get('cpu_ms_median', '–')}) | {row['wall_ms']} | "
            f"{row['loadavg'][0]} → {row['loadavg'][1]} |"
        )
    before = result.get("before")
    if before:
        rows = {row["document"]: row for row in before["rows"]}
        lines += [
            "",
            f"## Before → after ({before['label']}, run just before with this harness; load average at its "
            f"start {before['machine']['loadavg']}, end {before['machine'].get('loadavg_end')})",
            "",
            "| document | caller | statements before → after | CPU ms/req before → after |",
            "|---|---|---|---|",
        ]
        for row in result["rows"]:
            old = rows.get(row["document"])
            if old is not None:
                lines.append(
                    f"| {row['document']} | {row['caller']} | {old['statements']} → {row['statements']} | "
                    f"{old['cpu_ms']} → {row['cpu_ms']} |"
                )
    lines += ["", "## Statements per document", ""]
    for row in result["rows"]:
        lines.append(f"- **{row['document']}**: " + "; ".join(f"`{t[:90]}`" for t in row["statement_texts"]))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="measured requests per document")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the requests are split into")
    parser.add_argument("--out", default="api_pages", help="results file name, without extension")
    parser.add_argument("--label", default="", help="what was measured (e.g. the commit), for the title")
    parser.add_argument(
        "--before", type=Path, default=None, help="a results JSON of an earlier run, shown side by side"
    )
    args = parser.parse_args()
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="machikoba-api-pages-") as tmp:
        embedded = db.start_embedded(Path(tmp))
        try:
            rows = asyncio.run(measure(embedded.dsn, args.requests, args.rounds))
        finally:
            embedded.stop()
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result: dict[str, Any] = {
        "label": args.label or args.out,
        "machine": machine,
        "requests": args.requests,
        "rows": rows,
    }
    if args.before is not None:
        result["before"] = json.loads(args.before.read_text())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(result))
    print(f"wrote bench/results/{args.out}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
