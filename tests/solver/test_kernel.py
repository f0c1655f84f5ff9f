"""The LP-guided kernel search (``solver/kernel.py``): exact reduced-cost fixing, when it applies, results."""

from __future__ import annotations

import os
import random
import sys
import threading
from dataclasses import replace
from itertools import product
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from solver import kernel, solve, verify
from solver.eligibility import analyse
from solver.gap import GapInstance, gap_assignment, gap_to_problem, read_gap_file
from solver.kernel import applies, fixable, integral_bound, lp_relaxation, pair_penalties
from solver.model import build_model
from solver.problem import Problem
from tests.solver.builders import WALL_S

GAP1 = Path(__file__).parent / "data" / "gap1.txt"


def _random_gap(rng: random.Random, m: int, n: int) -> GapInstance:
    costs = tuple(tuple(rng.randint(5, 50) for _ in range(n)) for _ in range(m))
    resources = tuple(tuple(rng.randint(1, 20) for _ in range(n)) for _ in range(m))
    capacities = tuple(max(20, int(sum(row) * rng.uniform(0.35, 0.6) / m * 2)) for row in resources)
    return GapInstance(costs=costs, resources=resources, capacities=capacities, name="tiny")


def _feasible_costs(inst: GapInstance) -> list[tuple[int, tuple[int, ...]]]:
    return [
        (inst.cost_of(a), a) for a in product(range(inst.agents), repeat=inst.jobs) if inst.is_feasible(a)
    ]


def test_reduced_cost_fixing_never_removes_a_pair_of_an_optimal_solution() -> None:
    # given tiny random GAPs, brute-forced
    rng = random.Random(7)
    checked = 0
    for _ in range(40):
        inst = _random_gap(rng, 3, 6)
        solutions = _feasible_costs(inst)
        if not solutions:
            continue
        problem = gap_to_problem(inst)
        b = build_model(problem, analyse(problem, None).eligible)
        b.model.minimize(b.total_cost)
        # when
        lp = lp_relaxation(b.model)
        assert lp is not None
        pen = pair_penalties(b, lp)
        # then: the penalty of every used pair is a valid lower bound on every solution's cost ...
        best = min(cost for cost, _ in solutions)
        assert integral_bound(lp.bound) <= best
        for cost, a in solutions:
            for j, i in enumerate(a):
                key = (problem.factories[i].id, problem.packages[j].id)
                assert lp.bound + pen[key] <= cost + 1e-6
                # ... so no pair of an optimal solution is fixed for the optimum as incumbent
                if cost == best:
                    assert not fixable(lp.bound, pen[key], best)
        checked += 1
    assert checked >= 20


def test_lp_relaxation_declines_a_model_without_a_linear_relaxation() -> None:
    # given an enforced linear constraint, which the relaxation does not handle
    model = cp_model.CpModel()
    x = model.new_int_var(0, 10, "x")
    lit = model.new_bool_var("lit")
    model.add(x >= 5).only_enforce_if(lit)
    model.minimize(x)
    # when / then
    assert lp_relaxation(model) is None


def test_lp_relaxation_of_a_small_model() -> None:
    # given min x + 2y, x + y >= 1.5 (one linear row), exactly one of (a, b) with a costing 3
    model = cp_model.CpModel()
    x, y = model.new_int_var(0, 5, "x"), model.new_int_var(0, 5, "y")
    a, b = model.new_bool_var("a"), model.new_bool_var("b")
    model.add(2 * x + 2 * y >= 3)
    model.add_exactly_one([a, ~b])  # a + (1 - b) == 1
    model.minimize(x + 2 * y + 3 * a + 4)
    # when
    lp = lp_relaxation(model)
    # then
    assert lp is not None
    assert lp.bound == pytest.approx(1.5 + 4)
    assert lp.values[a.index] == pytest.approx(0.0)
    assert lp.values[x.index] == pytest.approx(1.5)


def _gap_problem() -> Problem:
    return gap_to_problem(_random_gap(random.Random(3), 3, 5))


def test_applies_to_assignment_models_with_a_tight_lp_only() -> None:
    problem = _gap_problem()
    assert applies(problem)
    pol = problem.policy
    assert not applies(replace(problem, policy=replace(pol, coordination_cost=1000)))
    assert not applies(replace(problem, policy=replace(pol, preset="fewest_members")))
    with_due = replace(problem, packages=(replace(problem.packages[0], due_day=10), *problem.packages[1:]))
    assert not applies(with_due)
    # splittable packages: only without setup
    split = replace(problem, packages=tuple(replace(p, splittable=True) for p in problem.packages))
    assert applies(split)
    offers = (replace(split.offers[0], setup_cost=500), *split.offers[1:])
    assert not applies(replace(split, offers=offers))


def test_general_solver_proves_tiny_gaps_optimal() -> None:
    # given
    rng = random.Random(11)
    for _ in range(5):
        inst = _random_gap(rng, 3, 6)
        solutions = _feasible_costs(inst)
        problem = gap_to_problem(inst)
        # when
        sol = solve(problem, time_limit_s=WALL_S, deterministic_time_s=5, workers=1)
        # then
        if not solutions:
            assert sol.status == "infeasible"
            continue
        assert sol.status in ("optimal", "feasible")  # the brute-force optimum is checked below
        assert sol.objective == min(cost for cost, _ in solutions)
        assert inst.cost_of(gap_assignment(problem, sol)) == sol.objective
        assert verify(problem, sol) == []


def test_gap1_instance_one_is_optimal_through_the_general_solver() -> None:
    # given
    inst = read_gap_file(GAP1, 1)
    problem = gap_to_problem(inst)
    # when
    sol = solve(problem, time_limit_s=WALL_S, deterministic_time_s=5, workers=2)
    # then: 261 is the known optimum (OR-Library)
    assert sol.status in ("optimal", "feasible")
    assert sol.objective == 261
    assert not sol.pruned
    assert verify(problem, sol) == []
    assert inst.cost_of(gap_assignment(problem, sol)) == 261


def test_kernel_phases_keep_a_larger_gap_valid_and_bounded() -> None:
    # given a GAP large enough for the kernel phases to run (not settled by the first solve)
    rng = random.Random(5)
    m, n = 10, 80
    costs = tuple(tuple(rng.randint(10, 100) for _ in range(n)) for _ in range(m))
    resources = tuple(tuple(rng.randint(5, 25) for _ in range(n)) for _ in range(m))
    capacities = tuple(int(0.8 * sum(row) / m) for row in resources)
    inst = GapInstance(costs=costs, resources=resources, capacities=capacities)
    problem = gap_to_problem(inst)
    # when
    sol = solve(problem, time_limit_s=WALL_S, deterministic_time_s=3, workers=2)
    # then
    assert sol.objective is not None
    assert sol.bound is not None
    assert sol.bound <= sol.objective
    assert verify(problem, sol) == []
    assert inst.is_feasible(gap_assignment(problem, sol))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="niceness is per thread on Linux only")
def test_yielding_runs_in_a_nicer_thread_and_leaves_the_callers_priority() -> None:
    # given
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[tuple[int, int]] = []

    def body() -> str:
        tid = threading.get_native_id()
        seen.append((tid, os.getpriority(os.PRIO_PROCESS, tid)))
        return "done"

    # when
    out = kernel.yielding(body)
    # then
    assert out == "done"
    assert seen[0][0] != threading.get_native_id()
    assert seen[0][1] == min(19, caller + kernel.YIELD_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller


def test_yielding_raises_what_the_function_raises() -> None:
    def body() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        kernel.yielding(body)
