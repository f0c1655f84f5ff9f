"""Property-based: every solution the solver returns passes the independent verifier."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from solver import Problem, solve, verify
from tests.solver.builders import WALL_S
from tests.solver.strategies import problems, with_fixed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_returned_solution_verifies(p: Problem) -> None:
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=1.0, workers=1)
    # then
    assert s.status != "unknown"
    assert verify(p, s) == []
    if s.status == "infeasible":
        assert s.explanation is not None
        assert s.explanation.summary


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_fixed(problems(), pinned_days=True).filter(lambda p: bool(p.fixed)))
def test_solutions_with_fixed_assignments_verify(p: Problem) -> None:
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=1.0, workers=1)
    # then: verify checks the fixed quantities and pinned days; an infeasible answer says why, with a change
    assert s.status != "unknown"
    assert verify(p, s) == []
    if s.status == "infeasible":
        assert s.explanation is not None
        assert s.explanation.relaxations or "No single" in s.explanation.summary
