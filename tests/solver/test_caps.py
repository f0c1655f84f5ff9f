"""Members first under a tight cap (``solver/caps.py``): a capacity-aware set cover, then a plan within it."""

from __future__ import annotations

import time
from dataclasses import replace

from solver import Policy, Problem, solve, verify
from solver.caps import capped_start, cover_members
from solver.eligibility import analyse
from solver.generate import generate_problem
from solver.greedy import few_member_plan, greedy_plan
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def _shared_hours() -> Problem:
    """W offers both packages but has 10 h for 16 h of work; X and Y make one package each."""
    return problem(
        [fac("W"), fac("X"), fac("Y")],
        [pkg("p1", 8, splittable=False), pkg("p2", 8, splittable=False)],
        [off("W", "p1", 10), off("W", "p2", 10), off("X", "p1", 20), off("Y", "p2", 20)],
        (*caps("W", ["turning"], [0], 10), *caps("XY", ["turning"], [0], 40)),
        Policy(max_members=2),
    )


def test_the_cover_shares_a_factorys_hours_between_its_packages() -> None:
    # given
    p = _shared_hours()
    eligible = analyse(p, None).eligible
    # when
    alone = cover_members(p, eligible, 1)
    two = cover_members(p, eligible, 2)
    # then: W cannot make both in its 10 h, so no single member covers everything
    assert alone is None
    assert two is not None
    assert len(two) == 2
    assert "W" in two  # it makes one of the two (the cheaper seats are not the point here)


def test_the_cover_drops_the_member_the_others_make_redundant() -> None:
    # given: a greedy set cover takes BIG (four packages) first, then A and B; BIG is then redundant
    factories = {"BIG": ("p1", "p2", "p3", "p4"), "A": ("p1", "p2", "p5"), "B": ("p3", "p4", "p6")}
    p = problem(
        [fac(f) for f in factories],
        [pkg(f"p{i}", 10, splittable=False) for i in range(1, 7)],
        [off(f, pid, 10, hours_per_unit=0.1) for f, pids in factories.items() for pid in pids],
        caps(factories, ["turning"], [0], 40),
        Policy(max_members=2),
    )
    # when
    cover = cover_members(p, analyse(p, None).eligible, 2)
    # then
    assert cover is not None
    assert sorted(cover) == ["A", "B"]


def test_members_first_finds_a_consortium_within_a_cap_the_greedy_plans_miss() -> None:
    # given: a generated RFQ (60 factories, 10 packages, due dates and weekly hours) capped at 5 members
    base = generate_problem(60, 10, 2)
    p = replace(base, policy=replace(base.policy, max_members=5))
    elig = analyse(p, None)
    assert len({f for f, _ in greedy_plan(p, elig.candidates, scheduled=True)}) > 5
    assert few_member_plan(p, elig.eligible, scheduled=True, cap=5) is None
    # when
    start = capped_start(
        p,
        elig.eligible,
        5,
        scheduled=True,
        deadline=time.perf_counter() + WALL_S,
        workers=1,
        seed=0,
        deterministic_time_s=2,
    )
    sol = solve(p, time_limit_s=WALL_S, deterministic_time_s=5, workers=2)
    # then: a complete plan within the cap, and the solve answers a consortium within it
    assert start is not None
    assert len(start.members) <= 5
    made = {pk.id: 0 for pk in p.packages}
    for (_, pid), planned in start.plan.items():
        made[pid] += planned.quantity
    assert all(made[pk.id] == pk.quantity for pk in p.packages)
    assert sol.status in ("optimal", "feasible")
    assert len(sol.members) <= 5
    assert verify(p, sol) == []
