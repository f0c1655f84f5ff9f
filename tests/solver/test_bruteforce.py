"""Brute force on tiny instances confirms the solver's 'optimal' claims (and its infeasibility claims)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

from hypothesis import HealthCheck, given, settings

from solver import Assignment, Problem, solve, verify
from solver.verify import expected_costs
from tests.solver.builders import WALL_S
from tests.solver.strategies import problems, with_fixed


def _splits(p: Problem, pkg_id: str) -> Iterator[dict[str, int]]:
    """Every way to cover one package by its allowed offers (lots, maximums, splitting)."""
    pkg = p.package_by_id[pkg_id]
    offers = [
        o
        for o in p.offers_by_package[pkg_id]
        if o.factory not in p.policy.excluded
        and pkg.required_certifications <= p.factory_by_id[o.factory].certifications
    ]
    ranges = [range(0, min(pkg.quantity, o.max_quantity or pkg.quantity) + 1) for o in offers]
    for qs in product(*ranges):
        used = {o.factory: q for o, q in zip(offers, qs, strict=True) if q > 0}
        if sum(qs) != pkg.quantity or any(q < pkg.min_lot for q in used.values()):
            continue
        if not pkg.splittable and len(used) != 1:
            continue
        yield used


def _feasible(p: Problem, plan: dict[tuple[str, str], int], *, check_capacity: bool) -> bool:
    pol = p.policy
    members = {f for f, _ in plan}
    if pol.max_members is not None and len(members) > pol.max_members:
        return False
    if pol.min_members is not None and len(members) < pol.min_members:
        return False
    if not pol.pinned <= members:
        return False
    if any(plan.get(fa.key) != fa.quantity for fa in p.fixed):
        return False
    if pol.lead_certification and not any(
        pol.lead_certification in p.factory_by_id[f].certifications for f in members
    ):
        return False
    value = dict.fromkeys(members, 0)
    for (f, pid), q in plan.items():
        value[f] += p.offer_by_pair[f, pid].unit_price * q
    if pol.max_share is not None and any(
        v > pol.max_share * sum(value.values()) + 1e-9 for v in value.values()
    ):
        return False
    if check_capacity:
        load: dict[tuple[str, str], float] = {}
        for (f, pid), q in plan.items():
            o = p.offer_by_pair[f, pid]
            key = (f, p.package_by_id[pid].process)
            load[key] = load.get(key, 0.0) + o.setup_hours + o.hours_per_unit * q
        for (f, proc), h in load.items():
            if h > p.capacity_by_bucket.get((f, proc), {}).get(0, 0.0) + 1e-9:
                return False
    return True


def brute_force(p: Problem, *, check_capacity: bool) -> int | None:
    """The cheapest total cost over every plan, or ``None`` if no plan is feasible."""
    best: int | None = None
    options = [list(_splits(p, pkg.id)) for pkg in p.packages]
    for choice in product(*options):
        plan = {(f, pkg.id): q for pkg, used in zip(p.packages, choice, strict=True) for f, q in used.items()}
        if not _feasible(p, plan, check_capacity=check_capacity):
            continue
        cost = expected_costs(p, [Assignment(f, pid, q, 0, 1) for (f, pid), q in plan.items()]).total
        best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(scheduled=False, max_qty=3))
def test_optimal_matches_brute_force_without_schedule(p: Problem) -> None:
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2.0, workers=1)
    expected = brute_force(p, check_capacity=True)
    # then
    assert verify(p, s) == []
    if expected is None:
        assert s.status == "infeasible"
    else:
        # the optimum is known: the objective says it all, whether or not optimality was proven
        assert s.status in ("optimal", "feasible")
        assert s.objective == expected


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(generous=True, max_qty=3))
def test_optimal_matches_brute_force_with_routing_and_transport(p: Problem) -> None:
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2.0, workers=1)
    expected = brute_force(p, check_capacity=False)
    # then
    assert verify(p, s) == []
    if expected is None:
        assert s.status == "infeasible"
    else:
        # the optimum is known: the objective says it all, whether or not optimality was proven
        assert s.status in ("optimal", "feasible")
        assert s.objective == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_fixed(problems(scheduled=False, max_qty=3)).filter(lambda p: bool(p.fixed)))
def test_fixed_assignments_match_brute_force_without_schedule(p: Problem) -> None:
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2.0, workers=1)
    expected = brute_force(p, check_capacity=True)
    # then: the fixed shares are kept (verify checks them) and the rest is optimal
    assert p.fixed
    assert verify(p, s) == []
    if expected is None:
        assert s.status == "infeasible"
        assert s.explanation is not None
        assert s.explanation.relaxations or "No single" in s.explanation.summary
    else:
        assert s.status in ("optimal", "feasible")
        assert s.objective == expected


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_fixed(problems(generous=True, max_qty=3)).filter(lambda p: bool(p.fixed)))
def test_fixed_assignments_match_brute_force_with_routing_and_transport(p: Problem) -> None:
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2.0, workers=1)
    expected = brute_force(p, check_capacity=False)
    # then
    assert verify(p, s) == []
    if expected is None:
        assert s.status == "infeasible"
    else:
        assert s.status in ("optimal", "feasible")
        assert s.objective == expected
