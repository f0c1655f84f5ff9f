"""An independent check of a solution: every constraint and cost term recomputed without CP-SAT."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

from solver.objective import balanced_weights, cohesion_bonuses
from solver.problem import Problem
from solver.solution import Assignment, CostBreakdown, Solution

__all__ = ["expected_costs", "verify"]

EPS = 1e-6


def verify(problem: Problem, solution: Solution) -> list[str]:
    """Return every violated constraint or inconsistent figure of ``solution`` (empty when valid)."""
    if solution.status in ("infeasible", "unknown"):
        out = []
        if solution.assignments:
            out.append(f"status {solution.status} but {len(solution.assignments)} assignment(s)")
        if solution.status == "infeasible" and (
            solution.explanation is None or not solution.explanation.summary
        ):
            out.append("infeasible without an explanation")
        return out
    v: list[str] = []
    by_pair: dict[tuple[str, str], Assignment] = {}
    for a in solution.assignments:
        _check_assignment(problem, a, by_pair, v)
    _check_coverage(problem, by_pair, v)
    _check_capacity(problem, by_pair, v)
    _check_routing(problem, by_pair, v)
    _check_policy(problem, solution, by_pair, v)
    _check_fixed(problem, by_pair, v)
    _check_figures(problem, solution, by_pair, v)
    return v


def _check_assignment(
    problem: Problem, a: Assignment, by_pair: dict[tuple[str, str], Assignment], v: list[str]
) -> None:
    at = f"assignment {a.factory}/{a.package}"
    factory = problem.factory_by_id.get(a.factory)
    pkg = problem.package_by_id.get(a.package)
    offer = problem.offer_by_pair.get((a.factory, a.package))
    if factory is None or pkg is None or offer is None:
        v.append(f"{at}: no such factory, package or offer")
        return
    if (a.factory, a.package) in by_pair:
        v.append(f"{at}: listed twice")
    by_pair[a.factory, a.package] = a
    pol = problem.policy
    if a.factory in pol.excluded:
        v.append(f"{at}: factory is excluded")
    if not pkg.required_certifications <= factory.certifications:
        v.append(f"{at}: factory lacks {sorted(pkg.required_certifications - factory.certifications)}")
    if a.quantity < 1:
        v.append(f"{at}: quantity {a.quantity} < 1")
    if a.quantity < pkg.min_lot:
        v.append(f"{at}: quantity {a.quantity} below minimum lot {pkg.min_lot}")
    if offer.max_quantity is not None and a.quantity > offer.max_quantity:
        v.append(f"{at}: quantity {a.quantity} above the offer's maximum {offer.max_quantity}")
    if a.start_day < offer.earliest_start_day:
        v.append(f"{at}: starts day {a.start_day} before earliest start {offer.earliest_start_day}")
    if a.end_day <= a.start_day:
        v.append(f"{at}: ends day {a.end_day} not after its start {a.start_day}")
    if pol.lateness_penalty_per_day is None and pkg.due_day is not None and a.end_day > pkg.due_day:
        v.append(f"{at}: ends day {a.end_day} after due day {pkg.due_day}")
    need = offer.setup_hours + offer.hours_per_unit * a.quantity
    booked = sum(h for _, h in a.hours)
    if booked < need - EPS:
        v.append(f"{at}: {booked:.3f} h booked, {need:.3f} h needed")
    weeks = [w for w, _ in a.hours]
    if len(set(weeks)) != len(weeks):
        v.append(f"{at}: a week is listed twice in its hours")
    for w, h in a.hours:
        if h < -EPS:
            v.append(f"{at}: negative hours in week {w}")
        if h > EPS and not (a.start_day <= 7 * w + 6 and a.end_day >= 7 * w + 1):
            v.append(f"{at}: hours in week {w} outside its days [{a.start_day}, {a.end_day})")
    caps = problem.capacity_by_bucket.get((a.factory, pkg.process), {})
    rate = max(caps.values(), default=0.0)
    if need > EPS and (rate <= 0 or (a.end_day - a.start_day) * rate < 7 * need - EPS):
        v.append(f"{at}: {a.end_day - a.start_day} day(s) too short for {need:.3f} h at {rate:.3f} h/week")


def _check_coverage(problem: Problem, by_pair: dict[tuple[str, str], Assignment], v: list[str]) -> None:
    done: dict[str, list[Assignment]] = defaultdict(list)
    for (_, pid), a in by_pair.items():
        done[pid].append(a)
    for pkg in problem.packages:
        got = sum(a.quantity for a in done[pkg.id])
        if got != pkg.quantity:
            v.append(f"package {pkg.id}: {got} of {pkg.quantity} units assigned")
        if not pkg.splittable and len(done[pkg.id]) > 1:
            v.append(f"package {pkg.id}: unsplittable but split over {len(done[pkg.id])} factories")


def _check_capacity(problem: Problem, by_pair: dict[tuple[str, str], Assignment], v: list[str]) -> None:
    used: dict[tuple[str, str, int], float] = defaultdict(float)
    for (f, pid), a in by_pair.items():
        for w, h in a.hours:
            used[f, problem.package_by_id[pid].process, w] += h
    for (f, process, w), h in sorted(used.items()):
        cap = problem.capacity_by_bucket.get((f, process), {}).get(w, 0.0)
        if h > cap + EPS:
            v.append(f"capacity {f}/{process}/week {w}: {h:.3f} h booked, {cap:.3f} h free")


def _check_routing(problem: Problem, by_pair: dict[tuple[str, str], Assignment], v: list[str]) -> None:
    by_package: dict[str, list[Assignment]] = defaultdict(list)
    for (_, pid), a in by_pair.items():
        by_package[pid].append(a)
    for pkgs in problem.lines.values():
        for prev, nxt in pairwise(pkgs):
            for a in by_package[prev.id]:
                for b in by_package[nxt.id]:
                    days, _ = problem.transport_between(a.factory, b.factory)
                    if b.start_day < a.end_day + days:
                        v.append(
                            f"routing {prev.id}->{nxt.id}: {b.factory} starts day {b.start_day}, before "
                            f"{a.factory}'s output (day {a.end_day}) plus {days} transport day(s)"
                        )


def _check_fixed(problem: Problem, by_pair: dict[tuple[str, str], Assignment], v: list[str]) -> None:
    """Every fixed assignment is in the solution with its quantity, and its days when pinned."""
    for fa in problem.fixed:
        at = f"fixed assignment {fa.factory}/{fa.package}"
        a = by_pair.get(fa.key)
        if a is None:
            v.append(f"{at}: not in the solution")
            continue
        if a.quantity != fa.quantity:
            v.append(f"{at}: quantity {a.quantity}, fixed at {fa.quantity}")
        pinned = (fa.start_day, fa.end_day)
        if fa.pinned_days and (a.start_day, a.end_day) != pinned:
            v.append(f"{at}: days [{a.start_day}, {a.end_day}), pinned at [{fa.start_day}, {fa.end_day})")


def _production_by_factory(problem: Problem, by_pair: dict[tuple[str, str], Assignment]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for (f, pid), a in by_pair.items():
        out[f] += problem.offer_by_pair[f, pid].unit_price * a.quantity
    return out


def _check_policy(
    problem: Problem, solution: Solution, by_pair: dict[tuple[str, str], Assignment], v: list[str]
) -> None:
    pol = problem.policy
    members = {f for f, _ in by_pair}
    if pol.max_members is not None and len(members) > pol.max_members:
        v.append(f"policy: {len(members)} members, at most {pol.max_members} allowed")
    if pol.min_members is not None and len(members) < pol.min_members:
        v.append(f"policy: {len(members)} members, at least {pol.min_members} required")
    for f in sorted(pol.pinned - members):
        v.append(f"policy: pinned factory {f} is not a member")
    if pol.lead_certification is not None:
        lead = solution.lead
        if lead not in members or pol.lead_certification not in problem.factory_by_id[lead].certifications:
            v.append(f"policy: lead {lead} is not a member holding {pol.lead_certification}")
    elif solution.lead is not None and solution.lead not in members:
        # Without a lead certification the lead is informational: null is accepted (docs/solver-format.md).
        v.append(f"lead {solution.lead} is not a member")
    if pol.max_share is not None:
        prod = _production_by_factory(problem, by_pair)
        total = sum(prod.values())
        for f, value in sorted(prod.items()):
            if value > pol.max_share * total + EPS:
                v.append(
                    f"policy: {f} takes {value / max(total, 1):.1%} of production, max {pol.max_share:.1%}"
                )


def expected_costs(problem: Problem, assignments: list[Assignment] | tuple[Assignment, ...]) -> CostBreakdown:
    """The cost breakdown of a set of assignments, recomputed from the problem."""
    pol = problem.policy
    by_pair = {(a.factory, a.package): a for a in assignments}
    production = sum(problem.offer_by_pair[k].unit_price * a.quantity for k, a in by_pair.items())
    setup = sum(problem.offer_by_pair[k].setup_cost for k in by_pair)
    by_package: dict[str, list[Assignment]] = defaultdict(list)
    for a in by_pair.values():
        by_package[a.package].append(a)
    transport = 0
    lateness = 0
    for pkgs in problem.lines.values():
        for prev, nxt in pairwise(pkgs):
            for a in by_package[prev.id]:
                for b in by_package[nxt.id]:
                    transport += problem.transport_between(a.factory, b.factory)[1]
        if pol.lateness_penalty_per_day is not None:
            late = 0
            for p in pkgs:
                if p.due_day is not None:
                    for a in by_package[p.id]:
                        late = max(late, a.end_day - p.due_day)
            lateness += late * pol.lateness_penalty_per_day
    members = {a.factory for a in assignments}
    cohesion = -sum(bonus for (fa, fb), bonus in cohesion_bonuses(problem).items() if {fa, fb} <= members)
    return CostBreakdown(
        production=production,
        setup=setup,
        transport=transport,
        coordination=pol.coordination_cost * len(members),
        cohesion=cohesion,
        lateness=lateness,
    )


def _check_figures(
    problem: Problem, solution: Solution, by_pair: dict[tuple[str, str], Assignment], v: list[str]
) -> None:
    costs = expected_costs(problem, list(by_pair.values()))
    if solution.costs != costs:
        v.append(f"costs {solution.costs} differ from recomputed {costs}")
    members = tuple(sorted({f for f, _ in by_pair}))
    if tuple(sorted(solution.members)) != members:
        v.append(f"members {solution.members} differ from assigned factories {members}")
    completion: dict[str, int] = {}
    for line, pkgs in problem.lines.items():
        ends = [a.end_day for (_, pid), a in by_pair.items() if pid == pkgs[-1].id]
        if ends:
            completion[line] = max(ends)
    if solution.line_completion != completion:
        v.append(f"line completion {solution.line_completion} differs from recomputed {completion}")
    overall = max(completion.values(), default=None)
    if solution.completion_day != overall:
        v.append(f"completion day {solution.completion_day} differs from recomputed {overall}")
    expected = float(costs.total)
    if problem.policy.preset == "balanced":
        per_day, per_member = balanced_weights(problem)
        expected += per_day * (overall or 0) + per_member * len(members)
    if solution.objective is None or abs(solution.objective - expected) > 0.5:
        v.append(f"objective {solution.objective} differs from recomputed {expected}")
    if (
        solution.bound is not None
        and solution.objective is not None
        and solution.bound > solution.objective + 0.5
    ):
        v.append(f"bound {solution.bound} above objective {solution.objective}")
