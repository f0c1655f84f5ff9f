"""The deadline task: bidding closes, quotes expire, overdue invitations count as declines and get a repair.

Each duty runs twice at once here, as two workers' schedulers might: every change happens exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from uuid import UUID

import pytest

from server import db
from server.clock import JST, end_of_day_jst
from server.errors import ValidationFailed
from server.invitations import answers, deadlines
from server.invitations.working_days import add_working_days, default_answer_day, is_working_day
from server.jobs.worker import Worker
from tests.conftest import Caller, GraphQLClient, jst_today
from tests.invitations.conftest import ACCEPT, Consortium, approved, proposals
from tests.jobs.conftest import until_status
from tests.rfqs.conftest import submitted_id


def test_working_days_skip_weekends_and_japanese_public_holidays() -> None:
    # 2026-11-20 is a Friday; Monday 23 November is Labour Thanksgiving Day
    assert add_working_days(dt.date(2026, 11, 20), 3) == dt.date(2026, 11, 26)
    assert not is_working_day(dt.date(2026, 11, 23))
    assert not is_working_day(dt.date(2026, 11, 21))
    # the new-year holiday and a weekend: 2027-01-01 (Fri, holiday), 2-3 weekend
    assert default_answer_day(dt.date(2026, 12, 31)) == dt.date(2027, 1, 6)
    assert default_answer_day(dt.date(2026, 11, 24)) == dt.date(2026, 11, 27)


async def _status(pool: db.Pool, rfq: str) -> str:
    async with pool.acquire() as conn:
        status: str = await conn.fetchval("SELECT status FROM rfqs WHERE id = $1", UUID(rfq))
    return status


async def test_bidding_closes_once_after_the_bid_deadline(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller
) -> None:
    rfq = await submitted_id(gql, buyer)
    today = jst_today()
    assert sum(await asyncio.gather(*(deadlines.close_bidding(pool, today=today) for _ in range(2)))) == 0
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE rfqs SET bid_deadline = $2 WHERE id = $1", UUID(rfq), today - dt.timedelta(days=1)
        )
    closed = await asyncio.gather(*(deadlines.close_bidding(pool, today=today) for _ in range(2)))
    assert sorted(closed) == [0, 1]
    assert await _status(pool, rfq) == "bidding_closed"
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT actor_role, payload FROM rfq_events WHERE rfq_id = $1 AND kind = 'rfq.status_changed'",
            UUID(rfq),
        )
    assert [(e["actor_role"], e["payload"]["to"]) for e in events] == [("system", "bidding_closed")]
    assert await deadlines.close_bidding(pool, today=today) == 0


async def test_quotes_past_their_validity_expire_with_their_rfq(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller
) -> None:
    rfq = await submitted_id(gql, buyer)
    today = jst_today()
    async with db.transaction(pool) as conn:
        for status in ("bidding_closed", "proposed", "quoted"):
            await conn.execute("UPDATE rfqs SET status = $2 WHERE id = $1", UUID(rfq), status)
        proposal = await conn.fetchval(
            """
            INSERT INTO proposals (rfq_id, job_id, preset, rank, lineage_id, version, solver_status,
                                   problem, solution, review_state)
            VALUES ($1, gen_random_uuid(), 'cheapest', 0, gen_random_uuid(), 1, 'optimal', '{}', '{}',
                    'approved')
            RETURNING id
            """,
            UUID(rfq),
        )
        await conn.execute(
            """
            INSERT INTO quotes (rfq_id, proposal_id, currency, cost_jpy, margin_pct, jpy_per_unit,
                                total_amount, completion_date, shipping_days, delivery_date, valid_until,
                                consortium)
            VALUES ($1, $2, 'JPY', 1000, 10, 1, 1100, $3, 0, $3, $4, '{}')
            """,
            UUID(rfq),
            proposal,
            today + dt.timedelta(days=30),
            today - dt.timedelta(days=1),
        )
    expired = await asyncio.gather(*(deadlines.expire_quotes(pool, today=today) for _ in range(2)))
    assert sorted(expired) == [0, 1]
    assert await _status(pool, rfq) == "expired"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM quotes WHERE rfq_id = $1", UUID(rfq)) == "expired"


async def test_overdue_invitations_count_as_declines_and_queue_one_repair(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, consortium: Consortium, worker: Worker
) -> None:
    today = jst_today()
    proposal = await approved(gql, pool, coordinator, consortium, by=today)
    first, *rest = proposal["invitations"]
    owner = consortium.owner_of(first["factory"]["id"])
    assert (await gql(ACCEPT, {"id": first["id"]}, token=owner.token))["data"]["invitationAccept"][
        "errors"
    ] == []
    before = end_of_day_jst(today) - dt.timedelta(seconds=1)
    assert (await deadlines.run_deadlines(pool, now=before)).invitations_expired == 0
    after = end_of_day_jst(today) + dt.timedelta(minutes=1)
    reports = await asyncio.gather(*(deadlines.run_deadlines(pool, now=after) for _ in range(2)))
    assert sum(r.invitations_expired for r in reports) == len(rest)
    assert sum(r.repairs_queued for r in reports) == 1
    again = await deadlines.run_deadlines(pool, now=after)
    assert (again.invitations_expired, again.repairs_queued) == (0, 0)
    # an expired invitation is answered too late, whatever the clock says
    late = consortium.owner_of(rest[0]["factory"]["id"])
    with pytest.raises(ValidationFailed) as refused:
        await answers.accept_invitation(
            pool, late.principal, invitation_id=UUID(rest[0]["id"]), now=before, price_tolerance_pct=5
        )
    assert [e.code.code for e in refused.value.errors] == ["ANSWER_DEADLINE_PASSED"]
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT factory_id::text AS factory, status FROM invitations WHERE proposal_id = $1",
            UUID(proposal["id"]),
        )
        statuses = {r["factory"]: r["status"] for r in rows}
        (job,) = await conn.fetch(
            "SELECT job_id, changes FROM proposal_revisions WHERE parent_proposal_id = $1",
            UUID(proposal["id"]),
        )
        kinds = [
            r["kind"]
            for r in await conn.fetch(
                "SELECT kind FROM rfq_events WHERE rfq_id = $1 AND actor_role = 'system' ORDER BY id",
                UUID(consortium.rfq),
            )
        ]
    assert statuses == {first["factory"]["id"]: "accepted"} | {i["factory"]["id"]: "expired" for i in rest}
    assert kinds == ["invitation.expired"] * len(rest) + ["proposal.repair_queued"]
    repair = job["changes"]["repair"]
    assert repair["excluded"] == sorted(i["factory"]["id"] for i in rest)
    assert {f["factory"] for f in repair["fixed"]} == {first["factory"]["id"]}
    assert repair["capacityAsOf"] == after.astimezone(JST).date().isoformat()
    # the repair is solved as a revision of the approved proposal
    solved = await until_status(pool, job["job_id"], "succeeded", "failed", timeout_s=120)
    assert solved.status == "succeeded", solved.error
    child = next(p for p in await proposals(gql, coordinator, consortium) if p["parentId"] == proposal["id"])
    assert child["version"] == 2
    assert not {i["factory"]["id"] for i in rest} & {m["id"] for m in child["members"]}
