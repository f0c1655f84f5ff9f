"""LP-guided search for assignment-shaped cost models: LP relaxation, reduced-cost fixing, kernel phases.

For models whose LP relaxation is tight (see :func:`applies`) an optimal solution uses almost only pairs
of small LP reduced cost. The search (see ``docs/solver-format.md``, "Kernel search"):

1. a short CP-SAT solve of the whole model (hinted by the greedy plan) gives an incumbent and settles the
   easy problems;
2. the LP relaxation of the *same* CP-SAT model (GLOP, :func:`lp_relaxation`) gives a lower bound and a
   reduced cost per variable; a pair whose use would raise the LP bound above the incumbent cannot be in a
   solution at least as good and is fixed unused (exact: the model solved is unchanged);
3. kernel phases: CP-SAT restricted to the pairs of reduced cost at most ``delta`` (plus the incumbent's),
   ``delta`` growing with :data:`KERNEL_FRACTIONS` of the LP cost per package, each phase hinted with the
   incumbent and bounded by its cost; a phase solved early hands its time on to the next ones;
4. CP-SAT on the whole reduced-cost-fixed model for the remaining time (improvement and proof).

With a portfolio (:mod:`solver.highs`: HiGHS on the same model in a thread) the search runs at a lower
priority (:func:`yielding`), takes the portfolio's better incumbent before each phase (and offers it its
own), and the last phase runs in pieces to take it more often. Without the lower priority (other systems
than Linux), the kernel stops when the portfolio leads at a piece's start and leaves it the cores.

``solve_gap`` in ``bench/solver/gap_pipeline.py`` (the tuned OR-Library GAP pipeline) shares the rules below.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ortools.sat.python import cp_model

from solver.model import Built, needs_members, needs_schedule
from solver.problem import Problem

_T = TypeVar("_T")

__all__ = [
    "FINAL_PIECE_MIN_S",
    "FIRST_SHARE",
    "KERNEL_FRACTIONS",
    "KERNEL_MAX_PAIRS",
    "KERNEL_SHARE",
    "YIELD_NICE",
    "KernelRun",
    "LinearForm",
    "LpRelaxation",
    "Portfolio",
    "applies",
    "fixable",
    "integral_bound",
    "kernel_deltas",
    "linear_form",
    "lp_relaxation",
    "lp_rounding",
    "pair_penalties",
    "phase_limit",
    "search",
    "status_name",
    "yielding",
]

FIRST_SHARE = 0.05  # share of the time for the first whole-model solve
#: Share of the rest for the kernel phases; the final whole-model solve (improvement and proof) gets the
#: rest. 0.5 rather than solve_gap's 0.8: the kernel thresholds here are about twice as wide on GAP E, and
#: the longer final solve was better on D/E (bench/results/gap_tuning.md).
KERNEL_SHARE = 0.5
#: Kernel thresholds as fractions of the LP cost per package (GAP D: 0.3, 0.6, 1.2, 2.5, 5 cost units).
KERNEL_FRACTIONS = (0.005, 0.01, 0.02, 0.04, 0.08)
#: With a portfolio (solver/highs.py) the final phase runs in pieces of half the time left, at least this
#: long, so the incumbents are exchanged a few times.
FINAL_PIECE_MIN_S = 1.5
#: With a portfolio the kernel search (and CP-SAT's workers) run this much nicer than the caller, so the
#: portfolio's solver (HiGHS) is not starved by CP-SAT's workers (:func:`yielding`).
YIELD_NICE = 19
KERNEL_MAX_PAIRS = 20_000  # above this many eligible pairs the heuristic candidate pruning stays
_INT_LIMIT = 2**53  # CP-SAT domain ends beyond this are infinite for the LP


def applies(problem: Problem) -> bool:
    """Whether the kernel search is used: the model is an assignment model with a tight LP.

    That is: no schedule (see :func:`solver.model.needs_schedule`), the ``cheapest`` preset, no member
    variables (coordination cost, member counts, shares, cohesion, pinned or lead rules make the LP weak:
    ``m >= u`` with fixed costs), and no splittable package whose offers have setup cost or setup hours
    (``q <= max · u`` lets the LP pay a fraction of the setup).
    """
    if problem.policy.preset != "cheapest" or needs_schedule(problem) or needs_members(problem):
        return False
    splittable = {p.id for p in problem.packages if p.splittable}
    return not any(
        o.package in splittable and (o.setup_cost > 0 or o.setup_hours > 0) for o in problem.offers
    )


# --------------------------------------------------------------------------------------------- LP


@dataclass(frozen=True)
class LpRelaxation:
    """The LP relaxation of a CP-SAT model: ``bound`` in objective units, per proto variable its LP
    ``values`` and ``reduced`` costs (in objective units)."""

    bound: float
    values: tuple[float, ...]
    reduced: tuple[float, ...]


def _end(value: int, lp_inf: float) -> float:
    return -lp_inf if value <= -_INT_LIMIT else lp_inf if value >= _INT_LIMIT else float(value)


@dataclass(frozen=True)
class LinearForm:
    """A CP-SAT model as linear rows: per variable its bounds, rows ``(lo, hi, {variable: coef})``, and
    the objective ``scale · (Σ coef · x + constant)``."""

    lower: list[float]
    upper: list[float]
    rows: list[tuple[float, float, dict[int, float]]]
    objective: dict[int, float]
    constant: float
    scale: float


def linear_form(model: cp_model.CpModel) -> LinearForm | None:
    """``model`` as linear rows, or ``None`` if it holds a constraint without a linear form here (only
    linear rows without enforcement, ``exactly_one``, ``at_most_one``, ``bool_or`` and single-literal
    ``bool_and`` implications are read), or a floating point or maximised objective."""
    proto = model.proto
    inf = math.inf
    lower = [_end(v.domain[0], inf) for v in proto.variables]
    upper = [_end(v.domain[len(v.domain) - 1], inf) for v in proto.variables]
    rows: list[tuple[float, float, dict[int, float]]] = []

    def row(terms: Sequence[tuple[int, int]], lo: float, hi: float) -> None:
        """``lo <= sum(coef · ref) <= hi`` for CP-SAT references (a negative ref is ``1 - x``)."""
        coefs: dict[int, float] = {}
        const = 0.0
        for ref, coef in terms:
            if ref >= 0:
                coefs[ref] = coefs.get(ref, 0.0) + coef
            else:
                const += coef
                coefs[-ref - 1] = coefs.get(-ref - 1, 0.0) - coef
        rows.append((lo - const, hi - const, coefs))

    for ct in proto.constraints:
        enforced = len(ct.enforcement_literal)
        if ct.has_linear() and not enforced:
            dom = ct.linear.domain
            terms = list(zip(ct.linear.vars, ct.linear.coeffs, strict=True))
            row(terms, _end(dom[0], inf), _end(dom[len(dom) - 1], inf))
        elif ct.has_exactly_one() and not enforced:
            row([(ref, 1) for ref in ct.exactly_one.literals], 1.0, 1.0)
        elif ct.has_at_most_one() and not enforced:
            row([(ref, 1) for ref in ct.at_most_one.literals], -inf, 1.0)
        elif ct.has_bool_or() and not enforced:
            row([(ref, 1) for ref in ct.bool_or.literals], 1.0, inf)
        elif ct.has_bool_and() and enforced == 1:
            e = ct.enforcement_literal[0]
            for ref in ct.bool_and.literals:
                row([(ref, 1), (e, -1)], 0.0, inf)  # literal >= enforcement
        else:
            return None
    obj = proto.objective
    if obj.scaling_factor < 0 or proto.has_floating_point_objective():
        return None
    objective: dict[int, float] = {}
    constant = obj.offset
    for ref, coef in zip(obj.vars, obj.coeffs, strict=True):
        if ref >= 0:
            objective[ref] = objective.get(ref, 0.0) + coef
        else:
            constant += coef
            objective[-ref - 1] = objective.get(-ref - 1, 0.0) - coef
    return LinearForm(lower, upper, rows, objective, constant, obj.scaling_factor or 1.0)


def lp_relaxation(model: cp_model.CpModel) -> LpRelaxation | None:
    """Solve the LP relaxation of ``model`` with GLOP; ``None`` if it is infeasible, or if the model holds
    a constraint without a linear relaxation here (see :func:`linear_form`)."""
    from ortools.linear_solver import pywraplp

    form = linear_form(model)
    if form is None:
        return None
    lp = pywraplp.Solver.CreateSolver("GLOP")
    inf = lp.infinity()

    def clip(value: float) -> float:
        return -inf if value == -math.inf else inf if value == math.inf else value

    xs = [lp.NumVar(clip(lo), clip(hi), "") for lo, hi in zip(form.lower, form.upper, strict=True)]
    for lo, hi, coefs in form.rows:
        row_ct = lp.Constraint(clip(lo), clip(hi))
        for idx, value in coefs.items():
            row_ct.SetCoefficient(xs[idx], value)
    objective = lp.Objective()
    for idx, value in form.objective.items():
        objective.SetCoefficient(xs[idx], value)
    objective.SetMinimization()
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return LpRelaxation(
        bound=form.scale * (objective.Value() + form.constant),
        values=tuple(x.solution_value() for x in xs),
        reduced=tuple(form.scale * x.reduced_cost() for x in xs),
    )


def pair_penalties(b: Built, lp: LpRelaxation) -> dict[tuple[str, str], float]:
    """Per pair, how much using it raises the LP bound at least (its reduced-cost penalty).

    Every variable at a bound of the LP optimum only raises the objective when it moves away from it, by
    its reduced cost per unit. A used pair has ``u = 1`` and at least the minimum lot ``q``: the penalty
    is ``d_u · (1 - u*)`` plus ``d_q · (lot - q*)`` for reduced costs ``d`` that are positive.
    """
    out: dict[tuple[str, str], float] = {}
    for key, u in b.u.items():
        pen = max(0.0, lp.reduced[u.index]) * max(0.0, 1.0 - lp.values[u.index])
        q = b.q_var.get(key)
        if q is not None:
            lot = b.pairs[key].package.min_lot
            pen += max(0.0, lp.reduced[q.index]) * max(0.0, lot - lp.values[q.index])
        out[key] = pen
    return out


def lp_rounding(b: Built, lp: LpRelaxation, base: Sequence[int] | None) -> list[int]:
    """A hint from the LP solution: each unsplittable package to its pair of largest LP value, splittable
    quantities rounded; other variables from ``base`` (or their lower bound)."""
    proto = b.model.proto
    hint = list(base) if base is not None else [int(v.domain[0]) for v in proto.variables]
    best: dict[str, tuple[float, int]] = {}
    for key, u in b.u.items():
        q = b.q_var.get(key)
        if q is None:
            value = lp.values[u.index]
            hint[u.index] = 0
            if value > best.get(key[1], (-1.0, -1))[0]:
                best[key[1]] = (value, u.index)
        else:
            qty = round(lp.values[q.index])
            hint[q.index] = qty
            hint[u.index] = int(qty > 0)
    for _, idx in best.values():
        hint[idx] = 1
    return hint


def fixable(bound: float, penalty: float, incumbent: float) -> bool:
    """Reduced-cost fixing: a pair of this ``penalty`` cannot be in a solution costing at most
    ``incumbent`` (a small tolerance absorbs the LP's floating point error)."""
    return bound + penalty > incumbent + 1e-6 * max(1.0, abs(incumbent))


def integral_bound(bound: float) -> int:
    """The LP bound rounded up for an integral objective."""
    return math.ceil(bound - 1e-6 * max(1.0, abs(bound)))


def kernel_deltas(cost_per_package: float) -> tuple[float, ...]:
    """Growing reduced-cost thresholds of the kernel phases, scaled to the problem's costs."""
    return tuple(f * cost_per_package for f in KERNEL_FRACTIONS)


def phase_limit(end: float, k: int, phases: int) -> float:
    """Time of kernel phase ``k`` of ``phases`` until ``end``: weights 1 : 2 : … : phases over the phases
    still to run, so a phase solved early hands its time on."""
    weights = [1.0 + i for i in range(phases)]
    return max(0.0, (end - time.perf_counter()) * weights[k] / sum(weights[k:]))


# --------------------------------------------------------------------------------------------- search


class Portfolio(Protocol):
    """Another solver on the same model beside the kernel search (:mod:`solver.highs`)."""

    def best(self) -> tuple[int, list[int]] | None:
        """Its best objective so far and a value per variable of the model, if any."""

    def give(self, objective: int, values: Sequence[int]) -> None:
        """The kernel's incumbent, for the other solver to start from."""

    def join(self) -> None:
        """Wait until the other solver ends (at the same deadline)."""

    def settled(self) -> bool:
        """Whether the other solver has ended with its best proven optimal."""

    def on_settled(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` (from the other solver's thread) when it ends with its best proven optimal."""


@dataclass
class KernelRun:
    """Outcome of :func:`search`: the solver holding the best solution (``None`` if none), its objective,
    a proven bound, whether it is optimal, and when the first solution came; ``phases`` logs
    ``(delta, pairs, status, objective, elapsed)``."""

    status: cp_model.CpSolverStatus
    solver: cp_model.CpSolver | None
    objective: float | None
    bound: float | None
    first: float | None
    phases: list[tuple[float, int, str, float | None, float]]


def _restricted(
    b: Built, banned: Sequence[int], upper: int | None, hint: Sequence[int] | None
) -> cp_model.CpModel:
    """A copy of ``b.model`` with the ``banned`` used literals fixed to 0, objective at most ``upper``,
    and ``hint`` (a value per variable) as the hint."""
    model = b.model.clone()
    proto = model.proto
    for idx in banned:
        domain = proto.variables[idx].domain
        domain.clear()
        domain.extend([0, 0])
    if upper is not None:
        obj = proto.objective
        ct = proto.constraints.add()
        ct.linear.vars.extend(obj.vars)
        ct.linear.coeffs.extend(obj.coeffs)
        ct.linear.domain.extend([-(2**62), upper - round(obj.offset)])
    if hint is not None:
        model.clear_hints()  # type: ignore[no-untyped-call]
        proto.solution_hint.vars.extend(range(len(hint)))
        proto.solution_hint.values.extend(hint)
    return model


def search(
    problem: Problem,
    b: Built,
    *,
    deadline: float,
    t0: float,
    new_solver: Callable[[float], cp_model.CpSolver],
    callback: Callable[[], cp_model.CpSolverSolutionCallback],
    portfolio: Portfolio | None = None,
) -> KernelRun:
    """Run the kernel search on ``b`` (objective already set, an integral total cost) until ``deadline``.

    ``new_solver(limit)`` makes a configured CP-SAT solver, ``callback()`` a progress callback (its
    ``first`` attribute, when set, is the time of the first solution). With a ``portfolio`` the incumbents
    are exchanged before each phase: its better solution becomes the phase's hint and upper bound (the
    returned ``solver`` and ``objective`` stay CP-SAT's; the caller compares at the end); and the search
    runs in a thread of its own at :data:`YIELD_NICE` (:func:`yielding`), so that the portfolio's solver
    gets the CPU it would get alone and CP-SAT the rest.
    """

    def run() -> KernelRun:
        return _search(
            problem,
            b,
            deadline=deadline,
            t0=t0,
            new_solver=new_solver,
            callback=callback,
            portfolio=portfolio,
        )

    return run() if portfolio is None else yielding(run)


def yielding(fn: Callable[[], _T]) -> _T:
    """``fn()`` in a new thread whose niceness is raised by :data:`YIELD_NICE` (on Linux, where niceness
    is per thread and inherited by the threads it starts: CP-SAT's workers); other systems run it as is.

    Raising one's own niceness needs no privilege, lowering it does: hence a thread of its own, which ends
    with ``fn``, and the caller's thread keeps its priority. With autogroup scheduling (the Linux default
    on desktops and on the benchmark machine) the niceness only orders the threads of this session among
    themselves: the session's share of the machine is unchanged.
    """
    if not _yields():
        return fn()
    out: list[_T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + YIELD_NICE)
        except OSError:
            pass  # a sandbox that forbids it: run at the caller's priority
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=body, name="kernel-search")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return out[0]


def _yields() -> bool:
    """Whether :func:`yielding` lowers the priority here."""
    return YIELD_NICE > 0 and sys.platform.startswith("linux")


def _search(
    problem: Problem,
    b: Built,
    *,
    deadline: float,
    t0: float,
    new_solver: Callable[[float], cp_model.CpSolver],
    callback: Callable[[], cp_model.CpSolverSolutionCallback],
    portfolio: Portfolio | None = None,
) -> KernelRun:
    """:func:`search` in the calling thread."""
    phases: list[tuple[float, int, str, float | None, float]] = []
    best: cp_model.CpSolver | None = None
    inc: int | None = None  # the best objective known (CP-SAT's, or the portfolio's)
    best_obj: int | None = None  # the objective of ``best`` (CP-SAT's best)
    values: list[int] | None = None
    firsts: list[float] = []

    current: list[cp_model.CpSolver] = []
    current_lock = threading.Lock()

    def halt() -> None:
        """The portfolio proved its answer optimal: CP-SAT's running search stops (from its thread)."""
        with current_lock:
            for solver in current:
                solver.stop_search()

    if portfolio is not None:
        portfolio.on_settled(halt)

    def settled() -> bool:
        return portfolio is not None and portfolio.settled()

    def run(model: cp_model.CpModel, until: float) -> tuple[cp_model.CpSolverStatus, float | None]:
        """Solve ``model`` until ``until`` (``perf_counter`` seconds): the limit is taken once the model
        is built, so the time a phase's model takes to build (in Python) is not added past its end."""
        nonlocal best, best_obj, inc, values
        solver = new_solver(max(0.0, until - time.perf_counter()))
        with current_lock:
            current[:] = [solver]
        cb = callback()
        status = solver.solve(model, cb)
        with current_lock:
            current.clear()
        first = getattr(cb, "first", None)
        if first is not None:
            firsts.append(first)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            obj = round(solver.objective_value)
            if best_obj is None or obj < best_obj:
                best, best_obj = solver, obj
            if inc is None or obj < inc:
                inc = obj
                values = list(solver.response_proto.solution)
        bound = solver.best_objective_bound if status != cp_model.INFEASIBLE else None
        return status, bound

    def exchange() -> None:
        """Take the portfolio's incumbent when it is better; hand it CP-SAT's otherwise."""
        nonlocal inc, values
        if portfolio is None:
            return
        other = portfolio.best()
        if other is not None and (inc is None or other[0] < inc):
            inc, values = other
        elif inc is not None and values is not None:
            portfolio.give(inc, values)

    def by_portfolio() -> KernelRun:
        """The portfolio proved its answer optimal: it is the incumbent, and the bound."""
        exchange()
        return result(cp_model.FEASIBLE if best is not None else cp_model.UNKNOWN, inc)

    def result(status: cp_model.CpSolverStatus, bound: float | None) -> KernelRun:
        if best_obj != inc and status == cp_model.OPTIMAL:
            # the portfolio's incumbent is the proven optimum; CP-SAT's own answer is only feasible
            status = cp_model.FEASIBLE if best is not None else cp_model.UNKNOWN
        return KernelRun(status, best, best_obj, bound, min(firsts, default=None), phases)

    # 1. a short whole-model solve: an incumbent, and the easy problems settled
    now = time.perf_counter()
    status, bound = run(b.model, now + FIRST_SHARE * (deadline - now))
    phases.append((math.inf, len(b.u), status_name(status), inc, time.perf_counter() - t0))
    if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
        return result(status, bound)
    if settled():
        return by_portfolio()

    # 2. the LP relaxation: bound and reduced-cost penalties; fixing is exact
    lp = lp_relaxation(b.model)
    if lp is None:  # no relaxation (or an infeasible LP: CP-SAT proves it on the whole model)
        status, bound = run(b.model, deadline)
        return result(status, bound)
    lower = integral_bound(lp.bound)
    pen = pair_penalties(b, lp)
    if inc is not None and inc <= lower:
        return result(cp_model.OPTIMAL, float(inc))

    def kept(delta: float) -> tuple[list[int], int]:
        """Used literals to fix to 0: reduced-cost fixed, or (kernel) penalty above ``delta``."""
        banned = []
        for key, u in b.u.items():
            if (values is not None and values[u.index]) or key in b.fixed:
                continue  # the incumbent's pairs stay, and fixed pairs
            if (inc is not None and fixable(lp.bound, pen[key], inc)) or pen[key] > delta + 1e-9:
                banned.append(u.index)
        return banned, len(b.u) - len(banned)

    # 3. kernel phases over growing reduced-cost thresholds
    deltas = kernel_deltas(max(lp.bound, 0.0) / max(1, len(problem.packages)))
    kernel_end = time.perf_counter() + KERNEL_SHARE * (deadline - time.perf_counter())
    for k, delta in enumerate(deltas):
        if settled():
            return by_portfolio()
        exchange()
        banned, size = kept(delta)
        limit = phase_limit(kernel_end, k, len(deltas))
        if limit < 0.05:
            continue
        # the first kernel starts from the rounded LP solution, the later ones from the incumbent
        hint = lp_rounding(b, lp, values) if k == 0 else values
        status, _ = run(_restricted(b, banned, inc, hint), time.perf_counter() + limit)
        phases.append((delta, size, status_name(status), inc, time.perf_counter() - t0))

    # 4. the whole (reduced-cost-fixed) model: improvement and proof; with a portfolio in pieces of half
    #    the time left (down to FINAL_PIECE_MIN_S), exchanging the incumbents between them
    bounds: list[float] = [float(lower)]
    while True:
        if settled():
            return by_portfolio()
        exchange()
        leads = portfolio is not None and inc is not None and (best_obj is None or inc < best_obj)
        if portfolio is not None and leads and not _yields():
            # the portfolio leads (it has CP-SAT's incumbents too): the cores are its until the deadline;
            # CP-SAT at a lower priority (_yields) goes on instead, on the CPU the portfolio leaves
            portfolio.join()
            phases.append((math.inf, 0, "por", inc, time.perf_counter() - t0))
            return result(cp_model.FEASIBLE if best is not None else cp_model.UNKNOWN, max(bounds))
        banned, size = kept(math.inf)
        now = time.perf_counter()
        remaining = deadline - now
        if remaining < 0.05:
            return result(cp_model.FEASIBLE if inc is not None else cp_model.UNKNOWN, max(bounds))
        piece = remaining
        if portfolio is not None and remaining > 2 * FINAL_PIECE_MIN_S:
            piece = remaining / 2
        status, bound = run(_restricted(b, banned, inc, values), now + piece)
        phases.append((math.inf, size, status_name(status), inc, time.perf_counter() - t0))
        if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            # with "objective <= incumbent" the optimum of the fixed model is the optimum of the model
            if inc is None:
                return result(cp_model.INFEASIBLE, None)
            return result(cp_model.OPTIMAL, float(inc))
        if bound is not None:
            bounds.append(bound)
        if piece == remaining:
            return result(cp_model.FEASIBLE if inc is not None else cp_model.UNKNOWN, max(bounds))


def status_name(status: cp_model.CpSolverStatus) -> str:
    """Three letters of a CP-SAT status for the phase log."""
    return _NAMES.get(status, "unk")


_NAMES = {
    cp_model.OPTIMAL: "opt",
    cp_model.FEASIBLE: "fea",
    cp_model.INFEASIBLE: "inf",
    cp_model.UNKNOWN: "unk",
    cp_model.MODEL_INVALID: "inv",
}
