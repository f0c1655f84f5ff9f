"""A consortium within a tight member cap (issue 10 §4): choose the members first, then plan within them.

The cheapest greedy and CP-SAT's member minimisation both work pair by pair, and at 500 factories × 100
packages they end far above a cap of 1.5 × the proven minimum (19 members found for a cap of 13). Here
the members are chosen first, as a set cover with capacity:

1. :func:`cover_members`: factories are chosen one by one by the share of the uncovered quantities they
   can make, with each factory's free hours per process *shared* between its packages (a factory cannot
   make two packages of one process in the same hours), packages with few candidates first; the free
   hours of earlier members serve later packages too. Unsplittable packages need one factory for all of
   it. The weeks a package may use are paced (a line's time split between its operations), or, when
   that finds no cover, every week up to its latest end. Members the others make redundant are dropped.
   Several orders (scarcity weights) are tried, one after the other, until a plan is found.
2. The spare seats up to the cap are filled with the factories that add the most hours for the packages of
   the fewest candidates: the schedule (due dates, transport, weekly hours) needs slack the cover ignores.
3. Within the chosen members: the greedy plan (:func:`solver.greedy.greedy_plan`), and when it leaves units
   short, CP-SAT on the model restricted to the members' pairs (a small model: a first solution comes
   quickly or the members cannot work, and its packages left short get candidates of their own for the
   next try).

The plan found is complete and within the cap; the solve then hints CP-SAT with it and optimises with the
cap in the model (``solver/solve.py``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ortools.sat.python import cp_model

from solver.eligibility import PairData
from solver.greedy import Planned, greedy_plan
from solver.model import build_model
from solver.problem import Problem

__all__ = ["CappedStart", "MemberBound", "capped_start", "cover_members", "members_time_bound"]

Key = tuple[str, str]
#: Scarcity exponents tried by the cover: weight of a package = (1 / its candidates) ** exponent.
SCARCITY = (1.0, 0.0, 2.0)
#: SCIP solves within a feasibility tolerance: a bound this close to an integer is not rounded up past it.
BOUND_TOLERANCE = 1e-4
DROP_ALLOWANCE = 3  # the cover may exceed the cap by this many before members are dropped
RESTRICTED_MIN_S = 0.5  # time a restricted CP-SAT try needs to be worth starting
RESTRICTED_MAX_S = 5.0  # ... and at most this long


@dataclass(frozen=True)
class CappedStart:
    """A complete plan within the cap, its members, and the candidates it uses (by package)."""

    plan: dict[Key, Planned]
    members: frozenset[str]
    candidates: dict[str, tuple[PairData, ...]]
    elapsed_s: float


def _by_factory(eligible: Mapping[str, tuple[PairData, ...]]) -> dict[str, list[PairData]]:
    out: dict[str, list[PairData]] = defaultdict(list)
    for pairs in eligible.values():
        for p in pairs:
            out[p.factory.id].append(p)
    return out


def _windows(problem: Problem, *, paced: bool) -> dict[str, tuple[int, int]]:
    """Package id → days ``[lo, hi)`` it may be made in: paced, a line's time up to its last due day (or
    the horizon) split evenly between its operations (they run one after the other); otherwise every day
    up to its latest end."""
    latest = problem.latest_end
    out: dict[str, tuple[int, int]] = {}
    for pkgs in problem.lines.values():
        end = latest[pkgs[-1].id]
        end = problem.horizon_day if end is None else end
        span = end / len(pkgs)
        for k, pkg in enumerate(pkgs):
            if paced:
                out[pkg.id] = (int(k * span), max(int(k * span) + 1, int((k + 1) * span)))
            else:
                own = latest[pkg.id]
                out[pkg.id] = (k, problem.horizon_day if own is None else own)
    return out


class _Cover:
    """Free hours per factory × process × week, quantities still to cover, and what each pair took (hours
    as floats: the cover is a heuristic, CP-SAT checks the plan)."""

    def __init__(
        self,
        problem: Problem,
        eligible: Mapping[str, tuple[PairData, ...]],
        weight: Mapping[str, float],
        windows: Mapping[str, tuple[int, int]],
    ) -> None:
        self.weight = weight
        self.left: dict[tuple[str, str, int], float] = {}
        self.weeks: dict[Key, tuple[int, ...]] = {}
        self.rates: dict[Key, tuple[float, float]] = {}
        for pairs in eligible.values():
            for p in pairs:
                lo, hi = windows[p.package.id]
                lo = max(lo, p.offer.earliest_start_day)
                self.weeks[p.key] = tuple(w for w, _ in p.weeks if 7 * w + 6 >= lo and 7 * w < hi)
                self.rates[p.key] = (float(p.setup_exact), float(p.unit_exact))
                for w, h in p.weeks:
                    self.left[p.factory.id, p.package.process, w] = float(h)
        self.remaining = {pid: pairs[0].package.quantity for pid, pairs in eligible.items() if pairs}
        self.used: dict[Key, int] = {}

    def done(self) -> bool:
        return all(v <= 0 for v in self.remaining.values())

    def fill(self, pairs: Sequence[PairData], *, commit: bool) -> float:
        """Give ``pairs`` (one factory's) what they can make of the remaining quantities, scarcest packages
        first, in their weeks' free hours and within what each pair has not used yet; the weighted share
        covered. ``commit`` books it."""
        left = self.left
        booked: dict[tuple[str, str, int], float] = {}  # this call's changes
        taken: dict[str, int] = {}
        covered = 0.0
        for p in sorted(pairs, key=lambda p: (-self.weight[p.package.id], p.package.id)):
            pkg = p.package
            todo = self.remaining.get(pkg.id, 0) - taken.get(pkg.id, 0)
            already = self.used.get(p.key, 0)
            if todo <= 0 or (already and not pkg.splittable):
                continue
            weeks = self.weeks[p.key]
            keys = [(p.factory.id, pkg.process, w) for w in weeks]
            room = sum(booked.get(k, left[k]) for k in keys)
            setup, unit = self.rates[p.key]
            fits = p.max_qty if unit <= 0 else int((room - setup) / unit) if room >= setup + unit else 0
            take = min(todo, p.unit_capacity - already, fits)
            if not pkg.splittable:
                take = take if take == pkg.quantity and todo == pkg.quantity else 0
            elif 0 < todo - take < pkg.min_lot:
                take = todo - pkg.min_lot
            if take <= 0 or (pkg.splittable and take < pkg.min_lot):
                continue
            need = setup + unit * take
            for k in keys:
                free = booked.get(k, left[k])
                x = min(need, free)
                booked[k] = free - x
                need -= x
                if need <= 1e-9:
                    break
            taken[pkg.id] = taken.get(pkg.id, 0) + take
            if commit:
                self.used[p.key] = already + take
            covered += self.weight[pkg.id] * take / pkg.quantity
        if commit:
            left.update(booked)
            for pid, take in taken.items():
                self.remaining[pid] -= take
        return covered


def _weights(eligible: Mapping[str, tuple[PairData, ...]], scarcity: float) -> dict[str, float]:
    return {pid: (1.0 / len(pairs)) ** scarcity for pid, pairs in eligible.items() if pairs}


def _covers(
    problem: Problem,
    eligible: Mapping[str, tuple[PairData, ...]],
    members: Sequence[str],
    windows: Mapping[str, tuple[int, int]],
) -> bool:
    """Whether ``members`` (in this order) cover every package by :class:`_Cover`."""
    mine = _only(eligible, set(members))
    if any(not pairs for pairs in mine.values()):
        return False
    by_factory = _by_factory(mine)
    cover = _Cover(problem, mine, _weights(eligible, 1.0), windows)
    for _ in range(2):
        for f in members:
            cover.fill(by_factory[f], commit=True)
    return cover.done()


def cover_members(
    problem: Problem,
    eligible: Mapping[str, tuple[PairData, ...]],
    cap: int,
    *,
    scarcity: float = 1.0,
    paced: bool = True,
    deadline: float | None = None,
) -> list[str] | None:
    """At most ``cap`` factories whose free hours in the paced weeks could cover every package (see module
    doc, step 1), in the order chosen, or ``None`` if this greedy needs more (or ``deadline``, in
    ``perf_counter`` seconds, passes first). Members are then dropped one at a time while the others still
    cover everything."""
    by_factory = _by_factory(eligible)
    windows = _windows(problem, paced=paced)
    cover = _Cover(problem, eligible, _weights(eligible, scarcity), windows)
    chosen: list[str] = []
    while not cover.done():
        if len(chosen) >= cap + DROP_ALLOWANCE or _past(deadline):
            return None
        best, score = None, 0.0
        for f in sorted(by_factory):
            if f in chosen:
                continue
            s = cover.fill(by_factory[f], commit=False)
            if s > score + 1e-12:
                best, score = f, s
        if best is None:
            return None
        chosen.append(best)
        cover.fill(by_factory[best], commit=True)
        for f in chosen[:-1]:  # earlier members' spare hours serve what is still short
            cover.fill(by_factory[f], commit=True)
    for f in list(reversed(chosen)):  # the last chosen helped least: try dropping them first
        if _past(deadline):
            return None
        rest = [g for g in chosen if g != f]
        if _covers(problem, eligible, rest, windows):
            chosen = rest
    return chosen if len(chosen) <= cap else None


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() >= deadline


def _add_slack(
    eligible: Mapping[str, tuple[PairData, ...]], chosen: set[str], cap: int, short: Sequence[str] = ()
) -> set[str]:
    """Fill the seats up to ``cap``: the factories adding the most free hours (weighted by scarcity, and
    first for the ``short`` packages) to the packages the members can make."""
    out = set(chosen)
    by_factory = _by_factory(eligible)
    focus = set(short)
    while len(out) < cap:

        def gain(f: str) -> float:
            total = 0.0
            for p in by_factory[f]:
                pkg = p.package
                w = 1.0 / len(eligible[pkg.id])
                if pkg.id in focus:
                    w *= 10.0
                total += w * min(p.unit_capacity, pkg.quantity) / pkg.quantity
            return total

        extra = max((f for f in by_factory if f not in out), key=lambda f: (gain(f), f), default=None)
        if extra is None or gain(extra) <= 0:
            break
        out.add(extra)
    return out


def _only(
    eligible: Mapping[str, tuple[PairData, ...]], members: set[str] | frozenset[str]
) -> dict[str, tuple[PairData, ...]]:
    return {pid: tuple(p for p in pairs if p.factory.id in members) for pid, pairs in eligible.items()}


def _short(problem: Problem, plan: Mapping[Key, Planned]) -> list[str]:
    made: dict[str, int] = defaultdict(int)
    for (_, pid), planned in plan.items():
        made[pid] += planned.quantity
    return [p.id for p in problem.packages if made[p.id] < p.quantity]


def _restricted_plan(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    hint: Mapping[Key, Planned] | None,
    *,
    time_limit_s: float,
    workers: int,
    seed: int,
    deterministic_time_s: float | None,
) -> dict[Key, Planned] | None:
    """The first solution of the model restricted to ``candidates`` (cap included), as a plan."""
    from solver.greedy import hint_plan
    from solver.lns import plan_of

    b = build_model(problem, candidates)
    b.model.minimize(b.total_cost)
    if hint:
        hint_plan(problem, b, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    solver.parameters.stop_after_first_solution = True
    if deterministic_time_s is not None:
        solver.parameters.max_deterministic_time = deterministic_time_s
    if solver.solve(b.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return plan_of(b, solver)


def capped_start(
    problem: Problem,
    eligible: Mapping[str, tuple[PairData, ...]],
    cap: int,
    *,
    scheduled: bool,
    deadline: float,
    workers: int,
    seed: int,
    deterministic_time_s: float | None = None,
) -> CappedStart | None:
    """A complete plan with at most ``cap`` members (see module doc), or ``None`` if none is found before
    ``deadline`` (``perf_counter`` seconds)."""
    t0 = time.perf_counter()
    tried: list[set[str]] = []
    for paced, scarcity in ((paced, scarcity) for paced in (True, False) for scarcity in SCARCITY):
        if time.perf_counter() >= deadline:
            return None
        found_cover = cover_members(problem, eligible, cap, scarcity=scarcity, paced=paced, deadline=deadline)
        if found_cover is None or set(found_cover) in tried:
            continue
        cover = set(found_cover)
        tried.append(cover)
        members = _add_slack(eligible, cover, cap)
        short: list[str] = []
        for _ in range(3):
            if time.perf_counter() >= deadline:
                return None
            cands = _only(eligible, members)
            plan = greedy_plan(problem, cands, scheduled=scheduled)
            short = _short(problem, plan)
            # CP-SAT on the members' pairs completes a short plan, and makes a complete one obey the rules
            # the greedy ignores (lead, shares…), so that the solve's hint is a solution at once
            if deadline - time.perf_counter() >= RESTRICTED_MIN_S:
                limit = min(RESTRICTED_MAX_S, deadline - time.perf_counter())
                found = _restricted_plan(
                    problem,
                    cands,
                    plan,
                    time_limit_s=limit,
                    workers=workers,
                    seed=seed,
                    deterministic_time_s=deterministic_time_s,
                )
                if found is not None:
                    plan, short = found, []
            if not short and len({f for f, _ in plan}) <= cap:
                used = {f for f, _ in plan}
                return CappedStart(
                    dict(plan), frozenset(used), _only(eligible, used), time.perf_counter() - t0
                )
            if time.perf_counter() >= deadline:
                return None
            # the spare seats go to candidates of the short packages first
            again = _add_slack(eligible, cover, cap, short)
            if again == members:
                break
            members = again
    return None


# ------------------------------------------------------------------ a time-aware lower bound on members


@dataclass(frozen=True)
class MemberBound:
    """A proven lower bound ``value`` on the members of every consortium; ``exact`` when it is the optimum
    of the relaxation below (not only the bound its search reached in time)."""

    value: int
    exact: bool


def members_time_bound(
    problem: Problem, eligible: Mapping[str, tuple[PairData, ...]], *, time_limit_s: float
) -> MemberBound | None:
    """The fewest members any consortium over ``eligible`` needs, from a mixed-integer relaxation that
    keeps the routing's time, solved by SCIP (bundled with OR-Tools) for at most ``time_limit_s``
    (``None``: no bound, e.g. no time left or the relaxation has no solution — then neither has the
    problem, but the solve's own search says so).

    The LP relaxation (:func:`solver.bound.members_lower_bound`) ignores time and lets a factory be a
    fraction of a member. Here members and pair uses are integer (0/1), and per line the chain of
    operations is kept:

    * per operation ``k`` two days, ``S_k`` (its first start) and ``E_k`` (its last end): ``E_k ≥ S_k + 1``,
      ``S_{k+1} ≥ E_k + d_k`` with ``d_k`` the fewest transport days from any candidate of ``k`` to any of
      ``k+1`` (0 when one factory is a candidate of both), ``E_k`` at most the operation's latest end under
      hard due dates (``Problem.latest_end``) and the horizon;
    * per pair a use ``u`` and a quantity ``q``: ``min_lot · u ≤ q ≤ can · u`` (``can``: the offer's maximum,
      what the pair's free hours up to the due date can make, and what its best weekly rate makes between
      its earliest start and its latest end; all or nothing when unsplittable); coverage ``Σ q = quantity``;
    * per pair its exact need ``n = setup · u + hours per unit · q`` (hours) and its duration at the
      factory's best weekly rate: ``rate · (E_k − S_k) ≥ 7 n`` and ``rate · (E_k − earliest start) ≥ 7 n``;
    * per factory × process the needs within the free hours of the weeks its pairs may use;
    * members ``m ≥ u``; pinned factories and factories with fixed assignments are members, a member holds
      the lead certification, at least ``min_members``; minimise ``Σ m``.

    Why it is a relaxation (every valid plan gives a solution with the same members): take ``S_k`` and
    ``E_k`` as the earliest start and latest end of the plan's assignments of operation ``k``. The model
    (``solver/model.py``) makes each assignment last a day at least, start after every assignment of the
    previous operation ends plus the transport days between the two factories (at least ``d_k``) and end
    by its latest end: the chain holds. An assignment books its rounded-up need (at least ``n``) in weeks
    of its window, within each week's free hours: the capacity rows hold, and ``can`` holds as those weeks
    and ``rate · (e − s) ≥ 7 · booked`` with ``earliest ≤ s`` and ``e ≤`` its latest end allow no more.
    Its duration row ``rate · (e − s) ≥ 7 · booked`` with ``S_k ≤ s``, ``earliest ≤ s``, ``e ≤ E_k`` gives
    both duration rows. The rest are the model's own rows. Dropped: costs, each assignment's own days and
    weeks, transport between particular factories, shares and the lead beyond one certified member.

    SCIP's bound on this minimum (at any time, not only at the optimum) is then a lower bound on every
    consortium's member count; the objective is an integer, so its ceiling is too.
    """
    from ortools.linear_solver import pywraplp

    t0 = time.perf_counter()
    if time_limit_s <= 0 or any(not eligible.get(pkg.id) for pkg in problem.packages):
        return None
    mip = pywraplp.Solver.CreateSolver("SCIP")
    if mip is None:
        return None
    pol = problem.policy
    hard_due = pol.lateness_penalty_per_day is None
    horizon = problem.horizon_day
    latest = problem.latest_end
    inf = mip.infinity()

    def row(terms: Sequence[tuple[object, float]], lo: float, hi: float) -> None:
        ct = mip.Constraint(lo, hi)
        for var, coef in terms:
            ct.SetCoefficient(var, ct.GetCoefficient(var) + coef)

    pairs = [p for pkg in problem.packages for p in eligible[pkg.id]]
    member = {f: mip.BoolVar(f"m[{f}]") for f in sorted({p.factory.id for p in pairs})}
    first: dict[str, object] = {}
    last: dict[str, object] = {}
    for pkg in problem.packages:
        own = latest[pkg.id] if hard_due else None
        end = horizon if own is None else min(horizon, own)
        if end < 1:
            return None
        first[pkg.id] = mip.NumVar(0.0, float(end - 1), f"S[{pkg.id}]")
        last[pkg.id] = mip.NumVar(1.0, float(end), f"E[{pkg.id}]")
        row([(last[pkg.id], 1.0), (first[pkg.id], -1.0)], 1.0, inf)
    for pkgs in problem.lines.values():
        for prev, nxt in pairwise(pkgs):
            days = _fewest_days(problem, eligible[prev.id], eligible[nxt.id])
            row([(first[nxt.id], 1.0), (last[prev.id], -1.0)], float(days), inf)
    cover: dict[str, list[tuple[object, float]]] = defaultdict(list)
    needs: dict[tuple[str, str], list[tuple[object, float]]] = defaultdict(list)
    free: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for p in pairs:
        pkg, f = p.package, p.factory.id
        can = min(p.max_qty, p.unit_capacity)
        due = latest[pkg.id] if hard_due else None
        if p.rate_mh > 0:  # its hours at its best rate fit between its earliest start and its latest end
            longest = (horizon if due is None else min(horizon, due)) - p.offer.earliest_start_day
            can = min(can, p.units_within(p.rate_mh * longest // 7))
        if can <= 0 or (not pkg.splittable and can < pkg.quantity):
            continue  # it cannot make its smallest lot
        u = mip.BoolVar(f"u[{f},{pkg.id}]")
        row([(member[f], 1.0), (u, -1.0)], 0.0, inf)
        need: list[tuple[object, float]] = [(u, float(p.setup_exact) / 1000)]
        if pkg.splittable:
            q = mip.NumVar(0.0, float(can), f"q[{f},{pkg.id}]")
            row([(q, 1.0), (u, -float(can))], -inf, 0.0)
            row([(q, 1.0), (u, -float(pkg.min_lot))], 0.0, inf)
            cover[pkg.id].append((q, 1.0))
            need.append((q, float(p.unit_exact) / 1000))
        else:
            cover[pkg.id].append((u, float(pkg.quantity)))
            need[0] = (u, float(p.setup_exact + p.unit_exact * pkg.quantity) / 1000)
        needs[f, pkg.process] += need
        free[f, pkg.process].update((w, c) for w, c in p.weeks if due is None or 7 * w < due)
        rate = p.rate_mh / 1000
        if rate > 0:
            scaled = [(var, -7.0 * coef) for var, coef in need]
            row([(last[pkg.id], rate), (first[pkg.id], -rate), *scaled], 0.0, inf)
            row([(last[pkg.id], rate), *scaled], rate * p.offer.earliest_start_day, inf)
    for pkg in problem.packages:
        if not cover[pkg.id]:
            return None
        row(cover[pkg.id], float(pkg.quantity), float(pkg.quantity))
    for bucket, terms in needs.items():
        row(terms, -inf, sum(free[bucket].values()) / 1000)
    for f in sorted(set(pol.pinned) | set(problem.fixed_factories)):
        if f not in member:
            return None
        row([(member[f], 1.0)], 1.0, 1.0)
    if pol.lead_certification is not None:
        lead = pol.lead_certification
        row(
            [(m, 1.0) for f, m in member.items() if lead in problem.factory_by_id[f].certifications], 1.0, inf
        )
    if pol.min_members is not None:
        row([(m, 1.0) for m in member.values()], float(pol.min_members), inf)
    goal = mip.Objective()
    for m in member.values():
        goal.SetCoefficient(m, 1.0)
    goal.SetMinimization()
    left = time_limit_s - (time.perf_counter() - t0)
    if left <= 0:
        return None
    mip.SetTimeLimit(max(1, int(1000 * left)))
    status = mip.Solve()
    if status == pywraplp.Solver.OPTIMAL:
        return MemberBound(math.ceil(goal.Value() - BOUND_TOLERANCE), True)
    if status != pywraplp.Solver.FEASIBLE and status != pywraplp.Solver.NOT_SOLVED:
        return None
    bound = goal.BestBound()
    if not math.isfinite(bound):
        return None
    return MemberBound(max(0, math.ceil(bound - BOUND_TOLERANCE)), False)


def _fewest_days(problem: Problem, prev: Sequence[PairData], nxt: Sequence[PairData]) -> int:
    """The fewest transport days from any pair of ``prev`` to any of ``nxt`` (0 at the same factory)."""
    befores = {p.factory.id for p in prev}
    afters = {p.factory.id for p in nxt}
    if befores & afters:
        return 0
    # transport days depend only on the two prefectures
    by_pref_a = {problem.factory_by_id[f].prefecture: f for f in sorted(befores)}
    by_pref_b = {problem.factory_by_id[f].prefecture: f for f in sorted(afters)}
    return min(problem.transport_between(a, b)[0] for a in by_pref_a.values() for b in by_pref_b.values())
