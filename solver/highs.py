"""HiGHS as a portfolio member of the kernel search (issue 10 §6, "the GAP tail").

On assignment-shaped cost models (:func:`solver.kernel.applies`) the kernel search is CP-SAT guided by the
LP. HiGHS's branch and cut is better on a few of them (the held-out GAP D/E instances): an LP-based tree
closes what CP-SAT's search leaves a few units above. So the final phase is a portfolio: the *same* model
(the CP-SAT model read as linear rows, :func:`solver.kernel.linear_form`, every variable integral) is
solved by HiGHS in a thread beside CP-SAT, until the same deadline. HiGHS releases the GIL while it runs.

The goal is "never worse than HiGHS alone in the same time on the same cores" (docs/decisions.md, "The GAP
tail"), so HiGHS's search here is the one HiGHS alone makes:

* it is given the MIP as written from the problem: the columns in the caller's ``order`` (the problem's
  offers), each family of rows in the order of its first column (:func:`_ordered`), each integral row
  divided by the gcd of its coefficients (:func:`_divided`: the model's hours are in thousandths). On a
  GAP instance this is, entry for entry, the plain MIP that HiGHS alone solves (tested);
* it takes neither the greedy start nor CP-SAT's incumbents (:data:`TAKES_INCUMBENTS`), so its path is
  HiGHS alone's, HiGHS being deterministic: the portfolio's answer is at most HiGHS alone's whenever HiGHS
  gets as much CPU, and CP-SAT (which does take HiGHS's incumbents) can only improve on it;
* the kernel search yields the CPU to it (:func:`solver.kernel.yielding`: CP-SAT's threads run nicer), so
  it gets the CPU HiGHS alone would get, and CP-SAT what is left.

HiGHS's improving solutions are kept (:class:`HighsRun`, thread-safe); the kernel polls the best one before
each of its phases and, when it is better than CP-SAT's incumbent, takes it as its hint and upper bound.
At the end the better answer is kept. HiGHS's solution becomes a CP-SAT solution of the model by a solve
with every variable fixed to its value (:func:`as_cp_solution`): the model checks it, and the solve's
extraction works on it unchanged. HiGHS's dual bound joins the reported bound.

highspy is a runtime dependency for this (docs/decisions.md, "The GAP tail"). Without it the kernel runs
alone. HiGHS prints a banner on stdout the first time a ``Highs`` object is made in a process; the first
one is made with the process's stdout pointed at ``/dev/null`` (see :func:`_new_highs`), so a CLI that
writes JSON to stdout stays clean.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

__all__ = ["HighsRun", "as_cp_solution", "available", "start"]

#: HiGHS stops this long before the deadline, so that taking its answer over fits the time limit.
STOP_MARGIN_S = 0.15

#: Whether HiGHS starts from the caller's hint and takes CP-SAT's better incumbents (:meth:`HighsRun.give`).
#: Off (the default), HiGHS's search is the one HiGHS alone makes on the same MIP (it is deterministic):
#: never worse than HiGHS alone given as much CPU. On, its path differs: better starts, but on a quiet
#: machine it ended worse than HiGHS alone where the isolated path did not (docs/decisions.md, "The GAP
#: tail"); kept for the benchmark's ``--exchange`` variant.
TAKES_INCUMBENTS = False

_banner_lock = threading.Lock()
_banner_done = False


def available() -> bool:
    """Whether highspy can be imported."""
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def _new_highs() -> Any:
    """A silent ``highspy.Highs``; the first of the process is made with stdout (fd 1) on ``/dev/null``."""
    global _banner_done
    import highspy

    with _banner_lock:
        if not _banner_done:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_done = True
        else:
            h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class _Best:
    objective: int
    values: list[int]


class HighsRun:
    """HiGHS solving a CP-SAT model's linear form in a thread: its best solution so far, its bound."""

    def __init__(self, highs: Any, scale: float, constant: float, columns: Sequence[int]) -> None:
        self._highs = highs
        self._scale = scale
        self._constant = constant
        #: HiGHS's column k is the model's variable ``columns[k]``
        self._columns = list(columns)
        self._lock = threading.Lock()
        self._best: _Best | None = None
        self._given: list[float] | None = None
        self._stop = False
        self._thread: threading.Thread | None = None
        self._settled_hooks: list[Callable[[], None]] = []
        self.bound: float | None = None
        self.optimal = False
        self.infeasible = False
        #: CPU seconds HiGHS's thread got (``time.thread_time``), set when it ends: what the scheduler gave
        #: it, for the benchmarks (bench/solver/gap_tail.py).
        self.cpu_s: float | None = None
        #: Wall seconds it ran.
        self.wall_s: float | None = None

    def _objective(self, raw: float) -> int:
        return round(self._scale * (raw + self._constant))

    def _offer(self, raw_objective: float, values: Sequence[float]) -> None:
        """A solution of HiGHS (per HiGHS column)."""
        if len(values) != len(self._columns):
            return
        value = self._objective(raw_objective)
        model_values = [0] * len(values)
        for k, var in enumerate(self._columns):
            model_values[var] = round(values[k])
        with self._lock:
            if self._best is None or value < self._best.objective:
                self._best = _Best(value, model_values)

    def _to_columns(self, values: Sequence[int]) -> list[float]:
        """A value per model variable as a value per HiGHS column."""
        return [float(values[var]) for var in self._columns]

    def give(self, objective: int, values: Sequence[int]) -> None:
        """CP-SAT's incumbent for HiGHS (taken at HiGHS's next user-solution callback when it is better
        than HiGHS's own)."""
        if not TAKES_INCUMBENTS:
            return
        with self._lock:
            if self._best is None or objective < self._best.objective:
                self._given = self._to_columns(values)

    def _take_given(self) -> list[float] | None:
        with self._lock:
            given, self._given = self._given, None
            return given

    def best(self) -> tuple[int, list[int]] | None:
        """HiGHS's best objective (in the CP-SAT model's units) and values per variable, if any."""
        with self._lock:
            return None if self._best is None else (self._best.objective, list(self._best.values))

    def _run(self) -> None:
        import highspy

        h = self._highs
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        try:
            h.run()
        except Exception:  # a failed portfolio member leaves CP-SAT's answer (the solve goes on)
            return
        finally:
            self.cpu_s = time.thread_time() - cpu0
            self.wall_s = time.perf_counter() - wall0
        status = h.getModelStatus()
        info = h.getInfo()
        if status == highspy.HighsModelStatus.kInfeasible:
            self.infeasible = True
            return
        if int(info.primal_solution_status) == 2:  # kSolutionStatusFeasible
            self._offer(info.objective_function_value, list(h.getSolution().col_value))
        if math.isfinite(info.mip_dual_bound):
            self.bound = self._scale * (info.mip_dual_bound + self._constant)
        with self._lock:
            self.optimal = status == highspy.HighsModelStatus.kOptimal and self._best is not None
            hooks = list(self._settled_hooks) if self.optimal else []
        for fn in hooks:
            fn()

    def settled(self) -> bool:
        """Whether HiGHS has ended with its best proven optimal."""
        return self.optimal

    def on_settled(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when HiGHS ends with its best proven optimal (from HiGHS's thread; at once if it
        has)."""
        with self._lock:
            if not self.optimal:
                self._settled_hooks.append(fn)
                return
        fn()

    def stop(self) -> None:
        """Ask HiGHS to stop (at its next interrupt callback) and wait for it."""
        self._stop = True
        self.join()

    def join(self) -> None:
        """Wait for HiGHS (it stops at its own time limit, or when asked to)."""
        if self._thread is not None:
            self._thread.join()


def _columns(n: int, order: Sequence[int]) -> list[int]:
    """The model's ``n`` variables, those of ``order`` first (once each), then the others in order."""
    first: list[int] = []
    seen: set[int] = set()
    for var in order:
        if 0 <= var < n and var not in seen:
            seen.add(var)
            first.append(var)
    return first + [var for var in range(n) if var not in seen]


def _ordered(
    rows: list[tuple[float, float, dict[int, float]]], at: dict[int, int]
) -> list[tuple[float, float, dict[int, float]]]:
    """``rows`` with each run of consecutive rows of the same sense (equality, at most, at least, ranged)
    sorted by the HiGHS position (``at``) of their first column, stable: the model adds rows by family
    (one per package, one per factory and process…) in an order of its own; this is the order of the
    columns, as the MIP written from the problem has them."""

    def sense(row: tuple[float, float, dict[int, float]]) -> tuple[bool, bool, bool]:
        lo, hi, _ = row
        return lo == hi, math.isfinite(lo), math.isfinite(hi)

    def first(row: tuple[float, float, dict[int, float]]) -> int:
        return min((at[var] for var in row[2]), default=len(at))

    out: list[tuple[float, float, dict[int, float]]] = []
    run: list[tuple[float, float, dict[int, float]]] = []
    for row in rows:
        if run and sense(run[0]) != sense(row):
            out += sorted(run, key=first)
            run = []
        run.append(row)
    return out + sorted(run, key=first)


def _divided(row: tuple[float, float, dict[int, float]]) -> tuple[float, float, dict[int, float]]:
    """``lo <= Σ coef · x <= hi`` over integer variables, divided by the gcd of its integral coefficients
    (the sides rounded inwards: the sum is a multiple of the gcd), an exact reformulation. The model's
    hours are in thousandths (solver/hours.py), so a capacity row reads ``24000 x + … <= 196000`` where
    the plain MIP reads ``24 x + … <= 196``; HiGHS is given the latter."""
    lo, hi, coefs = row
    if not coefs or not all(float(c).is_integer() and c != 0 for c in coefs.values()):
        return row
    g = 0
    for c in coefs.values():
        g = math.gcd(g, abs(int(c)))
    if g <= 1:
        return row
    return (
        math.ceil(lo / g - 1e-9) if math.isfinite(lo) else lo,
        math.floor(hi / g + 1e-9) if math.isfinite(hi) else hi,
        {i: c / g for i, c in coefs.items()},
    )


def start(
    model: cp_model.CpModel,
    *,
    deadline: float,
    hint: Sequence[int] | None,
    threads: int,
    order: Sequence[int] = (),
) -> HighsRun | None:
    """Start HiGHS on ``model`` (its objective set; every variable integral) until ``deadline``
    (``perf_counter`` seconds) in a thread; ``None`` without highspy, without a linear form of the model,
    or without time. ``hint`` (a value per variable) is HiGHS's start (when :data:`TAKES_INCUMBENTS`).
    HiGHS's columns are the variables in ``order`` first, then the others in the model's order: its
    search depends on the order (ties in pricing and branching), and the caller can give the problem's
    natural one."""
    from solver.kernel import linear_form

    limit = deadline - time.perf_counter() - STOP_MARGIN_S
    if limit < 0.2 or not available():
        return None
    form = linear_form(model)
    if form is None:
        return None
    import highspy

    inf = highspy.kHighsInf
    n = len(form.lower)
    columns = _columns(n, order)
    at = {var: k for k, var in enumerate(columns)}
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(form.rows)
    lp.col_cost_ = [form.objective.get(var, 0.0) for var in columns]
    lp.col_lower_ = [max(-inf, form.lower[var]) for var in columns]
    lp.col_upper_ = [min(inf, form.upper[var]) for var in columns]
    rows = _ordered([_divided(row) for row in form.rows], at)
    lp.row_lower_ = [max(-inf, lo) for lo, _, _ in rows]
    lp.row_upper_ = [min(inf, hi) for _, hi, _ in rows]
    starts, index, value = [0], [], []
    for _, _, coefs in rows:
        for k, coef in sorted((at[var], coef) for var, coef in coefs.items()):
            index.append(k)
            value.append(coef)
        starts.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = _new_highs()
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("threads", max(1, threads))
    h.setOptionValue("mip_rel_gap", 0.0)
    integral = all(float(c).is_integer() for c in form.objective.values())
    if integral:
        h.setOptionValue("mip_abs_gap", 0.999 / max(form.scale, 1e-9))
    h.passModel(lp)
    run = HighsRun(h, form.scale, form.constant, columns)
    if TAKES_INCUMBENTS and hint is not None and len(hint) == n:
        sol = highspy.HighsSolution()
        sol.col_value = run._to_columns(hint)
        h.setSolution(sol)

    def improving(event: Any) -> None:
        run._offer(event.data_out.objective_function_value, list(event.data_out.mip_solution))

    def user_solution(event: Any) -> None:
        given = run._take_given()
        if given is not None:
            event.data_in.setSolution(given)

    def interrupt(event: Any) -> None:
        if run._stop:
            event.interrupt()

    h.cbMipImprovingSolution.subscribe(improving)
    if TAKES_INCUMBENTS:
        # each callback takes the GIL from HiGHS's thread: none that is not needed
        h.cbMipUserSolution.subscribe(user_solution)
    h.cbMipInterrupt.subscribe(interrupt)
    run._thread = threading.Thread(target=run._run, name="highs-portfolio", daemon=True)
    run._thread.start()
    return run


def as_cp_solution(
    model: cp_model.CpModel, values: Sequence[int], *, workers: int
) -> cp_model.CpSolver | None:
    """A CP-SAT solution of ``model`` with every variable at ``values`` (``None`` if the model rejects
    it): the model itself checks HiGHS's answer."""
    fixed = model.clone()
    proto = fixed.proto
    if len(values) != len(proto.variables):
        return None
    for var, v in zip(proto.variables, values, strict=True):
        lo, hi = var.domain[0], var.domain[len(var.domain) - 1]
        if not lo <= v <= hi:
            return None
        var.domain.clear()
        var.domain.extend([int(v), int(v)])
    fixed.clear_hints()  # type: ignore[no-untyped-call]
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 5.0
    solver.parameters.num_workers = max(1, workers)
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return solver
