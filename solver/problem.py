"""The consortium problem: frozen dataclasses, validated on construction.

Time is integer and relative to ``Problem.origin`` (a Monday): ``*_day`` fields are days since the origin,
``week`` fields are weeks since the origin (week ``w`` covers days ``7w … 7w+6``). The JSON form
(:mod:`solver.jsonio`) uses ISO dates and ISO weeks instead.

Money is integer JPY. Hours are floats; the model works in thousandths of an hour, rounding needs up and
free hours down, so a solution that the model accepts always fits the exact figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Literal, get_args

from solver.hours import exact_mh, free_mh, total_need_mh

__all__ = [
    "DEFAULT_ORIGIN",
    "Capacity",
    "Collaboration",
    "Factory",
    "FixedAssignment",
    "Offer",
    "Policy",
    "Preset",
    "Problem",
    "ProblemError",
    "TransportLink",
    "WorkPackage",
]

Preset = Literal["cheapest", "fastest", "fewest_members", "balanced"]
PRESETS: tuple[str, ...] = get_args(Preset)

DEFAULT_ORIGIN = date(2026, 1, 5)  # a Monday

_EMPTY: frozenset[str] = frozenset()


class ProblemError(ValueError):
    """A problem is malformed: ``field`` names the offending field (``offers[3].unit_price``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Factory:
    """A town factory: ``prefecture`` is a free key into the transport table (JIS code or name)."""

    id: str
    prefecture: str
    cluster: str = ""
    certifications: frozenset[str] = _EMPTY


@dataclass(frozen=True)
class WorkPackage:
    """One RFQ line × one operation of its routing: the unit the solver assigns.

    ``operation`` orders the packages of a ``line`` (consecutive in sorted order form the routing).
    ``due_day``: every assignment of the package must end (output available) on or before that day.
    """

    id: str
    line: str
    operation: int
    process: str
    quantity: int
    splittable: bool = True
    min_lot: int = 1
    due_day: int | None = None
    required_certifications: frozenset[str] = _EMPTY
    part: str = ""


@dataclass(frozen=True)
class Offer:
    """A factory's price and hours for a package: firm bid, or an estimate from capability rates."""

    factory: str
    package: str
    unit_price: int
    setup_cost: int = 0
    hours_per_unit: float = 0.0
    setup_hours: float = 0.0
    max_quantity: int | None = None
    earliest_start_day: int = 0
    firm: bool = True


@dataclass(frozen=True)
class Capacity:
    """Free machine-hours of ``factory`` for ``process`` in ``week``; missing buckets have none."""

    factory: str
    process: str
    week: int
    hours: float


@dataclass(frozen=True)
class TransportLink:
    """Days and cost (JPY per hand-off) between two prefectures; looked up in both directions."""

    from_prefecture: str
    to_prefecture: str
    days: int
    cost: int


@dataclass(frozen=True)
class Collaboration:
    """Two factories that delivered together before; ``weight`` scales the cohesion bonus."""

    factory_a: str
    factory_b: str
    weight: float = 1.0


@dataclass(frozen=True)
class Policy:
    """Coordinator's rules and objective preset.

    ``max_share``: no member may take more than this fraction of the production value.
    ``lead_certification``: some member holding it must lead (the lead is the certified member with the
    largest production value). ``coordination_cost``: JPY per member. ``lateness_penalty_per_day``: when
    set, due dates become soft and each line pays this per day late; ``None`` keeps them hard.
    ``cohesion_bonus``: JPY credited per unit of collaboration weight for each pair of members that worked
    together before.
    """

    preset: Preset = "cheapest"
    max_members: int | None = None
    min_members: int | None = None
    max_share: float | None = None
    pinned: frozenset[str] = _EMPTY
    excluded: frozenset[str] = _EMPTY
    lead_certification: str | None = None
    coordination_cost: int = 0
    lateness_penalty_per_day: int | None = None
    cohesion_bonus: int = 0


@dataclass(frozen=True)
class FixedAssignment:
    """An assignment the solver must keep: e.g. a member that already accepted its share.

    The pair ``(factory, package)`` is in every answer with exactly ``quantity`` units; with ``start_day``
    and ``end_day`` its days ``[start_day, end_day)`` are pinned too (the weeks its hours are booked in stay
    free to choose). Its factory is a member; it pays its costs, its hours use capacity, and transport and
    the routing's order apply to it as to any assignment.
    """

    factory: str
    package: str
    quantity: int
    start_day: int | None = None  # when given with end_day: the assignment's days [start_day, end_day)
    end_day: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.factory, self.package

    @property
    def pinned_days(self) -> bool:
        return self.start_day is not None and self.end_day is not None


@dataclass(frozen=True)
class Problem:
    """Everything the solver needs; validated on construction (raises :class:`ProblemError`)."""

    factories: tuple[Factory, ...]
    packages: tuple[WorkPackage, ...]
    offers: tuple[Offer, ...]
    capacity: tuple[Capacity, ...] = ()
    transport: tuple[TransportLink, ...] = ()
    default_transport_days: int = 1
    default_transport_cost: int = 0
    collaborations: tuple[Collaboration, ...] = ()
    policy: Policy = field(default_factory=Policy)
    origin: date = DEFAULT_ORIGIN
    name: str = ""
    #: Assignments every answer must keep (a repair solve: the members that accepted their shares).
    fixed: tuple[FixedAssignment, ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    # ------------------------------------------------------------------ indexes (computed once)

    @cached_property
    def factory_by_id(self) -> Mapping[str, Factory]:
        return {f.id: f for f in self.factories}

    @cached_property
    def package_by_id(self) -> Mapping[str, WorkPackage]:
        return {p.id: p for p in self.packages}

    @cached_property
    def offers_by_package(self) -> Mapping[str, tuple[Offer, ...]]:
        out: dict[str, list[Offer]] = defaultdict(list)
        for o in self.offers:
            out[o.package].append(o)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def offer_by_pair(self) -> Mapping[tuple[str, str], Offer]:
        return {(o.factory, o.package): o for o in self.offers}

    @cached_property
    def fixed_by_pair(self) -> Mapping[tuple[str, str], FixedAssignment]:
        """``(factory, package) -> fixed assignment``."""
        return {fa.key: fa for fa in self.fixed}

    @cached_property
    def fixed_quantity(self) -> Mapping[str, int]:
        """Package id → units the fixed assignments take of it (only packages with some)."""
        out: dict[str, int] = defaultdict(int)
        for fa in self.fixed:
            out[fa.package] += fa.quantity
        return dict(out)

    @cached_property
    def fixed_factories(self) -> frozenset[str]:
        """Factories with a fixed assignment: members of every answer."""
        return frozenset(fa.factory for fa in self.fixed)

    @cached_property
    def capacity_by_bucket(self) -> Mapping[tuple[str, str], Mapping[int, float]]:
        """``(factory, process) -> {week: free hours}``; duplicate entries add up."""
        out: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
        for c in self.capacity:
            weeks = out[c.factory, c.process]
            weeks[c.week] = weeks.get(c.week, 0.0) + c.hours
        return dict(out)

    @cached_property
    def lines(self) -> Mapping[str, tuple[WorkPackage, ...]]:
        """``line -> packages`` in routing order."""
        out: dict[str, list[WorkPackage]] = defaultdict(list)
        for p in self.packages:
            out[p.line].append(p)
        return {k: tuple(sorted(v, key=lambda p: p.operation)) for k, v in out.items()}

    @cached_property
    def _transport_map(self) -> Mapping[tuple[str, str], TransportLink]:
        out: dict[tuple[str, str], TransportLink] = {}
        for t in self.transport:
            out.setdefault((t.to_prefecture, t.from_prefecture), t)
        for t in self.transport:
            out[t.from_prefecture, t.to_prefecture] = t
        return out

    @cached_property
    def horizon_day(self) -> int:
        """The last day the model lets an assignment end on: no valid plan needs a later one.

        Any valid plan stays valid, and costs no more, when every assignment starts as soon as its offer
        and the previous operation's shipments allow and ends as soon as its hours and booked weeks allow
        (its hours are in capacity weeks, so it starts by the last of them). Per line, operation by
        operation, that end is at most the latest of: the end of the last capacity week, and the latest
        earliest start or the previous operation's bound plus the longest transport, plus the longest
        duration of an offer (its whole quantity at the factory's best weekly rate; one day without hours).
        Due dates beyond all that extend it as well. See docs/solver-format.md, "Horizon".
        """
        capacity_weeks = [c.week for c in self.capacity if free_mh(c.hours) > 0]
        capacity_end = 7 * (max(capacity_weeks) + 1) if capacity_weeks else 0
        longest_transport = max([self.default_transport_days, *(t.days for t in self.transport)])
        horizon = max([capacity_end, *(p.due_day for p in self.packages if p.due_day is not None)])
        # a pinned fixed assignment ends on its day, whatever the bound below says
        horizon = max([horizon, *(fa.end_day for fa in self.fixed if fa.end_day is not None)])
        for pkgs in self.lines.values():
            previous_end: int | None = None
            for pkg in pkgs:
                ready = 0 if previous_end is None else previous_end + longest_transport
                end = ready + 1
                for offer in self.offers_by_package.get(pkg.id, ()):
                    quantity = min(pkg.quantity, offer.max_quantity or pkg.quantity)
                    setup, per_unit = exact_mh(offer.setup_hours), exact_mh(offer.hours_per_unit)
                    need = total_need_mh(setup, per_unit, quantity)
                    start = max(ready, offer.earliest_start_day)
                    if need == 0:
                        end = max(end, start + 1)
                        continue
                    caps = self.capacity_by_bucket.get((offer.factory, pkg.process), {})
                    rate = max((free_mh(h) for h in caps.values()), default=0)
                    if rate > 0:
                        end = max(end, start + max(1, math.ceil(7 * need / rate)), capacity_end)
                previous_end = end
            horizon = max(horizon, previous_end or 0)
        return horizon

    @cached_property
    def latest_end(self) -> Mapping[str, int | None]:
        """Package id → the last day its output may be available under hard due dates: its own due date,
        or one day before the latest end of the next operation of its line (every operation takes a day)."""
        out: dict[str, int | None] = {}
        for pkgs in self.lines.values():
            nxt: int | None = None
            for p in reversed(pkgs):
                own = p.due_day
                if nxt is not None:
                    own = nxt - 1 if own is None else min(own, nxt - 1)
                out[p.id] = own
                nxt = own
        return out

    def transport_between(self, factory_a: str, factory_b: str) -> tuple[int, int]:
        """``(days, cost)`` of a hand-off from ``factory_a`` to ``factory_b``; ``(0, 0)`` if the same."""
        if factory_a == factory_b:
            return 0, 0
        pa = self.factory_by_id[factory_a].prefecture
        pb = self.factory_by_id[factory_b].prefecture
        link = self._transport_map.get((pa, pb))
        if link is None:
            return self.default_transport_days, self.default_transport_cost
        return link.days, link.cost


# ---------------------------------------------------------------------------------------- validation


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ProblemError(field, message)


def _non_negative_int(value: object, field: str) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool), field, "must be an integer")
    assert isinstance(value, int)
    _check(value >= 0, field, f"must not be negative (got {value})")


def _non_negative_number(value: object, field: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    _check(ok, field, "must be a number")
    assert isinstance(value, int | float)
    _check(math.isfinite(value), field, "must be finite")
    _check(value >= 0, field, f"must not be negative (got {value})")


def _unique_ids(ids: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        _check(isinstance(ident, str) and ident != "", f"{what}[{i}].id", "must be a non-empty string")
        _check(ident not in seen, f"{what}[{i}].id", f"duplicate id {ident!r}")
        seen.add(ident)


def _validate(p: Problem) -> None:
    _check(p.origin.weekday() == 0, "origin", f"must be a Monday (got {p.origin.isoformat()})")
    _check(len(p.factories) > 0, "factories", "at least one factory is needed")
    _check(len(p.packages) > 0, "packages", "at least one work package is needed")
    _unique_ids((f.id for f in p.factories), "factories")
    _unique_ids((w.id for w in p.packages), "packages")
    for i, f in enumerate(p.factories):
        _check(isinstance(f.prefecture, str) and f.prefecture != "", f"factories[{i}].prefecture", "required")
    factory_ids = {f.id for f in p.factories}
    ops: dict[str, set[int]] = defaultdict(set)
    for i, w in enumerate(p.packages):
        at = f"packages[{i}]"
        _check(isinstance(w.line, str) and w.line != "", f"{at}.line", "must be a non-empty string")
        _non_negative_int(w.operation, f"{at}.operation")
        _check(w.operation not in ops[w.line], f"{at}.operation", f"line {w.line!r} has it twice")
        ops[w.line].add(w.operation)
        _check(isinstance(w.process, str) and w.process != "", f"{at}.process", "required")
        _non_negative_int(w.quantity, f"{at}.quantity")
        _check(w.quantity > 0, f"{at}.quantity", "must be positive")
        _non_negative_int(w.min_lot, f"{at}.min_lot")
        _check(1 <= w.min_lot <= w.quantity, f"{at}.min_lot", f"must be between 1 and quantity {w.quantity}")
        if w.due_day is not None:
            _non_negative_int(w.due_day, f"{at}.due")
            _check(w.due_day > 0, f"{at}.due", "must be after the origin")
    package_ids = {w.id for w in p.packages}
    pairs: set[tuple[str, str]] = set()
    offered: set[str] = set()
    for i, o in enumerate(p.offers):
        at = f"offers[{i}]"
        _check(o.factory in factory_ids, f"{at}.factory", f"unknown factory {o.factory!r}")
        _check(o.package in package_ids, f"{at}.package", f"unknown package {o.package!r}")
        _check((o.factory, o.package) not in pairs, at, f"second offer of {o.factory!r} for {o.package!r}")
        pairs.add((o.factory, o.package))
        offered.add(o.package)
        _non_negative_int(o.unit_price, f"{at}.unit_price")
        _non_negative_int(o.setup_cost, f"{at}.setup_cost")
        _non_negative_number(o.hours_per_unit, f"{at}.hours_per_unit")
        _non_negative_number(o.setup_hours, f"{at}.setup_hours")
        if o.max_quantity is not None:
            _non_negative_int(o.max_quantity, f"{at}.max_quantity")
        _non_negative_int(o.earliest_start_day, f"{at}.earliest_start")
    for i, w in enumerate(p.packages):
        _check(w.id in offered, f"packages[{i}]", f"package {w.id!r} has no offers at all")
    for i, c in enumerate(p.capacity):
        at = f"capacity[{i}]"
        _check(c.factory in factory_ids, f"{at}.factory", f"unknown factory {c.factory!r}")
        _check(isinstance(c.process, str) and c.process != "", f"{at}.process", "required")
        _non_negative_int(c.week, f"{at}.week")
        _non_negative_number(c.hours, f"{at}.hours")
    for i, t in enumerate(p.transport):
        _non_negative_int(t.days, f"transport.links[{i}].days")
        _non_negative_int(t.cost, f"transport.links[{i}].cost")
    _non_negative_int(p.default_transport_days, "transport.default_days")
    _non_negative_int(p.default_transport_cost, "transport.default_cost")
    for i, c2 in enumerate(p.collaborations):
        at = f"collaborations[{i}]"
        _check(c2.factory_a in factory_ids, f"{at}.factories", f"unknown factory {c2.factory_a!r}")
        _check(c2.factory_b in factory_ids, f"{at}.factories", f"unknown factory {c2.factory_b!r}")
        _check(c2.factory_a != c2.factory_b, f"{at}.factories", "a factory cannot collaborate with itself")
        _non_negative_number(c2.weight, f"{at}.weight")
    _validate_policy(p.policy, factory_ids)
    _validate_fixed(p)


def _validate_policy(pol: Policy, factory_ids: set[str]) -> None:
    _check(pol.preset in PRESETS, "policy.preset", f"must be one of {', '.join(PRESETS)}")
    for name in ("max_members", "min_members"):
        value = getattr(pol, name)
        if value is not None:
            _non_negative_int(value, f"policy.{name}")
    if pol.max_share is not None:
        _non_negative_number(pol.max_share, "policy.max_share")
        _check(0 < pol.max_share <= 1, "policy.max_share", "must be in (0, 1]")
    for name in ("pinned", "excluded"):
        for ident in sorted(getattr(pol, name)):
            _check(ident in factory_ids, f"policy.{name}", f"unknown factory {ident!r}")
    _non_negative_int(pol.coordination_cost, "policy.coordination_cost")
    _non_negative_int(pol.cohesion_bonus, "policy.cohesion_bonus")
    if pol.lateness_penalty_per_day is not None:
        _non_negative_int(pol.lateness_penalty_per_day, "policy.lateness_penalty_per_day")


def _validate_fixed(p: Problem) -> None:
    """Fixed assignments name an existing offer, take a quantity the package and the offer allow (together at
    most each package's quantity), and are not of an excluded factory; pinned days come as a pair."""
    seen: set[tuple[str, str]] = set()
    package_ids = {w.id for w in p.packages}
    factory_ids = {f.id for f in p.factories}
    taken: dict[str, int] = defaultdict(int)
    for i, fa in enumerate(p.fixed):
        at = f"fixed[{i}]"
        _check(isinstance(fa, FixedAssignment), at, "must be a FixedAssignment")
        _check(fa.factory in factory_ids, f"{at}.factory", f"unknown factory {fa.factory!r}")
        _check(fa.package in package_ids, f"{at}.package", f"unknown package {fa.package!r}")
        offer = p.offer_by_pair.get(fa.key)
        _check(offer is not None, at, f"factory {fa.factory!r} has no offer for package {fa.package!r}")
        assert offer is not None
        _check(fa.key not in seen, at, f"second fixed assignment of {fa.factory!r} for {fa.package!r}")
        seen.add(fa.key)
        _check(
            fa.factory not in p.policy.excluded,
            f"{at}.factory",
            f"factory {fa.factory!r} is excluded by the policy but has a fixed assignment",
        )
        pkg = p.package_by_id[fa.package]
        _non_negative_int(fa.quantity, f"{at}.quantity")
        _check(fa.quantity > 0, f"{at}.quantity", "must be positive")
        _check(
            fa.quantity <= pkg.quantity,
            f"{at}.quantity",
            f"{fa.quantity} is above the quantity {pkg.quantity} of package {pkg.id!r}",
        )
        if offer.max_quantity is not None:
            _check(
                fa.quantity <= offer.max_quantity,
                f"{at}.quantity",
                f"{fa.quantity} is above the offer's maximum quantity {offer.max_quantity}",
            )
        if not pkg.splittable:
            _check(
                fa.quantity == pkg.quantity,
                f"{at}.quantity",
                f"package {pkg.id!r} is not splittable: a fixed share takes all its {pkg.quantity} units",
            )
        _check(
            fa.quantity >= pkg.min_lot,
            f"{at}.quantity",
            f"{fa.quantity} is below the minimum lot {pkg.min_lot} of package {pkg.id!r}",
        )
        taken[fa.package] += fa.quantity
        _check(
            taken[fa.package] <= pkg.quantity,
            f"{at}.quantity",
            f"fixed quantities of package {pkg.id!r} add up to {taken[fa.package]}, above its quantity "
            f"{pkg.quantity}",
        )
        _check(
            (fa.start_day is None) == (fa.end_day is None),
            f"{at}.end_day" if fa.end_day is None else f"{at}.start_day",  # the one missing
            "start and end are given together or not at all",
        )
        if fa.start_day is not None and fa.end_day is not None:
            _non_negative_int(fa.start_day, f"{at}.start_day")
            _non_negative_int(fa.end_day, f"{at}.end_day")
            _check(
                fa.end_day > fa.start_day,
                f"{at}.end_day",
                f"must be after the start (got days [{fa.start_day}, {fa.end_day}))",
            )
