"""Due dates (hard and soft) and the presets."""

from __future__ import annotations

from dataclasses import replace

from solver import Policy, alternatives, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem

# A is cheap but has only 10 h a week; B is dear with 40 h a week.
SLOW_CHEAP = problem(
    [fac("A"), fac("B")],
    [pkg("p1", 30, due_day=28)],
    [off("A", "p1", 10), off("B", "p1", 20)],
    caps("A", ["turning"], range(4), 10) + caps("B", ["turning"], range(4), 40),
)


def test_hard_due_date_is_met() -> None:
    # given: due after one week, A alone would need three
    p = replace(SLOW_CHEAP, packages=(pkg("p1", 30, due_day=7),))
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.status == "optimal"
    assert all(a.end_day <= 7 for a in s.assignments)
    assert verify(p, s) == []


def test_cheapest_uses_the_slow_factory_when_time_allows() -> None:
    # when
    s = solve(SLOW_CHEAP, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert [a.factory for a in s.assignments] == ["A"]
    assert verify(SLOW_CHEAP, s) == []


def test_fastest_minimises_completion_then_cost() -> None:
    # given
    p = replace(SLOW_CHEAP, policy=Policy(preset="fastest"))
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    cheap = solve(SLOW_CHEAP, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.status == "optimal"
    assert s.completion_day is not None
    assert cheap.completion_day is not None
    assert s.completion_day < cheap.completion_day
    assert verify(p, s) == []


def test_soft_due_date_pays_lateness() -> None:
    # given: only A, 30 h at 10 h/week, due after one week, 5 JPY per day late
    p = problem(
        [fac("A")],
        [pkg("p1", 30, due_day=7)],
        [off("A", "p1", 10)],
        caps("A", ["turning"], range(4), 10),
        Policy(lateness_penalty_per_day=5),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.status == "optimal"
    assert s.costs is not None
    assert s.completion_day is not None
    assert s.costs.lateness == 5 * (s.completion_day - 7) > 0
    assert verify(p, s) == []


def test_fewest_members_and_balanced_presets_verify() -> None:
    # given
    p = problem(
        [fac("A"), fac("B"), fac("C")],
        [pkg("p1", 10), pkg("p2", 10)],
        [off("A", "p1", 10), off("B", "p2", 10), off("C", "p1", 15), off("C", "p2", 15)],
        caps("ABC", ["turning"], [0], 40),
    )
    for preset in ("fewest_members", "balanced"):
        q = replace(p, policy=Policy(preset=preset))
        # when
        s = solve(q, time_limit_s=WALL_S, deterministic_time_s=2)
        # then
        assert s.status == "optimal"
        assert verify(q, s) == []
        if preset == "fewest_members":
            assert s.members == ("C",)


def test_alternatives_have_different_member_sets_best_first() -> None:
    # given
    p = problem(
        [fac("A"), fac("B"), fac("C")],
        [pkg("p1", 10, splittable=False)],
        [off("A", "p1", 10), off("B", "p1", 11), off("C", "p1", 12)],
        caps("ABC", ["turning"], [0], 40),
    )
    # when
    sols = alternatives(p, 3, time_limit_s=WALL_S, deterministic_time_s=3)
    # then
    assert [s.members for s in sols] == [("A",), ("B",), ("C",)]
    assert all(verify(p, s) == [] for s in sols)


def test_progress_callback_receives_improving_solutions() -> None:
    # given
    seen: list[float] = []
    # when
    solve(
        SLOW_CHEAP,
        time_limit_s=WALL_S,
        deterministic_time_s=2,
        on_progress=lambda pr: seen.append(pr.objective),
    )
    # then
    assert seen
    assert seen == sorted(seen, reverse=True)
