"""Policy rules: members, pins, exclusions, shares, certified lead, coordination and cohesion."""

from __future__ import annotations

from solver import Collaboration, Policy, Problem, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def _three(policy: Policy, **kw: object) -> Problem:
    """Three packages; A is cheapest for p1, B for p2, C for p3; everyone can do everything."""
    prices = {("A", "p1"): 10, ("B", "p2"): 10, ("C", "p3"): 10}
    return problem(
        [fac("A", certs=["ISO 9001"]), fac("B"), fac("C")],
        [pkg("p1", 10), pkg("p2", 10), pkg("p3", 10)],
        [off(f, p, prices.get((f, p), 14)) for f in "ABC" for p in ("p1", "p2", "p3")],
        caps("ABC", ["turning"], [0], 100),
        policy,
        **kw,
    )


def test_max_members_consolidates() -> None:
    p = _three(Policy(max_members=1))
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    assert len(s.members) == 1
    assert verify(p, s) == []


def test_min_members_spreads() -> None:
    p = _three(Policy(min_members=3, coordination_cost=1))
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    assert len(s.members) == 3
    assert verify(p, s) == []


def test_pinned_factory_is_a_member_and_excluded_is_not() -> None:
    p = _three(Policy(pinned=frozenset({"C"}), excluded=frozenset({"A"}), max_members=2))
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    assert "C" in s.members
    assert "A" not in s.members
    assert verify(p, s) == []


def test_max_share_limits_one_member() -> None:
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 10)],
        [off("A", "p1", 10), off("B", "p1", 20)],
        caps("AB", ["turning"], [0], 100),
        Policy(max_share=0.6),
    )
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    assert s.status == "optimal"
    assert len(s.members) == 2
    assert verify(p, s) == []


def test_certified_lead_is_required() -> None:
    p = _three(Policy(lead_certification="ISO 9001", max_members=1))
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    assert s.members == ("A",)
    assert s.lead == "A"
    assert verify(p, s) == []


def test_coordination_cost_and_cohesion_bonus() -> None:
    # given: a member costs 50, but B and C worked together (bonus 60)
    p = _three(
        Policy(coordination_cost=50, cohesion_bonus=60), collaborations=(Collaboration("B", "C", 1.0),)
    )
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    assert s.costs is not None
    assert s.costs.coordination == 50 * len(s.members)
    if {"B", "C"} <= set(s.members):
        assert s.costs.cohesion == -60
    assert verify(p, s) == []
