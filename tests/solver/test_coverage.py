"""Coverage, splitting, minimum lots and offer maximums."""

from __future__ import annotations

from solver import solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def test_quantity_is_covered_exactly_by_the_cheapest_factory() -> None:
    # given
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 10)],
        [off("A", "p1", 100), off("B", "p1", 90)],
        caps("AB", ["turning"], [0], 40),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.status == "optimal"
    assert [(a.factory, a.quantity) for a in s.assignments] == [("B", 10)]
    assert s.objective == 900
    assert verify(p, s) == []


def test_splittable_package_is_split_when_capacity_forces_it() -> None:
    # given: each factory can make at most 6 units (6 h free, 1 h per unit)
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 10, min_lot=2)],
        [off("A", "p1", 100), off("B", "p1", 90)],
        caps("AB", ["turning"], [0], 6),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.status == "optimal"
    assert sorted((a.factory, a.quantity) for a in s.assignments) == [("A", 4), ("B", 6)]
    assert verify(p, s) == []


def test_unsplittable_package_goes_to_one_factory() -> None:
    # given: B is cheaper but has room for 6 only
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 10, splittable=False)],
        [off("A", "p1", 100), off("B", "p1", 90)],
        caps("AB", ["turning"], [0], 10) + caps("B", ["turning"], [1], 0),
    )
    p = problem(
        p.factories, p.packages, p.offers, caps("A", ["turning"], [0], 10) + caps("B", ["turning"], [0], 6)
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert [(a.factory, a.quantity) for a in s.assignments] == [("A", 10)]
    assert verify(p, s) == []


def test_minimum_lot_and_max_quantity_shape_the_split() -> None:
    # given: B (cheap) may take at most 7, and a lot is at least 4
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 10, min_lot=4)],
        [off("A", "p1", 100), off("B", "p1", 50, max_quantity=7)],
        caps("AB", ["turning"], [0], 40),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then: 7 + 3 is forbidden by the lot, so 6 + 4
    assert sorted((a.factory, a.quantity) for a in s.assignments) == [("A", 4), ("B", 6)]
    assert verify(p, s) == []


def test_setup_cost_and_hours_count_once_per_used_pair() -> None:
    # given: A has a big setup; splitting would pay it twice over
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1", 10)],
        [off("A", "p1", 10, setup_cost=1000, setup_hours=5), off("B", "p1", 120)],
        caps("AB", ["turning"], [0], 15),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then: A alone costs 100 + 1000 and books 10 + 5 h
    assert [(a.factory, a.quantity) for a in s.assignments] == [("A", 10)]
    assert s.costs is not None
    assert (s.costs.production, s.costs.setup) == (100, 1000)
    assert s.assignments[0].hours == ((0, 15.0),)
    assert verify(p, s) == []
