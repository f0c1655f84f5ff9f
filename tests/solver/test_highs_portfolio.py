"""HiGHS beside the kernel search (``solver/highs.py``): the same model, checked answers, a quiet stdout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ortools.sat.python import cp_model

from solver import highs, solve, verify
from solver.gap import gap_assignment, gap_to_problem, read_gap_file
from tests.solver.builders import WALL_S

GAP1 = Path(__file__).parent / "data" / "gap1.txt"


def _knapsack() -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """Pick items of weights 3, 4, 5, 6 within 10, minimising minus their values 4, 5, 6, 8 (optimum -13:
    items 1 and 3, or 2 and 4)."""
    model = cp_model.CpModel()
    xs = [model.new_bool_var(f"x{i}") for i in range(4)]
    model.add(3 * xs[0] + 4 * xs[1] + 5 * xs[2] + 6 * xs[3] <= 10)
    model.minimize(-(4 * xs[0] + 5 * xs[1] + 6 * xs[2] + 8 * xs[3]))
    return model, xs


def test_highs_solves_the_cp_sat_model_and_its_answer_becomes_a_cp_sat_solution() -> None:
    # given
    model, xs = _knapsack()
    # when
    run = highs.start(model, deadline=time.perf_counter() + WALL_S, hint=None, threads=1)
    assert run is not None
    run.join()
    best = run.best()
    # then
    assert best is not None
    objective, values = best
    assert objective == -13
    assert run.optimal
    assert run.bound == pytest.approx(-13)
    solver = highs.as_cp_solution(model, values, workers=1)
    assert solver is not None
    assert round(solver.objective_value) == -13
    assert sum(3 + i for i, x in enumerate(xs) if solver.boolean_value(x)) <= 10


def test_an_answer_that_breaks_the_model_is_refused() -> None:
    # given: every item picked weighs 18 > 10
    model, _ = _knapsack()
    # then
    assert highs.as_cp_solution(model, [1, 1, 1, 1], workers=1) is None
    assert highs.as_cp_solution(model, [2, 0, 0, 0], workers=1) is None  # outside a variable's domain
    assert highs.as_cp_solution(model, [1, 0], workers=1) is None  # not one value per variable


def test_a_model_without_a_linear_form_gets_no_highs() -> None:
    # given: a multiplication has no linear rows here
    model = cp_model.CpModel()
    x, y, z = (model.new_int_var(0, 3, n) for n in "xyz")
    model.add_multiplication_equality(z, [x, y])
    model.minimize(x - z)
    # then
    assert highs.start(model, deadline=time.perf_counter() + WALL_S, hint=None, threads=1) is None


def test_the_first_highs_of_a_process_prints_nothing_on_stdout() -> None:
    # given: HiGHS prints a banner on stdout when the process makes its first Highs object
    code = "from solver import highs; highs._new_highs(); highs._new_highs(); print('only this')"
    # when
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # then
    assert out.stdout == "only this\n"


def test_the_general_solver_runs_highs_beside_the_kernel_without_a_deterministic_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    started: list[Any] = []
    real_start = highs.start

    def spy(*args: Any, **kwargs: Any) -> Any:
        run = real_start(*args, **kwargs)
        started.append(run)
        return run

    monkeypatch.setattr(highs, "start", spy)
    inst = read_gap_file(GAP1, 1)
    problem = gap_to_problem(inst)
    # when: a wall limit only (the portfolio is not used under a deterministic budget)
    sol = solve(problem, time_limit_s=20.0, workers=2)
    # then: 261 is the known optimum (OR-Library), whichever solver found it
    assert len(started) == 1
    assert started[0] is not None
    assert sol.objective == 261
    assert sol.status == "optimal"
    assert verify(problem, sol) == []
    assert inst.cost_of(gap_assignment(problem, sol)) == 261


def test_a_deterministic_budget_keeps_cp_sat_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    calls: list[object] = []
    monkeypatch.setattr(highs, "start", lambda *a, **k: calls.append(a))
    problem = gap_to_problem(read_gap_file(GAP1, 1))
    # when
    sol = solve(problem, time_limit_s=WALL_S, deterministic_time_s=5, workers=2)
    # then
    assert calls == []
    assert sol.objective == 261


def test_highs_sees_the_gap_instance_as_the_plain_mip(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: the portfolio's HiGHS, caught as the general solver starts it
    runs: list[highs.HighsRun] = []
    real_start = highs.start

    def spy(*args: Any, **kwargs: Any) -> highs.HighsRun | None:
        run = real_start(*args, **kwargs)
        if run is not None:
            runs.append(run)
        return run

    monkeypatch.setattr(highs, "start", spy)
    inst = read_gap_file(GAP1, 1)
    m, n = inst.agents, inst.jobs
    # when
    solve(gap_to_problem(inst), time_limit_s=WALL_S, workers=2)
    # then: the MIP a modeller writes from the instance, column (agent i, job j) at i·n + j, the n
    # assignment rows, then the m capacity rows in whole units (the model's hours are in thousandths)
    assert len(runs) == 1
    runs[0].join()
    lp = runs[0]._highs.getLp()
    assert list(lp.col_cost_) == [inst.costs[i][j] for i in range(m) for j in range(n)]
    assert list(lp.row_lower_)[:n] == [1.0] * n
    assert list(lp.row_upper_) == [1.0] * n + [float(c) for c in inst.capacities]
    a = lp.a_matrix_
    entries = {
        (int(a.index_[p]), col, float(a.value_[p]))
        for col in range(m * n)
        for p in range(a.start_[col], a.start_[col + 1])
    }
    expected = {(j, i * n + j, 1.0) for i in range(m) for j in range(n)}
    expected |= {(n + i, i * n + j, float(inst.resources[i][j])) for i in range(m) for j in range(n)}
    assert entries == expected


def test_rows_are_divided_by_the_gcd_of_their_integral_coefficients() -> None:
    inf = float("inf")
    # a capacity row in thousandths of hours
    assert highs._divided((-inf, 196_000.0, {0: 24_000.0, 1: 1_000.0})) == (-inf, 196, {0: 24.0, 1: 1.0})
    # the sides are rounded inwards: 2x + 4y >= 3 is x + 2y >= 2 over integers
    assert highs._divided((3.0, 9.0, {0: 2.0, 1: 4.0})) == (2, 4, {0: 1.0, 1: 2.0})
    # nothing to divide
    assert highs._divided((0.0, 5.0, {0: 1.5, 1: 3.0})) == (0.0, 5.0, {0: 1.5, 1: 3.0})
    assert highs._divided((0.0, 5.0, {0: 2.0, 1: 3.0})) == (0.0, 5.0, {0: 2.0, 1: 3.0})


def test_highs_columns_follow_the_given_order_and_its_answer_comes_back_per_model_variable() -> None:
    # given
    model, _ = _knapsack()
    assert highs._columns(4, [2, 0, 2, 9]) == [2, 0, 1, 3]
    # when: HiGHS's columns in reverse
    run = highs.start(model, deadline=time.perf_counter() + WALL_S, hint=None, threads=1, order=[3, 2, 1, 0])
    assert run is not None
    run.join()
    best = run.best()
    # then
    assert run._highs.getLp().col_cost_[0] == -8  # x3's cost comes first
    assert best is not None
    assert best[0] == -13
    solver = highs.as_cp_solution(model, best[1], workers=1)
    assert solver is not None
    assert round(solver.objective_value) == -13


def test_highs_takes_cp_sat_incumbents_only_when_exchanging(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a run that has not found anything yet, its columns the model's variables in reverse
    run = highs.HighsRun(None, 1.0, 0.0, [1, 0])
    # when / then: as shipped, CP-SAT's incumbents do not change HiGHS's search (HiGHS alone's path)
    run.give(5, [1, 0])
    assert run._take_given() is None
    # when exchanging, CP-SAT's incumbent is taken, per HiGHS column
    monkeypatch.setattr(highs, "TAKES_INCUMBENTS", True)
    run.give(5, [1, 0])
    assert run._take_given() == [0.0, 1.0]


def test_highs_tells_when_it_has_proven_its_answer_optimal() -> None:
    # given
    model, _ = _knapsack()
    run = highs.start(model, deadline=time.perf_counter() + WALL_S, hint=None, threads=1)
    assert run is not None
    called: list[int] = []
    # when: asked before or after it ends, the hook runs once
    run.on_settled(lambda: called.append(1))
    run.join()
    run.on_settled(lambda: called.append(2))
    # then
    assert run.settled()
    assert called == [1, 2]
