"""Weekly capacity: free machine-hours per factory × process × ISO week.

A week without an override has the capability's hours per week; the hours that awards booked
(``capacity_bookings``, issue 8) are subtracted from it, so ``hours`` is what is still free. Weeks are
ISO weeks stored as their Monday, on the factories' calendar (JST, :mod:`server.clock`). Only whoever may
see a factory's private figures sees its capacity (:func:`server.factories.rules.may_see_private`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from server.auth.principal import Principal, Role
from server.clock import iso_monday, iso_week_label
from server.db import Pool, transaction
from server.errors import ErrorCode, ValidationFailed
from server.factories import repo
from server.factories.capabilities import HOURS, known_process
from server.factories.checks import check_number, check_year, clean_code
from server.factories.rules import factory_to_change
from server.validation import Errors

MAX_CAPACITY_WEEKS = 260
MAX_CAPACITY_QUERY_WEEKS = 104
DEFAULT_CAPACITY_QUERY_WEEKS = 12


@dataclass(frozen=True)
class CapacityWeek:
    """Hours of one capability in one ISO week: its capacity (an override, or the capability's hours per
    week), the hours awards booked, and what is free (capacity − booked, never below 0)."""

    factory_id: UUID
    process_code: str
    week_start: dt.date
    capacity: Decimal
    is_override: bool
    booked: Decimal = Decimal(0)

    @property
    def hours(self) -> Decimal:
        """Free hours."""
        return max(self.capacity - self.booked, Decimal(0))


def capacity_grid(
    capabilities: Iterable[repo.Capability],
    overrides: Iterable[repo.CapacityOverride],
    *,
    week_from: dt.date,
    weeks: int,
    bookings: Iterable[repo.CapacityBooking] = (),
) -> list[CapacityWeek]:
    """Every capability × week from ``week_from`` (a Monday) on: the override where there is one, less the
    hours booked by awards."""
    by_key = {(o.factory_id, o.process_code, o.week_start): o.hours for o in overrides}
    booked = {(b.factory_id, b.process_code, b.week_start): b.hours for b in bookings}
    grid: list[CapacityWeek] = []
    for cap in capabilities:
        for n in range(weeks):
            week = week_from + dt.timedelta(weeks=n)
            key = (cap.factory_id, cap.process_code, week)
            hours = by_key.get(key)
            grid.append(
                CapacityWeek(
                    factory_id=cap.factory_id,
                    process_code=cap.process_code,
                    week_start=week,
                    capacity=cap.hours_per_week if hours is None else hours,
                    is_override=hours is not None,
                    booked=booked.get(key, Decimal(0)),
                )
            )
    return grid


def capacity_window(
    from_week: dt.date | None, weeks: int = DEFAULT_CAPACITY_QUERY_WEEKS, *, today: dt.date
) -> tuple[dt.date, int]:
    """Check a capacity query's window: (its first Monday, number of weeks).

    The window starts by default in ``today``'s week.
    """
    errors = Errors()
    monday = iso_monday(from_week or today)
    check_year(errors, "fromWeek", monday)
    check_number(errors, "weeks", weeks, low=1, high=MAX_CAPACITY_QUERY_WEEKS)
    if errors:
        raise ValidationFailed(errors)
    return monday, weeks


async def set_capacity(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID,
    process_code: str,
    weeks: Sequence[tuple[dt.date, float | Decimal | None]],
    today: dt.date,
) -> list[CapacityWeek]:
    """Set the free hours of one capability for some ISO weeks: its owner or a coordinator.

    Each date stands for its ISO week (any day is moved back to that week's Monday); ``None`` hours remove
    the override, so the week falls back to the capability's hours per week. Weeks before ``today``'s (in
    Japan) cannot be set. Returns the resulting hours of the given weeks, in week order.
    """
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    errors = Errors()
    process_code = clean_code(errors, "processCode", process_code, upper=False)
    if not weeks:
        errors.add("weeks", ErrorCode.REQUIRED, "List at least one week.")
    elif len(weeks) > MAX_CAPACITY_WEEKS:
        errors.add("weeks", ErrorCode.OUT_OF_RANGE, f"List at most {MAX_CAPACITY_WEEKS} weeks.")
    this_week = iso_monday(today)
    cleaned: dict[dt.date, Decimal | None] = {}
    for i, (day, hours) in enumerate(weeks[:MAX_CAPACITY_WEEKS]):
        monday = iso_monday(day)
        field = f"weeks.{i}"
        check_year(errors, f"{field}.weekStart", day)
        if monday < this_week:
            errors.add(f"{field}.weekStart", ErrorCode.DATE_IN_PAST, "Past weeks cannot be changed.")
        elif monday in cleaned:
            errors.add(
                f"{field}.weekStart", ErrorCode.INVALID, f"Week {iso_week_label(monday)} is listed twice."
            )
        check_number(errors, f"{field}.hours", hours, low=0, high=168)
        cleaned[monday] = hours if hours is None else Decimal(str(hours))
    async with transaction(pool) as conn:
        factory = await factory_to_change(conn, principal, factory_id)
        process = await known_process(conn, errors, process_code)
        capability = (
            await repo.capability(conn, factory_id=factory.id, process_code=process_code) if process else None
        )
        if process is not None and capability is None:
            errors.add(
                "processCode", ErrorCode.NOT_FOUND, f"This factory has no {process.name_en} capability."
            )
        if errors:
            raise ValidationFailed(errors)
        assert capability is not None
        await repo.set_capacity_weeks(
            conn,
            factory_id=factory.id,
            process_code=process_code,
            hours_by_week=[(w, None if h is None else h.quantize(HOURS)) for w, h in sorted(cleaned.items())],
        )
        first, last = min(cleaned), max(cleaned)
        span = (last - first).days // 7 + 1
        overrides = await repo.capacity_overrides(
            conn, ranges=[(factory.id, first, last + dt.timedelta(weeks=1))]
        )
        bookings = await repo.capacity_bookings(
            conn, ranges=[(factory.id, first, last + dt.timedelta(weeks=1))]
        )
        grid = capacity_grid([capability], overrides, week_from=first, weeks=span, bookings=bookings)
        return [week for week in grid if week.week_start in cleaned]
