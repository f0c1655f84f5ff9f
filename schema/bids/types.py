"""GraphQL types of the bids domain: work packages, eligibility, sealed bids, offers, biddable RFQs.

Who sees which bids is :func:`server.bids.rules.visible_bids`; the role gates on the fields below only make
the same rules visible in the schema (buyers never reach a bid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, cast
from uuid import UUID

import strawberry

from schema.bids.loaders import (
    bids_by_package,
    candidates_by_package,
    offers_by_package,
    owner_eligibility,
    packages_by_id,
)
from schema.catalogue.types import Material, Process, material_of, process_of
from schema.context import Info
from schema.executor import preloaded
from schema.factories.loaders import factories_by_id
from schema.factories.types import Factory
from schema.ids import parse_optional_id, to_id
from schema.permissions import CoordinatorOnly, FactoryOwnerOnly, FactoryOwnerOrCoordinator
from schema.rfqs.loaders import lines_by_rfq_id
from schema.rfqs.types import Rfq, RfqLine
from schema.selection import selected_paths
from server.auth.principal import Principal, Role
from server.bids import repo, rules
from server.bids.eligibility import Eligibility, Reason
from server.bids.estimates import Offer as OfferRow
from server.bids.service import BiddableRfq as BiddableRfqRow
from server.catalogue.taxonomy import Taxonomy
from server.rfqs import rules as rfq_rules

EligibilityReasonCode = strawberry.enum(
    Reason,
    name="EligibilityReasonCode",
    description="The eligibility filter a factory failed for a work package.",
)
for _value in EligibilityReasonCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = Reason[_value.name].description


@strawberry.type(description="One failed eligibility filter.")
class EligibilityReason:
    code: Reason = strawberry.field(description="The filter that failed.")
    message: str = strawberry.field(description="The reason in words, with the figures compared.")


@strawberry.type(description="Whether a factory may take a work package (bid on it, be part of a proposal).")
class FactoryEligibility:
    eligible: bool = strawberry.field(description="True when every filter passed (`reasons` is empty).")
    reasons: list[EligibilityReason] = strawberry.field(
        description="Every filter that failed, in filter order: process, material, tolerance, envelope, lot "
        "range, certifications, capacity."
    )
    free_hours: float = strawberry.field(
        description="Free hours of the factory for the package's process from today plus its lead days to "
        "the due date (0 without a capability for the process)."
    )
    factory_id: strawberry.Private[UUID]
    # Set when the list was given its factories at once (:func:`eligibility_list`).
    loaded_factory: strawberry.Private[Factory | None] = None

    @classmethod
    def from_row(cls, row: Eligibility) -> FactoryEligibility:
        return cls(
            eligible=row.eligible,
            reasons=[EligibilityReason(code=f.reason, message=f.message) for f in row.failures],
            free_hours=float(row.free_hours),
            factory_id=row.factory_id,
        )

    @strawberry.field(description="The factory judged.")
    @preloaded("loaded_factory")
    def factory(self, info: Info) -> Factory:
        if self.loaded_factory is not None:
            return self.loaded_factory
        return cast(Factory, factory_of(info, self.factory_id))


async def eligibility_list(info: Info, verdicts: list[Eligibility]) -> list[FactoryEligibility]:
    """``verdicts`` as the schema shows them; when the query asks for their ``factory``, the factories of the
    whole list come from one loader call (batched with the other lists of the request) instead of one each."""
    result = [FactoryEligibility.from_row(v) for v in verdicts]
    if result and "factory" in selected_paths(info):
        # judged from the registry in this request: every verdict's factory exists
        factories = await factories_of(info, [v.factory_id for v in result])
        for verdict, factory in zip(result, factories, strict=True):
            verdict.loaded_factory = factory
    return result


async def factory_of(info: Info, factory_id: UUID) -> Factory:
    """A factory that a row refers to by a foreign key, through the request's loader."""
    row = await info.context.loader(factories_by_id).load(factory_id)
    assert row is not None  # a foreign key
    return Factory.from_row(row)


async def factories_of(info: Info, factory_ids: list[UUID]) -> list[Factory]:
    """The factories that a page's rows refer to by foreign keys, in their order, from one batch of the
    request's loader (shared with the request's other factory lists) instead of one load each."""
    rows = await info.context.loader(factories_by_id).load_many(factory_ids)
    factories = []
    for row in rows:
        assert row is not None  # a foreign key
        factories.append(Factory.from_row(row))
    return factories


async def package_of(
    info: Info, package_id: UUID, as_seen: Callable[[Info, repo.WorkPackage], WorkPackage]
) -> WorkPackage:
    """A work package that a row refers to by a foreign key, through the request's loader, shown by
    ``as_seen`` (the referring type's one rule for what its readers see of a package)."""
    row = await info.context.loader(packages_by_id).load(package_id)
    assert row is not None  # a foreign key
    return as_seen(info, row)


@strawberry.type(
    description="A work package: one RFQ line × one operation of its routing, the unit factories bid on and "
    "the solver assigns. Quantity, tolerance, envelope, due date and certifications are the line's and RFQ's."
)
class WorkPackage:
    id: strawberry.ID = strawberry.field(description="Stable identifier; bids refer to it.")
    position: int = strawberry.field(description="The operation's 1-based place in its line's routing.")
    quantity: int = strawberry.field(description="Number of pieces (the line's).")
    tolerance_um: float = strawberry.field(description="Tightest tolerance of the part, in micrometres.")
    envelope_mm: int = strawberry.field(description="Largest dimension of the part, in millimetres.")
    due_date: dt.date = strawberry.field(description="When the RFQ's goods must arrive (a JST date).")
    required_certifications: list[str] = strawberry.field(
        description="Certification codes every factory working on it must hold until the due date."
    )
    process: Process = strawberry.field(description="The process of the operation.")
    material: Material = strawberry.field(description="The part's material.")
    row: strawberry.Private[repo.WorkPackage]
    show_target_price: strawberry.Private[bool]
    # Set when an RFQ page loaded the bids of all its packages in one query, in the caller's bid scope
    # (schema.rfqs.types.with_details); the field's permission check runs all the same.
    loaded_bids: strawberry.Private[list[Bid] | None] = None
    # Set when a page had the package's line at hand (its RFQ's lines, with the same target price rule).
    loaded_line: strawberry.Private[RfqLine | None] = None
    # Set by the biddable page: the owner's verdicts, which its service decided for the same day.
    loaded_eligibility: strawberry.Private[list[Eligibility] | None] = None

    @classmethod
    def from_row(cls, row: repo.WorkPackage, *, show_target_price: bool, taxonomy: Taxonomy) -> WorkPackage:
        """``show_target_price``: whether the caller sees the buyer's target prices on ``line``;
        ``taxonomy``: the request's catalogue, for the process and material."""
        return cls(
            id=to_id(row.id),
            position=row.position,
            quantity=row.quantity,
            tolerance_um=float(row.tolerance_um),
            envelope_mm=row.envelope_mm,
            due_date=row.due_date,
            required_certifications=list(row.required_certifications),
            process=process_of(taxonomy, row.process_code),
            material=material_of(taxonomy, row.material),
            row=row,
            show_target_price=show_target_price,
        )

    # A plain value when the page had it, else an awaitable (see schema.factories.types.Factory).
    @strawberry.field(description="The RFQ line (part) it belongs to.")
    @preloaded("loaded_line")
    def line(self, info: Info) -> RfqLine:
        if self.loaded_line is not None:
            return self.loaded_line
        return cast(RfqLine, self._load_line(info))

    async def _load_line(self, info: Info) -> RfqLine:
        lines = await info.context.loader(lines_by_rfq_id).load(self.row.rfq_id)
        (line,) = [line for line in lines if line.id == self.row.line_id]
        return RfqLine.from_row(
            line, show_target_price=self.show_target_price, taxonomy=info.context.taxonomy
        )

    @strawberry.field(
        description="Factory owners: whether each factory you own may bid on this package today (JST), with "
        "the reasons when not.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def eligibility(
        self,
        info: Info,
        factory_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this factory of yours (default: every one you own)."),
        ] = None,
    ) -> list[FactoryEligibility]:
        principal = info.context.principal
        assert principal.user_id is not None  # the gate let a factory owner through
        only = parse_optional_id(factory_id, kind="factory")
        verdicts = self.loaded_eligibility
        if verdicts is None:
            verdicts = await info.context.loader(owner_eligibility).load(
                (self.row.id, principal.user_id, info.context.today())
            )
        return await eligibility_list(info, [v for v in verdicts if only is None or v.factory_id == only])

    @strawberry.field(
        description="Coordinators: every registered factory's eligibility for this package today (JST), "
        "eligible first, then by the first failed filter, then by name.",
        permission_classes=[CoordinatorOnly],
    )
    async def candidates(
        self,
        info: Info,
        eligible_only: Annotated[
            bool, strawberry.argument(description="Only the eligible factories (default: all).")
        ] = False,
    ) -> list[FactoryEligibility]:
        verdicts = await info.context.loader(candidates_by_package).load((self.row.id, info.context.today()))
        return await eligibility_list(info, [v for v in verdicts if v.eligible or not eligible_only])

    @strawberry.field(
        description="The sealed bids on this package, cheapest first: a factory owner sees its own "
        "factories' bids only, a coordinator every bid. Buyers never see bids or who bid (FORBIDDEN).",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    def bids(self, info: Info) -> list[Bid]:
        if self.loaded_bids is not None:
            return self.loaded_bids
        return cast(list[Bid], self._load_bids(info))

    async def _load_bids(self, info: Info) -> list[Bid]:
        scope = rules.visible_bids(info.context.principal)
        rows = await info.context.loader(bids_by_package).load((self.row.id, scope))
        return [Bid.from_row(r) for r in rows]

    @strawberry.field(
        description="Coordinators: the offers a solve would use: the firm bids and, unless `firmOnly`, an "
        "estimate for each eligible factory that did not bid (its hourly rate × the median hours per unit of "
        "the firm bids, plus its setup). No firm bid, no estimate.",
        permission_classes=[CoordinatorOnly],
    )
    async def offers(
        self,
        info: Info,
        firm_only: Annotated[bool, strawberry.argument(description="Leave the estimates out.")] = False,
    ) -> list[Offer]:
        # The offers of every package the request asks about are computed together, one round of queries
        # (service.offers_of_packages); the role is checked here as service.offers checks it.
        info.context.principal.require_role(Role.COORDINATOR)
        rows = await info.context.loader(offers_by_package).load(
            (self.row.id, info.context.today(), firm_only)
        )
        offers = [Offer.from_row(r) for r in rows]
        if offers and "factory" in selected_paths(info):
            factories = await factories_of(info, [o.factory_id for o in offers])
            for offer, factory in zip(offers, factories, strict=True):
                offer.loaded_factory = factory
        return offers


@strawberry.type(description="A factory's sealed bid on one work package. Prices in whole JPY.")
class Bid:
    id: strawberry.ID = strawberry.field(description="Stable identifier (kept when the bid is replaced).")
    unit_price_jpy: int = strawberry.field(description="Price per piece, JPY.")
    setup_cost_jpy: int = strawberry.field(description="One-off setup cost, JPY.")
    hours_per_unit: float = strawberry.field(description="Machine hours per piece.")
    setup_hours: float = strawberry.field(description="Machine hours of the setup.")
    max_quantity: int | None = strawberry.field(description="Most pieces it would make; null: all of them.")
    earliest_start: dt.date | None = strawberry.field(description="First day it could start; null: any day.")
    valid_until: dt.date = strawberry.field(description="Last day the bid holds.")
    note: str = strawberry.field(description="The bidder's note (may be empty).")
    submitted_at: dt.datetime = strawberry.field(description="When the factory first bid on the package.")
    updated_at: dt.datetime = strawberry.field(description="When the bid was last replaced.")
    row: strawberry.Private[repo.Bid]
    # Set by a page that loaded its bids' factories at once and had their packages (:func:`with_bid_details`).
    loaded_factory: strawberry.Private[Factory | None] = None
    loaded_package: strawberry.Private[WorkPackage | None] = None

    @classmethod
    def from_row(cls, row: repo.Bid) -> Bid:
        return cls(
            id=to_id(row.id),
            unit_price_jpy=row.unit_price_jpy,
            setup_cost_jpy=row.setup_cost_jpy,
            hours_per_unit=float(row.hours_per_unit),
            setup_hours=float(row.setup_hours),
            max_quantity=row.max_quantity,
            earliest_start=row.earliest_start,
            valid_until=row.valid_until,
            note=row.note,
            submitted_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="The factory that bid.")
    @preloaded("loaded_factory")
    def factory(self, info: Info) -> Factory:
        if self.loaded_factory is not None:
            return self.loaded_factory
        return cast(Factory, factory_of(info, self.row.factory_id))

    @strawberry.field(description="The work package bid on.")
    @preloaded("loaded_package")
    def package(self, info: Info) -> WorkPackage:
        if self.loaded_package is not None:
            return self.loaded_package
        return cast(WorkPackage, self._load_package(info))

    async def _load_package(self, info: Info) -> WorkPackage:
        row = await info.context.loader(packages_by_id).load(self.row.package_id)
        assert row is not None  # a foreign key
        return bid_package(info, row)


def bid_package(info: Info, row: repo.WorkPackage) -> WorkPackage:
    """The package of a bid: only owners and coordinators reach a bid; of them, coordinators see target
    prices."""
    return WorkPackage.from_row(
        row, show_target_price=info.context.principal.is_coordinator, taxonomy=info.context.taxonomy
    )


async def with_bid_details(
    info: Info, bids: list[Bid], *, selected: set[str], packages: dict[UUID, repo.WorkPackage]
) -> None:
    """Give the bids of one page what the query ``selected`` of them: their factories, in one loader batch
    for all, and their packages when the page has their rows (``packages``, by id); the others load as
    before."""
    if not bids:
        return
    if "factory" in selected:
        factories = await factories_of(info, [b.row.factory_id for b in bids])
        for bid, factory in zip(bids, factories, strict=True):
            bid.loaded_factory = factory
    if "package" in selected:
        for bid in bids:
            package = packages.get(bid.row.package_id)
            if package is not None:
                bid.loaded_package = bid_package(info, package)


@strawberry.type(description="A price and hours for a work package: a firm bid, or an estimate.")
class Offer:
    unit_price_jpy: int = strawberry.field(description="Price per piece, JPY.")
    setup_cost_jpy: int = strawberry.field(description="One-off setup cost, JPY.")
    hours_per_unit: float = strawberry.field(description="Machine hours per piece.")
    setup_hours: float = strawberry.field(description="Machine hours of the setup.")
    max_quantity: int | None = strawberry.field(description="Most pieces; null: all of them.")
    earliest_start: dt.date | None = strawberry.field(description="First day it could start; null: any.")
    estimated: bool = strawberry.field(
        description="True: estimated from the factory's capability rates, not bid."
    )
    factory_id: strawberry.Private[UUID]
    # Set when the list was given its factories at once (``WorkPackage.offers``).
    loaded_factory: strawberry.Private[Factory | None] = None

    @classmethod
    def from_row(cls, row: OfferRow) -> Offer:
        return cls(
            unit_price_jpy=row.unit_price_jpy,
            setup_cost_jpy=row.setup_cost_jpy,
            hours_per_unit=float(row.hours_per_unit),
            setup_hours=float(row.setup_hours),
            max_quantity=row.max_quantity,
            earliest_start=row.earliest_start,
            estimated=row.estimated,
            factory_id=row.factory_id,
        )

    @strawberry.field(description="The factory offering.")
    @preloaded("loaded_factory")
    def factory(self, info: Info) -> Factory:
        if self.loaded_factory is not None:
            return self.loaded_factory
        return cast(Factory, factory_of(info, self.factory_id))


@strawberry.type(
    description="An open RFQ before its bid deadline with work packages a factory of yours is eligible for."
)
class BiddableRfq:
    rfq: Rfq = strawberry.field(description="The RFQ.")
    packages: list[WorkPackage] = strawberry.field(
        description="Its packages at least one of your factories is eligible for (see `eligibility`)."
    )
    bids: list[Bid] = strawberry.field(description="Your factories' bids on its packages.")

    @classmethod
    def from_row(cls, row: BiddableRfqRow, *, principal: Principal, taxonomy: Taxonomy) -> BiddableRfq:
        """The packages keep the owner's verdicts that the service decided (their ``eligibility``)."""
        show_target_price = rfq_rules.may_see_target_price(principal, row.rfq)
        packages = []
        for p in row.packages:
            package = WorkPackage.from_row(p, show_target_price=show_target_price, taxonomy=taxonomy)
            package.loaded_eligibility = row.eligibility[p.id]
            packages.append(package)
        return cls(
            rfq=Rfq.from_row(row.rfq, principal=principal),
            packages=packages,
            bids=[Bid.from_row(b) for b in row.bids],
        )


async def with_biddable_details(info: Info, page: list[BiddableRfq], *, selected: set[str]) -> None:
    """Give a page of biddable RFQs what the query ``selected``, loaded once for the page: the RFQs'
    lines and packages (:func:`schema.rfqs.types.with_details`), the packages' lines, and the bids'
    factories and packages."""
    from schema.rfqs.types import with_details

    if not page:
        return
    await with_details(
        info,
        [item.rfq for item in page],
        selected=selected_paths(info, "edges", "node", "rfq"),
        line_fields=selected_paths(info, "edges", "node", "rfq", "lines"),
        package_fields=selected_paths(info, "edges", "node", "rfq", "packages"),
        bid_fields=selected_paths(info, "edges", "node", "rfq", "packages", "bids"),
    )
    package_fields = selected_paths(info, "edges", "node", "packages")
    if "packages" in selected and "line" in package_fields:
        # The RFQs' lines: from the loader that with_details primed, or one query for the page.
        rfq_lines = await info.context.loader(lines_by_rfq_id).load_many([item.rfq.row.id for item in page])
        taxonomy = info.context.taxonomy
        for item, rows in zip(page, rfq_lines, strict=True):
            show_target_price = item.rfq.show_target_price
            by_id = {
                r.id: RfqLine.from_row(r, show_target_price=show_target_price, taxonomy=taxonomy)
                for r in rows
            }
            for package in item.packages:
                package.loaded_line = by_id[package.row.line_id]
    if "bids" in selected:
        packages = {p.row.id: p.row for item in page for p in item.packages}
        await with_bid_details(
            info,
            [b for item in page for b in item.bids],
            selected=selected_paths(info, "edges", "node", "bids"),
            packages=packages,
        )
    if "packages" in selected and "bids" in package_fields:
        # The packages' own bids field: one query for the page (the field's permission check still runs).
        principal = info.context.principal
        if principal.role in (Role.FACTORY_OWNER, Role.COORDINATOR):
            scope = rules.visible_bids(principal)
            all_packages = [p for item in page for p in item.packages]
            bids = await bids_by_package(info.context.pool, [(p.row.id, scope) for p in all_packages])
            for package, bid_rows in zip(all_packages, bids, strict=True):
                package.loaded_bids = [Bid.from_row(r) for r in bid_rows]
            await with_bid_details(
                info,
                [b for p in all_packages for b in p.loaded_bids or []],
                selected=selected_paths(info, "edges", "node", "packages", "bids"),
                packages={p.row.id: p.row for p in all_packages},
            )


__all__ = [
    "Bid",
    "BiddableRfq",
    "EligibilityReason",
    "EligibilityReasonCode",
    "FactoryEligibility",
    "Offer",
    "WorkPackage",
    "bid_package",
    "factory_of",
    "with_bid_details",
    "with_biddable_details",
]
