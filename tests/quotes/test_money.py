"""Quote arithmetic (pure): minor units, half-up rounding per line, total = Σ lines, transport pro rata;
the award's needs per factory × process × week."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID, uuid4

from server.quotes import booking, money
from server.quotes.repo import Share, WeekCapacity


def test_minor_units_follow_iso_4217() -> None:
    assert [money.minor_units(c) for c in ("JPY", "USD", "EUR", "KRW", "KWD", "CLF")] == [0, 2, 2, 0, 3, 4]


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert money.round_to_minor(Decimal("1.005"), "USD") == Decimal("1.01")
    assert money.round_to_minor(Decimal("1.0049"), "USD") == Decimal("1.00")
    assert money.round_to_minor(Decimal("2.5"), "JPY") == Decimal(3)


def test_unit_prices_round_per_line_and_the_total_adds_the_lines() -> None:
    a, b = uuid4(), uuid4()
    priced = money.price_lines(
        [money.LineCost(a, 3, 1000), money.LineCost(b, 7, 3000)],
        transport_jpy=400,  # shared 100 / 300 pro rata
        margin_pct=Decimal(10),
        jpy_per_unit=Decimal("150"),
        currency="USD",
    )
    # a: (1000 + 100) × 1.1 / 150 / 3 = 2.68888… → 2.69; b: (3000 + 300) × 1.1 / 150 / 7 = 3.45714… → 3.46
    assert [(p.unit_price, p.amount) for p in priced.lines] == [
        (Decimal("2.69"), Decimal("8.07")),
        (Decimal("3.46"), Decimal("24.22")),
    ]
    assert priced.total_amount == Decimal("32.29")
    assert priced.cost_jpy == 4400


def test_line_costs_sum_the_shares_of_each_line() -> None:
    a, b = uuid4(), uuid4()
    costs = money.line_costs([(a, 900, 20), (a, 100, 5), (b, 50, 0)], {a: 10, b: 5})
    assert costs == [money.LineCost(a, 10, 1025), money.LineCost(b, 5, 50)]


def _share(factory: UUID, process: str, hours: list[tuple[str, float]]) -> Share:
    return Share(
        factory_id=factory,
        package_id=uuid4(),
        line_id=uuid4(),
        process_code=process,
        quantity=1,
        agreed_unit_price_jpy=1,
        setup_cost_jpy=0,
        end_date=dt.date(2026, 12, 31),
        weekly_hours=[{"week": w, "hours": h} for w, h in hours],
    )


def test_needs_add_up_per_factory_process_and_week_and_round_half_up() -> None:
    f = uuid4()
    needs = booking.needs_of(
        [
            _share(f, "cnc_turning", [("2026-W50", 10.004), ("2026-W51", 0.0)]),
            _share(f, "cnc_turning", [("2026-W50", 2.001)]),
            _share(f, "cmm_inspection", [("2026-W50", 1.5)]),
        ]
    )
    monday = dt.date(2026, 12, 7)
    assert needs == {
        (f, "cmm_inspection", monday): Decimal("1.50"),
        (f, "cnc_turning", monday): Decimal("12.01"),
    }


def test_a_need_above_the_free_hours_is_a_conflict() -> None:
    f = uuid4()
    monday = dt.date(2026, 12, 7)
    needs = {(f, "cnc_turning", monday): Decimal("30.00")}
    fits = [WeekCapacity(f, "cnc_turning", monday, Decimal(40), Decimal("10.00"))]
    assert booking.conflicts_of(needs, fits) == ()
    full = [WeekCapacity(f, "cnc_turning", monday, Decimal(40), Decimal("10.02"))]
    (conflict,) = booking.conflicts_of(needs, full)
    assert conflict.free == Decimal("29.98")
    assert booking.conflicts_of(needs, []) != ()  # no capability: no hours
