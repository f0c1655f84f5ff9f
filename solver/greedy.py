"""A greedy first consortium, used to hint CP-SAT (time to first solution decides everything at scale).

Lines are planned earliest due first; each operation goes to the candidates of least marginal cost per
unit (price, plus setup, the coordination cost of a factory not yet a member and transport from the
previous operation's factories, spread over what the candidate can take), each starting when every factory
of the previous operation has shipped (plus transport days), booking free hours week by week and
respecting lots, offer limits, durations and the due date. A line that does not fit is planned again with
per-operation deadlines paced over the time left, then with the candidates that finish first; the plan
that leaves the fewest units short is kept. A short plan gives a partial hint that CP-SAT completes.
Policy rules (member counts, shares, pins…) are not considered. Fixed assignments come first, with their
quantities and pinned days, whether or not their hours fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from solver.eligibility import PairData
from solver.model import Built
from solver.problem import FixedAssignment, Problem, WorkPackage

__all__ = ["Planned", "few_member_plan", "greedy_plan", "hint_plan", "hint_quantities", "members_needed"]

Key = tuple[str, str]


@dataclass
class Planned:
    """One planned pair: quantity, days ``[start, end)`` and booked thousandths of hours per week."""

    quantity: int
    start: int = 0
    end: int = 0
    hours: dict[int, int] = field(default_factory=dict)


def _take(pair: PairData, todo: int, room_mh: int) -> int:
    """Units ``pair`` should take of ``todo`` given ``room_mh`` free hours (0 if it cannot take a lot)."""
    pkg = pair.package
    take = min(todo, pair.units_within(room_mh))
    if not pkg.splittable:
        return take if take == pkg.quantity else 0
    if 0 < todo - take < pkg.min_lot:
        take = todo - pkg.min_lot
    return take if take >= pkg.min_lot else 0


def greedy_plan(
    problem: Problem, candidates: Mapping[str, tuple[PairData, ...]], *, scheduled: bool
) -> dict[Key, Planned]:
    """A greedy plan over ``candidates`` (see module doc); without a schedule, capacity is one pool."""
    left: dict[tuple[str, str, int], int] = {}
    for pairs in candidates.values():
        for p in pairs:
            for w, cap in p.weeks:
                left[p.factory.id, p.package.process, w] = cap
    plan: dict[Key, Planned] = {}
    horizon = problem.horizon_day
    soft = problem.policy.lateness_penalty_per_day is not None

    def due_of(line: str) -> int:
        dues = [p.due_day for p in problem.lines[line] if p.due_day is not None]
        return horizon if soft or not dues else max(dues)

    members: set[str] = set()
    for line in sorted(problem.lines, key=lambda ln: (due_of(ln), ln)):
        best: tuple[int, dict[Key, Planned], dict[tuple[str, str, int], int]] | None = None
        for mode in _MODES if scheduled else ("cheap",):
            trial = dict(left)
            got, short = _plan_line(
                problem, candidates, problem.lines[line], due_of(line), trial, mode, scheduled, members
            )
            if best is None or short < best[0]:
                best = (short, got, trial)
            if short == 0:
                break
        assert best is not None
        plan.update(best[1])
        members.update(f for f, _ in best[1])
        left = best[2]
    return plan


_MODES = ("cheap", "paced", "fast")
FEW_MEMBER_ROUNDS = 4  # a few-member plan left short adds factories for its short packages this often
DROP_MAX_PLANS = 60  # re-plans the member-dropping local search may try


def members_needed(candidates: Mapping[str, tuple[PairData, ...]]) -> int:
    """A lower bound on the members of any consortium over ``candidates``, from coverage alone: the largest,
    over packages, of the fewest candidates whose free hours could make its whole quantity."""
    bound = 0
    for pairs in candidates.values():
        if not pairs:
            continue
        qty = pairs[0].package.quantity
        made, count = 0, 0
        for units in sorted((p.unit_capacity for p in pairs), reverse=True):
            if made >= qty:
                break
            made += units
            count += 1
        bound = max(bound, count)
    return bound


def few_member_plan(
    problem: Problem, candidates: Mapping[str, tuple[PairData, ...]], *, scheduled: bool, cap: int
) -> dict[Key, Planned] | None:
    """A complete greedy plan with at most ``cap`` members, or ``None`` if this heuristic finds none.

    Factories are chosen one by one by the share of the still uncovered packages' quantities they could
    make (free hours and offer limits; a greedy set cover), then :func:`greedy_plan` runs over the chosen
    factories only. Packages it leaves short bring in their largest remaining candidate, a few rounds.
    Then members are dropped one at a time while the others can still cover everything.
    """
    remaining = {pid: pairs[0].package.quantity for pid, pairs in candidates.items() if pairs}
    by_factory: dict[str, list[PairData]] = {}
    for pairs in candidates.values():
        for p in pairs:
            by_factory.setdefault(p.factory.id, []).append(p)
    # factories with fixed assignments are members anyway
    chosen: set[str] = {f for f in problem.fixed_factories if f in by_factory}
    for f in sorted(chosen):
        for p in by_factory[f]:
            remaining[p.package.id] = max(0, remaining[p.package.id] - p.unit_capacity)
    while any(left > 0 for left in remaining.values()) and len(chosen) < cap:

        def covered(f: str) -> float:
            return sum(
                min(remaining[p.package.id], p.unit_capacity) / p.package.quantity for p in by_factory[f]
            )

        best = max((f for f in by_factory if f not in chosen), key=lambda f: (covered(f), f), default=None)
        if best is None or covered(best) <= 0:
            return None
        chosen.add(best)
        for p in by_factory[best]:
            remaining[p.package.id] = max(0, remaining[p.package.id] - p.unit_capacity)
    plan = _plan_over(problem, candidates, chosen, scheduled=scheduled)
    for _ in range(FEW_MEMBER_ROUNDS):
        if plan is not None:
            break
        for pid in _short(
            problem, candidates, greedy_plan(problem, _only(candidates, chosen), scheduled=scheduled)
        ):
            extra = max(
                (p for p in candidates[pid] if p.factory.id not in chosen),
                key=lambda p: (p.unit_capacity, p.factory.id),
                default=None,
            )
            if extra is not None:
                chosen.add(extra.factory.id)
        plan = _plan_over(problem, candidates, chosen, scheduled=scheduled)
    if plan is None:
        return None
    plan = _drop_members(problem, candidates, plan, scheduled=scheduled)
    return plan if len({f for f, _ in plan}) <= cap else None


def _only(
    candidates: Mapping[str, tuple[PairData, ...]], factories: set[str]
) -> dict[str, tuple[PairData, ...]]:
    return {pid: tuple(p for p in pairs if p.factory.id in factories) for pid, pairs in candidates.items()}


def _short(
    problem: Problem, candidates: Mapping[str, tuple[PairData, ...]], plan: Mapping[Key, Planned]
) -> list[str]:
    """Packages ``plan`` does not cover fully."""
    made: dict[str, int] = {}
    for (_, pid), planned in plan.items():
        made[pid] = made.get(pid, 0) + planned.quantity
    return [pid for pid in candidates if made.get(pid, 0) < problem.package_by_id[pid].quantity]


def _plan_over(
    problem: Problem, candidates: Mapping[str, tuple[PairData, ...]], factories: set[str], *, scheduled: bool
) -> dict[Key, Planned] | None:
    """The greedy plan over ``factories`` only, if it covers every package."""
    plan = greedy_plan(problem, _only(candidates, factories), scheduled=scheduled)
    return None if _short(problem, candidates, plan) else plan


def _drop_members(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    plan: dict[Key, Planned],
    *,
    scheduled: bool,
) -> dict[Key, Planned]:
    """Local search on the members: drop one (fewest units first) and re-plan over the rest; keep the first
    complete re-plan and start again, until no single member can go (at most ``DROP_MAX_PLANS`` re-plans)."""
    plans = 0
    while plans < DROP_MAX_PLANS:
        units: dict[str, int] = {}
        for (f, _), planned in plan.items():
            units[f] = units.get(f, 0) + planned.quantity
        for f in sorted(units, key=lambda g: (units[g], g)):
            if f in problem.fixed_factories:
                continue  # a member anyway
            plans += 1
            smaller = _plan_over(problem, candidates, set(units) - {f}, scheduled=scheduled)
            if smaller is not None:
                plan = smaller
                break
            if plans >= DROP_MAX_PLANS:
                return plan
        else:
            return plan
    return plan


def _plan_line(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    pkgs: tuple[WorkPackage, ...],
    line_due: int,
    left: dict[tuple[str, str, int], int],
    mode: str,
    scheduled: bool,
    members: set[str],
) -> tuple[dict[Key, Planned], int]:
    """Plan one line's operations in order, booking ``left``; returns the plan and the units left short.

    ``cheap``: cheapest candidates first, each operation may use the time up to the line's due date less
    a day per later operation; ``paced``: the same, but operation k must end by its share of the time
    left; ``fast``: the candidates that would finish first, first.
    """
    horizon = problem.horizon_day
    plan: dict[Key, Planned] = {}
    short = 0
    prev: list[tuple[str, int]] = []
    for n, pkg in enumerate(pkgs):
        latest = line_due - (len(pkgs) - 1 - n) if scheduled else horizon
        if mode == "paced" and scheduled:
            begin = max((e for _, e in prev), default=0)
            share = (line_due - begin) / (len(pkgs) - n)
            latest = min(latest, max(begin + 1, int(begin + share)))
        todo = pkg.quantity
        done: list[tuple[str, int]] = []
        options = []
        for pair in candidates.get(pkg.id, ()):
            f = pair.factory.id
            start = max(
                [pair.offer.earliest_start_day] + [e + problem.transport_between(pf, f)[0] for pf, e in prev]
            )
            options.append((pair, start))
        if mode == "fast":
            options.sort(key=lambda o: (_finish(o[0], o[1], o[0].package.quantity, left), o[0].est_unit_cost))
        else:
            options.sort(key=lambda o: _marginal(problem, o[0], todo, prev, members | {f for f, _ in done}))
        # Fixed pairs first, whatever they cost, with their quantity (and pinned days).
        options.sort(key=lambda o: o[0].key not in problem.fixed_by_pair)
        for pair, start in options:
            if todo == 0:
                break
            f = pair.factory.id
            fa = problem.fixed_by_pair.get(pair.key)
            if fa is not None:
                _place_fixed(problem, pair, fa, start, left, plan, scheduled=scheduled)
                done.append((f, plan[pair.key].end))
                todo -= fa.quantity
                continue
            weeks = (
                [w for w, _ in pair.weeks if 7 * w + 6 >= start and 7 * w < latest]
                if scheduled
                else [w for w, _ in pair.weeks]
            )
            room = sum(left[f, pkg.process, w] for w in weeks)
            take = _take(pair, todo, room)
            if take == 0:
                continue
            need = pair.need_mh(take)
            book: dict[int, int] = {}
            rest = need
            for w in weeks:
                x = min(rest, left[f, pkg.process, w])
                if x > 0:
                    book[w] = x
                    rest -= x
                if rest == 0:
                    break
            end = start + 1
            if scheduled and book:
                end = max(end, 7 * max(book) + 1)
                if pair.rate_mh > 0:
                    end = max(end, start + math.ceil(7 * need / pair.rate_mh))
                if end > latest:
                    continue
            for w, x in book.items():
                left[f, pkg.process, w] -= x
            plan[f, pkg.id] = Planned(take, start, end, book)
            done.append((f, end))
            todo -= take
        short += todo
        prev = done
    return plan, short


def _place_fixed(
    problem: Problem,
    pair: PairData,
    fa: FixedAssignment,
    start: int,
    left: dict[tuple[str, str, int], int],
    plan: dict[Key, Planned],
    *,
    scheduled: bool,
) -> None:
    """Plan a fixed pair: its quantity from ``start`` (its pinned days if any), booking the free hours
    there are (a fixed share that does not fit stays in the plan: a hint only, CP-SAT decides)."""
    f, process = pair.factory.id, pair.package.process
    pinned = fa.start_day is not None and fa.end_day is not None
    if pinned and fa.start_day is not None:
        start = fa.start_day
    weeks = [w for w, _ in pair.weeks if 7 * w + 6 >= start] if scheduled else [w for w, _ in pair.weeks]
    need = pair.need_mh(fa.quantity)
    book: dict[int, int] = {}
    rest = need
    for w in weeks:
        x = min(rest, left[f, process, w])
        if x > 0:
            book[w] = x
            rest -= x
        if rest == 0:
            break
    for w, x in book.items():
        left[f, process, w] -= x
    end = start + 1
    if scheduled and book:
        end = max(end, 7 * max(book) + 1)
    if scheduled and pair.rate_mh > 0:
        end = max(end, start + math.ceil(7 * need / pair.rate_mh))
    if pinned and fa.end_day is not None:
        end = fa.end_day
    plan[pair.key] = Planned(fa.quantity, start, end, book)


def _marginal(
    problem: Problem, pair: PairData, todo: int, prev: list[tuple[str, int]], members: set[str]
) -> float:
    """Estimated cost per unit of giving ``pair`` what it can take of ``todo`` units: price, setup,
    coordination if the factory is not a member yet, and transport from the previous operation."""
    f = pair.factory.id
    fixed = pair.offer.setup_cost + sum(problem.transport_between(pf, f)[1] for pf, _ in prev)
    if f not in members:
        fixed += problem.policy.coordination_cost
    units = max(1, min(todo, pair.unit_capacity))
    return pair.offer.unit_price + fixed / units


def _finish(pair: PairData, start: int, qty: int, left: Mapping[tuple[str, str, int], int]) -> int:
    """The day ``pair`` would finish ``qty`` units (or as many as fit) starting on ``start``."""
    need = pair.need_mh(min(qty, pair.max_qty))
    rest = need
    last = start // 7
    for w, _ in pair.weeks:
        if 7 * w + 6 < start:
            continue
        rest -= left.get((pair.factory.id, pair.package.process, w), 0)
        last = w
        if rest <= 0:
            break
    end = max(start + 1, 7 * last + 1)
    if pair.rate_mh > 0:
        end = max(end, start + math.ceil(7 * need / pair.rate_mh))
    return end + (1000 if rest > 0 else 0)


def hint_quantities(b: Built, quantities: Mapping[Key, int]) -> None:
    """Hint used literals and quantities only (fixed pairs with their fixed quantity)."""
    for key, u in b.u.items():
        fixed = b.fixed.get(key)
        qty = fixed.quantity if fixed is not None else quantities.get(key, 0)
        b.model.add_hint(u, qty > 0)
        if key in b.q_var:
            b.model.add_hint(b.q_var[key], qty)


def hint_plan(problem: Problem, b: Built, plan: Mapping[Key, Planned]) -> None:
    """Hint every variable of ``b`` from ``plan`` (a complete hint when the plan is complete)."""
    model = b.model
    hint_quantities(b, {k: p.quantity for k, p in plan.items()})
    if b.scheduled:
        for key, s in b.start.items():
            p = plan.get(key)
            lo = b.pairs[key].offer.earliest_start_day
            model.add_hint(s, p.start if p else lo)
            model.add_hint(b.end[key], p.end if p else lo + 1)
        for (f, pid, w), h in b.hours.items():
            p = plan.get((f, pid))
            booked = p.hours.get(w, 0) if p else 0
            model.add_hint(h, booked)
            model.add_hint(b.active[f, pid, w], booked > 0)
    for key, need in b.need.items():
        if isinstance(need, cp_model.IntVar):  # a rounded-up need (see solver.model.hours_expr)
            p = plan.get(key)
            model.add_hint(need, b.pairs[key].need_mh(p.quantity) if p else 0)
    used = set(plan)
    members = {f for f, _ in used}
    for f, m in b.member.items():
        model.add_hint(m, f in members)
    _hint_routing(problem, b, plan)
    ends: dict[str, int] = {}
    for line, pkgs in problem.lines.items():
        last = [p.end for (_, pid), p in plan.items() if pid == pkgs[-1].id]
        ends[line] = max(last, default=0)
        if line in b.line_end:
            model.add_hint(b.line_end[line], ends[line])
        if line in b.late:
            lateness = 0
            for pkg in pkgs:
                if pkg.due_day is not None:
                    for (_, pid), p in plan.items():
                        if pid == pkg.id:
                            lateness = max(lateness, p.end - pkg.due_day)
            model.add_hint(b.late[line], lateness)
    for (fa, fb), t in b.together.items():
        model.add_hint(t, fa in members and fb in members)
    if b.production_total is not None:
        value = sum(b.pairs[k].offer.unit_price * p.quantity for k, p in plan.items() if k in b.pairs)
        model.add_hint(b.production_total, value)
    if b.makespan is not None:
        model.add_hint(b.makespan, max(ends.values(), default=0))


def _hint_routing(problem: Problem, b: Built, plan: Mapping[Key, Planned]) -> None:
    """Hint the routing's ready days and transport costs from ``plan``."""
    nxt_of: dict[str, str] = {}
    for pkgs in problem.lines.values():
        for k in range(len(pkgs) - 1):
            nxt_of[pkgs[k].id] = pkgs[k + 1].id
    by_package: dict[str, list[str]] = {}
    for f, pid in plan:
        by_package.setdefault(pid, []).append(f)
    for (f, pid), t in b.transport.items():
        cost = 0
        if (f, pid) in plan:
            cost = sum(problem.transport_between(f, g)[1] for g in by_package.get(nxt_of[pid], ()))
        b.model.add_hint(t, cost)
    if not b.ready or b.prefecture_days is None:
        return
    prev_of = {v: k for k, v in nxt_of.items()}
    for (pid, prefecture), ready in b.ready.items():
        lo = int(ready.proto.domain[0])
        value = lo
        for f in by_package.get(prev_of[pid], ()):
            days = b.prefecture_days(problem.factory_by_id[f].prefecture, prefecture)
            value = max(value, plan[f, prev_of[pid]].end + days)
        b.model.add_hint(ready, value)
