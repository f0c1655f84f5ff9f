"""A lower bound on the cost from a linear relaxation (GLOP) of the consortium over the modelled pairs.

CP-SAT's own bound on the scheduled models stays 12–15 % below the objective after 30 s (issue 10): its LP
sees the hand-off costs only through ``transport ≥ Σ cost · u`` rows enforced by literals, which relax to
nothing. This relaxation leaves time out (so it is weaker where due dates bind) but keeps what costs money:

* per pair a quantity ``q`` and a use ``u`` in ``[0, 1]``: coverage, ``min_lot · u ≤ q ≤ can · u`` where
  ``can`` is what the pair's free hours and offer limit allow, and per factory × process the hours of its
  pairs (setup · u + hours per unit · q) within its free hours;
* hand-offs as a transportation problem between consecutive operations of a line: the share of operation
  k made by ``f`` flows to the shares of operation k+1, paying the transport cost per unit of flow (the
  product of the shares is such a flow, and costs at most what a plan pays, so the bound is valid);
* fixed assignments: their ``u`` is 1 and their ``q`` their quantity;
* members ``m ≥ u`` with their coordination cost, the cohesion bonus of two members
  (``together ≤ m`` each), and the policy's member counts, pins, lead and shares.

The optimum of this LP is a lower bound on the total cost of every consortium over the same pairs; the
solve reports the larger of it and CP-SAT's bound.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from solver.eligibility import PairData
from solver.model import Built
from solver.objective import balanced_weights, cohesion_bonuses
from solver.problem import Problem

__all__ = ["members_lower_bound", "relaxation_bound"]

Key = tuple[str, str]


def relaxation_bound(problem: Problem, b: Built, *, time_limit_s: float | None = None) -> float | None:
    """The LP lower bound on the objective of the last phase of ``problem``'s preset over ``b``'s pairs
    (the total cost; plus the member weight for ``balanced``), or ``None`` if the LP has no optimum (or
    none within ``time_limit_s``)."""
    return _relaxation(
        problem, b.pairs, with_members=bool(b.member), minimise_members=False, time_limit_s=time_limit_s
    )


def members_lower_bound(
    problem: Problem, eligible: Mapping[str, tuple[PairData, ...]], *, time_limit_s: float | None = None
) -> float | None:
    """The LP lower bound on the number of members of any consortium over the ``eligible`` pairs, without
    ``max_members`` (hand-offs left out: they cost money, not members); ``None`` when not solved within
    ``time_limit_s``."""
    pairs = {p.key: p for ps in eligible.values() for p in ps}
    return _relaxation(problem, pairs, with_members=True, minimise_members=True, time_limit_s=time_limit_s)


def _relaxation(
    problem: Problem,
    pairs: Mapping[Key, PairData],
    *,
    with_members: bool,
    minimise_members: bool,
    time_limit_s: float | None = None,
) -> float | None:
    from ortools.linear_solver import pywraplp

    t0 = time.perf_counter()
    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:
        return None
    pol = problem.policy
    objective: list[tuple[Any, float]] = []

    def row(terms: Iterable[tuple[Any, float]], lo: float, hi: float) -> None:
        ct = lp.Constraint(lo, hi)
        for var, coef in terms:
            ct.SetCoefficient(var, ct.GetCoefficient(var) + coef)

    inf = lp.infinity()
    use = {k: lp.NumVar(0.0, 1.0, "") for k in pairs}
    qty = {k: lp.NumVar(0.0, float(p.max_qty), "") for k, p in pairs.items()}
    for k, fa in problem.fixed_by_pair.items():
        if k in pairs:  # a fixed pair is used with its quantity
            use[k].SetLb(1.0)
            qty[k].SetBounds(float(fa.quantity), float(fa.quantity))
    by_package: dict[str, list[Key]] = defaultdict(list)
    hours: dict[tuple[str, str], list[tuple[Any, float]]] = defaultdict(list)
    free: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for key, pair in pairs.items():
        pkg = pair.package
        by_package[pkg.id].append(key)
        u, q = use[key], qty[key]
        can = min(pair.max_qty, pair.unit_capacity)
        if pkg.splittable:
            row([(q, 1.0), (u, -float(can))], -inf, 0.0)
            row([(q, 1.0), (u, -float(pkg.min_lot))], 0.0, inf)
        else:
            row([(q, 1.0), (u, -float(pkg.quantity))], 0.0, 0.0)
        bucket = (pair.factory.id, pkg.process)
        hours[bucket] += [(u, float(pair.setup_exact)), (q, float(pair.unit_exact))]
        free[bucket].update(pair.weeks)
        objective += [(q, float(pair.offer.unit_price)), (u, float(pair.offer.setup_cost))]
    for pkg in problem.packages:
        row([(qty[k], 1.0) for k in by_package[pkg.id]], float(pkg.quantity), float(pkg.quantity))
    for bucket, terms in hours.items():
        row(terms, -inf, float(sum(free[bucket].values())))
    for pkgs in problem.lines.values():
        for prev, nxt in pairwise(pkgs):
            if not minimise_members:
                _hand_offs(problem, lp, row, objective, qty, by_package[prev.id], by_package[nxt.id])
    members = _members(problem, lp, row, objective, use, cap=not minimise_members) if with_members else {}
    if minimise_members:
        objective = [(m, 1.0) for m in members.values()]
    elif pol.preset == "balanced":
        per_member = balanced_weights(problem)[1]
        objective += [(m, float(per_member)) for m in members.values()]
    goal = lp.Objective()
    for var, coef in objective:
        goal.SetCoefficient(var, goal.GetCoefficient(var) + coef)
    goal.SetMinimization()
    if time_limit_s is not None:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            return None
        lp.SetTimeLimit(max(1, int(1000 * left)))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return float(goal.Value())


def _hand_offs(
    problem: Problem,
    lp: Any,
    row: Any,
    objective: list[tuple[Any, float]],
    qty: dict[Key, Any],
    prev: list[Key],
    nxt: list[Key],
) -> None:
    """Transport between two consecutive operations as a transportation problem over their shares."""
    if not prev or not nxt:
        return
    flows: dict[tuple[Key, Key], Any] = {}
    for k1 in prev:
        for k2 in nxt:
            cost = problem.transport_between(k1[0], k2[0])[1]
            flow = lp.NumVar(0.0, 1.0, "")
            flows[k1, k2] = flow
            if cost:
                objective.append((flow, float(cost)))
    size_prev = float(problem.package_by_id[prev[0][1]].quantity)
    size_nxt = float(problem.package_by_id[nxt[0][1]].quantity)
    for k1 in prev:
        row([*((flows[k1, k2], 1.0) for k2 in nxt), (qty[k1], -1.0 / size_prev)], 0.0, 0.0)
    for k2 in nxt:
        row([*((flows[k1, k2], 1.0) for k1 in prev), (qty[k2], -1.0 / size_nxt)], 0.0, 0.0)


def _members(
    problem: Problem, lp: Any, row: Any, objective: list[tuple[Any, float]], use: dict[Key, Any], *, cap: bool
) -> dict[str, Any]:
    """Member shares ``m ≥ u`` with the coordination cost, cohesion and the policy's member rules."""
    pol = problem.policy
    members: dict[str, Any] = {}
    for f, _ in use:
        if f not in members:
            members[f] = lp.NumVar(0.0, 1.0, "")
    for (f, _), u in use.items():
        row([(members[f], 1.0), (u, -1.0)], 0.0, lp.infinity())
    objective += [(m, float(pol.coordination_cost)) for m in members.values()]
    for (fa, fb), bonus in cohesion_bonuses(problem).items():
        if fa in members and fb in members:
            together = lp.NumVar(0.0, 1.0, "")
            row([(together, 1.0), (members[fa], -1.0)], -lp.infinity(), 0.0)
            row([(together, 1.0), (members[fb], -1.0)], -lp.infinity(), 0.0)
            objective.append((together, -float(bonus)))
    every = [(m, 1.0) for m in members.values()]
    if pol.max_members is not None and cap:
        row(every, -lp.infinity(), float(pol.max_members))
    if pol.min_members is not None:
        row(every, float(pol.min_members), lp.infinity())
    for f in pol.pinned:
        if f in members:
            row([(members[f], 1.0)], 1.0, 1.0)
    if pol.lead_certification is not None:
        lead = pol.lead_certification
        certified = [(m, 1.0) for f, m in members.items() if lead in problem.factory_by_id[f].certifications]
        row(certified, 1.0, lp.infinity())
    return members
