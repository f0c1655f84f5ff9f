"""Small problem builders for the solver tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from solver import Capacity, Factory, Offer, Policy, Problem, WorkPackage

#: Tests bound every CP-SAT search by deterministic time (``solve(..., deterministic_time_s=…)``); the wall
#: limit is only a safety net far above what any test needs, so no test depends on the machine's speed.
WALL_S = 300.0


def fac(ident: str, prefecture: str = "13", certs: Iterable[str] = ()) -> Factory:
    return Factory(ident, prefecture, "", frozenset(certs))


def pkg(
    ident: str,
    quantity: int = 10,
    *,
    line: str | None = None,
    op: int = 0,
    process: str = "turning",
    **kw: Any,
) -> WorkPackage:
    return WorkPackage(ident, line or ident, op, process, quantity, **kw)


def off(factory: str, package: str, price: int = 100, **kw: Any) -> Offer:
    kw.setdefault("hours_per_unit", 1.0)
    return Offer(factory, package, price, **kw)


def caps(
    factories: Iterable[str], processes: Iterable[str], weeks: Iterable[int], hours: float
) -> tuple[Capacity, ...]:
    procs = tuple(processes)
    wks = tuple(weeks)
    return tuple(Capacity(f, p, w, hours) for f in factories for p in procs for w in wks)


def problem(
    factories: Iterable[Factory],
    packages: Iterable[WorkPackage],
    offers: Iterable[Offer],
    capacity: Iterable[Capacity],
    policy: Policy | None = None,
    **kw: Any,
) -> Problem:
    return Problem(
        factories=tuple(factories),
        packages=tuple(packages),
        offers=tuple(offers),
        capacity=tuple(capacity),
        policy=policy or Policy(),
        **kw,
    )
