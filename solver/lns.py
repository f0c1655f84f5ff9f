"""Large neighbourhood search over the candidate pairs (time to a good solution decides at scale).

CP-SAT's own LNS workers share two cores with the full search and manage only a handful of neighbourhoods
per second on a model of tens of thousands of variables. Here each step frees a few whole lines and
builds a small model of its own: every candidate pair of the freed lines' work packages, plus the pairs
the incumbent uses elsewhere with all their variables fixed (so capacity, member, share and lead rules
see the whole consortium, exactly). CP-SAT re-solves it from the incumbent as a complete hint; a better
objective replaces the incumbent. Neighbourhoods, in turn:

* ``random``: lines drawn at random;
* ``process``: a line and others with a work package of the same process (they compete for capacity);
* ``member``: every line a member factory works on, so the step can drop that member (coordination
  cost) or move its work;
* ``factory``: a line and the lines whose candidates share the most factories with it.

The neighbourhood grows while steps are solved to optimality quickly and shrinks when they time out.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.eligibility import PairData
from solver.greedy import Planned, hint_plan
from solver.model import Built, build_model
from solver.problem import Problem

__all__ = ["LnsResult", "improve", "plan_of"]

Key = tuple[str, str]
Setup = Callable[[Built], None]  # sets the objective (and any bound of an earlier phase) on a model

STEP_S = 0.5  # time limit of one step
MIN_STEP_S = 0.1
FREE_SHARE = 0.07  # first neighbourhood: this share of the lines (at least MIN_FREE_LINES)
MIN_FREE_LINES = 1
GROW = 1.25  # neighbourhood size factor after a quickly solved / a timed-out step
KINDS = ("random", "process", "member", "factory")


@dataclass
class LnsResult:
    """The model and solver holding the best solution (the input ones if no step improved it)."""

    built: Built
    solver: cp_model.CpSolver
    objective: float
    steps: int
    improvements: int


def plan_of(b: Built, solver: cp_model.CpSolver) -> dict[Key, Planned]:
    """The used pairs of ``solver``'s solution of ``b``, as a plan (quantity, days, hours per week)."""
    plan: dict[Key, Planned] = {}
    for key, u in b.u.items():
        if not solver.boolean_value(u):
            continue
        qty = int(solver.value(b.q[key]))
        if b.scheduled:
            hours = {
                w: int(solver.value(b.hours[key[0], key[1], w]))
                for w, _ in b.pairs[key].weeks
                if (key[0], key[1], w) in b.hours
            }
            plan[key] = Planned(
                qty,
                int(solver.value(b.start[key])),
                int(solver.value(b.end[key])),
                {w: h for w, h in hours.items() if h > 0},
            )
        else:
            plan[key] = Planned(qty)
    return plan


class _Neighbourhoods:
    def __init__(self, problem: Problem, candidates: Mapping[str, tuple[PairData, ...]], seed: int) -> None:
        self.rng = random.Random(seed)
        # lines whose every package is fixed in full have nothing to re-optimise
        self.lines = sorted(
            ln
            for ln, pkgs in problem.lines.items()
            if any(problem.fixed_quantity.get(p.id, 0) < p.quantity for p in pkgs)
        )
        self.line_of = {p.id: p.line for p in problem.packages}
        self.processes = {ln: {p.process for p in ps} for ln, ps in problem.lines.items()}
        self.factories: dict[str, set[str]] = defaultdict(set)
        for pid, pairs in candidates.items():
            self.factories[self.line_of[pid]].update(p.factory.id for p in pairs)

    def pick(self, kind: str, size: int, plan: Mapping[Key, Planned]) -> set[str]:
        """About ``size`` lines by ``kind`` around a random line (``member``: all lines of one member)."""
        rng = self.rng
        seed = rng.choice(self.lines)
        chosen = {seed}
        if kind == "member" and plan:
            f = rng.choice(sorted({f for f, _ in plan}))
            chosen = {self.line_of[pid] for g, pid in plan if g == f}
        elif kind == "process":
            pool = [ln for ln in self.lines if ln != seed and self.processes[ln] & self.processes[seed]]
            rng.shuffle(pool)
            chosen.update(pool[: size - 1])
        elif kind == "factory":
            mine = self.factories[seed]
            ranked = sorted(
                (ln for ln in self.lines if ln != seed),
                key=lambda ln: (-len(self.factories[ln] & mine), rng.random()),
            )
            chosen.update(ranked[: size - 1])
        rest = [ln for ln in self.lines if ln not in chosen]
        rng.shuffle(rest)
        while len(chosen) < size and rest:
            chosen.add(rest.pop())
        return chosen


def _fix(sub: Built, key: Key, planned: Planned) -> None:
    """Fix every variable of a used pair to its planned value (domains, so presolve drops them)."""
    model = sub.model
    model.add(sub.u[key] == 1)
    if key in sub.q_var:
        model.add(sub.q_var[key] == planned.quantity)
    if sub.scheduled:
        model.add(sub.start[key] == planned.start)
        model.add(sub.end[key] == planned.end)
        for w, _ in sub.pairs[key].weeks:
            h = sub.hours.get((key[0], key[1], w))
            if h is not None:
                booked = planned.hours.get(w, 0)
                model.add(h == booked)
                model.add(sub.active[key[0], key[1], w] == (booked > 0))


def improve(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    b: Built,
    solver: cp_model.CpSolver,
    setup: Setup,
    *,
    deadline: float,
    workers: int,
    seed: int,
    on_improve: Callable[[float], None] | None = None,
    deterministic_time_s: float | None = None,
    stop_at: float | None = None,
    member_cap: bool = True,
) -> LnsResult:
    """Improve the solution of ``b`` in ``solver`` (objective set by ``setup``) until ``deadline``.

    With ``deterministic_time_s`` the steps together also stop after that much CP-SAT deterministic time,
    and a step's size adapts on its deterministic time, so the result does not depend on the machine's
    speed. ``stop_at``: stop once the objective is at most this. ``member_cap=False`` leaves the policy's
    ``max_members`` out of the sub-models (the solve's member phase searches without it).
    """
    result = LnsResult(b, solver, solver.objective_value, 0, 0)
    plan = plan_of(b, solver)
    hoods = _Neighbourhoods(problem, candidates, seed)
    if len(hoods.lines) < 2:
        return result
    size = max(MIN_FREE_LINES, round(FREE_SHARE * len(hoods.lines)))
    spent = 0.0  # deterministic time of the steps so far
    while (remaining := deadline - time.perf_counter()) >= MIN_STEP_S:
        if deterministic_time_s is not None and spent >= deterministic_time_s:
            break
        if stop_at is not None and result.objective <= stop_at + 0.5:
            break
        kind = KINDS[result.steps % len(KINDS)]
        free = hoods.pick(kind, size, plan)
        cands: dict[str, tuple[PairData, ...]] = {}
        for pid, pairs in candidates.items():
            if hoods.line_of[pid] in free:
                cands[pid] = pairs
            else:
                cands[pid] = tuple(p for p in pairs if p.key in plan)
        sub = build_model(problem, cands, with_members=bool(b.member), member_cap=member_cap)
        for key, planned in plan.items():
            if hoods.line_of[key[1]] not in free:
                _fix(sub, key, planned)
        setup(sub)
        hint_plan(problem, sub, plan)
        step = cp_model.CpSolver()
        limit = min(STEP_S, remaining)
        step.parameters.max_time_in_seconds = limit
        step.parameters.num_workers = max(1, workers)
        step.parameters.random_seed = seed + result.steps
        if deterministic_time_s is not None:
            limit = min(STEP_S, deterministic_time_s - spent)
            step.parameters.max_deterministic_time = max(0.01, limit)
        t = time.perf_counter()
        status = step.solve(sub.model)
        took = time.perf_counter() - t
        if deterministic_time_s is not None:
            took = step.response_proto.deterministic_time
            # each step counts at least MIN_STEP_S: steps that presolve settles still end the loop
            spent += max(took, MIN_STEP_S)
        result.steps += 1
        if status == cp_model.OPTIMAL and took < 0.5 * limit:
            size = min(len(hoods.lines) - 1, max(size + 1, round(size * GROW)))
        elif status != cp_model.OPTIMAL:
            size = max(MIN_FREE_LINES, min(size - 1, round(size / GROW)))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and step.objective_value < result.objective - 0.5:
            result.built, result.solver, result.objective = sub, step, step.objective_value
            result.improvements += 1
            plan = plan_of(sub, step)
            if on_improve is not None:
                on_improve(result.objective)
    return result
