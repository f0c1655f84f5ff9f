"""Capabilities: what a factory can do with one process (materials, precision, lots, hours, rates).

Only the factory's owner or a coordinator may change them (:func:`server.factories.rules.may_manage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from server.auth.principal import Principal, Role
from server.catalogue import repo as catalogue_repo
from server.catalogue import service as catalogue
from server.catalogue.rules import accepts
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, ValidationFailed
from server.factories import repo
from server.factories.checks import check_number, clean_code
from server.factories.rules import factory_to_change
from server.validation import Errors

MAX_MATERIALS = 50

HOURS = Decimal("0.01")
"""Hours are stored to the hundredth."""
MICRONS = Decimal("0.001")


async def known_process(conn: Connection, errors: Errors, process_code: str) -> catalogue_repo.Process | None:
    """The process of ``processCode``, or None after reporting UNKNOWN_PROCESS (or nothing, when the code
    was already refused)."""
    entries = await catalogue.check_codes(conn, errors, processes={"processCode": process_code})
    return entries.processes.get(process_code)


async def upsert_capability(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID,
    process_code: str,
    materials: Sequence[str],
    best_tolerance_um: float | Decimal,
    max_envelope_mm: int,
    min_lot: int = 1,
    max_lot: int,
    hours_per_week: float | Decimal,
    hourly_rate_jpy: int,
    setup_cost_jpy: int = 0,
    setup_hours: float | Decimal = 0,
    lead_days: int,
) -> repo.Capability:
    """Declare (or replace) what a factory can do with one process: its owner or a coordinator.

    Every material must be known and of a family the process accepts; lot range, precision, hours and rates
    must be in range. Existing capacity overrides of the capability are kept.
    """
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    errors = Errors()
    process_code = clean_code(errors, "processCode", process_code, upper=False)
    codes: list[str] = []
    if not materials:
        errors.add("materials", ErrorCode.REQUIRED, "List at least one material.")
    elif len(materials) > MAX_MATERIALS:
        errors.add("materials", ErrorCode.OUT_OF_RANGE, f"List at most {MAX_MATERIALS} materials.")
    else:
        codes = [clean_code(errors, f"materials.{i}", m, upper=True) for i, m in enumerate(materials)]
    check_number(errors, "bestToleranceUm", best_tolerance_um, low=0.001, high=10_000)
    check_number(errors, "maxEnvelopeMm", max_envelope_mm, low=1, high=100_000)
    check_number(errors, "minLot", min_lot, low=1, high=10_000_000)
    check_number(errors, "maxLot", max_lot, low=1, high=10_000_000)
    if not errors.has("minLot") and not errors.has("maxLot") and min_lot > max_lot:
        errors.add("maxLot", ErrorCode.OUT_OF_RANGE, f"maxLot must be at least minLot ({min_lot}).")
    check_number(errors, "hoursPerWeek", hours_per_week, low=0, high=168)
    check_number(errors, "hourlyRateJpy", hourly_rate_jpy, low=1, high=1_000_000)
    check_number(errors, "setupCostJpy", setup_cost_jpy, low=0, high=100_000_000)
    check_number(errors, "setupHours", setup_hours, low=0, high=1_000)
    check_number(errors, "leadDays", lead_days, low=0, high=365)
    async with transaction(pool) as conn:
        factory = await factory_to_change(conn, principal, factory_id)
        material_fields = {f"materials.{i}": code for i, code in enumerate(codes)}
        entries = await catalogue.check_codes(
            conn, errors, processes={"processCode": process_code}, materials=material_fields
        )
        process = entries.processes.get(process_code)
        for field, code in material_fields.items():
            material = entries.materials.get(code)
            if process is not None and material is not None and not accepts(process, material):
                errors.add(
                    field,
                    ErrorCode.MATERIAL_MISMATCH,
                    f"{process.name_en} does not work {material.family} materials such as {code}.",
                )
        if errors:
            raise ValidationFailed(errors)
        return await repo.upsert_capability(
            conn,
            capability=repo.NewCapability(
                factory_id=factory.id,
                process_code=process_code,
                materials=list(dict.fromkeys(codes)),
                best_tolerance_um=Decimal(str(best_tolerance_um)).quantize(MICRONS),
                max_envelope_mm=max_envelope_mm,
                min_lot=min_lot,
                max_lot=max_lot,
                hours_per_week=Decimal(str(hours_per_week)).quantize(HOURS),
                hourly_rate_jpy=hourly_rate_jpy,
                setup_cost_jpy=setup_cost_jpy,
                setup_hours=Decimal(str(setup_hours)).quantize(HOURS),
                lead_days=lead_days,
            ),
        )


async def remove_capability(
    pool: Pool, principal: Principal, *, factory_id: UUID, process_code: str
) -> repo.Factory:
    """Remove one of a factory's capabilities, with its capacity overrides: its owner or a coordinator."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    errors = Errors()
    process_code = clean_code(errors, "processCode", process_code, upper=False)
    async with transaction(pool) as conn:
        factory = await factory_to_change(conn, principal, factory_id)
        process = await known_process(conn, errors, process_code)
        if process is not None and not await repo.delete_capability(
            conn, factory_id=factory.id, process_code=process_code
        ):
            errors.add(
                "processCode", ErrorCode.NOT_FOUND, f"This factory has no {process.name_en} capability."
            )
        if errors:
            raise ValidationFailed(errors)
        return factory
