"""Factories mutations: register and update factories, declare capabilities, set weekly capacity."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.factories.types import Capability, CapacityWeek, Factory
from schema.ids import parse_id
from schema.permissions import CoordinatorOnly, FactoryOwnerOnly, FactoryOwnerOrCoordinator
from server.factories import approval, capabilities, capacity, profile

_FACTORY_ID = strawberry.argument(description="The factory's id.")


def _keep(value: Any) -> Any:
    """An input field the client left out becomes ``profile.KEEP``: leave it as it is."""
    return profile.KEEP if value is strawberry.UNSET else value


@strawberry.input(description="A certification the factory holds.")
class FactoryCertificationInput:
    code: str = strawberry.field(description="Certification code, e.g. `ISO9001` (see `certifications`).")
    valid_until: dt.date = strawberry.field(description="Last day the certificate is valid.")

    def to_service(self) -> profile.HeldCertification:
        return profile.HeldCertification(code=self.code, valid_until=self.valid_until)


@strawberry.input(description="A new factory, owned by the caller.")
class FactoryRegisterInput:
    name_ja: str = strawberry.field(description="Name in Japanese, at most 200 characters.")
    name_en: str = strawberry.field(description="Name in English, at most 200 characters.")
    prefecture: str = strawberry.field(
        description="JIS X 0401 prefecture code, `01`–`47` (see `prefectures`)."
    )
    city: str = strawberry.field(description="City or ward, at most 100 characters.")
    cluster: str | None = strawberry.field(
        default=None, description="Industrial cluster, e.g. `Ota`, `Higashiosaka` (optional)."
    )
    employees: int | None = strawberry.field(default=None, description="Number of employees (optional).")
    founded_year: int | None = strawberry.field(default=None, description="Year founded (optional).")
    description: str | None = strawberry.field(
        default=None, description="Free text, at most 4000 characters (optional)."
    )
    certifications: list[FactoryCertificationInput] = strawberry.field(
        default_factory=list, description="Certifications it holds (at most 20)."
    )


@strawberry.input(
    description="Changes to a factory. Omitted fields stay as they are; null clears optional ones."
)
class FactoryUpdateInput:
    name_ja: str | None = strawberry.field(default=strawberry.UNSET, description="Name in Japanese.")
    name_en: str | None = strawberry.field(default=strawberry.UNSET, description="Name in English.")
    prefecture: str | None = strawberry.field(default=strawberry.UNSET, description="JIS prefecture code.")
    city: str | None = strawberry.field(default=strawberry.UNSET, description="City or ward.")
    cluster: str | None = strawberry.field(default=strawberry.UNSET, description="Industrial cluster.")
    employees: int | None = strawberry.field(default=strawberry.UNSET, description="Number of employees.")
    founded_year: int | None = strawberry.field(default=strawberry.UNSET, description="Year founded.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    certifications: list[FactoryCertificationInput] | None = strawberry.field(
        default=strawberry.UNSET, description="When given, replaces all its certifications."
    )


@strawberry.type(description="Result of registering a factory.")
class FactoryRegisterPayload:
    factory: Factory | None = strawberry.field(description="The new factory; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of updating a factory.")
class FactoryUpdatePayload:
    factory: Factory | None = strawberry.field(description="The factory as changed; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of a coordinator's review of a factory.")
class FactoryPayload:
    factory: Factory | None = strawberry.field(description="The factory as reviewed; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


async def _review(info: Info, factory_id: strawberry.ID, *, approve: bool, note: str) -> FactoryPayload:
    """A coordinator's decision on a registration: ``factoryApprove`` and ``factoryReject``."""
    row, errors = await attempt(
        approval.review_factory(
            info.context.pool,
            info.context.principal,
            factory_id=parse_id(factory_id, kind="factory"),
            approve=approve,
            note=note,
            now=info.context.clock.now(),
        )
    )
    return FactoryPayload(factory=Factory.from_row(row) if row else None, errors=errors)


@strawberry.input(description="What the factory can do with one process; replaces an existing one.")
class CapabilityUpsertInput:
    process_code: str = strawberry.field(description="Process code, e.g. `cnc_turning` (see `processes`).")
    materials: list[str] = strawberry.field(
        description='Material codes, e.g. `["SUS304", "A6061"]`; each of a family the process accepts.'
    )
    best_tolerance_um: float = strawberry.field(description="Finest tolerance it holds, µm (0.001–10000).")
    max_envelope_mm: int = strawberry.field(description="Largest part dimension, mm (1–100000).")
    min_lot: int = strawberry.field(default=1, description="Smallest lot (default 1).")
    max_lot: int = strawberry.field(description="Largest lot; at least `minLot`.")
    hours_per_week: float = strawberry.field(description="Machine hours usually free per week (0–168).")
    hourly_rate_jpy: int = strawberry.field(description="Hourly rate, JPY.")
    setup_cost_jpy: int = strawberry.field(default=0, description="Cost of one setup, JPY (default 0).")
    setup_hours: float = strawberry.field(default=0, description="Hours of one setup (default 0).")
    lead_days: int = strawberry.field(description="Standard lead time, days (0–365).")


@strawberry.type(description="Result of declaring a capability.")
class CapabilityUpsertPayload:
    capability: Capability | None = strawberry.field(description="The capability as stored; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of removing a capability.")
class CapabilityRemovePayload:
    factory: Factory | None = strawberry.field(description="The factory without it; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.input(description="Free hours of one ISO week.")
class CapacityWeekInput:
    week_start: dt.date = strawberry.field(
        description="Any day of the ISO week; it is moved back to that week's Monday. Past weeks are refused."
    )
    hours: float | None = strawberry.field(
        description="Free hours that week (0–168); null removes the override (back to hours per week)."
    )


@strawberry.type(description="Result of setting capacity.")
class CapacitySetPayload:
    capacity: list[CapacityWeek] | None = strawberry.field(
        description="The resulting hours of the weeks given, in week order; null on error."
    )
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type
class FactoriesMutation:
    @strawberry.mutation(
        description="Register a factory. Factory owners; the caller becomes its owner.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def factory_register(
        self,
        info: Info,
        input: Annotated[FactoryRegisterInput, strawberry.argument(description="The new factory.")],
    ) -> FactoryRegisterPayload:
        factory, errors = await attempt(
            profile.register_factory(
                info.context.pool,
                info.context.principal,
                today=info.context.today(),
                name_ja=input.name_ja,
                name_en=input.name_en,
                prefecture=input.prefecture,
                city=input.city,
                cluster=input.cluster,
                employees=input.employees,
                founded_year=input.founded_year,
                description=input.description,
                certifications=[c.to_service() for c in input.certifications],
            )
        )
        return FactoryRegisterPayload(factory=Factory.from_row(factory) if factory else None, errors=errors)

    @strawberry.mutation(
        description="Change a factory's profile: its owner or a coordinator. Another owner's factory is "
        "`FORBIDDEN`; an unknown id `NOT_FOUND`.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def factory_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _FACTORY_ID],
        input: Annotated[FactoryUpdateInput, strawberry.argument(description="What to change.")],
    ) -> FactoryUpdatePayload:
        # Null certifications clear them all, like null on any other optional field.
        certifications = (
            profile.KEEP
            if input.certifications is strawberry.UNSET
            else [c.to_service() for c in input.certifications or []]
        )
        factory, errors = await attempt(
            profile.update_factory(
                info.context.pool,
                info.context.principal,
                factory_id=parse_id(id, kind="factory"),
                today=info.context.today(),
                name_ja=_keep(input.name_ja),
                name_en=_keep(input.name_en),
                prefecture=_keep(input.prefecture),
                city=_keep(input.city),
                cluster=_keep(input.cluster),
                employees=_keep(input.employees),
                founded_year=_keep(input.founded_year),
                description=_keep(input.description),
                certifications=certifications,
            )
        )
        return FactoryUpdatePayload(factory=Factory.from_row(factory) if factory else None, errors=errors)

    @strawberry.mutation(
        description="Declare what a factory can do with a process, or replace that declaration: its owner "
        "or a coordinator.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def capability_upsert(
        self,
        info: Info,
        factory_id: Annotated[strawberry.ID, _FACTORY_ID],
        input: Annotated[CapabilityUpsertInput, strawberry.argument(description="The capability.")],
    ) -> CapabilityUpsertPayload:
        capability, errors = await attempt(
            capabilities.upsert_capability(
                info.context.pool,
                info.context.principal,
                factory_id=parse_id(factory_id, kind="factory"),
                process_code=input.process_code,
                materials=input.materials,
                best_tolerance_um=input.best_tolerance_um,
                max_envelope_mm=input.max_envelope_mm,
                min_lot=input.min_lot,
                max_lot=input.max_lot,
                hours_per_week=input.hours_per_week,
                hourly_rate_jpy=input.hourly_rate_jpy,
                setup_cost_jpy=input.setup_cost_jpy,
                setup_hours=input.setup_hours,
                lead_days=input.lead_days,
            )
        )
        # Only the owner or a coordinator gets here, and both may see the private figures.
        return CapabilityUpsertPayload(
            capability=Capability.from_row(capability, private=True, taxonomy=info.context.taxonomy)
            if capability
            else None,
            errors=errors,
        )

    @strawberry.mutation(
        description="Remove a factory's capability and its capacity overrides: its owner or a coordinator.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def capability_remove(
        self,
        info: Info,
        factory_id: Annotated[strawberry.ID, _FACTORY_ID],
        process_code: Annotated[str, strawberry.argument(description="Code of the process to remove.")],
    ) -> CapabilityRemovePayload:
        factory, errors = await attempt(
            capabilities.remove_capability(
                info.context.pool,
                info.context.principal,
                factory_id=parse_id(factory_id, kind="factory"),
                process_code=process_code,
            )
        )
        return CapabilityRemovePayload(factory=Factory.from_row(factory) if factory else None, errors=errors)

    @strawberry.mutation(
        description="Set the free hours of one capability for some ISO weeks: its owner or a coordinator. "
        "Each `weekStart` may be any day of its week.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def capacity_set(
        self,
        info: Info,
        factory_id: Annotated[strawberry.ID, _FACTORY_ID],
        process_code: Annotated[str, strawberry.argument(description="Code of the capability's process.")],
        weeks: Annotated[
            list[CapacityWeekInput], strawberry.argument(description="The weeks to set (at most 260).")
        ],
    ) -> CapacitySetPayload:
        result, errors = await attempt(
            capacity.set_capacity(
                info.context.pool,
                info.context.principal,
                factory_id=parse_id(factory_id, kind="factory"),
                process_code=process_code,
                weeks=[(w.week_start, w.hours) for w in weeks],
                today=info.context.today(),
            )
        )
        return CapacitySetPayload(
            capacity=[CapacityWeek.from_row(w, taxonomy=info.context.taxonomy) for w in result]
            if result is not None
            else None,
            errors=errors,
        )

    @strawberry.mutation(
        description="Approve a factory's registration: it is listed, sees RFQs and may bid. Coordinators.",
        permission_classes=[CoordinatorOnly],
    )
    async def factory_approve(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _FACTORY_ID],
        note: Annotated[str, strawberry.argument(description="A note for the owner (optional).")] = "",
    ) -> FactoryPayload:
        return await _review(info, id, approve=True, note=note)

    @strawberry.mutation(
        description="Reject a factory's registration (or withdraw its approval): it is no longer listed and "
        "sees no RFQs. Coordinators; the owner reads the reason in `approvalNote`.",
        permission_classes=[CoordinatorOnly],
    )
    async def factory_reject(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _FACTORY_ID],
        reason: Annotated[str, strawberry.argument(description="Why, in words the owner understands.")],
    ) -> FactoryPayload:
        return await _review(info, id, approve=False, note=reason)
