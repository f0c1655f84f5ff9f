"""The repair Problem reads free capacity as it is today, not as the stored Problem had it."""

from __future__ import annotations

import datetime as dt

from server import db
from server.clock import iso_monday
from server.invitations.repair import current_capacity
from solver import problem_from_json
from tests.conftest import jst_today
from tests.invitations.conftest import Consortium


async def test_the_repair_reads_todays_free_capacity(pool: db.Pool, consortium: Consortium) -> None:
    problem = problem_from_json(consortium.problem)
    today = jst_today()
    next_monday = iso_monday(today) + dt.timedelta(weeks=1)
    spare = str(consortium.factories[3])
    stored = {(c.factory, c.process, c.week): c.hours for c in problem.capacity}
    assert stored[spare, "cnc_turning", 1] == 40
    # since the first solve the spare factory's turning is busy next week, and its CMM is gone
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO capacity_weeks (factory_id, process_code, week_start, hours) VALUES ($1, $2, $3, 7)",
            consortium.factories[3],
            "cnc_turning",
            next_monday,
        )
        await conn.execute(
            "DELETE FROM capabilities WHERE factory_id = $1 AND process_code = 'cmm_inspection'",
            consortium.factories[3],
        )
        capacity = await current_capacity(conn, problem, today=today, due=today + dt.timedelta(days=60))
    now = {(c.factory, c.process, c.week): c.hours for c in capacity}
    assert now[spare, "cnc_turning", 1] == 7
    assert now[spare, "cnc_turning", 0] == 40
    assert not [key for key in now if key[:2] == (spare, "cmm_inspection")]
    # the others are as they were
    other = str(consortium.factories[0])
    assert {k: v for k, v in now.items() if k[0] == other} == {
        k: v for k, v in stored.items() if k[0] == other and k[2] in {w for (_, _, w) in now}
    }
