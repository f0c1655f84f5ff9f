"""Solve a consortium problem: eligibility, pre-checks, CP-SAT by preset, extraction, explanations."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from ortools.sat.python import cp_model

from solver import highs
from solver.bound import members_lower_bound, relaxation_bound
from solver.caps import capped_start, members_time_bound
from solver.eligibility import DEFAULT_CANDIDATES, PairData, analyse
from solver.explain import explain_infeasible, precheck, precheck_explanation
from solver.greedy import Planned, few_member_plan, greedy_plan, hint_plan, hint_quantities, members_needed
from solver.kernel import KERNEL_MAX_PAIRS, integral_bound
from solver.kernel import applies as kernel_applies
from solver.kernel import search as kernel_search
from solver.lns import improve, plan_of
from solver.model import Built, build_model, needs_schedule
from solver.objective import balanced_weights, cohesion_bonuses
from solver.problem import Problem
from solver.solution import (
    Assignment,
    CostBreakdown,
    Explanation,
    Progress,
    Reason,
    Relaxation,
    Solution,
    Status,
    relative_gap,
)

__all__ = ["ProgressFn", "alternatives", "solve"]

ProgressFn = Callable[[Progress], None]
Hint = Mapping[tuple[str, str], int]

PRIMARY_SHARE = 0.4  # lexicographic presets: share of the time for the primary criterion
TIDY_SHARE = 0.1  # share of the time (at most TIDY_MAX_S) to pull the schedule as early as possible
TIDY_MAX_S = 1.0
EXPLAIN_MIN_S = 2.0  # time always allowed to explain an infeasible problem
LARGE_MODEL_VARS = 15_000  # above this, scheduled models skip CP-SAT's presolve
LNS_MIN_LINES = 6  # scheduled models with this many lines and variables finish with LNS (solver/lns.py)
LNS_MIN_VARS = 3_000
WARM_SHARE = 0.1  # ... after a whole-model solve of this share of the time (WARM_MIN_S … WARM_MAX_S)
WARM_MIN_S = 1.0
WARM_MAX_S = 5.0
LNS_MIN_S = 0.5  # time the LNS needs to be worth starting
MEMBER_PHASE_SHARE = 0.6  # under a member cap without a plan within it: time to search for one first
#: ... and before that, at most this share of the time to choose members first (solver/caps.py)
CAPPED_START_SHARE = 0.3
#: ... and before that, this share of the time (at most MEMBER_BOUND_MAX_S) to prove a member minimum
MEMBER_BOUND_SHARE = 0.15
MEMBER_BOUND_MAX_S = 10.0
#: a cap below the proven minimum: share of the time (at most FEWEST_BRIEF_MAX_S) to find a count that works
FEWEST_BRIEF_SHARE = 0.1
FEWEST_BRIEF_MAX_S = 3.0
#: share of the time (at most RELAXATION_MAX_S) for the LP bound on the cost (solver/bound.py)
RELAXATION_SHARE = 0.1
RELAXATION_MAX_S = 5.0


def phase_limit(remaining: float, share: float, *, cap: float | None = None, reserve: float = 0.0) -> float:
    """Seconds a phase may use: ``share`` of the ``remaining`` time less ``reserve`` (kept for the phases
    after it), at most ``cap``; never negative. Every phase of a solve takes its limit from here, so that
    the phases together stay within the solve's time limit."""
    limit = share * max(0.0, remaining - reserve)
    return max(0.0, limit if cap is None else min(cap, limit))


class _Callback(cp_model.CpSolverSolutionCallback):
    """Reports improving solutions; ``floor`` is a bound known beforehand on this phase's objective (the
    LP relaxation's), so progress shows the tighter of it and CP-SAT's."""

    def __init__(
        self, t0: float, phase: str, on_progress: ProgressFn | None, floor: float | None = None
    ) -> None:
        super().__init__()
        self.t0 = t0
        self.phase = phase
        self.on_progress = on_progress
        self.floor = floor
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        elapsed = time.perf_counter() - self.t0
        if self.first is None:
            self.first = elapsed
        if self.on_progress is not None:
            objective = self.objective_value
            bound = self.best_objective_bound
            if self.floor is not None:
                bound = min(objective, max(bound, self.floor))
            self.on_progress(Progress(objective, bound, elapsed, self.phase))


@dataclass(frozen=True)
class _RunContext:
    """What every phase of one solve shares: its start and deadline (``perf_counter`` seconds), CP-SAT
    threads and seed, the progress callback, and an optional deterministic budget per CP-SAT search."""

    t0: float
    deadline: float
    workers: int
    seed: int
    on_progress: ProgressFn | None = None
    #: CP-SAT's ``max_deterministic_time`` for every search, and the LNS's total: with a generous wall
    #: limit, the answer then does not depend on the machine's speed (tests use it).
    deterministic_time_s: float | None = None
    #: A bound on the last phase's objective known before the search (solver/bound.py), for progress.
    bound_floor: float | None = None

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def limit(self, share: float, *, cap: float | None = None, reserve: float = 0.0) -> float:
        """:func:`phase_limit` of the time remaining now."""
        return phase_limit(self.remaining(), share, cap=cap, reserve=reserve)

    def solver(
        self, time_limit_s: float, b: Built | None = None, *, presolve: bool = True
    ) -> cp_model.CpSolver:
        """A CP-SAT solver with this run's threads, seed and deterministic budget."""
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
        solver.parameters.num_workers = max(1, self.workers)
        solver.parameters.random_seed = self.seed
        if self.deterministic_time_s is not None:
            solver.parameters.max_deterministic_time = self.deterministic_time_s
        if not presolve or (
            b is not None and b.scheduled and len(b.model.proto.variables) > LARGE_MODEL_VARS
        ):
            # Presolve of large scheduled models takes seconds and delays the (hinted) first solution.
            solver.parameters.cp_model_presolve = False
        return solver


class _StopWithinCap(_Callback):
    """Progress of the member phase; stops the search at the first consortium within the cap."""

    def __init__(self, cap: int, t0: float, on_progress: ProgressFn | None) -> None:
        super().__init__(t0, "members", on_progress)
        self.cap = cap
        self.within: float | None = None  # when the first consortium within the cap came

    def on_solution_callback(self) -> None:
        super().on_solution_callback()
        if self.objective_value <= self.cap + 0.5:
            self.within = time.perf_counter() - self.t0
            self.stop_search()


@dataclass(frozen=True)
class _MemberSearch:
    """What the member phase learnt: the fewest members any consortium needs (proven), the fewest found
    without the cap, and when the first consortium within the cap came (``None``: none)."""

    cap: int
    proven_minimum: int
    best_found: int | None
    first_within: float | None
    searched_without_cap: bool = True

    @property
    def within_cap(self) -> bool:
        return self.best_found is not None and self.best_found <= self.cap


@dataclass
class _Run:
    status: cp_model.CpSolverStatus
    solver: cp_model.CpSolver | None
    objective: float | None = None
    bound: float | None = None
    first: float | None = None
    built: Built | None = None  # the model ``solver`` solved, when not the full one (LNS)


def _hint_all(b: Built, solver: cp_model.CpSolver) -> None:
    """Hint every variable of ``b`` with its value in ``solver``'s last solution."""
    b.model.clear_hints()  # type: ignore[no-untyped-call]
    for i in range(len(b.model.proto.variables)):
        var = b.model.get_int_var_from_proto_index(i)
        b.model.add_hint(var, solver.value(var))


def _objective(problem: Problem, b: Built, criterion: str) -> cp_model.LinearExpr:
    if criterion == "makespan":
        assert b.makespan is not None
        return cp_model.LinearExpr.sum([b.makespan])
    if criterion == "members":
        return b.members_count()
    if criterion == "balanced":
        per_day, per_member = balanced_weights(problem)
        assert b.makespan is not None
        return b.total_cost + per_day * b.makespan + per_member * b.members_count()
    return b.total_cost


def _use_lns(problem: Problem, b: Built) -> bool:
    """LNS pays off on large scheduled models of several lines (small ones are solved outright)."""
    return (
        b.scheduled and len(problem.lines) >= LNS_MIN_LINES and len(b.model.proto.variables) >= LNS_MIN_VARS
    )


def _run_phases(
    problem: Problem,
    b: Built,
    candidates: Mapping[str, tuple[PairData, ...]],
    ctx: _RunContext,
    *,
    extra: Callable[[Built], None] = lambda _: None,
) -> _Run:
    """Solve ``b`` by the policy's preset (lexicographic presets in two phases).

    On large scheduled models the last phase runs CP-SAT on the whole model briefly (first solution from
    the hint, and a bound), then :func:`solver.lns.improve` until the deadline. ``extra`` adds the
    caller's own constraints to the LNS's sub-models (they are already in ``b``).
    """
    preset = problem.policy.preset
    phases: list[str] = {
        "cheapest": ["cost"],
        "balanced": ["balanced"],
        "fastest": ["makespan", "cost"],
        "fewest_members": ["members", "cost"],
    }[preset]
    first: float | None = None
    all_optimal = True
    run = _Run(cp_model.UNKNOWN, None)
    bounds: list[tuple[str, int]] = []
    for n, criterion in enumerate(phases):
        last = n == len(phases) - 1
        lns = last and _use_lns(problem, b)
        remaining = ctx.remaining()
        limit = remaining if last else remaining * PRIMARY_SHARE
        if lns:
            limit = min(limit, max(WARM_MIN_S, min(WARM_MAX_S, WARM_SHARE * remaining)))
        objective = _objective(problem, b, criterion)
        b.model.minimize(objective)
        # Before the LNS, the whole model only needs the hinted first solution and a bound: no presolve.
        solver = ctx.solver(limit, b, presolve=not lns)
        callback = _Callback(ctx.t0, criterion, ctx.on_progress, ctx.bound_floor if last else None)
        status = solver.solve(b.model, callback)
        while lns and status == cp_model.UNKNOWN and ctx.remaining() > LNS_MIN_S:
            # No solution yet (the hint broke a rule the greedy ignores): give the whole model more time.
            limit = min(2 * limit, ctx.remaining())
            solver = ctx.solver(limit, b)
            status = solver.solve(b.model, callback)
            if ctx.deterministic_time_s is not None:
                break  # a deterministic budget is not doubled
        if first is None:
            first = callback.first
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if run.solver is not None:  # keep the primary phase's solution
                return _Run(cp_model.FEASIBLE, run.solver, None, None, first)
            return _Run(status, None, first=first)
        all_optimal = all_optimal and status == cp_model.OPTIMAL
        value = round(solver.objective_value)
        run = _Run(status, solver, solver.objective_value, solver.best_objective_bound, first)
        if not last:
            b.model.add(objective <= value)
            bounds.append((criterion, value))
            _hint_all(b, solver)
        elif lns and status == cp_model.FEASIBLE and ctx.remaining() >= LNS_MIN_S:
            run = _lns(
                problem, b, candidates, ctx, solver, run, criterion=criterion, bounds=bounds, extra=extra
            )
            all_optimal = False
    run.status = cp_model.OPTIMAL if all_optimal else cp_model.FEASIBLE
    return run


def _lns(
    problem: Problem,
    b: Built,
    candidates: Mapping[str, tuple[PairData, ...]],
    ctx: _RunContext,
    solver: cp_model.CpSolver,
    run: _Run,
    *,
    criterion: str,
    bounds: Sequence[tuple[str, int]],
    extra: Callable[[Built], None],
) -> _Run:
    """Improve ``run``'s solution of ``b`` by :func:`solver.lns.improve` until the deadline."""

    def setup(sub: Built) -> None:
        # The earlier phases' optima stay bounds, the caller's constraints stay, the objective is the same.
        for crit, value in bounds:
            sub.model.add(_objective(problem, sub, crit) <= value)
        extra(sub)
        sub.model.minimize(_objective(problem, sub, criterion))

    def improved(objective: float) -> None:
        if ctx.on_progress is not None:
            known = [v for v in (run.bound, ctx.bound_floor) if v is not None]
            bound = min(objective, max(known, default=objective))
            ctx.on_progress(Progress(objective, bound, time.perf_counter() - ctx.t0, criterion))

    res = improve(
        problem,
        candidates,
        b,
        solver,
        setup,
        deadline=ctx.deadline,
        workers=ctx.workers,
        seed=ctx.seed,
        on_improve=improved,
        deterministic_time_s=ctx.deterministic_time_s,
    )
    return _Run(cp_model.FEASIBLE, res.solver, res.objective, run.bound, run.first, built=res.built)


def _run_kernel(problem: Problem, b: Built, ctx: _RunContext) -> _Run:
    """Minimise the total cost of an assignment-shaped model by the LP-guided kernel search
    (:mod:`solver.kernel`), with HiGHS on the same model in a thread beside it (:mod:`solver.highs`;
    not under a deterministic budget, whose answers must not depend on the machine's speed): the
    incumbents are exchanged between the kernel's phases, and the better answer is kept."""
    b.model.minimize(b.total_cost)
    portfolio = None
    if ctx.deterministic_time_s is None:
        # HiGHS's columns in the order of the problem's offers (the plain MIP's order)
        order = [b.u[o.factory, o.package].index for o in problem.offers if (o.factory, o.package) in b.u]
        portfolio = highs.start(
            b.model,
            deadline=ctx.deadline,
            hint=_full_hint(b) if highs.TAKES_INCUMBENTS else None,
            threads=ctx.workers,
            order=order,
        )
    res = kernel_search(
        problem,
        b,
        deadline=ctx.deadline,
        t0=ctx.t0,
        new_solver=lambda limit: ctx.solver(limit, b),
        callback=lambda: _Callback(ctx.t0, "cost", ctx.on_progress),
        portfolio=portfolio,
    )
    run = _Run(res.status, res.solver, res.objective, res.bound, res.first)
    if portfolio is None:
        return run
    other = portfolio.best()
    settled = other is not None and res.bound is not None and other[0] <= res.bound + 1e-6
    if res.status in (cp_model.OPTIMAL, cp_model.INFEASIBLE) or settled:
        portfolio.stop()
    else:
        portfolio.join()
    if portfolio.infeasible and run.solver is None:
        return _Run(cp_model.INFEASIBLE, None, first=run.first)
    other = portfolio.best()
    if other is not None and (run.objective is None or other[0] < run.objective):
        solver = highs.as_cp_solution(b.model, other[1], workers=ctx.workers)
        if solver is not None:
            proven = portfolio.optimal or (run.bound is not None and other[0] <= run.bound + 1e-6)
            status = cp_model.OPTIMAL if proven else cp_model.FEASIBLE
            run = _Run(status, solver, float(other[0]), run.bound, run.first)
            if ctx.on_progress is not None:
                bound = min(float(other[0]), max(run.bound or -math.inf, portfolio.bound or -math.inf))
                ctx.on_progress(Progress(float(other[0]), bound, time.perf_counter() - ctx.t0, "cost"))
    if portfolio.bound is not None:
        run.bound = portfolio.bound if run.bound is None else max(run.bound, portfolio.bound)
    # e.g. CP-SAT's answer, as good as the one HiGHS proved optimal (the total cost is integral)
    optimum = other[0] if other is not None and portfolio.optimal else None
    if (
        run.status == cp_model.FEASIBLE
        and run.objective is not None
        and (
            (optimum is not None and run.objective <= optimum)
            or (run.bound is not None and run.objective <= integral_bound(run.bound))
        )
    ):
        run.status = cp_model.OPTIMAL
    return run


def _full_hint(b: Built) -> list[int] | None:
    """``b``'s hint as a value per variable, when it hints every variable."""
    hint = b.model.proto.solution_hint
    n = len(b.model.proto.variables)
    if len(hint.vars) != n:
        return None
    values = [0] * n
    for var, value in zip(hint.vars, hint.values, strict=True):
        values[var] = value
    return values


def _member_phase(
    problem: Problem,
    b: Built,
    candidates: Mapping[str, tuple[PairData, ...]],
    ctx: _RunContext,
    cap: int,
    *,
    proven: int,
    pruned: bool,
) -> _MemberSearch | None:
    """Minimise the member count of ``b`` (built without the cap) until a consortium within ``cap`` is found,
    for up to :data:`MEMBER_PHASE_SHARE` of the time (large scheduled models: briefly on the whole model,
    then by LNS, whose "member" neighbourhoods free every line of one member); hint ``b`` with the fewest
    members found. ``None`` when ``b`` is infeasible even without the cap. ``proven`` is the minimum proven
    beforehand over every eligible pair (:func:`_proven_members`); CP-SAT's bound raises it only when the
    candidates were not pruned."""
    b.model.minimize(b.members_count())
    end = time.perf_counter() + ctx.limit(MEMBER_PHASE_SHARE)
    lns = _use_lns(problem, b)
    limit = end - time.perf_counter()
    if lns:
        limit = min(limit, max(WARM_MIN_S, min(WARM_MAX_S, WARM_SHARE * ctx.remaining())))
    solver = ctx.solver(limit, b, presolve=not lns)
    callback = _StopWithinCap(cap, ctx.t0, ctx.on_progress)
    status = solver.solve(b.model, callback)
    if status == cp_model.INFEASIBLE:
        return None
    best: int | None = None
    first_within = callback.within
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        best = round(solver.objective_value)
        _hint_all(b, solver)
        if lns and best > cap and end - time.perf_counter() >= LNS_MIN_S:
            res = improve(
                problem,
                candidates,
                b,
                solver,
                lambda sub: sub.model.minimize(sub.members_count()),
                deadline=end,
                workers=ctx.workers,
                seed=ctx.seed,
                deterministic_time_s=ctx.deterministic_time_s,
                stop_at=cap,
                member_cap=False,
            )
            if res.objective < best - 0.5:
                best = round(res.objective)
                if best <= cap:
                    first_within = time.perf_counter() - ctx.t0
                b.model.clear_hints()  # type: ignore[no-untyped-call]
                hint_plan(problem, b, plan_of(res.built, res.solver))
    if not pruned:
        if status == cp_model.OPTIMAL and best is not None:
            proven = max(proven, best)
        elif solver.best_objective_bound == solver.best_objective_bound:  # not NaN
            proven = max(proven, math.ceil(solver.best_objective_bound - 1e-6))
    return _MemberSearch(cap, proven, best, first_within)


def _fewest_members_briefly(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    plan: Mapping[tuple[str, str], Planned] | None,
    ctx: _RunContext,
    proven: int,
) -> int | None:
    """The fewest members of a consortium over ``candidates`` that CP-SAT finds without the cap within
    :data:`FEWEST_BRIEF_SHARE` of the time (at most :data:`FEWEST_BRIEF_MAX_S`), stopping at ``proven``:
    the member count to raise a cap below the proven minimum to. ``None`` if none is found."""
    limit = ctx.limit(FEWEST_BRIEF_SHARE, cap=FEWEST_BRIEF_MAX_S)
    if limit <= 0:
        return None
    b = build_model(problem, candidates, member_cap=False)
    b.model.minimize(b.members_count())
    if plan is not None:
        hint_plan(problem, b, plan)
    solver = ctx.solver(limit, b)
    callback = _StopWithinCap(proven, ctx.t0, None)
    if solver.solve(b.model, callback) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return round(solver.objective_value)


def _proven_members(
    problem: Problem, eligible: Mapping[str, tuple[PairData, ...]], *, time_limit_s: float
) -> int:
    """The fewest members any consortium over ``eligible`` needs, proven within ``time_limit_s``: the
    largest of coverage, the factories with fixed assignments and pinned, ``min_members``, the LP
    relaxation (:func:`solver.bound.members_lower_bound`, without time) and the time-aware relaxation
    (:func:`solver.caps.members_time_bound`, with the rest of the time)."""
    deadline = time.perf_counter() + time_limit_s
    pol = problem.policy
    proven = max(members_needed(eligible), len(problem.fixed_factories | pol.pinned), pol.min_members or 0)
    fewest = members_lower_bound(problem, eligible, time_limit_s=time_limit_s)
    if fewest is not None:
        proven = max(proven, math.ceil(fewest - 1e-6))
    timed = members_time_bound(problem, eligible, time_limit_s=deadline - time.perf_counter())
    if timed is not None:
        proven = max(proven, timed.value)
    return proven


def _member_cap_answer(problem: Problem, ctx: _RunContext, search: _MemberSearch) -> Solution:
    """Infeasible (at least ``proven_minimum`` > cap members are needed) or unknown, with what is known."""
    cap = search.cap
    best = search.best_found
    relaxation = Relaxation(
        "max_members",
        f"raising max members to {best} (the fewest found without the cap)"
        if best is not None
        else f"raising max members to at least {search.proven_minimum}",
        (),
    )
    if search.proven_minimum > cap:
        reason = Reason(
            "max_members",
            f"at most {cap} member(s) allowed, but every consortium needs at least {search.proven_minimum} "
            "(proven: coverage, capacity and the lines' due dates)",
            (),
        )
        if best is not None:
            summary = (
                f"No consortium satisfies all rules: {reason.message}. {_capitalise(relaxation.message)} "
                "would make it feasible."
            )
        else:  # the minimum is necessary, not known to suffice
            summary = (
                f"No consortium satisfies all rules: {reason.message}. Max members must be raised to at "
                f"least {search.proven_minimum}; no consortium was found in the time to say how many suffice."
            )
        return _solution(
            problem,
            "infeasible",
            ctx.t0,
            pruned=False,
            explanation=Explanation(summary, (reason,), (relaxation,)),
        )
    if best is not None:
        found = f" and the fewest found without the cap is {best}"
    elif search.searched_without_cap:
        found = " and no consortium was found even without the cap"
    else:
        found = ""
    reason = Reason(
        "max_members",
        f"no consortium within {cap} member(s) found in {time.perf_counter() - ctx.t0:.0f} s; at least "
        f"{search.proven_minimum} member(s) are needed (proven){found}",
        (),
    )
    if best is None:  # nothing to raise the cap to: only more time can tell
        summary = f"No answer yet: {reason.message}. Try a longer time limit."
        explanation = Explanation(summary, (reason,))
    else:
        summary = f"No answer yet: {reason.message}. Try a longer time limit, or {relaxation.message}."
        explanation = Explanation(summary, (reason,), (relaxation,))
    # no consortium within the cap: nothing counts as a first solution
    return _solution(problem, "unknown", ctx.t0, pruned=False, explanation=explanation)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _few_member_start(
    problem: Problem,
    plan: Mapping[tuple[str, str], Planned],
    candidates: Mapping[str, tuple[PairData, ...]],
    eligible: Mapping[str, tuple[PairData, ...]],
    *,
    scheduled: bool,
) -> tuple[Mapping[tuple[str, str], Planned], Mapping[str, tuple[PairData, ...]]]:
    """Under a member cap the cheapest greedy plan breaks: the few-member greedy over every eligible pair
    is the start when it has fewer members, and its pairs join the candidates (pruning kept few of the
    generalists it uses)."""
    few = few_member_plan(problem, eligible, scheduled=scheduled, cap=len(problem.factories))
    if few is None or len({f for f, _ in few}) >= len({f for f, _ in plan}):
        return plan, candidates
    used = {pid: tuple(p for p in pairs if p.key in few) for pid, pairs in eligible.items()}
    return few, _merged(candidates, used)


def _merged(
    candidates: Mapping[str, tuple[PairData, ...]], extra: Mapping[str, tuple[PairData, ...]]
) -> dict[str, tuple[PairData, ...]]:
    """``candidates`` with the pairs of ``extra`` they lack."""
    out = dict(candidates)
    for pid, pairs in extra.items():
        present = {p.key for p in out.get(pid, ())}
        more = tuple(p for p in pairs if p.key not in present)
        if more:
            out[pid] = (*out.get(pid, ()), *more)
    return out


def _complete_within(problem: Problem, plan: Mapping[tuple[str, str], Planned], cap: int) -> bool:
    """Whether ``plan`` covers every package and has at most ``cap`` members."""
    made: dict[str, int] = defaultdict(int)
    for (_, pid), planned in plan.items():
        made[pid] += planned.quantity
    complete = all(made[p.id] >= p.quantity for p in problem.packages)
    return complete and len({f for f, _ in plan}) <= cap


def _tidy(
    problem: Problem, b: Built, solver: cp_model.CpSolver, ctx: _RunContext, *, time_limit_s: float
) -> tuple[Built, cp_model.CpSolver] | None:
    """Re-solve the schedule of the chosen assignments only, with every end as early as possible."""
    used = {k for k, u in b.u.items() if solver.boolean_value(u)}
    cands: dict[str, tuple[PairData, ...]] = defaultdict(tuple)
    for key in sorted(used):
        cands[key[1]] += (b.pairs[key],)
    t = build_model(problem, cands)
    for key in used:
        t.model.add(t.u[key] == 1)
        if key in t.q_var:
            t.model.add(t.q_var[key] == solver.value(b.q[key]))
    if b.makespan is not None and t.makespan is not None:
        t.model.add(t.makespan <= solver.value(b.makespan))
    if "lateness" in b.costs:
        t.model.add(t.costs["lateness"] <= solver.value(b.costs["lateness"]))
    t.model.minimize(cp_model.LinearExpr.sum(list(t.end.values())))
    for key in used:
        t.model.add_hint(t.start[key], solver.value(b.start[key]))
        t.model.add_hint(t.end[key], solver.value(b.end[key]))
    tidy = ctx.solver(time_limit_s)
    if tidy.solve(t.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return t, tidy
    return None


def _extract(
    problem: Problem,
    b: Built,
    solver: cp_model.CpSolver,
    schedule: tuple[Built, cp_model.CpSolver] | None,
) -> tuple[tuple[Assignment, ...], CostBreakdown]:
    sb, ss = schedule if schedule is not None else (b, solver)
    assignments: list[Assignment] = []
    for key in sorted(b.u):
        if not solver.boolean_value(b.u[key]):
            continue
        pair = b.pairs[key]
        qty = int(solver.value(b.q[key]))
        if b.scheduled:
            start, end = int(ss.value(sb.start[key])), int(ss.value(sb.end[key]))
            hours = tuple(
                (w, ss.value(sb.hours[key[0], key[1], w]) / 1000)
                for w, _ in pair.weeks
                if (key[0], key[1], w) in sb.hours and ss.value(sb.hours[key[0], key[1], w]) > 0
            )
        else:
            start, end = 7 * b.week0, 7 * b.week0 + 7
            need = pair.need_mh(qty)
            hours = ((b.week0, need / 1000),) if need > 0 else ()
        assignments.append(Assignment(key[0], key[1], qty, start, end, hours))

    def value(name: str) -> int:
        expr = b.costs.get(name)
        return 0 if expr is None else int(solver.value(expr))

    # Transport, cohesion and lateness literals are only bounded one way in the model (tight at the
    # optimum): count them from the chosen pairs and days instead.
    pol = problem.policy
    used = {(a.factory, a.package) for a in assignments}
    by_package: dict[str, list[str]] = defaultdict(list)
    for f, pid in sorted(used):
        by_package[pid].append(f)
    transport = sum(
        problem.transport_between(f1, f2)[1]
        for pkgs in problem.lines.values()
        for prev, nxt in pairwise(pkgs)
        for f1 in by_package[prev.id]
        for f2 in by_package[nxt.id]
    )
    members = {f for f, _ in used}
    cohesion = -sum(
        bonus
        for (fa, fb), bonus in cohesion_bonuses(problem).items()
        if fa in members and fb in members and (fa, fb) in b.together
    )
    lateness = 0
    if pol.lateness_penalty_per_day is not None:
        for pkgs in problem.lines.values():
            late = 0
            for pkg in pkgs:
                if pkg.due_day is not None:
                    late = max([late] + [a.end_day - pkg.due_day for a in assignments if a.package == pkg.id])
            lateness += late * pol.lateness_penalty_per_day
    costs = CostBreakdown(
        production=value("production"),
        setup=value("setup"),
        transport=transport,
        coordination=pol.coordination_cost * len(members),
        cohesion=cohesion,
        lateness=lateness,
    )
    return tuple(assignments), costs


def _lead(problem: Problem, assignments: Sequence[Assignment]) -> str | None:
    value: dict[str, int] = defaultdict(int)
    for a in assignments:
        value[a.factory] += problem.offer_by_pair[a.factory, a.package].unit_price * a.quantity
    cert = problem.policy.lead_certification
    pool = [f for f in value if cert is None or cert in problem.factory_by_id[f].certifications]
    return min(pool, key=lambda f: (-value[f], f), default=None)


def _solution(
    problem: Problem,
    status: Status,
    t0: float,
    *,
    pruned: bool,
    assignments: tuple[Assignment, ...] = (),
    costs: CostBreakdown | None = None,
    objective: float | None = None,
    bound: float | None = None,
    first: float | None = None,
    explanation: Explanation | None = None,
) -> Solution:
    completion: dict[str, int] = {}
    for line, pkgs in problem.lines.items():
        ends = [a.end_day for a in assignments if a.package == pkgs[-1].id]
        if ends:
            completion[line] = max(ends)
    if objective is not None:
        objective = float(round(objective))
        if bound is not None:
            bound = min(float(bound), objective)
    return Solution(
        status=status,
        origin=problem.origin,
        preset=problem.policy.preset,
        assignments=assignments,
        costs=costs,
        line_completion=completion,
        completion_day=max(completion.values(), default=None),
        members=tuple(sorted({a.factory for a in assignments})),
        lead=_lead(problem, assignments),
        objective=objective,
        bound=bound,
        gap=None if objective is None or bound is None else relative_gap(objective, bound),
        wall_s=time.perf_counter() - t0,
        first_solution_s=first,
        pruned=pruned,
        explanation=explanation,
    )


def _solve_candidates(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    ctx: _RunContext,
    *,
    eligible: Mapping[str, tuple[PairData, ...]],
    pruned: bool,
    hint: Hint | None,
    exclude_member_sets: Sequence[frozenset[str]] = (),
    proven_memo: dict[int, int] | None = None,
) -> Solution | None:
    """One solve over ``candidates`` (of all ``eligible`` pairs); ``None`` when proven infeasible.

    Under a member cap without a greedy plan within it, the member minimum is proven first (a cap below
    it is infeasible at once), then members are chosen first (:func:`solver.caps.capped_start`) and a
    member phase (:func:`_member_phase`) looks for a consortium within the cap; the cap then joins the
    model. ``proven_memo`` keeps the proven minimum between the calls of one solve.
    """
    cap = problem.policy.max_members
    capped = cap is not None and not exclude_member_sets
    scheduled = needs_schedule(problem)
    plan: Mapping[tuple[str, str], Planned] | None = None
    memo = {} if proven_memo is None else proven_memo
    proven: int | None = None
    if hint is None:
        plan = greedy_plan(problem, candidates, scheduled=scheduled)
        if capped and cap is not None and not _complete_within(problem, plan, cap):
            plan, candidates = _few_member_start(problem, plan, candidates, eligible, scheduled=scheduled)
    if capped and cap is not None and (plan is None or not _complete_within(problem, plan, cap)):
        if 0 not in memo:
            memo[0] = _proven_members(
                problem, eligible, time_limit_s=ctx.limit(MEMBER_BOUND_SHARE, cap=MEMBER_BOUND_MAX_S)
            )
        proven = memo[0]
        if proven > cap:  # infeasible at once, with a member count that works when one is found quickly
            best = _fewest_members_briefly(problem, candidates, plan, ctx, proven)
            search = _MemberSearch(cap, proven, best, None, searched_without_cap=best is not None)
            return _member_cap_answer(problem, ctx, search)
    # Choosing members first (solver/caps.py) knows nothing of fixed assignments: a repair keeps the
    # member phase below, which does.
    if (
        plan is not None
        and capped
        and cap is not None
        and not problem.fixed
        and not _complete_within(problem, plan, cap)
    ):
        start = capped_start(
            problem,
            eligible,
            cap,
            scheduled=scheduled,
            deadline=time.perf_counter() + ctx.limit(CAPPED_START_SHARE),
            workers=ctx.workers,
            seed=ctx.seed,
            deterministic_time_s=ctx.deterministic_time_s,
        )
        if start is not None:
            plan, candidates = start.plan, _merged(candidates, start.candidates)
    b = build_model(problem, candidates, with_members=bool(exclude_member_sets), member_cap=not capped)

    def exclude(model_b: Built) -> None:
        # Each alternative differs from earlier ones in at least one member.
        for members in exclude_member_sets:
            model_b.model.add(
                cp_model.LinearExpr.sum([(1 - m) if f in members else m for f, m in model_b.member.items()])
                >= 1
            )

    exclude(b)
    if plan is not None:
        hint_plan(problem, b, plan)
    elif hint is not None:
        hint_quantities(b, hint)
    member_search: _MemberSearch | None = None
    if capped and cap is not None:
        if plan is None or not _complete_within(problem, plan, cap):
            assert proven is not None
            member_search = _member_phase(problem, b, candidates, ctx, cap, proven=proven, pruned=pruned)
            if member_search is None:
                return None  # infeasible even without the cap
            if member_search.proven_minimum > cap:
                # the minimum is proven over every eligible pair (see _member_phase), pruned or not
                return _member_cap_answer(problem, ctx, member_search)
        b.model.add(b.members_count() <= cap)
    tidy_s = min(TIDY_MAX_S, TIDY_SHARE * (ctx.deadline - ctx.t0)) if b.scheduled else 0.0
    lp_bound: float | None = None
    if kernel_applies(problem) and not exclude_member_sets:
        run = _run_kernel(problem, b, ctx)
    else:
        # CP-SAT's own bound is weak on these models (hand-off costs, setups): a GLOP relaxation helps
        lp_bound = relaxation_bound(
            problem, b, time_limit_s=ctx.limit(RELAXATION_SHARE, cap=RELAXATION_MAX_S)
        )
        phases_ctx = replace(ctx, deadline=ctx.deadline - tidy_s, bound_floor=lp_bound)
        run = _run_phases(problem, b, candidates, phases_ctx, extra=exclude)
    if run.status == cp_model.INFEASIBLE:
        return None
    if run.solver is None:
        if run.status == cp_model.MODEL_INVALID:
            raise RuntimeError(f"internal error: invalid CP-SAT model ({b.model.validate()})")
        if capped and cap is not None:
            known = memo.get(0)
            if known is None:  # a hinted solve: the minimum was not needed before
                known = max(members_needed(eligible), len(problem.fixed_factories))
            search = member_search or _MemberSearch(cap, known, None, None, searched_without_cap=False)
            return _member_cap_answer(problem, ctx, search)
        return _solution(problem, "unknown", ctx.t0, pruned=pruned, first=run.first)
    solved = run.built or b
    schedule = None
    if b.scheduled:
        limit = max(0.05, min(tidy_s, ctx.remaining() + tidy_s))
        schedule = _tidy(problem, solved, run.solver, ctx, time_limit_s=limit)
    assignments, costs = _extract(problem, solved, run.solver, schedule)
    status: Status = "optimal" if run.status == cp_model.OPTIMAL and not pruned else "feasible"
    # The objective is recomputed from the extracted solution (the tidy pass may only improve it).
    objective = float(costs.total)
    if problem.policy.preset == "balanced":
        per_day, per_member = balanced_weights(problem)
        completion = max((a.end_day for a in assignments if a.package in _last_ops(problem)), default=0)
        objective += per_day * completion + per_member * len({a.factory for a in assignments})
    return _solution(
        problem,
        status,
        ctx.t0,
        pruned=pruned,
        assignments=assignments,
        costs=costs,
        objective=objective,
        bound=max((v for v in (run.bound, lp_bound) if v is not None), default=None),
        # under a member cap the member phase may have found the first consortium within it
        first=min(
            (
                v
                for v in (run.first, None if member_search is None else member_search.first_within)
                if v is not None
            ),
            default=None,
        ),
    )


def _last_ops(problem: Problem) -> set[str]:
    return {pkgs[-1].id for pkgs in problem.lines.values()}


def solve(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    on_progress: ProgressFn | None = None,
    hint: Hint | None = None,
    candidates_per_package: int | None = DEFAULT_CANDIDATES,
    deterministic_time_s: float | None = None,
) -> Solution:
    """Find the best consortium for ``problem`` by its policy's preset within ``time_limit_s``.

    ``on_progress`` receives every improving solution. ``hint`` maps ``(factory, package)`` to a quantity
    (a first solution to start from; by default a greedy one). ``candidates_per_package`` bounds the
    pruning (``None``: keep every eligible pair). Infeasible problems come back with an explanation.
    ``deterministic_time_s`` also bounds every CP-SAT search by CP-SAT's deterministic time (and the LNS
    in total), so that with a generous ``time_limit_s`` the answer does not depend on the machine's speed.
    """
    t0 = time.perf_counter()
    ctx = _RunContext(t0, t0 + time_limit_s, workers, seed, on_progress, deterministic_time_s)
    return _solve(problem, ctx, hint=hint, candidates_per_package=candidates_per_package)


def _solve(
    problem: Problem,
    ctx: _RunContext,
    *,
    hint: Hint | None,
    candidates_per_package: int | None,
    exclude_member_sets: Sequence[frozenset[str]] = (),
) -> Solution:
    elig = analyse(problem, candidates_per_package)
    findings = precheck(
        problem,
        elig,
        time_limit_s=max(EXPLAIN_MIN_S, 0.2 * ctx.remaining()),
        seed=ctx.seed,
        deterministic_time_s=ctx.deterministic_time_s,
    )
    if findings:
        explanation = precheck_explanation(findings)
        return _solution(problem, "infeasible", ctx.t0, pruned=False, explanation=explanation)
    candidates, pruned = elig.candidates, elig.pruned
    if (
        pruned
        and not exclude_member_sets
        and kernel_applies(problem)
        and elig.eligible_pairs <= KERNEL_MAX_PAIRS
    ):
        # Exact reduced-cost fixing replaces the heuristic pruning (see solver/kernel.py).
        candidates, pruned = elig.eligible, False
    memo: dict[int, int] = {}  # the proven member minimum, computed at most once
    sol = _solve_candidates(
        problem,
        candidates,
        ctx,
        eligible=elig.eligible,
        pruned=pruned,
        hint=hint,
        exclude_member_sets=exclude_member_sets,
        proven_memo=memo,
    )
    if sol is None and pruned:
        sol = _solve_candidates(
            problem,
            elig.eligible,
            replace(ctx, deadline=max(ctx.deadline, time.perf_counter() + EXPLAIN_MIN_S)),
            eligible=elig.eligible,
            pruned=False,
            hint=hint,
            exclude_member_sets=exclude_member_sets,
            proven_memo=memo,
        )
    if sol is not None:
        return sol
    if exclude_member_sets:
        explanation = Explanation("No further consortium with a different member set exists.")
    else:
        budget = max(EXPLAIN_MIN_S, ctx.remaining())
        explanation = explain_infeasible(
            problem, elig, time_limit_s=budget, seed=ctx.seed, deterministic_time_s=ctx.deterministic_time_s
        )
    return _solution(problem, "infeasible", ctx.t0, pruned=False, explanation=explanation)


def alternatives(
    problem: Problem,
    k: int,
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    on_progress: ProgressFn | None = None,
    candidates_per_package: int | None = DEFAULT_CANDIDATES,
    deterministic_time_s: float | None = None,
) -> list[Solution]:
    """Up to ``k`` consortia with pairwise different member sets, best objective first.

    The time limit is shared evenly. An infeasible problem gives a one-element list with the
    explanation; the search stops early when no further member set exists.
    """
    out: list[Solution] = []
    seen: list[frozenset[str]] = []
    for n in range(max(1, k)):
        t0 = time.perf_counter()
        ctx = _RunContext(
            t0, t0 + time_limit_s / max(1, k), workers, seed + n, on_progress, deterministic_time_s
        )
        sol = _solve(
            problem,
            ctx,
            hint=None,
            candidates_per_package=candidates_per_package,
            exclude_member_sets=seen,
        )
        if not sol.has_consortium:
            if not out:
                out.append(sol)
            break
        out.append(sol)
        seen.append(frozenset(sol.members))
    return sorted(out, key=lambda s: (s.objective is None, s.objective or 0.0))
