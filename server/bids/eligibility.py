"""Whether a factory may take a work package: decided here, and only here.

Pure functions over plain dataclasses, no database and no clock: the GraphQL fields (``eligibility``,
``candidates``, ``biddableRfqs``), ``bidSubmit`` and the Problem builder all call :func:`evaluate` with the
rows they loaded and the ``today`` (JST) their caller gave, so they can never disagree.

The filters, in the order their reasons are reported (:class:`Reason`):

1. ``PROCESS`` — the factory has a capability for the package's process;
2. ``MATERIAL`` — that capability works the line's material;
3. ``TOLERANCE`` — its best tolerance is as tight as the line's (a smaller number is tighter), judged only
   for processes that give the part its dimensions (:data:`DIMENSIONAL_CATEGORIES`);
4. ``ENVELOPE`` — the part fits its maximum envelope;
5. ``LOT_RANGE`` — the package's quantity reaches its minimum lot (above the maximum lot a factory can still
   take a share: the maximum caps its offer, see :mod:`server.bids.estimates`);
6. ``CERTIFICATION_MISSING`` / ``CERTIFICATION_EXPIRING`` — it holds every certification the line requires,
   each valid until the due date at least;
7. ``NO_CAPACITY`` — it has free hours for the process between today plus its lead days and the due date.

When the process filter fails, filters 2-5 and 7 cannot be judged and are not reported; certifications
always are.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from server.clock import iso_monday

DIMENSIONAL_CATEGORIES: frozenset[str] = frozenset(
    {
        "precision_machining",
        "small_lot_prototyping",
        "high_precision_mass_production",
        "advanced_machining",
        "sheet_metal",
        "forming_forging",
        "casting",
        "moulding",
        "additive",
    }
)
"""Process categories (the catalogue's ``processes.category``) whose work sets the part's dimensions, so the
line's tolerance applies to them. Heat treatment, surface treatment, inspection and assembly do not cut or
form the part: a carburizer "rated 10 µm" states its distortion or case-depth spread, not the size it can
hold, and a 5 µm shaft is carburized before it is ground to size. See docs/decisions.md."""


def tolerance_applies(process_category: str) -> bool:
    """Whether the line's tolerance filters factories for a process of ``process_category``."""
    return process_category in DIMENSIONAL_CATEGORIES


class Reason(enum.Enum):
    """Why a factory is not eligible: the filter that failed. Each member: (code, description)."""

    PROCESS = ("PROCESS", "The factory has no capability for the package's process.")
    MATERIAL = ("MATERIAL", "The factory's capability does not work the part's material.")
    TOLERANCE = ("TOLERANCE", "The factory's best tolerance is coarser than the part's tolerance.")
    ENVELOPE = ("ENVELOPE", "The part is larger than the factory's maximum envelope.")
    LOT_RANGE = ("LOT_RANGE", "The package's quantity is below the factory's minimum lot.")
    CERTIFICATION_MISSING = ("CERTIFICATION_MISSING", "The factory lacks a certification the part requires.")
    CERTIFICATION_EXPIRING = (
        "CERTIFICATION_EXPIRING",
        "A required certification of the factory expires before the due date.",
    )
    NO_CAPACITY = ("NO_CAPACITY", "The factory has no free hours for the process before the due date.")
    NOT_APPROVED = ("NOT_APPROVED", "The cluster office has not approved the factory's registration.")

    def __init__(self, code: str, description: str) -> None:
        self.code = code
        self.description = description

    @property
    def rank(self) -> int:
        """The filter's place in the order above (candidates are sorted by their first reason)."""
        return _REASON_RANKS[self]


# Each reason's place in the declaration order, computed once: ranking a registry's candidates asks for it
# once per verdict (listing the enum each time was a fifth of a candidates read's CPU).
_REASON_RANKS: dict[Reason, int] = {reason: i for i, reason in enumerate(Reason)}


@dataclass(frozen=True)
class PackageSpec:
    """What eligibility needs of a work package (one RFQ line × one operation)."""

    id: UUID
    process_code: str
    process_category: str
    """The catalogue category of the process: whether the tolerance applies (:func:`tolerance_applies`)."""
    material: str
    quantity: int
    tolerance_um: Decimal
    envelope_mm: int
    due_date: dt.date
    required_certifications: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapabilitySpec:
    """One capability of a factory, with its free-hours overrides (``capacity_weeks``) by ISO Monday."""

    process_code: str
    materials: frozenset[str]
    best_tolerance_um: Decimal
    max_envelope_mm: int
    min_lot: int
    max_lot: int
    hours_per_week: Decimal
    hourly_rate_jpy: int
    setup_cost_jpy: int
    setup_hours: Decimal
    lead_days: int
    capacity_weeks: Mapping[dt.date, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class FactorySpec:
    """What eligibility needs of a factory: certifications (code → valid until) and capabilities by process.

    ``booked`` holds the hours already booked by awards per (process, ISO Monday): the live
    ``capacity_bookings``, loaded by :func:`server.bids.repo.factory_specs` (see :func:`booked_hours`).
    """

    id: UUID
    name: str
    owner_user_id: UUID
    prefecture: str
    certifications: Mapping[str, dt.date]
    capabilities: Mapping[str, CapabilitySpec]
    booked: Mapping[tuple[str, dt.date], Decimal] = field(default_factory=dict)
    approved: bool = True  # vetted by the cluster office (see server/factories/approval.py)


@dataclass(frozen=True)
class Failure:
    """One failed filter, in words fit for the factory owner."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class Eligibility:
    """The verdict for one (package, factory) pair."""

    package_id: UUID
    factory_id: UUID
    failures: tuple[Failure, ...]
    free_hours: Decimal
    """Free hours for the process before the due date (0 without a capability for it)."""

    @property
    def eligible(self) -> bool:
        return not self.failures

    def sort_key(self) -> tuple[int, int, int]:
        """Eligible first, then by the first failed filter, then by how many failed."""
        if not self.failures:
            return (0, 0, 0)
        return (1, self.failures[0].reason.rank, len(self.failures))

    def explain(self) -> str:
        """All failures in one sentence (the NOT_ELIGIBLE message of ``bidSubmit``)."""
        return " ".join(f.message for f in self.failures)


def booked_hours(factory: FactorySpec, process_code: str, week_start: dt.date) -> Decimal:
    """Hours of ``factory``'s ``process_code`` already booked in the ISO week starting ``week_start``.

    The live bookings of awards (``capacity_bookings``, released ones excluded), as loaded into
    ``FactorySpec.booked``; every caller of :func:`free_hours_by_week` subtracts them.
    """
    return factory.booked.get((process_code, week_start), Decimal(0))


def capacity_window(
    capability: CapabilitySpec, *, today: dt.date, due_date: dt.date
) -> tuple[dt.date, dt.date]:
    """The days ``[start, end)`` a factory could work on a package: from today plus its lead days until the
    due date (an assignment must end, its output available, on the due date at the latest)."""
    return today + dt.timedelta(days=capability.lead_days), due_date


def free_hours_by_week(
    factory: FactorySpec, capability: CapabilitySpec, *, start: dt.date, end: dt.date
) -> dict[dt.date, Decimal]:
    """Free hours per ISO week (by its Monday) for every week that overlaps the days ``[start, end)``.

    A week's hours are its ``capacity_weeks`` override, or else the capability's ``hours_per_week``, minus
    the hours already booked (:func:`booked_hours`), never below 0. Weeks count whole, as the solver's
    capacity buckets do.
    """
    weeks: dict[dt.date, Decimal] = {}
    if start >= end:
        return weeks
    monday = iso_monday(start)
    while monday < end:
        hours = capability.capacity_weeks.get(monday, capability.hours_per_week)
        free = hours - booked_hours(factory, capability.process_code, monday)
        weeks[monday] = max(free, Decimal(0))
        monday += dt.timedelta(weeks=1)
    return weeks


def evaluate(package: PackageSpec, factory: FactorySpec, *, today: dt.date) -> Eligibility:
    """Whether ``factory`` may take ``package``, judged on ``today`` (in JST), with every failed filter."""
    failures: list[Failure] = []
    if not factory.approved:
        failures.append(
            Failure(Reason.NOT_APPROVED, f"{factory.name} waits for the cluster office's approval.")
        )
    capability = factory.capabilities.get(package.process_code)
    if capability is None:
        failures.append(
            Failure(Reason.PROCESS, f"{factory.name} has no capability for {package.process_code}.")
        )
    else:
        if package.material not in capability.materials:
            failures.append(
                Failure(
                    Reason.MATERIAL,
                    f"{factory.name} does not offer {package.process_code} for {package.material}.",
                )
            )
        if (
            tolerance_applies(package.process_category)
            and capability.best_tolerance_um > package.tolerance_um
        ):
            failures.append(
                Failure(
                    Reason.TOLERANCE,
                    f"The part needs {_plain(package.tolerance_um)} µm; {factory.name} holds "
                    f"{_plain(capability.best_tolerance_um)} µm at best.",
                )
            )
        if package.envelope_mm > capability.max_envelope_mm:
            failures.append(
                Failure(
                    Reason.ENVELOPE,
                    f"The part measures {package.envelope_mm} mm; {factory.name} takes up to "
                    f"{capability.max_envelope_mm} mm.",
                )
            )
        if package.quantity < capability.min_lot:
            failures.append(
                Failure(
                    Reason.LOT_RANGE,
                    f"The package is {package.quantity} pieces; {factory.name}'s minimum lot is "
                    f"{capability.min_lot}.",
                )
            )
    for code in package.required_certifications:
        valid_until = factory.certifications.get(code)
        if valid_until is None:
            failures.append(Failure(Reason.CERTIFICATION_MISSING, f"{factory.name} does not hold {code}."))
        elif valid_until < package.due_date:
            verb = "expired" if valid_until < today else "expires"
            failures.append(
                Failure(
                    Reason.CERTIFICATION_EXPIRING,
                    f"{factory.name}'s {code} {verb} on {valid_until.isoformat()}, before the due date "
                    f"{package.due_date.isoformat()}.",
                )
            )
    free = Decimal(0)
    if capability is not None:
        start, end = capacity_window(capability, today=today, due_date=package.due_date)
        free = sum(free_hours_by_week(factory, capability, start=start, end=end).values(), Decimal(0))
        if free <= 0:
            failures.append(
                Failure(
                    Reason.NO_CAPACITY,
                    f"{factory.name} has no free {package.process_code} hours between "
                    f"{start.isoformat()} and the due date {package.due_date.isoformat()}.",
                )
            )
    failures.sort(key=lambda f: f.reason.rank)
    return Eligibility(
        package_id=package.id, factory_id=factory.id, failures=tuple(failures), free_hours=free
    )


def evaluate_all(
    packages: Iterable[PackageSpec], factories: Iterable[FactorySpec], *, today: dt.date
) -> dict[tuple[UUID, UUID], Eligibility]:
    """:func:`evaluate` for every (package, factory) pair, keyed by (package id, factory id)."""
    factory_list = list(factories)
    return {(p.id, f.id): evaluate(p, f, today=today) for p in packages for f in factory_list}


def ranked(verdicts: Iterable[Eligibility], names: Mapping[UUID, str]) -> list[Eligibility]:
    """``verdicts`` in candidate order: eligible first, then by reason, then by factory name."""
    return sorted(verdicts, key=lambda e: (e.sort_key(), names.get(e.factory_id, ""), str(e.factory_id)))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


__all__ = [
    "DIMENSIONAL_CATEGORIES",
    "CapabilitySpec",
    "Eligibility",
    "FactorySpec",
    "Failure",
    "PackageSpec",
    "Reason",
    "booked_hours",
    "capacity_window",
    "evaluate",
    "evaluate_all",
    "free_hours_by_week",
    "ranked",
    "tolerance_applies",
]
