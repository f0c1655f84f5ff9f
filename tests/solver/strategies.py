"""Hypothesis strategies for small random problems."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from solver import (
    Capacity,
    Collaboration,
    Factory,
    FixedAssignment,
    Offer,
    Policy,
    Problem,
    TransportLink,
    WorkPackage,
)

PROCESSES = ("turning", "grinding")
T = TypeVar("T")


def _rarely(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """``None`` three times out of four."""
    return st.one_of(st.none(), st.none(), st.none(), strategy)


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    scheduled: bool = True,
    generous: bool = False,
    max_factories: int = 3,
    max_qty: int = 6,
) -> Problem:
    """Random small problems. ``scheduled=False``: single-week, single-operation, due-free, cheapest.
    ``generous``: routings but capacity and time never bind (no due dates, 100 h a week for 8 weeks)."""
    n_f = draw(st.integers(2, max_factories))
    factories = [
        Factory(
            f"F{i}",
            draw(st.sampled_from(("13", "27"))),
            "",
            frozenset(draw(st.sets(st.sampled_from(("ISO",))))),
        )
        for i in range(n_f)
    ]
    packages: list[WorkPackage] = []
    n_lines = draw(st.integers(1, 2))
    for line in range(n_lines):
        ops = draw(st.integers(1, 2)) if scheduled else 1
        due = draw(st.one_of(st.none(), st.integers(14, 35))) if scheduled and not generous else None
        qty = draw(st.integers(1, max_qty))
        for k in range(ops):
            splittable = draw(st.booleans())
            packages.append(
                WorkPackage(
                    id=f"L{line}-{k}",
                    line=f"L{line}",
                    operation=k,
                    process=draw(st.sampled_from(PROCESSES)),
                    quantity=qty,
                    splittable=splittable,
                    min_lot=draw(_rarely(st.integers(1, qty))) or 1,
                    due_day=due if k == ops - 1 else None,
                    required_certifications=frozenset({"ISO"} if draw(_rarely(st.just(1))) else ()),
                )
            )
    offers: list[Offer] = []
    for pkg in packages:
        bidders = draw(st.sets(st.integers(0, n_f - 1), min_size=1))
        for i in sorted(bidders):
            offers.append(
                Offer(
                    factory=f"F{i}",
                    package=pkg.id,
                    unit_price=draw(st.integers(1, 20)),
                    setup_cost=draw(st.integers(0, 10)),
                    hours_per_unit=draw(st.sampled_from((0.5, 1.0, 2.0))),
                    setup_hours=draw(st.sampled_from((0.0, 1.0))),
                    max_quantity=draw(_rarely(st.integers(1, pkg.quantity))),
                    earliest_start_day=draw(st.integers(0, 3)) if scheduled and not generous else 0,
                    firm=draw(st.booleans()),
                )
            )
    weeks = range(8) if generous else range(draw(st.integers(1, 4))) if scheduled else range(1)
    capacity = [
        Capacity(f.id, proc, w, 100.0 if generous else float(draw(st.sampled_from((0, 8, 12, 20, 40)))))
        for f in factories
        for proc in PROCESSES
        for w in weeks
    ]
    ids = [f.id for f in factories]
    policy = Policy(
        preset=draw(st.sampled_from(("cheapest", "fastest", "fewest_members", "balanced")))
        if scheduled and not generous
        else "cheapest",
        max_members=draw(_rarely(st.integers(1, n_f))),
        min_members=draw(_rarely(st.integers(1, 2))),
        max_share=draw(_rarely(st.sampled_from((0.5, 0.8)))),
        pinned=frozenset(x for x in [draw(_rarely(st.sampled_from(ids)))] if x),
        excluded=frozenset(x for x in [draw(_rarely(st.sampled_from(ids)))] if x),
        lead_certification=draw(_rarely(st.just("ISO"))),
        coordination_cost=draw(st.integers(0, 5)),
        lateness_penalty_per_day=draw(_rarely(st.integers(0, 3))) if scheduled and not generous else None,
        cohesion_bonus=draw(st.integers(0, 5)),
    )
    return Problem(
        factories=tuple(factories),
        packages=tuple(packages),
        offers=tuple(offers),
        capacity=tuple(capacity),
        transport=(TransportLink("13", "27", draw(st.integers(0, 3)), draw(st.integers(0, 10))),),
        default_transport_days=1,
        default_transport_cost=draw(st.integers(0, 5)),
        collaborations=(Collaboration("F0", "F1", 1.0),),
        policy=policy,
    )


@st.composite
def with_fixed(draw: st.DrawFn, base: st.SearchStrategy[Problem], *, pinned_days: bool = False) -> Problem:
    """A problem of ``base`` with one or two valid fixed assignments (quantities the package, its lots and
    the offer allow; with ``pinned_days`` sometimes days as well, which may well not fit)."""
    p = draw(base)
    choices = []
    for o in p.offers:
        pkg = p.package_by_id[o.package]
        top = min(pkg.quantity, o.max_quantity or pkg.quantity)
        low = pkg.min_lot if pkg.splittable else pkg.quantity
        if o.factory not in p.policy.excluded and low <= top:
            choices.append((o, low, top))
    fixed: list[FixedAssignment] = []
    taken: dict[str, int] = {}
    for o, low, top in draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2)) if choices else []:
        left = p.package_by_id[o.package].quantity - taken.get(o.package, 0)
        if any(fa.key == (o.factory, o.package) for fa in fixed) or min(top, left) < low:
            continue
        qty = draw(st.integers(low, min(top, left)))
        start = end = None
        if pinned_days and draw(st.booleans()):
            start = draw(st.integers(0, 10))
            end = start + draw(st.integers(1, 14))
        fixed.append(FixedAssignment(o.factory, o.package, qty, start, end))
        taken[o.package] = taken.get(o.package, 0) + qty
    return Problem(
        factories=p.factories,
        packages=p.packages,
        offers=p.offers,
        capacity=p.capacity,
        transport=p.transport,
        default_transport_days=p.default_transport_days,
        default_transport_cost=p.default_transport_cost,
        collaborations=p.collaborations,
        policy=p.policy,
        fixed=tuple(fixed),
    )
