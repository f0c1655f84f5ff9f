"""RFQ mutations: submit a whole RFQ (idempotently), cancel one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.permissions import BuyerOnly, BuyerOrCoordinator
from schema.rfqs.types import Rfq
from server.rfqs import service


@strawberry.input(description="One step of a line's routing.")
class RfqOperationInput:
    process_code: str = strawberry.field(description="Process code from the taxonomy, e.g. `cnc_turning`.")
    notes: str = strawberry.field(default="", description="Notes for this step (optional).")


@strawberry.input(description="One part of an RFQ with its routing.")
class RfqLineInput:
    name: str = strawberry.field(description="Name of the part.")
    material: str = strawberry.field(description="Material code from the catalogue, e.g. `SUS304`.")
    quantity: int = strawberry.field(description="Number of pieces, at least 1.")
    tolerance_um: float = strawberry.field(description="Tightest tolerance, in micrometres (> 0).")
    envelope_mm: int = strawberry.field(description="Largest dimension of the part, in millimetres.")
    operations: list[RfqOperationInput] = strawberry.field(
        description="The routing, in order: 1 to 20 operations whose processes accept the material."
    )
    part_number: str = strawberry.field(default="", description="Your part number (optional).")
    required_certifications: list[str] = strawberry.field(
        default_factory=list, description="Certification codes required of the makers, e.g. `ISO9001`."
    )
    target_unit_price: Decimal | None = strawberry.field(
        default=None,
        description="Your target price per piece in the RFQ's currency (optional; never shown to factories).",
    )
    notes: str = strawberry.field(default="", description="Notes (optional).")


@strawberry.input(description="A whole RFQ: header, lines and their routings, stored together or not at all.")
class RfqSubmitInput:
    title: str = strawberry.field(description="Short title, up to 200 characters.")
    incoterm: str = strawberry.field(description="Incoterms 2020 code, e.g. `DAP` or `FCA`.")
    destination_country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. `DE`.")
    due_date: dt.date = strawberry.field(description="When the goods must arrive; after the bid deadline.")
    bid_deadline: dt.date = strawberry.field(description="Last day to bid; today or later.")
    lines: list[RfqLineInput] = strawberry.field(description="The parts: 1 to 200 lines.")
    description: str = strawberry.field(default="", description="Longer description (optional).")
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code prices are given in; default: your own currency."
    )
    nda_required: bool = strawberry.field(default=False, description="Whether bidders must sign an NDA.")
    disclose_buyer: bool = strawberry.field(
        default=False, description="Whether factory owners may see who you are (default: no)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Your key for this submission: resending the same input with the same key returns the "
        "first RFQ instead of creating another; the same key with a different input is IDEMPOTENCY_CONFLICT.",
    )

    def to_service(self) -> service.RfqInput:
        return service.RfqInput(
            title=self.title,
            incoterm=self.incoterm,
            destination_country=self.destination_country,
            due_date=self.due_date,
            bid_deadline=self.bid_deadline,
            description=self.description,
            currency=self.currency,
            nda_required=self.nda_required,
            disclose_buyer=self.disclose_buyer,
            lines=[
                service.LineInput(
                    name=line.name,
                    material=line.material,
                    quantity=line.quantity,
                    tolerance_um=Decimal(str(line.tolerance_um)),
                    envelope_mm=line.envelope_mm,
                    part_number=line.part_number,
                    required_certifications=list(line.required_certifications),
                    target_unit_price=line.target_unit_price,
                    notes=line.notes,
                    operations=[
                        service.OperationInput(process_code=op.process_code, notes=op.notes)
                        for op in line.operations
                    ],
                )
                for line in self.lines
            ],
        )


@strawberry.type(description="Result of submitting an RFQ.")
class RfqSubmitPayload:
    rfq: Rfq | None = strawberry.field(
        description="The stored RFQ (or the first one, on a retry); null on error."
    )
    errors: list[Error] = strawberry.field(description="Every problem with the input; empty on success.")


@strawberry.type(description="Result of cancelling an RFQ.")
class RfqCancelPayload:
    rfq: Rfq | None = strawberry.field(description="The cancelled RFQ; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type
class RfqMutation:
    @strawberry.mutation(
        description="Submit an RFQ with all its lines and routings in one call. Buyers (API key) only.",
        permission_classes=[BuyerOnly],
    )
    async def rfq_submit(
        self,
        info: Info,
        input: Annotated[RfqSubmitInput, strawberry.argument(description="The whole RFQ.")],
    ) -> RfqSubmitPayload:
        principal = info.context.principal
        row, errors = await attempt(
            service.submit_rfq(
                info.context.pool,
                principal,
                input.to_service(),
                today=info.context.today(),
                idempotency_key=input.idempotency_key,
            )
        )
        return RfqSubmitPayload(rfq=Rfq.from_row(row, principal=principal) if row else None, errors=errors)

    @strawberry.mutation(
        description="Cancel an RFQ that is not final: its buyer or a coordinator. Another buyer's RFQ is "
        "NOT_FOUND. An issued quote and pending invitations are withdrawn. An awarded RFQ only by a "
        "coordinator, with a reason (else FORBIDDEN / REQUIRED): that releases its capacity bookings.",
        permission_classes=[BuyerOrCoordinator],
    )
    async def rfq_cancel(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The RFQ's id.")],
        reason: Annotated[
            str | None,
            strawberry.argument(description="Why (at most 2000 characters); required for an awarded RFQ."),
        ] = None,
    ) -> RfqCancelPayload:
        principal = info.context.principal
        rfq_id = parse_id(id, kind="RFQ")
        row, errors = await attempt(
            service.cancel_rfq(
                info.context.pool, principal, rfq_id=rfq_id, reason=reason, now=info.context.clock.now()
            )
        )
        return RfqCancelPayload(rfq=Rfq.from_row(row, principal=principal) if row else None, errors=errors)
