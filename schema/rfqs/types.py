"""GraphQL types of the rfqs domain: RFQs, their lines and routings, and RFQ pages.

What a caller sees of an RFQ is decided by :mod:`server.rfqs.rules` when the object is built
(:meth:`Rfq.from_row`); the field resolvers below only apply those decisions.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from schema.auth.loaders import buyers_by_id
from schema.auth.types import Buyer
from schema.catalogue.types import Material, Process, material_of, process_of
from schema.context import Info
from schema.executor import preloaded
from schema.ids import to_id
from schema.rfqs.loaders import events_by_rfq_id, lines_by_rfq_id, operations_by_line_id
from server.auth.principal import Principal, Role
from server.bids import rules as bid_rules
from server.catalogue.taxonomy import Taxonomy
from server.rfqs import events, repo, rules
from server.rfqs.lifecycle import RfqStatus as RfqStatus

if TYPE_CHECKING:  # schema.bids.types imports this module; the field below refers to it lazily
    from schema.bids.types import WorkPackage

# The states are declared once, in server/rfqs/lifecycle.py; the schema shows them with their descriptions.
strawberry.enum(RfqStatus, name="RfqStatus", description="Where an RFQ stands (see docs/lifecycle.md).")
for _value in RfqStatus.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = RfqStatus[_value.name].description

RfqEventKind = strawberry.enum(events.EventKind, name="RfqEventKind", description="What happened to an RFQ.")
for _value in RfqEventKind.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = events.EventKind[_value.name].description


@strawberry.enum(description="Who did something to an RFQ.")
class RfqEventActor(enum.Enum):
    BUYER = strawberry.enum_value("buyer", description="The buyer (through its API key).")
    COORDINATOR = strawberry.enum_value("coordinator", description="The cluster office.")
    FACTORY_OWNER = strawberry.enum_value("factory_owner", description="A factory owner.")
    SYSTEM = strawberry.enum_value("system", description="machikoba itself (a migration, a job).")


@strawberry.type(description="One entry of an RFQ's event log.")
class RfqEvent:
    id: strawberry.ID = strawberry.field(description="Identifier; later events have larger ones.")
    at: dt.datetime = strawberry.field(description="When it happened.")
    kind: events.EventKind = strawberry.field(description="What happened.")
    actor: RfqEventActor = strawberry.field(description="Who did it.")
    payload: JSON = strawberry.field(
        description="The details: for a status change `from`, `to` and `reason`; for bid events "
        "(coordinators only) the bid's id, package, factory and figures."
    )

    @classmethod
    def from_row(cls, row: events.RfqEvent) -> RfqEvent:
        payload: Any = row.payload
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            kind=events.EventKind(row.kind),
            actor=RfqEventActor(row.actor_role),
            payload=payload,
        )


@strawberry.type(description="One step of a line's routing; steps run in `position` order.")
class RfqOperation:
    position: int = strawberry.field(
        description="1-based routing order: starts after the previous step ends."
    )
    notes: str = strawberry.field(description="The buyer's notes for this step (may be empty).")
    process: Process = strawberry.field(description="The process this step needs.")

    @classmethod
    def from_row(cls, row: repo.RfqOperation, *, taxonomy: Taxonomy) -> RfqOperation:
        """``taxonomy``: the request's catalogue (:mod:`server.catalogue.taxonomy`), for the process."""
        return cls(position=row.position, notes=row.notes, process=process_of(taxonomy, row.process_code))


@strawberry.type(description="One part of an RFQ: what to make, from what, how many, and its routing.")
class RfqLine:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    position: int = strawberry.field(description="1-based order of the line within its RFQ.")
    part_number: str = strawberry.field(description="The buyer's part number (may be empty).")
    name: str = strawberry.field(description="Name of the part.")
    quantity: int = strawberry.field(description="Number of pieces.")
    tolerance_um: float = strawberry.field(description="Tightest tolerance on the drawing, in micrometres.")
    envelope_mm: int = strawberry.field(description="Largest dimension of the part, in millimetres.")
    required_certifications: list[str] = strawberry.field(
        description="Certification codes every factory working on this line must hold, e.g. `ISO13485`."
    )
    target_unit_price: Decimal | None = strawberry.field(
        description="The buyer's target price per piece in the RFQ's currency. Shown to the buyer and "
        "coordinators only; null for factory owners, and when the buyer gave none."
    )
    notes: str = strawberry.field(description="The buyer's notes (may be empty).")
    material: Material = strawberry.field(description="The material of the part.")
    line_id: strawberry.Private[UUID]
    # Set when a page loaded the operations of all its lines in one query (:func:`with_details`).
    loaded_operations: strawberry.Private[list[RfqOperation] | None] = None

    @classmethod
    def from_row(cls, row: repo.RfqLine, *, show_target_price: bool, taxonomy: Taxonomy) -> RfqLine:
        """``taxonomy``: the request's catalogue, for the material."""
        return cls(
            id=to_id(row.id),
            position=row.position,
            part_number=row.part_number,
            name=row.name,
            quantity=row.quantity,
            tolerance_um=float(row.tolerance_um),
            envelope_mm=row.envelope_mm,
            required_certifications=list(row.required_certifications),
            target_unit_price=row.target_unit_price if show_target_price else None,
            notes=row.notes,
            line_id=row.id,
            material=material_of(taxonomy, row.material),
        )

    # A plain value when the page loaded it, else an awaitable (see schema.factories.types.Factory).
    @strawberry.field(description="The routing: the operations the part goes through, in order.")
    @preloaded("loaded_operations")
    def operations(self, info: Info) -> list[RfqOperation]:
        if self.loaded_operations is not None:
            return self.loaded_operations
        return cast(list[RfqOperation], self._load_operations(info))

    async def _load_operations(self, info: Info) -> list[RfqOperation]:
        rows = await info.context.loader(operations_by_line_id).load(self.line_id)
        taxonomy = info.context.taxonomy
        return [RfqOperation.from_row(r, taxonomy=taxonomy) for r in rows]


@strawberry.type(
    description="A buyer's request for quotation. Factory owners see open RFQs that their factories could "
    "work on, with every part and requirement, but not who the buyer is unless `discloseBuyer` is true, and "
    "never the target prices."
)
class Rfq:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    title: str = strawberry.field(description="Short title.")
    description: str = strawberry.field(description="Longer description (may be empty).")
    currency: str = strawberry.field(description="ISO 4217 code of the currency prices are given in.")
    incoterm: str = strawberry.field(description="Incoterms 2020 code of the delivery terms, e.g. `DAP`.")
    destination_country: str = strawberry.field(description="ISO 3166-1 alpha-2 code of the destination.")
    due_date: dt.date = strawberry.field(description="When the goods must arrive.")
    bid_deadline: dt.date = strawberry.field(description="Last day to bid; before the due date.")
    nda_required: bool = strawberry.field(description="Whether bidders must sign an NDA first.")
    disclose_buyer: bool = strawberry.field(description="Whether factory owners may see who the buyer is.")
    status: RfqStatus = strawberry.field(description="Where the RFQ stands.")
    created_at: dt.datetime = strawberry.field(description="When it was submitted.")
    cancelled_at: dt.datetime | None = strawberry.field(description="When it was cancelled, if it was.")
    row: strawberry.Private[repo.Rfq]
    show_buyer: strawberry.Private[bool]
    show_target_price: strawberry.Private[bool]
    # Set when a page loaded the lines and packages of all its RFQs, one query each (:func:`with_details`).
    loaded_lines: strawberry.Private[list[RfqLine] | None] = None
    loaded_packages: strawberry.Private[list[Any] | None] = None
    loaded_buyer: strawberry.Private[Buyer | None] = None
    buyer_loaded: strawberry.Private[bool] = False
    loaded_events: strawberry.Private[list[RfqEvent] | None] = None

    @classmethod
    def from_row(cls, row: repo.Rfq, *, principal: Principal) -> Rfq:
        """The RFQ as ``principal`` may see it (field-level rules from :mod:`server.rfqs.rules`)."""
        return cls(
            id=to_id(row.id),
            title=row.title,
            description=row.description,
            currency=row.currency,
            incoterm=row.incoterm,
            destination_country=row.destination_country,
            due_date=row.due_date,
            bid_deadline=row.bid_deadline,
            nda_required=row.nda_required,
            disclose_buyer=row.disclose_buyer,
            status=RfqStatus(row.status),
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
            row=row,
            show_buyer=rules.may_see_buyer(principal, row),
            show_target_price=rules.may_see_target_price(principal, row),
        )

    @strawberry.field(
        description="The buyer. Null for factory owners unless the buyer chose to disclose itself."
    )
    def buyer(self, info: Info) -> Buyer | None:
        if not self.show_buyer:
            return None
        if self.buyer_loaded:
            return self.loaded_buyer
        return cast(Buyer | None, self._load_buyer(info))

    async def _load_buyer(self, info: Info) -> Buyer | None:
        row = await info.context.loader(buyers_by_id).load(self.row.buyer_id)
        return Buyer.from_row(row) if row else None

    @strawberry.field(description="The parts requested, in position order.")
    @preloaded("loaded_lines")
    def lines(self, info: Info) -> list[RfqLine]:
        if self.loaded_lines is not None:
            return self.loaded_lines
        return cast(list[RfqLine], self._load_lines(info))

    async def _load_lines(self, info: Info) -> list[RfqLine]:
        rows = await info.context.loader(lines_by_rfq_id).load(self.row.id)
        taxonomy = info.context.taxonomy
        return [
            RfqLine.from_row(r, show_target_price=self.show_target_price, taxonomy=taxonomy) for r in rows
        ]

    @strawberry.field(
        description="The work packages, one per line × routing operation, in line and routing order."
    )
    @preloaded("loaded_packages")
    def packages(self, info: Info) -> list[Annotated[WorkPackage, strawberry.lazy("schema.bids.types")]]:
        if self.loaded_packages is not None:
            return self.loaded_packages
        return cast(list["WorkPackage"], self._load_packages(info))

    async def _load_packages(self, info: Info) -> list[WorkPackage]:
        from schema.bids.loaders import packages_by_rfq_id
        from schema.bids.types import WorkPackage

        rows = await info.context.loader(packages_by_rfq_id).load(self.row.id)
        taxonomy = info.context.taxonomy
        return [
            WorkPackage.from_row(r, show_target_price=self.show_target_price, taxonomy=taxonomy) for r in rows
        ]

    @strawberry.field(
        description="The RFQ's event log, oldest first: every event for coordinators; the buyer-safe ones "
        "(no bids, no factories) for the owning buyer; none for anybody else."
    )
    @preloaded("loaded_events")
    def events(self, info: Info) -> list[RfqEvent]:
        if self.loaded_events is not None:
            return self.loaded_events
        return cast(list[RfqEvent], self._load_events(info))

    async def _load_events(self, info: Info) -> list[RfqEvent]:
        scope = rules.visible_events(info.context.principal, self.row)
        rows = await info.context.loader(events_by_rfq_id).load((self.row.id, scope))
        return [RfqEvent.from_row(r) for r in rows]


async def with_details(
    info: Info,
    rfqs: list[Rfq],
    *,
    selected: set[str],
    line_fields: set[str],
    package_fields: set[str],
    bid_fields: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Give the RFQs of one page the lists the query selected — lines (and their operations, by
    ``line_fields``) and packages (with their line, and their bids' factories by ``bid_fields``) — loaded
    for all of them in one query each, instead of one DataLoader call per RFQ and per line. The page's
    service returned only RFQs the caller may see; each list keeps the RFQ's field-level rules (target
    prices). The loaded lines also fill the request's line loader. The packages' bids are loaded, in the
    caller's bid scope, only for the roles the ``bids`` field admits (its permission check still runs on
    every package)."""
    from schema.bids.loaders import bids_by_package, packages_by_rfq_id
    from schema.bids.types import Bid, WorkPackage, with_bid_details

    ids = [rfq.row.id for rfq in rfqs]
    if not ids:
        return
    pool = info.context.pool
    taxonomy = info.context.taxonomy
    if "buyer" in selected:
        # Only the buyers the caller may see (Rfq.show_buyer), as the field shows them.
        shown = [rfq for rfq in rfqs if rfq.show_buyer]
        buyer_ids = sorted({rfq.row.buyer_id for rfq in shown})
        if buyer_ids:
            buyers = dict(zip(buyer_ids, await buyers_by_id(pool, buyer_ids), strict=True))
            for rfq in shown:
                row = buyers[rfq.row.buyer_id]
                rfq.loaded_buyer = Buyer.from_row(row) if row else None
                rfq.buyer_loaded = True
    if "events" in selected:
        principal = info.context.principal
        keys = [(rfq.row.id, rules.visible_events(principal, rfq.row)) for rfq in rfqs]
        for rfq, event_rows in zip(rfqs, await events_by_rfq_id(pool, keys), strict=True):
            rfq.loaded_events = [RfqEvent.from_row(r) for r in event_rows]
    lines_by_rfq: dict[UUID, list[RfqLine]] = {}
    package_lines = "packages" in selected and "line" in package_fields
    if "lines" in selected or package_lines:
        lines = await lines_by_rfq_id(pool, ids)
        line_loader = info.context.loader(lines_by_rfq_id)
        for rfq, rows in zip(rfqs, lines, strict=True):
            line_loader.prime(rfq.row.id, rows)
            lines_by_rfq[rfq.row.id] = [
                RfqLine.from_row(r, show_target_price=rfq.show_target_price, taxonomy=taxonomy) for r in rows
            ]
        if "lines" in selected:
            for rfq in rfqs:
                rfq.loaded_lines = lines_by_rfq[rfq.row.id]
            all_lines = [line for rfq in rfqs for line in rfq.loaded_lines or []]
            if "operations" in line_fields and all_lines:
                operations = await operations_by_line_id(pool, [line.line_id for line in all_lines])
                for line, operation_rows in zip(all_lines, operations, strict=True):
                    line.loaded_operations = [
                        RfqOperation.from_row(r, taxonomy=taxonomy) for r in operation_rows
                    ]
    if "packages" in selected:
        packages = await packages_by_rfq_id(pool, ids)
        for rfq, package_rows in zip(rfqs, packages, strict=True):
            rfq.loaded_packages = [
                WorkPackage.from_row(r, show_target_price=rfq.show_target_price, taxonomy=taxonomy)
                for r in package_rows
            ]
            if package_lines:
                # A package's line is one of its RFQ's lines, as the RFQ shows them (same target prices).
                by_id = {line.line_id: line for line in lines_by_rfq[rfq.row.id]}
                for package in rfq.loaded_packages:
                    package.loaded_line = by_id[package.row.line_id]
        principal = info.context.principal
        if "bids" in package_fields and principal.role in (Role.FACTORY_OWNER, Role.COORDINATOR):
            scope = bid_rules.visible_bids(principal)
            all_packages = [p for rfq in rfqs for p in rfq.loaded_packages or []]
            bids = await bids_by_package(pool, [(p.row.id, scope) for p in all_packages])
            for package, bid_rows in zip(all_packages, bids, strict=True):
                package.loaded_bids = [Bid.from_row(r) for r in bid_rows]
            page_bids = [b for p in all_packages for b in p.loaded_bids or []]
            packages_of = {p.row.id: p.row for p in all_packages}
            await with_bid_details(info, page_bids, selected=bid_fields, packages=packages_of)
