"""Capacity per factory × process × week, spread over the weeks the work occupies."""

from __future__ import annotations

from solver import Capacity, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def test_work_spreads_over_weeks_and_respects_each_week() -> None:
    # given: 25 h of work, 10 h free per week, due at the end of week 2
    p = problem(
        [fac("A")], [pkg("p1", 25, due_day=21)], [off("A", "p1")], caps("A", ["turning"], [0, 1, 2], 10)
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.status == "optimal"
    (a,) = s.assignments
    assert sum(h for _, h in a.hours) == 25
    assert all(h <= 10 for _, h in a.hours)
    assert verify(p, s) == []


def test_two_packages_share_a_bucket() -> None:
    # given: two packages at A, 12 h free in week 0 only; B is dearer but free
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 8), pkg("p2", 8)],
        [off("A", "p1", 10), off("A", "p2", 10), off("B", "p1", 20), off("B", "p2", 20)],
        caps("AB", ["turning"], [0], 12),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    booked_a = sum(h for a in s.assignments if a.factory == "A" for _, h in a.hours)
    assert booked_a <= 12
    assert s.objective == 12 * 10 + 4 * 20
    assert verify(p, s) == []


def test_duration_follows_the_weekly_rate() -> None:
    # given: 20 h at a factory with 10 h free per week must take two weeks
    p = problem(
        [fac("A")], [pkg("p1", 20, due_day=28)], [off("A", "p1")], caps("A", ["turning"], [0, 1, 2, 3], 10)
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    (a,) = s.assignments
    assert a.end_day - a.start_day >= 14
    assert verify(p, s) == []


def test_verifier_flags_an_overbooked_week() -> None:
    # given
    p = problem([fac("A")], [pkg("p1", 5)], [off("A", "p1")], (Capacity("A", "turning", 0, 5.0),))
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    a = s.assignments[0]
    bad = s.__class__(
        **{
            **s.__dict__,
            "assignments": (
                a.__class__(a.factory, a.package, a.quantity, a.start_day, a.end_day, ((0, 9.0),)),
            ),
        }
    )
    # when
    violations = verify(p, bad)
    # then
    assert any("capacity" in v for v in violations)
