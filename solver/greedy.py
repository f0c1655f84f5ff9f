"""A greedy first consortium, used to hint CP-SAT (time to first solution decides everything at scale).

Lines are planned earliest due first; each operation goes to its cheapest candidates, each starting when
every factory of the previous operation has shipped (plus transport days), booking free hours week by week
and respecting lots, offer limits, durations and the due date. The plan may leave a package short; the
hint is then partial and CP-SAT completes it. Policy rules (members, shares…) are not considered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from solver.eligibility import PairData
from solver.model import Built
from solver.problem import Problem

__all__ = ["Planned", "greedy_plan", "hint_plan", "hint_quantities"]

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
    if room_mh < pair.setup_mh:
        return 0
    can = pair.max_qty if pair.unit_mh == 0 else min(pair.max_qty, (room_mh - pair.setup_mh) // pair.unit_mh)
    take = min(todo, can)
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
    horizon = 7 * problem.horizon_weeks
    soft = problem.policy.lateness_penalty_per_day is not None

    def due_of(line: str) -> int:
        dues = [p.due_day for p in problem.lines[line] if p.due_day is not None]
        return horizon if soft or not dues else max(dues)

    for line in sorted(problem.lines, key=lambda ln: (due_of(ln), ln)):
        pkgs = problem.lines[line]
        line_due = due_of(line)
        prev: list[tuple[str, int]] = []
        for n, pkg in enumerate(pkgs):
            latest = line_due - (len(pkgs) - 1 - n) if scheduled else horizon
            todo = pkg.quantity
            done: list[tuple[str, int]] = []
            for pair in candidates.get(pkg.id, ()):
                if todo == 0:
                    break
                f = pair.factory.id
                start = max(
                    [pair.offer.earliest_start_day]
                    + [e + problem.transport_between(pf, f)[0] for pf, e in prev]
                )
                weeks = (
                    [w for w, _ in pair.weeks if 7 * w + 6 >= start and 7 * w < latest]
                    if scheduled
                    else [w for w, _ in pair.weeks]
                )
                room = sum(left[f, pkg.process, w] for w in weeks)
                take = _take(pair, todo, room)
                if take == 0:
                    continue
                need = pair.setup_mh + pair.unit_mh * take
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
            prev = done
    return plan


def hint_quantities(b: Built, quantities: Mapping[Key, int]) -> None:
    """Hint used literals and quantities only."""
    for key, u in b.u.items():
        qty = quantities.get(key, 0)
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
    used = set(plan)
    members = {f for f, _ in used}
    for f, m in b.member.items():
        model.add_hint(m, f in members)
    for (f1, p1, f2, p2), x in b.handoff.items():
        model.add_hint(x, (f1, p1) in used and (f2, p2) in used)
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
    if b.makespan is not None:
        model.add_hint(b.makespan, max(ends.values(), default=0))
