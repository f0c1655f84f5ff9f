"""The LP relaxation bound (``solver/bound.py``): never above an optimum, and it sees hand-off costs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from solver import Problem, Progress, TransportLink, solve, verify
from solver.bound import relaxation_bound
from solver.eligibility import analyse
from solver.model import build_model
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem
from tests.solver.strategies import problems
from tests.solver.test_bruteforce import brute_force


def _bound(p: Problem) -> float | None:
    elig = analyse(p, None)
    return relaxation_bound(p, build_model(p, elig.eligible))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(scheduled=False, max_qty=3))
def test_the_bound_is_never_above_the_brute_force_optimum(p: Problem) -> None:
    # when
    optimum = brute_force(p, check_capacity=True)
    bound = _bound(p)
    # then
    if optimum is not None and bound is not None:
        assert bound <= optimum + 1e-6


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(generous=True, max_qty=3))
def test_the_bound_is_never_above_the_optimum_with_routings_and_transport(p: Problem) -> None:
    # given: capacity and time never bind, so the brute force (which ignores them) is the optimum
    optimum = brute_force(p, check_capacity=False)
    bound = _bound(p)
    # then
    if optimum is not None and bound is not None:
        assert bound <= optimum + 1e-6


def test_the_bound_counts_the_unavoidable_hand_off() -> None:
    # given: turning only at A (Tokyo), grinding only at B (Osaka), 18,000 JPY between them
    p = problem(
        [fac("A", "13"), fac("B", "27")],
        [pkg("t", 10, line="L", op=0), pkg("g", 10, line="L", op=1, process="grinding")],
        [off("A", "t", 100), off("B", "g", 100)],
        caps("A", ["turning"], range(3), 40) + caps("B", ["grinding"], range(3), 40),
        transport=(TransportLink("13", "27", 1, 18_000),),
    )
    # when
    bound = _bound(p)
    seen: list[Progress] = []
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5, on_progress=seen.append)
    # then: production 2,000 plus the hand-off, exactly; progress shows that bound from the first solution
    assert bound is not None
    assert round(bound) == 20_000
    assert s.objective == 20_000
    assert s.bound == 20_000
    assert seen
    assert all(round(pr.bound) == 20_000 for pr in seen)
    assert verify(p, s) == []
