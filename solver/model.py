"""The CP-SAT model of a consortium over the candidate pairs (see ``docs/solver-format.md``, "Model").

Two shapes:

* **scheduled** (due dates, routings of several operations, several capacity weeks, fixed assignments
  with pinned days, or a time-based preset): per pair a used literal ``u``, a quantity ``q``, start/end
  days ``s``/``e``, and per week of its window booked hours ``h`` with an "active" literal ``a``; per
  operation and prefecture a ``ready`` day and per pair a ``transport`` cost towards the next operation
  (see :func:`_routing`: both grow with the candidates, not with their square);
* **assignment** (no due dates, single-operation lines, one capacity week, ``cheapest`` or
  ``fewest_members``): per pair only ``u`` (and ``q`` when splittable) with one linear capacity row per
  factory and process — for a GAP instance exactly the textbook assignment model.

Fixed assignments (``Problem.fixed``) are fixed by domains: used literal 1, quantity and pinned days single
values (:func:`pin`); a fixed pair missing from the candidates makes the model infeasible.

With ``explain=True`` every constraint group that a coordinator could relax (a package's coverage, a
factory's capacity in a week, a line's due date, each policy rule) is enforced by its own literal, to be
passed as assumptions (see :mod:`solver.explain`); there is then no objective.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from ortools.sat.python import cp_model

from solver.eligibility import PairData
from solver.objective import cohesion_bonuses
from solver.problem import FixedAssignment, Problem

__all__ = ["Built", "Group", "build_model", "hours_expr", "needs_schedule"]

Key = tuple[str, str]  # (factory id, package id)
Group = tuple[str, ...]  # ("cover", package) / ("capacity", factory, process, week) / ("due", line) / …

_GroupFn = Callable[..., cp_model.IntVar | None]

SHARE_SCALE = 1000  # max_share is applied in thousandths, rounded down


@dataclass
class Built:
    """A built model and its variables, keyed by readable tuples."""

    model: cp_model.CpModel
    scheduled: bool
    horizon_day: int
    pairs: dict[Key, PairData]
    u: dict[Key, cp_model.IntVar] = field(default_factory=dict)
    q: dict[Key, cp_model.LinearExpr] = field(default_factory=dict)
    q_var: dict[Key, cp_model.IntVar] = field(default_factory=dict)
    start: dict[Key, cp_model.IntVar] = field(default_factory=dict)
    end: dict[Key, cp_model.IntVar] = field(default_factory=dict)
    hours: dict[tuple[str, str, int], cp_model.IntVar] = field(default_factory=dict)
    need: dict[Key, cp_model.LinearExpr] = field(default_factory=dict)  # see hours_expr
    active: dict[tuple[str, str, int], cp_model.IntVar] = field(default_factory=dict)
    member: dict[str, cp_model.IntVar] = field(default_factory=dict)
    transport: dict[Key, cp_model.IntVar] = field(default_factory=dict)
    ready: dict[tuple[str, str], cp_model.IntVar] = field(default_factory=dict)
    prefecture_days: Callable[[str, str], int] | None = None  # transport days by prefectures
    together: dict[tuple[str, str], cp_model.IntVar] = field(default_factory=dict)
    line_end: dict[str, cp_model.IntVar] = field(default_factory=dict)
    late: dict[str, cp_model.IntVar] = field(default_factory=dict)
    makespan: cp_model.IntVar | None = None
    production_total: cp_model.IntVar | None = None  # only with a max_share rule
    costs: dict[str, cp_model.LinearExpr] = field(default_factory=dict)
    groups: dict[Group, cp_model.IntVar] = field(default_factory=dict)
    week0: int = 0
    fixed: dict[Key, FixedAssignment] = field(default_factory=dict)  # the problem's fixed pairs modelled

    @property
    def total_cost(self) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.sum(list(self.costs.values()))

    def members_count(self) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.sum(list(self.member.values()))


def needs_schedule(problem: Problem) -> bool:
    """Whether time matters; if not, the model is a plain assignment model (see module doc)."""
    if problem.policy.preset in ("fastest", "balanced"):
        return True
    if any(p.due_day is not None for p in problem.packages):
        return True
    if any(len(pkgs) > 1 for pkgs in problem.lines.values()):
        return True
    if any(fa.start_day is not None for fa in problem.fixed):
        return True  # pinned days
    weeks = {c.week for c in problem.capacity if c.hours > 0}
    if len(weeks) > 1:
        return True
    week0 = min(weeks, default=0)
    return any(o.earliest_start_day > 7 * week0 for o in problem.offers)


def needs_members(problem: Problem) -> bool:
    pol = problem.policy
    return bool(
        pol.max_members is not None
        or pol.min_members is not None
        or pol.coordination_cost
        or (pol.cohesion_bonus and problem.collaborations)
        or pol.pinned
        or pol.lead_certification is not None
        or pol.max_share is not None
        or pol.preset in ("fewest_members", "balanced")
    )


def build_model(
    problem: Problem,
    candidates: Mapping[str, tuple[PairData, ...]],
    *,
    explain: bool = False,
    with_members: bool = False,
    member_cap: bool = True,
) -> Built:
    """Build the model over ``candidates`` (package id → pairs). The caller sets the objective.

    ``member_cap=False`` leaves the policy's ``max_members`` out (the solve's member phase adds it later).
    """
    # Data
    pol = problem.policy
    scheduled = needs_schedule(problem)
    horizon_day = problem.horizon_day
    model = cp_model.CpModel()
    pairs = {p.key: p for ps in candidates.values() for p in ps}
    weeks = {c.week for c in problem.capacity if c.hours > 0}
    b = Built(model, scheduled, horizon_day, pairs, week0=min(weeks, default=0))
    hard_due = pol.lateness_penalty_per_day is None

    def group(*key: str | int) -> cp_model.IntVar | None:
        if not explain:
            return None
        name = tuple(str(k) for k in key)
        if name not in b.groups:
            b.groups[name] = model.new_bool_var("assume" + str(list(name)))
        return b.groups[name]

    # Variables
    for key, pair in pairs.items():
        f, pid = key
        pkg = pair.package
        u = model.new_bool_var(f"u[{f},{pid}]")
        b.u[key] = u
        if pkg.splittable:
            q = model.new_int_var(0, pair.max_qty, f"q[{f},{pid}]")
            b.q_var[key] = q
            b.q[key] = q
        else:
            b.q[key] = pkg.quantity * u

    # Fixed assignments: used, with exactly their quantity (domains, so every phase sees them fixed).
    for fa in problem.fixed:
        if fa.package not in candidates:
            continue  # a sub-model without the package (none is built today)
        lit = group("fixed", fa.factory, fa.package)
        if fa.key not in pairs:
            # the pair is not eligible (the pre-checks say why): no consortium keeps it
            impossible = model.add(cp_model.LinearExpr.sum([]) >= 1)
            if lit is not None:
                impossible.only_enforce_if(lit)
            continue
        b.fixed[fa.key] = fa
        pin(model, b.u[fa.key], 1, lit)
        if fa.key in b.q_var:
            pin(model, b.q_var[fa.key], fa.quantity, lit)

    # Constraints
    # A used pair takes at least the minimum lot and at most what the offer allows; an unused one nothing.
    for key, q in b.q_var.items():
        pair = pairs[key]
        model.add(q >= pair.package.min_lot * b.u[key])
        model.add(q <= pair.max_qty * b.u[key])

    # Every package's quantity is covered exactly; an unsplittable package goes to one factory.
    for pkg in problem.packages:
        keys = [(p.factory.id, pkg.id) for p in candidates.get(pkg.id, ())]
        lit = group("cover", pkg.id)
        if not pkg.splittable:
            us = [b.u[k] for k in keys]
            if lit is None:
                model.add_exactly_one(us)
            else:
                model.add(cp_model.LinearExpr.sum(us) == 1).only_enforce_if(lit)
        else:
            ct = model.add(cp_model.LinearExpr.sum([b.q[k] for k in keys]) == pkg.quantity)
            if lit is not None:
                ct.only_enforce_if(lit)

    if scheduled:
        _schedule(problem, b, explain=explain, hard_due=hard_due, group=group)
    else:
        _assignment_capacity(problem, b, explain=explain, group=group)

    if with_members or needs_members(problem):
        _members(problem, b, explain=explain, group=group, member_cap=member_cap)

    # Objective terms (the objective itself is set by the caller).
    b.costs["production"] = cp_model.LinearExpr.weighted_sum(
        [b.q[k] for k in pairs], [pairs[k].offer.unit_price for k in pairs]
    )
    b.costs["setup"] = cp_model.LinearExpr.weighted_sum(
        [b.u[k] for k in pairs], [pairs[k].offer.setup_cost for k in pairs]
    )
    return b


def pin(model: cp_model.CpModel, var: cp_model.IntVar, value: int, lit: cp_model.IntVar | None) -> None:
    """Fix ``var`` to ``value``: by its domain when ``value`` is in it (presolve or not, the variable is
    then a constant), by a constraint otherwise (the model is then infeasible), or, with an assumption
    literal ``lit`` (explanations), by a constraint it enforces."""
    if lit is not None:
        model.add(var == value).only_enforce_if(lit)
        return
    domain = model.proto.variables[var.index].domain
    bounds = list(domain)
    if any(lo <= value <= hi for lo, hi in zip(bounds[::2], bounds[1::2], strict=True)):
        domain.clear()
        domain.extend([value, value])
    else:
        model.add(var == value)


def hours_expr(b: Built, key: Key) -> cp_model.LinearExpr:
    """Thousandths of an hour the pair books: setup plus hours per unit × quantity, the total rounded up
    once (``solver/hours.py``). Exact figures need no rounding; an unsplittable package's total is a
    constant; otherwise an integer ``need`` with ``D·need - D·(S·u + U·q)`` in ``[0, D)`` is its ceiling."""
    cached = b.need.get(key)
    if cached is not None:
        return cached
    pair = b.pairs[key]
    u = b.u[key]
    setup, unit = pair.setup_exact, pair.unit_exact
    expr: cp_model.LinearExpr
    q = b.q_var.get(key)
    if q is None:
        expr = pair.need_mh(pair.package.quantity) * u
    elif setup.denominator == 1 and unit.denominator == 1:
        expr = int(setup) * u + int(unit) * q
    else:
        scale = math.lcm(setup.denominator, unit.denominator)
        exact = int(setup * scale) * u + int(unit * scale) * q
        need = b.model.new_int_var(0, pair.need_mh(pair.max_qty), f"need[{key[0]},{key[1]}]")
        b.model.add(scale * need >= exact)
        b.model.add(scale * need <= exact + scale - 1)
        expr = need
    b.need[key] = expr
    return expr


def _max_need(pair: PairData) -> int:
    return pair.need_mh(pair.max_qty)


def _assignment_capacity(problem: Problem, b: Built, *, explain: bool, group: _GroupFn) -> None:
    model = b.model
    # A factory's booked hours for a process (setup once per used pair) fit its free hours.
    buckets: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for key, pair in b.pairs.items():
        buckets[pair.factory.id, pair.package.process].append(key)
    for (f, process), keys in buckets.items():
        cap = dict(b.pairs[keys[0]].weeks).get(b.week0, 0)
        if not explain and sum(_max_need(b.pairs[k]) for k in keys) <= cap:
            continue
        ct = model.add(cp_model.LinearExpr.sum([hours_expr(b, k) for k in keys]) <= cap)
        lit = group("capacity", f, process, b.week0)
        if lit is not None:
            ct.only_enforce_if(lit)


def _schedule(problem: Problem, b: Built, *, explain: bool, hard_due: bool, group: _GroupFn) -> None:
    model = b.model
    horizon = b.horizon_day
    # Variables: start/end days of each pair, booked hours and an "active" literal per week of its window.
    new_int, new_bool, add = model.new_int_var, model.new_bool_var, model.add
    latest = problem.latest_end
    hours_vars, active_vars = b.hours, b.active
    for key, pair in b.pairs.items():
        f, pid = key
        due = latest[pid] if (hard_due and not explain) else None
        last_end = horizon if due is None else min(horizon, due)
        earliest = pair.offer.earliest_start_day
        s = new_int(earliest, max(earliest, last_end - 1), f"s[{f},{pid}]")
        e = new_int(earliest + 1, max(earliest + 1, last_end), f"e[{f},{pid}]")
        b.start[key], b.end[key] = s, e
        fa = b.fixed.get(key)
        if fa is not None and fa.start_day is not None and fa.end_day is not None:
            lit = group("fixed", f, pid)
            pin(model, s, fa.start_day, lit)
            pin(model, e, fa.end_day, lit)
        need = _max_need(pair)
        smallest = pair.package.min_lot if pair.package.splittable else pair.package.quantity
        if need == 0 or pair.rate_mh == 0 or pair.need_mh(smallest) == 0:
            # An assignment lasts at least one day (otherwise implied by its hours at the best rate).
            add(e >= s + 1)
        if need == 0:
            continue
        hs: list[cp_model.IntVar] = []
        for w, cap in pair.weeks:
            if due is not None and 7 * w >= due:
                break  # weeks are sorted
            top = cap if cap < need else need
            h = new_int(0, top, f"h[{f},{pid},{w}]")
            a = new_bool(f"a[{f},{pid},{w}]")
            hours_vars[f, pid, w] = h
            active_vars[f, pid, w] = a
            hs.append(h)
            # Hours are booked only in weeks the work occupies (an unused pair books none: see below).
            add(h <= (need if explain else top) * a)
            add(s <= 7 * w + 6).only_enforce_if(a)
            add(e >= 7 * w + 1).only_enforce_if(a)
        # Setup hours plus hours per unit × quantity are booked, spread over the occupied weeks.
        hours = hours_expr(b, key)
        add(cp_model.LinearExpr.sum(hs) == hours)
        # The work lasts at least its hours at the factory's best weekly rate for that process.
        if pair.rate_mh > 0:
            add(pair.rate_mh * (e - s) >= 7 * hours)

    # Capacity: a factory's booked hours per process and week fit its free hours.
    buckets: dict[tuple[str, str, int], list[cp_model.IntVar]] = defaultdict(list)
    caps: dict[tuple[str, str, int], int] = {}
    for (f, pid, w), h in b.hours.items():
        process = b.pairs[f, pid].package.process
        buckets[f, process, w].append(h)
    for key, pair in b.pairs.items():
        for w, cap in pair.weeks:
            caps[key[0], pair.package.process, w] = cap
    for (f, process, w), hs in buckets.items():
        cap = caps[f, process, w]
        if not explain and len(hs) == 1:
            continue  # already bounded by the hours variable's domain
        ct = model.add(cp_model.LinearExpr.sum(hs) <= cap)
        lit = group("capacity", f, process, w)
        if lit is not None:
            ct.only_enforce_if(lit)

    by_package: dict[str, list[Key]] = defaultdict(list)
    for key in b.pairs:
        by_package[key[1]].append(key)
    days_between = b.prefecture_days = _prefecture_days(problem)
    for pkgs in problem.lines.values():
        for prev, nxt in pairwise(pkgs):
            _routing(problem, b, by_package[prev.id], by_package[nxt.id], days_between)
    b.costs["transport"] = cp_model.LinearExpr.weighted_sum(
        list(b.transport.values()), [1] * len(b.transport)
    )

    # Due dates: a line's packages end by their due day (hard), or the line pays per day late (soft).
    pol = problem.policy
    for line, pkgs in problem.lines.items():
        dued = [p for p in pkgs if p.due_day is not None]
        if not dued:
            continue
        if hard_due:
            if not explain:
                continue  # applied through the end variables' domains
            lit = group("due", line)
            assert lit is not None
            for p in dued:
                for k in by_package[p.id]:
                    model.add(b.end[k] <= p.due_day).only_enforce_if(lit, b.u[k])
        else:
            late = model.new_int_var(0, horizon, f"late[{line}]")
            b.late[line] = late
            for p in dued:
                assert p.due_day is not None
                for k in by_package[p.id]:
                    model.add(late >= b.end[k] - p.due_day).only_enforce_if(b.u[k])
    penalty = pol.lateness_penalty_per_day or 0
    b.costs["lateness"] = cp_model.LinearExpr.weighted_sum(list(b.late.values()), [penalty] * len(b.late))

    # Completion: each line ends when its last operation's output is available.
    if pol.preset in ("fastest", "balanced"):
        makespan = model.new_int_var(0, horizon, "makespan")
        b.makespan = makespan
        for line, pkgs in problem.lines.items():
            end = model.new_int_var(0, horizon, f"line_end[{line}]")
            b.line_end[line] = end
            for k in by_package[pkgs[-1].id]:
                model.add(end >= b.end[k]).only_enforce_if(b.u[k])
            model.add(makespan >= end)


def _prefecture_days(problem: Problem) -> Callable[[str, str], int]:
    """Transport days between two different factories, by their prefectures (links in both directions)."""
    days: dict[tuple[str, str], int] = {}
    for t in problem.transport:
        days.setdefault((t.to_prefecture, t.from_prefecture), t.days)
    for t in problem.transport:
        days[t.from_prefecture, t.to_prefecture] = t.days
    default = problem.default_transport_days
    return lambda a, z: days.get((a, z), default)


def _routing(
    problem: Problem, b: Built, prev: list[Key], nxt: list[Key], days_between: Callable[[str, str], int]
) -> None:
    """Routing from the candidates ``prev`` of one operation to the candidates ``nxt`` of the next.

    Operation k starts after operation k-1 ends at every factory that did it, plus the transport days
    between them (none at the same factory). Transport days depend only on the two prefectures, so the
    constraint goes through one "ready" day per prefecture of the next operation's candidates,
    ``ready[k, P] >= e[f, k-1] + days(f, P)`` for each used f and ``s[g, k] >= ready[k, P(g)]`` for each
    used g in P: |prev| × |P| + |nxt| constraints instead of |prev| × |nxt|. Where a factory in P holds both
    operations and hand-offs within P take days, its own output needs none, so P's pairs are modelled
    one by one instead.

    Each used hand-off pays its transport cost once: ``transport[f, k-1] >= Σ cost(f, g) · u[g, k]``
    when ``u[f, k-1]`` (one bounded variable per candidate of k-1, not one literal per pair).
    """
    model = b.model
    if not prev or not nxt:
        return
    pref = {k[0]: b.pairs[k].factory.prefecture for k in (*prev, *nxt)}
    by_pref: dict[str, list[Key]] = defaultdict(list)
    for k in nxt:
        by_pref[pref[k[0]]].append(k)
    prev_factories = {k[0] for k in prev}
    horizon = b.horizon_day
    for p_to, group_keys in by_pref.items():
        same_days = days_between(p_to, p_to)
        pairwise_only = same_days > 0 and any(g in prev_factories for g, _ in group_keys)
        if pairwise_only or len(group_keys) == 1:
            for k2 in group_keys:
                for k1 in prev:
                    days = problem.transport_between(k1[0], k2[0])[0]
                    model.add(b.start[k2] >= b.end[k1] + days).only_enforce_if(b.u[k1], b.u[k2])
            continue
        days_to = {k1: days_between(pref[k1[0]], p_to) for k1 in prev}
        lo = -max(days_to.values())
        ready = model.new_int_var(lo, horizon + max(days_to.values()), f"ready[{nxt[0][1]},{p_to}]")
        b.ready[nxt[0][1], p_to] = ready
        for k1 in prev:
            model.add(ready >= b.end[k1] + days_to[k1]).only_enforce_if(b.u[k1])
        for k2 in group_keys:
            model.add(b.start[k2] >= ready).only_enforce_if(b.u[k2])
    cost_of: dict[tuple[str, str], int] = {}
    for k1 in prev:
        costs = []
        for k2 in nxt:
            if k1[0] == k2[0]:
                costs.append(0)
                continue
            link = (pref[k1[0]], pref[k2[0]])
            if link not in cost_of:
                cost_of[link] = problem.transport_between(k1[0], k2[0])[1]
            costs.append(cost_of[link])
        top = sum(costs)
        if top == 0:
            continue
        t = model.new_int_var(0, top, f"transport[{k1[0]},{k1[1]}]")
        b.transport[k1] = t
        model.add(t >= cp_model.LinearExpr.weighted_sum([b.u[k2] for k2 in nxt], costs)).only_enforce_if(
            b.u[k1]
        )


def _members(problem: Problem, b: Built, *, explain: bool, group: _GroupFn, member_cap: bool) -> None:
    model = b.model
    pol = problem.policy
    by_factory: dict[str, list[Key]] = defaultdict(list)
    for key in b.pairs:
        by_factory[key[0]].append(key)
    # A factory is a member exactly when it has a used pair.
    for f, keys in by_factory.items():
        m = model.new_bool_var(f"m[{f}]")
        b.member[f] = m
        for k in keys:
            model.add_implication(b.u[k], m)
        model.add_bool_or([~m, *(b.u[k] for k in keys)])
    members = b.members_count()

    def enforce(ct: cp_model.Constraint, *key: str) -> None:
        lit = group(*key)
        if lit is not None:
            ct.only_enforce_if(lit)

    # Member count within the policy's bounds.
    if pol.max_members is not None and member_cap:
        enforce(model.add(members <= pol.max_members), "max_members")
    if pol.min_members is not None:
        enforce(model.add(members >= pol.min_members), "min_members")
    # Pinned factories are members.
    for f in sorted(pol.pinned):
        if f in b.member:
            enforce(model.add(b.member[f] == 1), "pinned", f)
        else:
            enforce(model.add(members < 0), "pinned", f)  # no eligible pair: unsatisfiable
    # A member holding the lead certification exists.
    if pol.lead_certification is not None:
        certified = [
            m
            for f, m in b.member.items()
            if pol.lead_certification in problem.factory_by_id[f].certifications
        ]
        enforce(model.add(cp_model.LinearExpr.sum(certified) >= 1), "lead")
    # No member takes more than max_share of the production value.
    if pol.max_share is not None and pol.max_share < 1:
        share = int(pol.max_share * SHARE_SCALE + 1e-9)
        top = sum(p.offer.unit_price * p.max_qty for p in b.pairs.values())
        total = model.new_int_var(0, top, "production_total")
        b.production_total = total
        model.add(
            total
            == cp_model.LinearExpr.weighted_sum(
                [b.q[k] for k in b.pairs], [p.offer.unit_price for p in b.pairs.values()]
            )
        )
        for keys in by_factory.values():
            own = cp_model.LinearExpr.weighted_sum(
                [b.q[k] for k in keys], [b.pairs[k].offer.unit_price for k in keys]
            )
            enforce(model.add(SHARE_SCALE * own <= share * total), "max_share")
    # Members that worked together before earn the cohesion bonus once per pair.
    b.costs["coordination"] = cp_model.LinearExpr.weighted_sum(
        list(b.member.values()), [pol.coordination_cost] * len(b.member)
    )
    bonus_terms: list[cp_model.IntVar] = []
    bonus_values: list[int] = []
    for (fa, fb), bonus in cohesion_bonuses(problem).items():
        if fa not in b.member or fb not in b.member:
            continue
        together = model.new_bool_var(f"together[{fa},{fb}]")
        b.together[fa, fb] = together
        model.add_implication(together, b.member[fa])
        model.add_implication(together, b.member[fb])
        bonus_terms.append(together)
        bonus_values.append(-bonus)
    b.costs["cohesion"] = cp_model.LinearExpr.weighted_sum(bonus_terms, bonus_values)
