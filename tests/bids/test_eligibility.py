"""server.bids.eligibility: one test per reason code, on plain dataclasses (no database, no clock)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

from server.bids.eligibility import (
    CapabilitySpec,
    FactorySpec,
    PackageSpec,
    Reason,
    evaluate,
    free_hours_by_week,
    ranked,
)

TODAY = dt.date(2026, 12, 1)  # a Tuesday; a fixed date, not the clock's
DUE = dt.date(2027, 1, 29)


def package(**changes: object) -> PackageSpec:
    base = PackageSpec(
        id=uuid.UUID(int=1),
        process_code="cnc_turning",
        process_category="precision_machining",
        material="SUS304",
        quantity=500,
        tolerance_um=Decimal(10),
        envelope_mm=120,
        due_date=DUE,
        required_certifications=("ISO9001",),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def capability(**changes: object) -> CapabilitySpec:
    base = CapabilitySpec(
        process_code="cnc_turning",
        materials=frozenset({"SUS304", "S45C"}),
        best_tolerance_um=Decimal(5),
        max_envelope_mm=300,
        min_lot=1,
        max_lot=10_000,
        hours_per_week=Decimal(40),
        hourly_rate_jpy=6000,
        setup_cost_jpy=12_000,
        setup_hours=Decimal(2),
        lead_days=0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def factory(cap: CapabilitySpec | None = None, *, name: str = "Ota Seiki", **changes: object) -> FactorySpec:
    cap = cap or capability()
    base = FactorySpec(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        name=name,
        owner_user_id=uuid.UUID(int=9),
        prefecture="13",
        certifications={"ISO9001": dt.date(2028, 1, 1)},
        capabilities={cap.process_code: cap},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def codes(pkg: PackageSpec, fac: FactorySpec) -> list[Reason]:
    return [f.reason for f in evaluate(pkg, fac, today=TODAY).failures]


def test_a_matching_factory_is_eligible_with_its_free_hours() -> None:
    verdict = evaluate(package(), factory(), today=TODAY)
    assert verdict.eligible
    assert verdict.failures == ()
    # weeks from Mon 30 Nov 2026 to the week of Fri 29 Jan 2027: 9 weeks × 40 h
    assert verdict.free_hours == Decimal(360)


def test_process() -> None:
    assert codes(package(process_code="wire_edm"), factory()) == [Reason.PROCESS]


def test_material() -> None:
    assert codes(package(material="TI64"), factory()) == [Reason.MATERIAL]


def test_tolerance() -> None:
    assert codes(package(tolerance_um=Decimal(3)), factory()) == [Reason.TOLERANCE]
    # equal is fine
    assert codes(package(tolerance_um=Decimal(5)), factory()) == []


def test_tolerance_applies_only_to_processes_that_set_dimensions() -> None:
    # A 5 µm shaft is carburized before it is ground to size: a carburizer rated 20 µm may take it …
    carburizer = factory(capability(process_code="carburizing", best_tolerance_um=Decimal(20)))
    carburizing = package(
        process_code="carburizing", process_category="heat_treatment", tolerance_um=Decimal(5)
    )
    assert codes(carburizing, carburizer) == []
    for category in ("surface_treatment", "inspection", "micro_assembly"):
        assert codes(dataclasses.replace(carburizing, process_category=category), carburizer) == []
    # … but a grinder rated 20 µm may not grind it
    for category in ("precision_machining", "advanced_machining", "casting", "moulding", "additive"):
        assert codes(dataclasses.replace(carburizing, process_category=category), carburizer) == [
            Reason.TOLERANCE
        ]


def test_envelope() -> None:
    assert codes(package(envelope_mm=301), factory()) == [Reason.ENVELOPE]


def test_not_approved() -> None:
    assert codes(package(), factory(approved=False)) == [Reason.NOT_APPROVED]


def test_lot_range() -> None:
    assert codes(package(quantity=99), factory(capability(min_lot=100))) == [Reason.LOT_RANGE]
    # above the maximum lot a factory may still take a share
    assert codes(package(quantity=50_000), factory()) == []


def test_certification_missing() -> None:
    fac = factory(certifications={})
    assert codes(package(), fac) == [Reason.CERTIFICATION_MISSING]


def test_certification_expiring_before_the_due_date() -> None:
    fac = factory(certifications={"ISO9001": DUE - dt.timedelta(days=1)})
    verdict = evaluate(package(), fac, today=TODAY)
    assert [f.reason for f in verdict.failures] == [Reason.CERTIFICATION_EXPIRING]
    assert "expires on 2027-01-28" in verdict.failures[0].message
    # valid on the due date itself is enough
    assert codes(package(), factory(certifications={"ISO9001": DUE})) == []


def test_an_expired_certification_says_so() -> None:
    fac = factory(certifications={"ISO9001": TODAY - dt.timedelta(days=10)})
    (failure,) = evaluate(package(), fac, today=TODAY).failures
    assert failure.reason is Reason.CERTIFICATION_EXPIRING
    assert "expired on" in failure.message


def test_no_capacity_when_every_week_is_booked_out() -> None:
    mondays = [dt.date(2026, 11, 30) + dt.timedelta(weeks=w) for w in range(10)]
    full = capability(capacity_weeks=dict.fromkeys(mondays, Decimal(0)))
    verdict = evaluate(package(), factory(full), today=TODAY)
    assert [f.reason for f in verdict.failures] == [Reason.NO_CAPACITY]
    assert verdict.free_hours == 0


def test_no_capacity_when_the_lead_time_reaches_past_the_due_date() -> None:
    slow = capability(lead_days=(DUE - TODAY).days)
    assert codes(package(), factory(slow)) == [Reason.NO_CAPACITY]


def test_capacity_overrides_replace_the_weekly_hours_and_bookings_are_subtracted() -> None:
    monday = dt.date(2026, 11, 30)
    cap = capability(capacity_weeks={monday: Decimal(10)})
    fac = factory(cap, booked={("cnc_turning", monday + dt.timedelta(weeks=1)): Decimal(50)})
    weeks = free_hours_by_week(fac, cap, start=TODAY, end=monday + dt.timedelta(weeks=3))
    assert weeks == {
        monday: Decimal(10),
        monday + dt.timedelta(weeks=1): Decimal(0),  # 40 free − 50 booked, never below 0
        monday + dt.timedelta(weeks=2): Decimal(40),
    }


def test_every_failed_filter_is_reported_in_filter_order() -> None:
    fac = factory(capability(min_lot=1000, best_tolerance_um=Decimal(50)), certifications={})
    assert codes(package(material="TI64", envelope_mm=900), fac) == [
        Reason.MATERIAL,
        Reason.TOLERANCE,
        Reason.ENVELOPE,
        Reason.LOT_RANGE,
        Reason.CERTIFICATION_MISSING,
    ]


def test_candidates_rank_eligible_first_then_by_reason_then_by_name() -> None:
    pkg = package()
    factories = [
        factory(name="Zeta", certifications={}),
        factory(capability(process_code="wire_edm"), name="Alpha"),
        factory(name="Mu"),
        factory(name="Beta"),
    ]
    verdicts = [evaluate(pkg, f, today=TODAY) for f in factories]
    names = {f.id: f.name for f in factories}
    assert [names[v.factory_id] for v in ranked(verdicts, names)] == ["Beta", "Mu", "Alpha", "Zeta"]
