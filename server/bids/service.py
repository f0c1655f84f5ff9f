"""Sealed bids on work packages, eligibility views, and offers.

Every function takes the calling :class:`Principal` first and ``today`` (JST) or ``now`` from its caller.
Who sees which bids is :mod:`server.bids.rules`; who is eligible is :mod:`server.bids.eligibility`; offers
and estimates are :mod:`server.bids.estimates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from server.auth.principal import Principal, Role
from server.bids import repo, rules
from server.bids.eligibility import Eligibility, FactorySpec, evaluate, ranked
from server.bids.estimates import FirmBid, Offer, package_offers
from server.clock import JST, end_of_day_jst, iso_monday
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, NotFound, ValidationFailed, fail
from server.pagination import Page, decode_cursor, page_of, page_size
from server.rfqs import events, lifecycle
from server.rfqs import repo as rfqs_repo
from server.rfqs import rules as rfq_rules
from server.validation import Errors, check_range, clean_text, plain_number

MAX_UNIT_PRICE_JPY = 100_000_000
MAX_SETUP_COST_JPY = 1_000_000_000
MIN_HOURS_PER_UNIT = Decimal("0.0001")
MAX_HOURS_PER_UNIT = Decimal(1000)
MAX_SETUP_HOURS = Decimal(2000)
MAX_NOTE_LENGTH = 2000
MAX_DAYS_VALID = 5 * 366


@dataclass(frozen=True)
class BidInput:
    """A factory's bid on one package, as its owner gives it (GraphQL and the demo seeder map to this)."""

    package_id: UUID
    factory_id: UUID
    unit_price_jpy: int
    setup_cost_jpy: int
    hours_per_unit: Decimal
    setup_hours: Decimal
    valid_until: dt.date
    max_quantity: int | None = None
    earliest_start: dt.date | None = None
    note: str = ""


# --- loading what eligibility needs -------------------------------------------------------------------


def _weeks(packages: Sequence[repo.WorkPackage], today: dt.date) -> tuple[dt.date, dt.date]:
    """The ISO weeks ``[from, to)`` any of ``packages`` could be worked in from ``today``."""
    last_due = max((p.due_date for p in packages), default=today)
    return iso_monday(today), iso_monday(max(last_due, today)) + dt.timedelta(weeks=1)


async def load_factory_specs(
    conn: Connection, *, packages: Sequence[repo.WorkPackage], where: repo.FactoryFilter, today: dt.date
) -> list[FactorySpec]:
    """The factories of ``where`` with everything :func:`server.bids.eligibility.evaluate` needs to judge
    them for ``packages`` on ``today`` (the Problem builder loads its registry with this too)."""
    weeks_from, weeks_to = _weeks(packages, today)
    return await repo.factory_specs(
        conn,
        where=where,
        process_codes=sorted({p.process_code for p in packages}),
        weeks_from=weeks_from,
        weeks_to=weeks_to,
    )


async def eligibility_of(
    conn: Connection, *, packages: Sequence[repo.WorkPackage], where: repo.FactoryFilter, today: dt.date
) -> dict[UUID, list[Eligibility]]:
    """Per package id: the verdict for every factory of ``where``, in candidate order. No authorisation:
    callers decide who may see which factories (the loaders are reached only from permitted fields)."""
    factories = await load_factory_specs(conn, packages=packages, where=where, today=today)
    names = {f.id: f.name for f in factories}
    return {p.id: ranked([evaluate(p.spec(), f, today=today) for f in factories], names) for p in packages}


# --- reading ------------------------------------------------------------------------------------------


async def _package(conn: Connection, package_id: UUID, *, lock_rfq: bool = False) -> repo.WorkPackage:
    found = await repo.packages_by_ids(conn, ids=[package_id], lock_rfq=lock_rfq)
    if not found:
        raise NotFound("No such work package.")
    return found[0]


async def _visible_package(
    conn: Connection, principal: Principal, package_id: UUID, *, lock_rfq: bool = False
) -> repo.WorkPackage:
    """The package when the caller may see its open RFQ (:func:`server.rfqs.rules.visible_rfqs`); otherwise
    NOT_FOUND, exactly like an unknown id, so a package id says nothing about RFQs the caller cannot see.

    A package of an RFQ that is no longer open passes: the caller then learns, as INVALID_STATE, that
    bidding is over (someone holding its id saw it while it was open).
    """
    package = await _package(conn, package_id, lock_rfq=lock_rfq)
    if package.rfq_status != lifecycle.RfqStatus.OPEN.value:
        return package
    scope = rfq_rules.visible_rfqs(principal)
    if await rfqs_repo.visible_rfq(conn, rfq_id=package.rfq_id, scope=scope) is None:
        raise NotFound("No such work package.")
    return package


async def candidates(
    pool: Pool, principal: Principal, *, package_id: UUID, today: dt.date
) -> list[Eligibility]:
    """Every registered factory's eligibility for a package: eligible first, then by reason. Coordinators."""
    principal.require_role(Role.COORDINATOR)
    async with pool.acquire() as conn:
        package = await _package(conn, package_id)
        verdicts = await eligibility_of(conn, packages=[package], where=repo.FactoryFilter(), today=today)
    return verdicts[package.id]


async def offers(
    pool: Pool, principal: Principal, *, package_id: UUID, today: dt.date, firm_only: bool = False
) -> list[Offer]:
    """The firm bids on a package and (unless ``firm_only``) the estimates of eligible factories that did
    not bid (:func:`server.bids.estimates.package_offers`). Coordinators."""
    principal.require_role(Role.COORDINATOR)
    async with pool.acquire() as conn:
        package = await _package(conn, package_id)
        return (await offers_of_packages(conn, packages=[package], today=today, firm_only=firm_only))[
            package.id
        ]


async def offers_of_packages(
    conn: Connection, *, packages: Sequence[repo.WorkPackage], today: dt.date, firm_only: bool
) -> dict[UUID, list[Offer]]:
    """Per package id: what :func:`offers` answers for it, for all ``packages`` in one round of queries. No
    authorisation: callers decide (the ``offers`` field admits coordinators only)."""
    bids = await repo.bids_by_package_ids(conn, package_ids=[p.id for p in packages], scope=rules.EveryBid())
    factories = (
        []
        if firm_only
        else await load_factory_specs(conn, packages=packages, where=repo.FactoryFilter(), today=today)
    )
    return {
        p.id: package_offers(
            p.spec(),
            factories,
            [firm_bid(b) for b in bids if b.package_id == p.id],
            today=today,
            firm_only=firm_only,
        )
        for p in packages
    }


def firm_bid(bid: repo.Bid) -> FirmBid:
    """A stored bid as :mod:`server.bids.estimates` takes it."""
    return FirmBid(
        factory_id=bid.factory_id,
        package_id=bid.package_id,
        unit_price_jpy=bid.unit_price_jpy,
        setup_cost_jpy=bid.setup_cost_jpy,
        hours_per_unit=bid.hours_per_unit,
        setup_hours=bid.setup_hours,
        max_quantity=bid.max_quantity,
        earliest_start=bid.earliest_start,
    )


@dataclass(frozen=True)
class OfferSnapshot:
    """Everything about an RFQ's packages that a solve needs from the bids domain, read at one moment."""

    packages: list[repo.WorkPackage]
    factories: list[FactorySpec]
    """Every factory eligible for at least one package, with its certifications, capabilities for the
    RFQ's processes and capacity overrides (see :func:`server.bids.eligibility.free_hours_by_week`)."""
    eligibility: dict[UUID, list[Eligibility]]
    """Per package id, the eligible factories' verdicts."""
    offers: list[Offer]
    """Firm bids, and unless ``firm_only`` estimates, on every package."""


async def offer_snapshot(
    conn: Connection, *, rfq_id: UUID, today: dt.date, firm_only: bool = False
) -> OfferSnapshot:
    """The packages, eligible factories and offers of ``rfq_id`` judged on ``today`` (JST), for the Problem
    builder. No authorisation: the caller (a coordinator's solve job) has checked it."""
    packages = await repo.packages_by_rfq_ids(conn, rfq_ids=[rfq_id])
    factories = await load_factory_specs(conn, packages=packages, where=repo.FactoryFilter(), today=today)
    bids = [firm_bid(b) for b in await repo.bids_by_rfq_ids(conn, rfq_ids=[rfq_id], scope=rules.EveryBid())]
    eligibility: dict[UUID, list[Eligibility]] = {}
    offers: list[Offer] = []
    eligible_ids: set[UUID] = set()
    for package in packages:
        spec = package.spec()
        verdicts = [v for v in (evaluate(spec, f, today=today) for f in factories) if v.eligible]
        eligibility[package.id] = verdicts
        eligible_ids.update(v.factory_id for v in verdicts)
        # Only the eligible ones: package_offers judges each factory again, and the rest would fail anyway
        # (halves the work for an RFQ of 100 packages against 500 factories, bench/problem_builder.py).
        eligible_here = {v.factory_id for v in verdicts}
        candidates_here = [f for f in factories if f.id in eligible_here]
        offers += package_offers(spec, candidates_here, bids, today=today, firm_only=firm_only)
    return OfferSnapshot(
        packages=packages,
        factories=[f for f in factories if f.id in eligible_ids],
        eligibility=eligibility,
        offers=offers,
    )


@dataclass(frozen=True)
class BiddableRfq:
    """An open RFQ an owner can bid on: the packages one of its factories is eligible for, its bids."""

    rfq: rfqs_repo.Rfq
    packages: list[repo.WorkPackage]
    bids: list[repo.Bid]
    eligibility: dict[UUID, list[Eligibility]]
    """Per package of ``packages``: the verdicts for each factory of the owner, decided for the page."""


async def biddable_rfqs(
    pool: Pool, principal: Principal, *, today: dt.date, first: int | None = None, after: str | None = None
) -> Page[BiddableRfq]:
    """Open RFQs before their bid deadline with at least one package that a factory of the caller is
    eligible for, newest first; each with those packages and the caller's bids on the RFQ. Owners only.

    The SQL narrows the RFQs to those the owner sees (process and material match); full eligibility is
    decided in Python, so the page is cut after it (open RFQs are few: hundreds, not millions).
    """
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    limit = page_size(first)
    keyset = _decode_after(after) if after is not None else None
    async with pool.acquire() as conn:
        rfq_ids = await repo.biddable_rfq_ids(conn, owner_user_id=principal.user_id, today=today)
        rfqs = {r.id: r for r in await rfqs_repo.rfqs_by_ids(conn, ids=rfq_ids)}
        packages = await repo.packages_by_rfq_ids(conn, rfq_ids=rfq_ids)
        verdicts = await eligibility_of(
            conn, packages=packages, where=repo.FactoryFilter(owner_user_id=principal.user_id), today=today
        )
        bids = await repo.bids_by_rfq_ids(conn, rfq_ids=rfq_ids, scope=rules.visible_bids(principal))
    items = []
    for rfq_id in rfq_ids:
        rfq = rfqs[rfq_id]
        if keyset is not None and (rfq.created_at, str(rfq.id)) >= keyset:
            continue
        mine = [p for p in packages if p.rfq_id == rfq_id and any(v.eligible for v in verdicts.get(p.id, []))]
        if mine:
            items.append(
                BiddableRfq(
                    rfq, mine, [b for b in bids if b.rfq_id == rfq_id], {p.id: verdicts[p.id] for p in mine}
                )
            )
    count = len(items)

    async def total_count() -> int:
        return count

    return page_of(
        items[: limit + 1],
        limit=limit,
        cursor_key=lambda b: [b.rfq.created_at.isoformat(), str(b.rfq.id)],
        total_count=total_count,
    )


def _decode_after(after: str) -> tuple[dt.datetime, str]:
    created_at, rfq_id = decode_cursor(after, length=2)
    try:
        when = dt.datetime.fromisoformat(str(created_at))
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)), str(UUID(str(rfq_id)))
    except ValueError:
        raise fail("after", ErrorCode.INVALID, "This cursor is not valid.") from None


# --- bidding ------------------------------------------------------------------------------------------


def _hours(
    errors: Errors, field: str, value: Decimal, *, low: Decimal, high: Decimal, places: int
) -> Decimal:
    """A finite number of hours in [low, high] with at most ``places`` decimals."""
    if not value.is_finite():
        errors.add(field, ErrorCode.INVALID, f"{field} must be a finite number.")
    elif value < low or value > high:
        errors.add(
            field,
            ErrorCode.OUT_OF_RANGE,
            f"{field} must be between {plain_number(low)} and {plain_number(high)}.",
        )
    elif _decimal_places(value) > places:
        errors.add(field, ErrorCode.INVALID, f"{field} has more than {places} decimal places.")
    return value


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_bid(errors: Errors, data: BidInput, package: repo.WorkPackage, *, today: dt.date) -> str:
    """Every problem with the numbers, dates and note of ``data``; the cleaned note."""
    check_range(errors, "unitPriceJpy", data.unit_price_jpy, low=1, high=MAX_UNIT_PRICE_JPY)
    check_range(errors, "setupCostJpy", data.setup_cost_jpy, low=0, high=MAX_SETUP_COST_JPY)
    _hours(
        errors, "hoursPerUnit", data.hours_per_unit, low=MIN_HOURS_PER_UNIT, high=MAX_HOURS_PER_UNIT, places=4
    )
    _hours(errors, "setupHours", data.setup_hours, low=Decimal(0), high=MAX_SETUP_HOURS, places=2)
    check_range(errors, "maxQuantity", data.max_quantity, low=1, high=package.quantity)
    if data.earliest_start is not None:
        if data.earliest_start < today:
            errors.add("earliestStart", ErrorCode.DATE_IN_PAST, "earliestStart is in the past.")
        elif data.earliest_start >= package.due_date:
            errors.add("earliestStart", ErrorCode.DATE_ORDER, "earliestStart must be before the due date.")
    if data.valid_until < package.bid_deadline:
        errors.add(
            "validUntil",
            ErrorCode.DATE_ORDER,
            f"validUntil must be on or after the bid deadline {package.bid_deadline.isoformat()}.",
        )
    elif data.valid_until > today + dt.timedelta(days=MAX_DAYS_VALID):
        errors.add("validUntil", ErrorCode.OUT_OF_RANGE, "validUntil is more than five years ahead.")
    return clean_text(errors, "note", data.note, max_length=MAX_NOTE_LENGTH, required=False)


async def _check_bidding_open(
    conn: Connection,
    principal: Principal,
    package: repo.WorkPackage,
    *,
    now: dt.datetime,
    visibility_checked: bool = False,
) -> None:
    """NOT_FOUND when the caller cannot see the package's open RFQ; INVALID_STATE when the RFQ no longer
    takes bids; BID_DEADLINE_PASSED after the end of its deadline day in JST.

    ``visibility_checked``: the package came from :func:`_visible_package` in this transaction (its RFQ
    locked), which checked the same visibility already: not queried again."""
    status = lifecycle.RfqStatus(package.rfq_status)
    if status is lifecycle.RfqStatus.OPEN and not visibility_checked:
        scope = rfq_rules.visible_rfqs(principal)
        if await rfqs_repo.visible_rfq(conn, rfq_id=package.rfq_id, scope=scope) is None:
            raise NotFound("No such work package.")
    elif status is not lifecycle.RfqStatus.OPEN:
        raise fail(None, ErrorCode.INVALID_STATE, f"The RFQ is {status.value}: it takes no bids.")
    if now >= end_of_day_jst(package.bid_deadline):
        raise fail(
            None,
            ErrorCode.BID_DEADLINE_PASSED,
            f"Bidding closed at the end of {package.bid_deadline.isoformat()} (JST).",
        )


async def _check_factory(conn: Connection, principal: Principal, factory_id: UUID) -> None:
    owner = await repo.factory_owner(conn, factory_id=factory_id)
    if owner is None:
        raise NotFound("No such factory.")
    if not rules.may_bid_for(principal, factory_owner_user_id=owner):
        raise fail("factoryId", ErrorCode.FORBIDDEN, "Only the factory's owner may bid for it.")


async def submit_bid(pool: Pool, principal: Principal, data: BidInput, *, now: dt.datetime) -> repo.Bid:
    """Create or replace a factory's sealed bid on one package, or write nothing.

    Factory owners, for their own factories (else FORBIDDEN), while the RFQ is open (INVALID_STATE) and
    before the end of its bid-deadline day in JST (BID_DEADLINE_PASSED), on packages the factory is eligible
    for today (NOT_ELIGIBLE, every reason in the message). Every problem with the figures is reported at
    once. The bid and its event are written in one transaction.
    """
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    today = now.astimezone(JST).date()
    async with transaction(pool) as conn:
        package = await _visible_package(conn, principal, data.package_id, lock_rfq=True)
        await _check_factory(conn, principal, data.factory_id)
        await _check_bidding_open(conn, principal, package, now=now, visibility_checked=True)
        (verdict,) = (
            await eligibility_of(
                conn, packages=[package], where=repo.FactoryFilter(factory_ids=[data.factory_id]), today=today
            )
        )[package.id]
        if not verdict.eligible:
            raise fail("factoryId", ErrorCode.NOT_ELIGIBLE, verdict.explain())
        errors = Errors()
        note = _check_bid(errors, data, package, today=today)
        if errors:
            raise ValidationFailed(errors)
        bid, replaced = await repo.upsert_bid(
            conn,
            rfq_id=package.rfq_id,
            bid=repo.NewBid(
                package_id=package.id,
                factory_id=data.factory_id,
                unit_price_jpy=data.unit_price_jpy,
                setup_cost_jpy=data.setup_cost_jpy,
                hours_per_unit=data.hours_per_unit,
                setup_hours=data.setup_hours,
                max_quantity=data.max_quantity,
                earliest_start=data.earliest_start,
                valid_until=data.valid_until,
                note=note,
                submitted_by=principal.user_id,
            ),
        )
        await events.record(
            conn,
            principal,
            rfq_id=package.rfq_id,
            kind=events.EventKind.BID_REPLACED if replaced else events.EventKind.BID_SUBMITTED,
            payload=_bid_payload(bid),
        )
        return bid


async def withdraw_bid(pool: Pool, principal: Principal, *, bid_id: UUID, now: dt.datetime) -> repo.Bid:
    """Remove a bid: its factory's owner (another owner's bid is NOT_FOUND: bids are sealed), while the RFQ
    is open and before its bid deadline. Returns the bid as it was."""
    principal.require_role(Role.FACTORY_OWNER)
    async with transaction(pool) as conn:
        bid = await repo.bid_for_update(conn, bid_id=bid_id)
        owner = await repo.factory_owner(conn, factory_id=bid.factory_id) if bid else None
        if bid is None or owner is None or not rules.may_bid_for(principal, factory_owner_user_id=owner):
            raise NotFound("No such bid.")
        package = await _package(conn, bid.package_id, lock_rfq=True)
        await _check_bidding_open(conn, principal, package, now=now)
        await repo.delete_bid(conn, bid_id=bid.id)
        await events.record(
            conn,
            principal,
            rfq_id=package.rfq_id,
            kind=events.EventKind.BID_WITHDRAWN,
            payload=_bid_payload(bid),
        )
        return bid


def _bid_payload(bid: repo.Bid) -> dict[str, object]:
    """What the (coordinator-only) bid events record."""
    return {
        "bidId": str(bid.id),
        "packageId": str(bid.package_id),
        "factoryId": str(bid.factory_id),
        "unitPriceJpy": bid.unit_price_jpy,
        "setupCostJpy": bid.setup_cost_jpy,
        "hoursPerUnit": str(bid.hours_per_unit),
        "setupHours": str(bid.setup_hours),
    }


__all__ = [
    "BidInput",
    "BiddableRfq",
    "OfferSnapshot",
    "biddable_rfqs",
    "candidates",
    "eligibility_of",
    "firm_bid",
    "load_factory_specs",
    "offer_snapshot",
    "offers",
    "submit_bid",
    "withdraw_bid",
]
