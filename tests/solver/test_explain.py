"""Explanations for each cause of infeasibility: never a bare 'infeasible'."""

from __future__ import annotations

from solver import Policy, Solution, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def _codes(s: Solution) -> set[str]:
    assert s.status == "infeasible"
    assert s.explanation is not None
    return {r.code for r in s.explanation.reasons}


def test_no_eligible_factory_names_the_last_filter() -> None:
    # given: the only offer comes from a factory without the required certification
    p = problem(
        [fac("A")],
        [pkg("p1", required_certifications=frozenset({"JIS Q 9100"}))],
        [off("A", "p1")],
        caps("A", ["turning"], [0], 40),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert _codes(s) == {"no_eligible_factory"}
    assert s.explanation is not None
    assert "certification" in s.explanation.summary
    assert "JIS Q 9100" in s.explanation.summary
    assert verify(p, s) == []


def test_not_enough_hours_before_the_due_date_says_by_how_much() -> None:
    # given: 30 h needed by day 14, 2 × 10 h free before then
    p = problem(
        [fac("A")],
        [pkg("p1", 30, due_day=14, part="shaft")],
        [off("A", "p1")],
        caps("A", ["turning"], range(4), 10),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert _codes(s) == {"capacity_before_due"}
    assert s.explanation is not None
    assert "30 h needed by 2026-01-19" in s.explanation.summary
    assert "20 h free (10 h short)" in s.explanation.summary


def test_max_members_too_small_is_reported_with_a_relaxation() -> None:
    # given: p1 only at A, p2 only at B, but one member allowed
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1"), pkg("p2")],
        [off("A", "p1"), off("B", "p2")],
        caps("AB", ["turning"], [0], 40),
        Policy(max_members=1),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=4)
    # then
    assert "max_members" in _codes(s)
    assert s.explanation is not None
    assert any(r.code == "max_members" and "2" in r.message for r in s.explanation.relaxations)


def test_pinned_and_excluded_factory() -> None:
    # given
    p = problem(
        [fac("A"), fac("B")],
        [pkg("p1")],
        [off("A", "p1"), off("B", "p1")],
        caps("AB", ["turning"], [0], 40),
        Policy(pinned=frozenset({"A"}), excluded=frozenset({"A"})),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert "pinned_excluded" in _codes(s)


def test_routing_against_the_due_date_suggests_a_later_date() -> None:
    # given: two operations of 10 h each at 10 h/week (a week each), line due on day 10
    p = problem(
        [fac("A")],
        [
            pkg("t", 10, line="L", op=0, part="shaft"),
            pkg("g", 10, line="L", op=1, process="grinding", due_day=10),
        ],
        [off("A", "t"), off("A", "g")],
        caps("A", ["turning", "grinding"], range(4), 10),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=4)
    # then
    assert "due_date" in _codes(s)
    assert s.explanation is not None
    relax = [r for r in s.explanation.relaxations if r.code == "due_date"]
    assert relax
    assert "2026-01-19" in relax[0].message
    assert "would make it feasible" in s.explanation.summary
