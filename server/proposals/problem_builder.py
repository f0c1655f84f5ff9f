"""The Problem builder: an RFQ and the registry, read from the database, as a :class:`solver.Problem`.

:func:`build_problem` is the solve jobs' plug point (:mod:`server.jobs.plugins`, installed by
:mod:`server.proposals.plugin`). It reads, at one moment, the RFQ and its lines, the bids domain's
:func:`server.bids.service.offer_snapshot` (packages, eligible factories, firm and estimated offers), the
transport links between the prefectures of those factories (:func:`server.logistics.service.links_between`)
and the collaboration weights between them (:func:`server.partnerships.repo.collaboration_weights`); then
:func:`problem_from`, a pure function, maps them to the Problem, and the request's overrides are applied
(:func:`server.jobs.plugins.apply_request`).

Ids in the Problem, which the proposals store maps back (keep them exactly so):

- factory = ``str(factory UUID)``; package = ``str(package UUID)``; line = ``str(line UUID)``;
- part = the line's part number, or its name when it has none; operation = the package's routing position;
  process = the catalogue's process code; prefecture = the JIS code.

Time: the origin is the ISO Monday of ``today`` (JST); every package is due on the RFQ's due date; the free
hours per factory × process × ISO week come from :func:`server.bids.eligibility.free_hours_by_week` (the
capability's weekly hours or its ``capacity_weeks`` override, minus bookings) for the weeks overlapping
[today, due date); an offer starts at the bid's earliest start, or without one at today plus the
capability's lead days (:func:`server.bids.eligibility.capacity_window`), never before today. ``today``
defaults to the system clock's day in JST: the worker is this function's caller and has no request clock.

Only pairs that :mod:`server.bids.eligibility` judges eligible today reach the solver: a firm bid of a
factory that has since lost its eligibility (an expired certificate, its capacity gone) is left out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import cast
from uuid import UUID

from server import clock
from server.bids import repo as bids_repo
from server.bids.eligibility import FactorySpec, capacity_window, free_hours_by_week
from server.bids.estimates import Offer as BidOffer
from server.bids.service import OfferSnapshot, eligibility_of, offer_snapshot
from server.catalogue import repo as catalogue_repo
from server.db import Connection
from server.jobs.plugins import JobInputError, SolveRequest, apply_request, problem_from_request
from server.logistics.service import links_between
from server.logistics.transport import BANDS
from server.logistics.transport import TransportLink as Link
from server.partnerships.repo import CollaborationWeight, collaboration_weights
from server.rfqs import repo as rfqs_repo
from solver import Problem
from solver.problem import (
    Capacity,
    Collaboration,
    Factory,
    Offer,
    Policy,
    Preset,
    TransportLink,
    WorkPackage,
)

DEFAULT_COORDINATION_COST_JPY = 30_000
"""JPY per member: the cluster office's share of running one more member — a kick-off visit, the quality
documents to collect, one more supplier to chase. Enough that a member is not added to save a few yen, small
next to the production value of a real share (a demo package is worth millions)."""

DEFAULT_COHESION_BONUS_JPY = 20_000
"""JPY per unit of collaboration weight, per pair of members: a confirmed partnership saves roughly one
coordination round between two shops that already know each other's drawings and habits."""

DEFAULT_TRANSPORT_DAYS = BANDS[-1][1]
DEFAULT_TRANSPORT_COST_JPY = BANDS[-1][2]
"""The solver's fallback for a prefecture pair without a link. Every pair among the Problem's factories gets
its link (:func:`links_between`), so it applies only to factories a coordinator adds to the Problem JSON by
hand; then the farthest band is the safe guess (it never makes a plan look cheaper or faster than it is)."""


async def build_problem(
    conn: Connection, rfq_id: UUID, request: SolveRequest, *, today: dt.date | None = None
) -> Problem:
    """The Problem of ``rfq_id`` as the registry stands ``today`` (JST; default: the system clock's), with
    ``request`` applied. A request carrying a Problem JSON (tests, the CLI) is solved as given.

    Raises :class:`JobInputError` when the RFQ is missing, its due date has passed, or some package has no
    offer (the message names each such package and why).
    """
    if request.problem is not None:
        return await problem_from_request(conn, rfq_id, request)
    today = today or clock.today(clock.SYSTEM_CLOCK)
    rfq = next(iter(await rfqs_repo.rfqs_by_ids(conn, ids=[rfq_id])), None)
    if rfq is None:
        raise JobInputError("No such RFQ.")
    if rfq.due_date <= today:
        raise JobInputError(
            f"The RFQ's due date {rfq.due_date.isoformat()} is not after today ({today.isoformat()}, JST): "
            "no plan can meet it."
        )
    lines = await rfqs_repo.lines_by_rfq_ids(conn, rfq_ids=[rfq_id])
    snapshot = await offer_snapshot(conn, rfq_id=rfq_id, today=today, firm_only=request.firm_only)
    missing = offerless_packages(snapshot)
    if missing:
        raise JobInputError(await _explain_offerless(conn, missing, snapshot, today=today))
    links = await links_between(conn, [f.prefecture for f in snapshot.factories])
    weights = await collaboration_weights(conn, factory_ids=[f.id for f in snapshot.factories])
    # The worker sets each asked preset in turn; the first is the Problem's own (what a replay solves).
    preset = cast(Preset, request.presets[0] if request.presets else "cheapest")
    # Building and validating a Problem of thousands of offers takes a while: off the event loop.
    return await asyncio.to_thread(
        lambda: apply_request(
            problem_from(snapshot, rfq, lines, links, weights, today=today, preset=preset), request
        )
    )


def offerless_packages(snapshot: OfferSnapshot) -> list[bids_repo.WorkPackage]:
    """The packages of ``snapshot`` without an offer of an eligible factory (the solver rejects them)."""
    offered = {o.package_id for o in eligible_offers(snapshot)}
    return [p for p in snapshot.packages if p.id not in offered]


def eligible_offers(snapshot: OfferSnapshot) -> list[BidOffer]:
    """The snapshot's offers of factories eligible for their package today."""
    eligible = {(p, v.factory_id) for p, verdicts in snapshot.eligibility.items() for v in verdicts}
    return [o for o in snapshot.offers if (o.package_id, o.factory_id) in eligible]


async def _explain_offerless(
    conn: Connection, missing: Sequence[bids_repo.WorkPackage], snapshot: OfferSnapshot, *, today: dt.date
) -> str:
    """One sentence per package without an offer: no eligible factory (with how many failed each filter),
    or eligible factories but no firm bid to estimate from."""
    codes = sorted({p.process_code for p in missing})
    names = {p.code: p.name_en for p in await catalogue_repo.processes_by_codes(conn, codes=codes)}
    # The snapshot keeps only the eligible verdicts: the failed ones are judged again, on this error path.
    hopeless = [p for p in missing if not snapshot.eligibility.get(p.id)]
    verdicts = (
        await eligibility_of(conn, packages=hopeless, where=bids_repo.FactoryFilter(), today=today)
        if hopeless
        else {}
    )
    sentences = []
    for package in missing:
        what = (
            f"line {package.line_position} '{package.part_name}', operation {package.position} "
            f"{names.get(package.process_code, package.process_code)} ({package.process_code})"
        )
        eligible = len(snapshot.eligibility.get(package.id, []))
        if eligible:
            sentences.append(
                f"{what}: {eligible} factories are eligible, but none has a firm bid on it, so there is "
                "nothing to estimate from."
            )
            continue
        judged = verdicts.get(package.id, [])
        failed = Counter(f.reason for v in judged for f in v.failures)
        counts = ", ".join(f"{failed[r]} {r.code}" for r in sorted(failed, key=lambda r: r.rank)) or "none"
        sentences.append(
            f"{what}: no factory is eligible (of {len(judged)} registered, failed filters: {counts})."
        )
    return (
        f"{len(missing)} work package(s) have no offer, so no consortium can be planned: "
        + " ".join(sentences)
        + " Relax the line's requirements, or wait for bids."
    )


def problem_from(
    snapshot: OfferSnapshot,
    rfq: rfqs_repo.Rfq,
    lines: Iterable[rfqs_repo.RfqLine],
    links: Iterable[Link],
    weights: Iterable[CollaborationWeight],
    *,
    today: dt.date,
    preset: Preset = "cheapest",
) -> Problem:
    """The Problem of an RFQ from what :func:`build_problem` read (pure: no database, no clock).

    Factories are those with an offer on some package, in the snapshot's order (by name); their
    certifications are those valid until the due date. Each package is splittable, with the smallest
    minimum lot of the factories that offer on it as its minimum lot (no factory takes a smaller share).
    Raises :class:`JobInputError` when a package has no offer.
    """
    if offerless_packages(snapshot):
        raise JobInputError("Some work packages have no offer.")
    origin = clock.iso_monday(today)
    package_process = {p.id: p.process_code for p in snapshot.packages}

    def day(date: dt.date) -> int:
        return (date - origin).days

    offers = eligible_offers(snapshot)
    offering = {o.factory_id for o in offers}
    factories = [f for f in snapshot.factories if f.id in offering]
    by_id = {f.id: f for f in factories}
    min_lots: dict[UUID, list[int]] = defaultdict(list)
    for o in offers:
        process = package_process[o.package_id]
        min_lots[o.package_id].append(by_id[o.factory_id].capabilities[process].min_lot)
    line_of = {line.id: line for line in lines}
    packages = [
        WorkPackage(
            id=str(p.id),
            line=str(p.line_id),
            part=line_of[p.line_id].part_number or p.part_name,
            operation=p.position,
            process=p.process_code,
            quantity=p.quantity,
            splittable=True,
            min_lot=min(p.quantity, *min_lots[p.id]),
            due_day=day(rfq.due_date),
            required_certifications=frozenset(p.required_certifications),
        )
        for p in snapshot.packages
    ]
    return Problem(
        name=rfq.title,
        origin=origin,
        factories=tuple(
            Factory(
                id=str(f.id),
                prefecture=f.prefecture,
                certifications=frozenset(c for c, until in f.certifications.items() if until >= rfq.due_date),
            )
            for f in factories
        ),
        packages=tuple(packages),
        offers=tuple(
            Offer(
                factory=str(o.factory_id),
                package=str(o.package_id),
                unit_price=o.unit_price_jpy,
                setup_cost=o.setup_cost_jpy,
                hours_per_unit=float(o.hours_per_unit),
                setup_hours=float(o.setup_hours),
                max_quantity=o.max_quantity,
                earliest_start_day=day(_earliest_start(o, by_id[o.factory_id], package_process, today)),
                firm=not o.estimated,
            )
            for o in offers
        ),
        capacity=_capacity(factories, offers, package_process, today=today, due=rfq.due_date, origin=origin),
        transport=_transport(links, {f.prefecture for f in factories}),
        default_transport_days=DEFAULT_TRANSPORT_DAYS,
        default_transport_cost=DEFAULT_TRANSPORT_COST_JPY,
        collaborations=_collaborations(weights, factories),
        policy=Policy(
            preset=preset,
            lead_certification=lead_certification(snapshot.packages),
            coordination_cost=DEFAULT_COORDINATION_COST_JPY,
            cohesion_bonus=DEFAULT_COHESION_BONUS_JPY,
        ),
    )


def lead_certification(packages: Sequence[bids_repo.WorkPackage]) -> str | None:
    """A certification every line requires (the first by code when several), else None: the lead member
    answers to the buyer for the whole order, so it must hold what every part needs."""
    common = set.intersection(*(set(p.required_certifications) for p in packages)) if packages else set()
    return min(common) if common else None


def _earliest_start(
    offer: BidOffer, factory: FactorySpec, processes: dict[UUID, str], today: dt.date
) -> dt.date:
    """The bid's earliest start, or without one the start of the factory's capacity window (today plus its
    lead days, as eligibility judges it); never before today, since a bid's date may have gone by."""
    capability = factory.capabilities[processes[offer.package_id]]
    default, _ = capacity_window(capability, today=today, due_date=today)
    return max(offer.earliest_start or default, today)


def _capacity(
    factories: Sequence[FactorySpec],
    offers: Sequence[BidOffer],
    processes: dict[UUID, str],
    *,
    today: dt.date,
    due: dt.date,
    origin: dt.date,
) -> tuple[Capacity, ...]:
    """Free hours of each factory for each process it has an offer for (``processes``: package id → process
    code), per ISO week from today's to the due date's. Weeks without free hours are left out: a missing
    bucket has none."""
    offered = {(o.factory_id, processes[o.package_id]) for o in offers}
    rows = []
    for factory in factories:
        for code in sorted(c for f, c in offered if f == factory.id):
            weeks = free_hours_by_week(factory, factory.capabilities[code], start=today, end=due)
            rows += [
                Capacity(str(factory.id), code, (monday - origin).days // 7, float(hours))
                for monday, hours in sorted(weeks.items())
                if hours > 0
            ]
    return tuple(rows)


def _transport(links: Iterable[Link], prefectures: set[str]) -> tuple[TransportLink, ...]:
    return tuple(
        TransportLink(link.from_prefecture, link.to_prefecture, link.days, link.cost_jpy)
        for link in links
        if link.from_prefecture in prefectures and link.to_prefecture in prefectures
    )


def _collaborations(
    weights: Iterable[CollaborationWeight], factories: Sequence[FactorySpec]
) -> tuple[Collaboration, ...]:
    """The ties among ``factories``, each pair and the list in the factories' order (not by UUID), so the
    same registry gives the same Problem JSON."""
    rank = {f.id: i for i, f in enumerate(factories)}
    ties = []
    for w in weights:
        if w.factory_a in rank and w.factory_b in rank:
            a, b = sorted((w.factory_a, w.factory_b), key=rank.__getitem__)
            ties.append((rank[a], rank[b], Collaboration(str(a), str(b), float(w.weight))))
    return tuple(tie for *_, tie in sorted(ties, key=lambda t: (t[0], t[1])))


__all__ = [
    "DEFAULT_COHESION_BONUS_JPY",
    "DEFAULT_COORDINATION_COST_JPY",
    "DEFAULT_TRANSPORT_COST_JPY",
    "DEFAULT_TRANSPORT_DAYS",
    "build_problem",
    "eligible_offers",
    "lead_certification",
    "offerless_packages",
    "problem_from",
]
