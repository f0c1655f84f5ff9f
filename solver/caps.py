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

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.eligibility import PairData
from solver.greedy import Planned, greedy_plan
from solver.model import build_model
from solver.problem import Problem

__all__ = ["CappedStart", "capped_start", "cover_members"]

Key = tuple[str, str]
#: Scarcity exponents tried by the cover: weight of a package = (1 / its candidates) ** exponent.
SCARCITY = (1.0, 0.0, 2.0)
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
) -> list[str] | None:
    """At most ``cap`` factories whose free hours in the paced weeks could cover every package (see module
    doc, step 1), in the order chosen, or ``None`` if this greedy needs more. Members are then dropped one
    at a time while the others still cover everything."""
    by_factory = _by_factory(eligible)
    windows = _windows(problem, paced=paced)
    cover = _Cover(problem, eligible, _weights(eligible, scarcity), windows)
    chosen: list[str] = []
    while not cover.done():
        if len(chosen) >= cap + DROP_ALLOWANCE:
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
        rest = [g for g in chosen if g != f]
        if _covers(problem, eligible, rest, windows):
            chosen = rest
    return chosen if len(chosen) <= cap else None


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
        found_cover = cover_members(problem, eligible, cap, scarcity=scarcity, paced=paced)
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
