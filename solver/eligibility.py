"""Which (factory, package) pairs enter the model: eligibility filters, then candidate pruning.

Eligibility (exact; an ineligible pair can never be part of a valid solution):

1. ``excluded`` – the policy excludes the factory;
2. ``certification`` – the factory lacks a certification the package requires;
3. ``max_quantity`` – the offer's maximum is below the minimum lot (the whole quantity if unsplittable);
4. ``earliest_start`` – the offer cannot start before the (hard) due date;
5. ``capacity`` – the factory's free hours for the process between the offer's earliest start and the
   (hard) due date cannot hold the smallest lot it could take (setup included).

Pruning (a heuristic that keeps the model small; the solve falls back to every eligible pair when the
pruned model is proven infeasible). Only when the problem has more than ``PRUNE_MIN_PAIRS`` eligible pairs,
each package keeps:

* its ``k`` cheapest eligible offers (by unit price plus setup spread over what the factory can make);
* every pinned factory's offer, and the cheapest offer of a factory holding the lead certification;
* for ``fastest``/``balanced``: the ``FAST_EXTRA`` offers with the most free hours in their window;
* for member-count rules (``max_members``, ``fewest_members``): every offer of the ``GENERALISTS``
  factories eligible for the most packages, so a small consortium stays reachable;
* more offers, cheapest first, until the candidates alone could make ``CAPACITY_MARGIN`` × the quantity;
  then per process, until the candidate factories' free hours are ``CAPACITY_MARGIN`` × the hours needed;
* more offers, cheapest first across packages, until there are ``MEMBER_MARGIN`` more distinct candidate
  factories than ``min_members`` and ``1 / max_share`` require.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, replace
from fractions import Fraction

from solver.hours import exact_mh, free_mh, need_mh, total_need_mh
from solver.problem import Factory, FixedAssignment, Offer, Problem, WorkPackage

__all__ = [
    "CAPACITY_MARGIN",
    "DEFAULT_CANDIDATES",
    "Eligibility",
    "PairData",
    "analyse",
    "failing_filters",
    "free_mh",
    "need_mh",
]

DEFAULT_CANDIDATES = 12
PRUNE_MIN_PAIRS = 2500
CAPACITY_MARGIN = 2.0
FAST_EXTRA = 3
GENERALISTS = 5
MEMBER_MARGIN = 3


@dataclass(frozen=True)
class PairData:
    """An eligible (factory, package) pair with the figures the model needs (hours in thousandths).

    ``weeks`` are the weeks with free capacity from the earliest start to the end of the horizon (due
    dates are applied by the model, so explanations can relax them); ``window_mh`` is the free capacity
    in those weeks that end on or before a hard due date. ``setup_exact`` and ``unit_exact`` are the
    offer's setup and per-unit hours in exact thousandths: :meth:`need_mh` rounds their total up once.
    """

    offer: Offer
    factory: Factory
    package: WorkPackage
    setup_exact: Fraction
    unit_exact: Fraction
    max_qty: int
    weeks: tuple[tuple[int, int], ...]
    window_mh: int
    rate_mh: int
    unit_capacity: int
    est_unit_cost: float

    @property
    def key(self) -> tuple[str, str]:
        return self.factory.id, self.package.id

    def need_mh(self, quantity: int) -> int:
        """Thousandths of an hour booked for ``quantity`` units (setup included; none for none)."""
        if quantity <= 0:
            return 0
        return total_need_mh(self.setup_exact, self.unit_exact, quantity)

    def units_within(self, room_mh: int) -> int:
        """The most units (at most ``max_qty``) whose need fits ``room_mh`` (0 when the setup does not)."""
        if room_mh < self.need_mh(1):
            return 0
        if self.unit_exact == 0:
            return self.max_qty
        # ceil(S + U·q) <= room  <=>  S + U·q <= room, as room is whole
        return min(self.max_qty, math.floor((room_mh - self.setup_exact) / self.unit_exact))


@dataclass(frozen=True)
class Eligibility:
    """``eligible`` and ``candidates``: package id → pairs, cheapest first; ``removed``: package id →
    (filter code, words) for packages that lost every offer; ``pruned``: candidates ⊊ eligible."""

    eligible: dict[str, tuple[PairData, ...]]
    candidates: dict[str, tuple[PairData, ...]]
    removed: dict[str, tuple[str, str]]
    pruned: bool

    @property
    def eligible_pairs(self) -> int:
        return sum(len(v) for v in self.eligible.values())

    @property
    def candidate_pairs(self) -> int:
        return sum(len(v) for v in self.candidates.values())


def _hard_due(problem: Problem, pkg: WorkPackage) -> int | None:
    """The package's latest end under hard due dates (its own, or implied by its line's routing)."""
    return problem.latest_end[pkg.id] if problem.policy.lateness_penalty_per_day is None else None


_Window = tuple[tuple[tuple[int, int], ...], int, int]


class _Buckets:
    """Free hours per (factory, process), indexed once: sorted weeks with free hours, prefix sums, rate.

    A window (weeks from ``first_week``, free hours before ``due``) is then two bisections, not a scan.
    """

    def __init__(self, problem: Problem) -> None:
        self.table: dict[tuple[str, str], tuple[list[int], list[int], tuple[tuple[int, int], ...], int]] = {}
        for key, caps in problem.capacity_by_bucket.items():
            frees = sorted((w, free_mh(h)) for w, h in caps.items())
            rate = max((c for _, c in frees), default=0)
            weeks = tuple((w, c) for w, c in frees if c > 0)
            prefix = [0]
            for _, c in weeks:
                prefix.append(prefix[-1] + c)
            self.table[key] = ([w for w, _ in weeks], prefix, weeks, rate)
        self.cache: dict[tuple[str, str, int, int | None], _Window] = {}

    def window(self, factory: str, process: str, first_week: int, due: int | None) -> _Window:
        key = (factory, process, first_week, due)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        entry = self.table.get((factory, process))
        if entry is None:
            out: _Window = ((), 0, 0)
        else:
            ws, prefix, weeks, rate = entry
            lo = bisect_left(ws, first_week)
            hi = len(ws) if due is None else max(lo, bisect_left(ws, (due + 6) // 7))  # weeks with 7w < due
            out = (weeks[lo:], prefix[hi] - prefix[lo], rate)
        self.cache[key] = out
        return out


def _pair(
    problem: Problem,
    offer: Offer,
    pkg: WorkPackage,
    due: int | None,
    buckets: _Buckets,
    *,
    fixed: FixedAssignment | None = None,
    rest: int | None = None,
) -> PairData:
    """The pair's figures; a ``fixed`` pair takes exactly its quantity (and, with pinned days, only the
    weeks those days touch); ``rest`` caps the others: what the fixed shares leave of the package."""
    factory = problem.factory_by_id[offer.factory]
    weeks, window, rate = buckets.window(offer.factory, pkg.process, offer.earliest_start_day // 7, due)
    setup = exact_mh(offer.setup_hours)
    unit = exact_mh(offer.hours_per_unit)
    max_qty = pkg.quantity if offer.max_quantity is None else min(pkg.quantity, offer.max_quantity)
    if rest is not None:
        max_qty = min(max_qty, rest)
    if fixed is not None:
        max_qty = fixed.quantity
        if fixed.start_day is not None and fixed.end_day is not None:
            # hours are booked only in weeks the pinned days occupy (7w + 6 >= start, 7w + 1 <= end)
            first, last = fixed.start_day, fixed.end_day
            weeks = tuple((w, c) for w, c in weeks if 7 * w + 6 >= first and 7 * w + 1 <= last)
            window = sum(c for w, c in weeks if due is None or 7 * w < due)
    pair = PairData(offer, factory, pkg, setup, unit, max_qty, weeks, window, rate, 0, 0.0)
    unit_capacity = pair.units_within(window)
    spread = max(1, min(pkg.quantity, unit_capacity))
    est = offer.unit_price + offer.setup_cost / spread
    return replace(pair, unit_capacity=unit_capacity, est_unit_cost=est)


_FILTERS = ("excluded", "certification", "max_quantity", "earliest_start", "capacity", "fixed")


def _rejection(problem: Problem, pkg: WorkPackage, offer: Offer, factory: Factory) -> str | None:
    """The first of the cheap filters (no capacity figures needed) that rejects the offer, or ``None``."""
    if factory.id in problem.policy.excluded:
        return "excluded"
    if not pkg.required_certifications <= factory.certifications:
        return "certification"
    smallest = pkg.quantity if not pkg.splittable else pkg.min_lot
    if offer.max_quantity is not None and offer.max_quantity < smallest:
        return "max_quantity"
    due = _hard_due(problem, pkg)
    if due is not None and offer.earliest_start_day >= due:
        return "earliest_start"
    return None


def _smallest(pkg: WorkPackage) -> int:
    return pkg.quantity if not pkg.splittable else pkg.min_lot


def _rest(problem: Problem, pkg: WorkPackage) -> int | None:
    """Units of ``pkg`` its fixed assignments leave to other factories (``None``: it has none fixed)."""
    taken = problem.fixed_quantity.get(pkg.id)
    return None if taken is None else pkg.quantity - taken


def _short_of_capacity(pair: PairData) -> bool:
    """Whether the pair's free hours before the due date cannot hold its smallest lot (setup included)."""
    pkg = pair.package
    smallest = pkg.quantity if not pkg.splittable else pkg.min_lot
    return pair.window_mh < pair.need_mh(smallest)


def _removed_words(problem: Problem, pkg: WorkPackage, counts: dict[str, int], last: str) -> str:
    total = sum(counts.values())
    parts = [f"{n} {_FILTER_WORDS[code]}" for code in _FILTERS if (n := counts.get(code, 0))]
    due = _hard_due(problem, pkg)
    detail = {
        "excluded": "the policy's exclusions",
        "certification": "required certification " + ", ".join(sorted(pkg.required_certifications)),
        "max_quantity": (
            f"the offers' maximum quantities (smallest lot {pkg.min_lot}, quantity {pkg.quantity})"
        ),
        "earliest_start": "the offers' earliest start dates",
        "capacity": f"free {pkg.process} capacity" + (" before the due date" if due is not None else ""),
        "fixed": "the fixed assignments",
    }[last]
    return (
        f"{describe_package(pkg)} has no eligible factory: of {total} offer(s), " + ", ".join(parts) + f"; "
        f"{detail} removed the last candidate"
    )


_FILTER_WORDS = {
    "excluded": "from excluded factories",
    "certification": "from factories lacking a required certification",
    "max_quantity": "with a maximum quantity below the smallest lot",
    "earliest_start": "starting only after the due date",
    "capacity": "from factories without enough free hours",
    "fixed": "left without work by the fixed assignments",
}


def describe_package(pkg: WorkPackage) -> str:
    """``package P3 (line L1 'shaft', operation 2: grinding, 1,200 units)``."""
    part = f" '{pkg.part}'" if pkg.part else ""
    return (
        f"package {pkg.id} (line {pkg.line}{part}, operation {pkg.operation}: {pkg.process}, "
        f"{pkg.quantity:,} units)"
    )


def failing_filters(problem: Problem, pkg: WorkPackage) -> dict[str, tuple[tuple[str, ...], PairData]]:
    """Per offering factory, every filter that rejects its offer for ``pkg`` (not only the first; empty
    when eligible) and its figures: explanations use them to say which change would make it eligible."""
    buckets = _Buckets(problem)
    due = _hard_due(problem, pkg)
    out: dict[str, tuple[tuple[str, ...], PairData]] = {}
    for offer in problem.offers_by_package.get(pkg.id, ()):
        factory = problem.factory_by_id[offer.factory]
        pair = _pair(problem, offer, pkg, due, buckets)
        smallest = pkg.quantity if not pkg.splittable else pkg.min_lot
        checks = {
            "excluded": factory.id in problem.policy.excluded,
            "certification": not pkg.required_certifications <= factory.certifications,
            "max_quantity": offer.max_quantity is not None and offer.max_quantity < smallest,
            "earliest_start": due is not None and offer.earliest_start_day >= due,
            "capacity": _short_of_capacity(pair),
            "fixed": (factory.id, pkg.id) not in problem.fixed_by_pair
            and (rest := _rest(problem, pkg)) is not None
            and rest < smallest,
        }
        out[factory.id] = (tuple(code for code in _FILTERS if checks[code]), pair)
    return out


def analyse(problem: Problem, k: int | None = DEFAULT_CANDIDATES) -> Eligibility:
    """Filter every offer for eligibility and prune each package to its candidates (see module doc)."""
    eligible: dict[str, tuple[PairData, ...]] = {}
    removed: dict[str, tuple[str, str]] = {}
    buckets = _Buckets(problem)
    for pkg in problem.packages:
        keep: list[PairData] = []
        counts: dict[str, int] = defaultdict(int)
        last = "excluded"
        due = _hard_due(problem, pkg)
        rest = _rest(problem, pkg)
        for offer in problem.offers_by_package.get(pkg.id, ()):
            why = _rejection(problem, pkg, offer, problem.factory_by_id[offer.factory])
            fixed = problem.fixed_by_pair.get((offer.factory, pkg.id))
            if why is None and fixed is None and rest is not None and rest < _smallest(pkg):
                why = "fixed"  # the fixed shares leave no lot for another factory
            if why is None:
                pair = _pair(problem, offer, pkg, due, buckets, fixed=fixed, rest=rest)
                # a fixed pair stays whatever its hours: the pre-checks say what its fixed share misses
                if fixed is not None or not _short_of_capacity(pair):
                    keep.append(pair)
                    continue
                why = "capacity"
            counts[why] += 1
            if _FILTERS.index(why) >= _FILTERS.index(last):
                last = why
        keep.sort(key=lambda p: (p.est_unit_cost, p.factory.id))
        eligible[pkg.id] = tuple(keep)
        if not keep:
            removed[pkg.id] = (last, _removed_words(problem, pkg, counts, last))
    total = sum(len(v) for v in eligible.values())
    if k is None or total <= PRUNE_MIN_PAIRS or all(len(v) <= k for v in eligible.values()):
        return Eligibility(eligible, dict(eligible), removed, pruned=False)
    candidates = _prune(problem, eligible, k)
    pruned = sum(len(v) for v in candidates.values()) < total
    return Eligibility(eligible, candidates, removed, pruned)


def _prune(
    problem: Problem, eligible: dict[str, tuple[PairData, ...]], k: int
) -> dict[str, tuple[PairData, ...]]:
    pol = problem.policy
    chosen: dict[str, dict[str, PairData]] = {}
    for pid, pairs in eligible.items():
        keep = {p.factory.id: p for p in pairs[:k]}
        for p in pairs:
            if p.factory.id in pol.pinned or p.key in problem.fixed_by_pair:
                keep.setdefault(p.factory.id, p)
        if pol.lead_certification is not None:
            lead = next((p for p in pairs if pol.lead_certification in p.factory.certifications), None)
            if lead is not None:
                keep.setdefault(lead.factory.id, lead)
        if pol.preset in ("fastest", "balanced"):
            for p in sorted(pairs, key=lambda p: -p.window_mh)[:FAST_EXTRA]:
                keep.setdefault(p.factory.id, p)
        chosen[pid] = keep
    if pol.max_members is not None or pol.preset == "fewest_members":
        _add_generalists(eligible, chosen)
    for pid, pairs in eligible.items():
        qty = problem.package_by_id[pid].quantity
        keep = chosen[pid]
        units = sum(p.unit_capacity for p in keep.values())
        for p in pairs:
            if units >= CAPACITY_MARGIN * qty:
                break
            if p.factory.id not in keep:
                keep[p.factory.id] = p
                units += p.unit_capacity
    _cover_process_hours(problem, eligible, chosen)
    need = max(pol.min_members or 0, math.ceil(1 / pol.max_share) if pol.max_share else 0)
    if need:
        _add_distinct_factories(eligible, chosen, need + MEMBER_MARGIN)
    return {
        pid: tuple(sorted(keep.values(), key=lambda p: (p.est_unit_cost, p.factory.id)))
        for pid, keep in chosen.items()
    }


def _add_generalists(
    eligible: dict[str, tuple[PairData, ...]], chosen: dict[str, dict[str, PairData]]
) -> None:
    reach: dict[str, int] = defaultdict(int)
    spend: dict[str, float] = defaultdict(float)
    for pairs in eligible.values():
        for p in pairs:
            reach[p.factory.id] += 1
            spend[p.factory.id] += p.est_unit_cost * p.package.quantity
    top = set(sorted(reach, key=lambda f: (-reach[f], spend[f], f))[:GENERALISTS])
    for pid, pairs in eligible.items():
        for p in pairs:
            if p.factory.id in top:
                chosen[pid].setdefault(p.factory.id, p)


def _cover_process_hours(
    problem: Problem, eligible: dict[str, tuple[PairData, ...]], chosen: dict[str, dict[str, PairData]]
) -> None:
    by_process: dict[str, list[str]] = defaultdict(list)
    for pid in eligible:
        by_process[problem.package_by_id[pid].process].append(pid)
    for process, pids in by_process.items():
        while True:
            need = 0
            free: dict[str, int] = {}
            for pid in pids:
                keep = chosen[pid]
                if keep:
                    qty = problem.package_by_id[pid].quantity
                    need += min(p.need_mh(qty) for p in keep.values())
                for p in keep.values():
                    caps = problem.capacity_by_bucket.get((p.factory.id, process), {})
                    free.setdefault(p.factory.id, sum(free_mh(h) for h in caps.values()))
            if sum(free.values()) >= CAPACITY_MARGIN * need:
                break
            added = False
            for pid in pids:
                nxt = next((p for p in eligible[pid] if p.factory.id not in chosen[pid]), None)
                if nxt is not None:
                    chosen[pid][nxt.factory.id] = nxt
                    added = True
            if not added:
                break


def _add_distinct_factories(
    eligible: dict[str, tuple[PairData, ...]], chosen: dict[str, dict[str, PairData]], target: int
) -> None:
    present = {f for keep in chosen.values() for f in keep}
    rest = sorted(
        (p for pid, pairs in eligible.items() for p in pairs if p.factory.id not in present),
        key=lambda p: (p.est_unit_cost, p.factory.id),
    )
    for p in rest:
        if len(present) >= target:
            break
        if p.factory.id in present:
            continue
        chosen[p.package.id].setdefault(p.factory.id, p)
        present.add(p.factory.id)
