"""Tight member caps (issue 10 §4): a consortium within the cap, or a reason with numbers."""

from __future__ import annotations

from solver import Policy, Problem, solve, verify
from solver.eligibility import analyse
from solver.greedy import few_member_plan, greedy_plan, members_needed
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem

PACKAGES = [f"p{i}" for i in range(1, 7)]


def _capped(cap: int, generalists: dict[str, tuple[str, ...]]) -> Problem:
    """Six packages; a cheap specialist for each (10 JPY/unit), and generalists at 15 JPY/unit."""
    specialists = {f"S{i}": (pid,) for i, pid in enumerate(PACKAGES, start=1)}
    offers = [off(f, pid, 10, hours_per_unit=0.1) for f, pids in specialists.items() for pid in pids]
    offers += [off(f, pid, 15, hours_per_unit=0.1) for f, pids in generalists.items() for pid in pids]
    factories = [*specialists, *generalists]
    return problem(
        [fac(f) for f in factories],
        [pkg(pid, 10, splittable=False) for pid in PACKAGES],
        offers,
        caps(factories, ["turning"], [0], 40),
        Policy(max_members=cap),
    )


TWO_HALVES: dict[str, tuple[str, ...]] = {"G1": ("p1", "p2", "p3"), "G2": ("p4", "p5", "p6")}
# A greedy set cover takes BIG first (four packages) and then needs two more factories: A + B is the answer.
SET_COVER_TRAP: dict[str, tuple[str, ...]] = {
    "BIG": ("p1", "p2", "p3", "p4"),
    "A": ("p1", "p2", "p5"),
    "B": ("p3", "p4", "p6"),
}


def test_the_cheapest_greedy_ignores_the_cap_but_the_few_member_greedy_respects_it() -> None:
    # given
    p = _capped(2, TWO_HALVES)
    candidates = analyse(p).candidates
    # when
    cheapest = greedy_plan(p, candidates, scheduled=False)
    few = few_member_plan(p, candidates, scheduled=False, cap=2)
    # then
    assert len({f for f, _ in cheapest}) == 6
    assert few is not None
    assert {f for f, _ in few} == {"G1", "G2"}


def test_a_consortium_within_a_tight_cap() -> None:
    # given
    p = _capped(2, TWO_HALVES)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then: G1 + G2 is the only consortium of two, 6 × 10 × 15 JPY
    assert s.status in ("optimal", "feasible")
    assert s.members == ("G1", "G2")
    assert s.objective == 900
    assert verify(p, s) == []


def test_the_member_phase_finds_what_the_greedy_set_cover_misses() -> None:
    # given
    p = _capped(2, SET_COVER_TRAP)
    assert few_member_plan(p, analyse(p).candidates, scheduled=False, cap=2) is None
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then
    assert s.status in ("optimal", "feasible")
    assert s.members == ("A", "B")
    assert s.objective == 900
    assert verify(p, s) == []


def test_a_cap_below_the_proven_minimum_is_infeasible_with_the_numbers() -> None:
    # given: no factory makes all six packages, so two members at least
    p = _capped(1, SET_COVER_TRAP)
    assert members_needed(analyse(p).candidates) == 1  # coverage alone does not see it
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then
    assert s.status == "infeasible"
    assert s.explanation is not None
    assert [r.code for r in s.explanation.reasons] == ["max_members"]
    assert "at least 2" in s.explanation.reasons[0].message
    assert [r.message for r in s.explanation.relaxations] == [
        "raising max members to 2 (the fewest found without the cap)"
    ]
    assert verify(p, s) == []


def test_members_needed_counts_the_largest_candidates_a_package_needs() -> None:
    # given: 25 units, each factory can make 10 (1 h per unit, 10 h free)
    p = problem(
        [fac("A"), fac("B"), fac("C")],
        [pkg("p1", 25)],
        [off("A", "p1"), off("B", "p1"), off("C", "p1")],
        caps("ABC", ["turning"], [0], 10),
    )
    # then
    assert members_needed(analyse(p).candidates) == 3


def test_a_search_that_ends_without_a_consortium_within_the_cap_reports_what_it_knows() -> None:
    # given: almost no deterministic time, so nothing within the cap is found (the greedy plans miss it)
    p = _capped(2, SET_COVER_TRAP)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=1e-6, workers=1)
    # then: unknown, with the proven minimum (the LP relaxation: no factory makes all six) and what to try
    assert s.status == "unknown"
    assert s.explanation is not None
    (reason,) = s.explanation.reasons
    assert reason.code == "max_members"
    assert "no consortium within 2 member(s) found" in reason.message
    assert "at least 2 member(s) are needed (proven)" in reason.message
    assert "Try a longer time limit" in s.explanation.summary
    assert verify(p, s) == []
