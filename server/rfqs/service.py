"""RFQ intake (submit with lines and routings, idempotent), cancellation, and the scoped queries.

Every function takes the calling :class:`Principal` first. Which RFQs a caller sees, and which of their
fields, is decided in :mod:`server.rfqs.rules` only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from server.auth.principal import Principal, Role
from server.catalogue import repo as catalogue
from server.catalogue.rules import accepts
from server.catalogue.service import Entries, check_codes
from server.catalogue.taxonomy import taxonomy_for
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, Forbidden, NotFound, ValidationFailed, fail
from server.pagination import Page, decode_cursor, page_of, page_size
from server.quotes import service as quotes_service
from server.rfqs import events, lifecycle, repo, rules
from server.validation import Errors, check_range, clean_country, clean_currency, clean_text

INCOTERMS = ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF")
"""Incoterms 2020."""
STATUSES = tuple(s.value for s in lifecycle.RfqStatus)

MAX_LINES = 200
MAX_OPERATIONS = 20
MAX_CERTIFICATIONS = 10
MAX_QUANTITY = 100_000_000
MIN_TOLERANCE_UM = Decimal("0.001")
MAX_TOLERANCE_UM = Decimal(100_000)
MAX_ENVELOPE_MM = 100_000
MAX_UNIT_PRICE = Decimal(999_999_999_999)
MAX_CODE_LENGTH = 50
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_DAYS_AHEAD = 5 * 366


@dataclass(frozen=True)
class OperationInput:
    """One step of a line's routing, in order."""

    process_code: str
    notes: str = ""


@dataclass(frozen=True)
class LineInput:
    """One part of an RFQ with its routing."""

    name: str
    material: str
    quantity: int
    tolerance_um: Decimal
    envelope_mm: int
    operations: Sequence[OperationInput]
    part_number: str = ""
    required_certifications: Sequence[str] = ()
    target_unit_price: Decimal | None = None
    notes: str = ""


@dataclass(frozen=True)
class RfqInput:
    """A whole RFQ as a buyer submits it (the GraphQL input and the demo seeder both map to this)."""

    title: str
    incoterm: str
    destination_country: str
    due_date: dt.date
    bid_deadline: dt.date
    lines: Sequence[LineInput]
    description: str = ""
    currency: str | None = None  # None: the buyer's own currency
    nda_required: bool = False
    disclose_buyer: bool = False


# --- input checks -------------------------------------------------------------------------------------


def _code(value: str, *, upper: bool) -> str | None:
    """A catalogue code, stripped and case-folded (materials and certifications are upper case, processes
    lower case), or None when it cannot be one, so that it is never sent to SQL."""
    code = value.strip()
    if not code or len(code) > MAX_CODE_LENGTH or not code.isprintable():
        return None
    return code.upper() if upper else code.lower()


def _decimal(
    errors: Errors,
    path: str,
    value: Decimal | float | None,
    *,
    low: Decimal,
    high: Decimal,
    places: int,
) -> Decimal | None:
    """``value`` as a finite Decimal in [low, high] with at most ``places`` decimals.

    OUT_OF_RANGE outside the bounds; INVALID for NaN, infinity or too many decimals (which PostgreSQL's
    numeric could not even hold at the extreme, e.g. ``1e-20000``).
    """
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        errors.add(path, ErrorCode.INVALID, f"{path} must be a finite number.")
        return None
    if number < low or number > high:
        errors.add(path, ErrorCode.OUT_OF_RANGE, f"{path} must be between {low} and {high}.")
        return None
    if _scale(number.normalize()) > places:
        errors.add(path, ErrorCode.INVALID, f"{path} has more than {places} decimal places.")
        return None
    # Trailing zeros beyond ``places`` (``12.500000``) are dropped so the stored scale stays within bounds.
    return number.quantize(Decimal(1).scaleb(-places)) if _scale(number) > places else number


def _scale(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_dates(errors: Errors, data: RfqInput, today: dt.date) -> None:
    latest = today + dt.timedelta(days=MAX_DAYS_AHEAD)
    due_ok = deadline_ok = True
    if data.due_date < today:
        errors.add("dueDate", ErrorCode.DATE_IN_PAST, "dueDate is in the past.")
        due_ok = False
    elif data.due_date > latest:
        errors.add("dueDate", ErrorCode.OUT_OF_RANGE, "dueDate is more than five years ahead.")
        due_ok = False
    if data.bid_deadline < today:
        errors.add("bidDeadline", ErrorCode.DATE_IN_PAST, "bidDeadline is in the past.")
        deadline_ok = False
    if due_ok and deadline_ok and data.bid_deadline >= data.due_date:
        errors.add("dueDate", ErrorCode.DATE_ORDER, "dueDate must be after bidDeadline.")


def _catalogue_codes(data: RfqInput) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The catalogue codes the input names, as ``{field: code}`` for :func:`catalogue_service.check_codes`:
    materials, processes and certifications. Codes that cannot be codes (empty, too long, unprintable) are
    left out, so they never reach SQL; :func:`_clean_line` reports those itself."""
    materials: dict[str, str] = {}
    processes: dict[str, str] = {}
    certifications: dict[str, str] = {}
    for i, line in enumerate(data.lines[:MAX_LINES]):
        if (material := _code(line.material, upper=True)) is not None:
            materials[f"lines.{i}.material"] = material
        for j, op in enumerate(line.operations[:MAX_OPERATIONS]):
            if (process := _code(op.process_code, upper=False)) is not None:
                processes[f"lines.{i}.operations.{j}.processCode"] = process
        if len(line.required_certifications) <= MAX_CERTIFICATIONS:
            for k, cert in enumerate(line.required_certifications):
                if (code := _code(cert, upper=True)) is not None:
                    certifications[f"lines.{i}.requiredCertifications.{k}"] = code
    return materials, processes, certifications


def _clean_operations(
    errors: Errors, path: str, line: LineInput, material: catalogue.Material | None, ref: Entries
) -> tuple[repo.NewOperation, ...]:
    if not line.operations:
        errors.add(f"{path}.operations", ErrorCode.REQUIRED, "Give the line at least one operation.")
        return ()
    if len(line.operations) > MAX_OPERATIONS:
        errors.add(
            f"{path}.operations", ErrorCode.OUT_OF_RANGE, f"A line has at most {MAX_OPERATIONS} operations."
        )
        return ()
    operations = []
    for j, op in enumerate(line.operations):
        op_path = f"{path}.operations.{j}"
        code = _code(op.process_code, upper=False)
        process = ref.processes.get(code) if code is not None else None
        if code is None:  # a well-formed unknown code was reported by check_codes
            errors.add(
                f"{op_path}.processCode",
                ErrorCode.UNKNOWN_PROCESS,
                f"{op.process_code!r} is not a known process.",
            )
        elif process is not None and material is not None and not accepts(process, material):
            errors.add(
                f"{op_path}.processCode",
                ErrorCode.MATERIAL_MISMATCH,
                f"{process.name_en} does not work {material.family} materials such as {material.name_en}.",
            )
        notes = clean_text(errors, f"{op_path}.notes", op.notes, max_length=2000, required=False)
        operations.append(repo.NewOperation(position=j + 1, process_code=code or "", notes=notes))
    return tuple(operations)


def _clean_line(errors: Errors, i: int, line: LineInput, ref: Entries) -> repo.NewLine:
    path = f"lines.{i}"
    name = clean_text(errors, f"{path}.name", line.name, max_length=200)
    part_number = clean_text(errors, f"{path}.partNumber", line.part_number, max_length=100, required=False)
    notes = clean_text(errors, f"{path}.notes", line.notes, max_length=2000, required=False)
    material_code = _code(line.material, upper=True)
    material = ref.materials.get(material_code) if material_code is not None else None
    if material_code is None:  # a well-formed unknown code was reported by check_codes
        errors.add(
            f"{path}.material", ErrorCode.UNKNOWN_MATERIAL, f"{line.material!r} is not a known material."
        )
    check_range(errors, f"{path}.quantity", line.quantity, low=1, high=MAX_QUANTITY)
    check_range(errors, f"{path}.envelopeMm", line.envelope_mm, low=1, high=MAX_ENVELOPE_MM)
    tolerance = _decimal(
        errors,
        f"{path}.toleranceUm",
        line.tolerance_um,
        low=MIN_TOLERANCE_UM,
        high=MAX_TOLERANCE_UM,
        places=3,
    )
    price = _decimal(
        errors,
        f"{path}.targetUnitPrice",
        line.target_unit_price,
        low=Decimal(0),
        high=MAX_UNIT_PRICE,
        places=4,
    )
    certifications: list[str] = []
    if len(line.required_certifications) > MAX_CERTIFICATIONS:
        errors.add(
            f"{path}.requiredCertifications",
            ErrorCode.OUT_OF_RANGE,
            f"A line requires at most {MAX_CERTIFICATIONS} certifications.",
        )
    else:
        for k, cert in enumerate(line.required_certifications):
            code = _code(cert, upper=True)
            if code is None:  # a well-formed unknown code was reported by check_codes
                errors.add(
                    f"{path}.requiredCertifications.{k}",
                    ErrorCode.UNKNOWN_CERTIFICATION,
                    f"{cert!r} is not a known certification.",
                )
            elif code in ref.certifications and code not in certifications:
                certifications.append(code)
    operations = _clean_operations(errors, path, line, material, ref)
    return repo.NewLine(
        id=uuid.uuid4(),
        position=i + 1,
        part_number=part_number,
        name=name,
        material=material.code if material else "",
        quantity=line.quantity,
        tolerance_um=tolerance or Decimal(1),
        envelope_mm=line.envelope_mm,
        required_certifications=tuple(certifications),
        target_unit_price=price,
        notes=notes,
        operations=operations,
    )


def request_hash(data: RfqInput) -> str:
    """SHA-256 of the input as canonical JSON: equal inputs hash equal, whatever their object identity."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value.normalize()) if value.is_finite() else str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    canonical = json.dumps(plain(dataclasses.asdict(data)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _clean_idempotency_key(errors: Errors, key: str | None) -> str | None:
    """The key, or None when none was given or it is not usable (the problem is then in ``errors``)."""
    if key is None:
        return None
    found = len(errors)
    key = clean_text(errors, "idempotencyKey", key, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    return key if len(errors) == found else None


async def _replay(conn: Connection, record: repo.IdempotencyRecord, digest: str) -> repo.Rfq:
    """The RFQ first submitted under this key, or IDEMPOTENCY_CONFLICT when the input differs."""
    if record.request_hash != digest:
        raise fail(
            "idempotencyKey",
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This idempotency key was already used for a different RFQ; use a new key.",
        )
    (rfq,) = await repo.rfqs_by_ids(conn, ids=[record.rfq_id])
    return rfq


async def _catalogue_entries(pool: Pool, errors: Errors, data: RfqInput) -> Entries:
    """The catalogue entries the input names, from the process's in-memory copy of the catalogue
    (:mod:`server.catalogue.taxonomy`): no query for the usual input.

    A code the copy lacks is looked up in the database, which reports it when it is unknown there too
    (UNKNOWN_MATERIAL …, by :func:`check_codes`): an entry added in the last second, before this process
    read the catalogue again, is accepted as it would be by any process that has seen it.
    """
    materials, processes, certifications = _catalogue_codes(data)
    taxonomy = await taxonomy_for(pool).current()
    known = Entries(
        materials=_known(materials, taxonomy.materials),
        processes=_known(processes, taxonomy.processes),
        certifications=_known(certifications, taxonomy.certifications),
    )
    missing = [
        {f: code for f, code in codes.items() if code not in entries}
        for codes, entries in (
            (materials, known.materials),
            (processes, known.processes),
            (certifications, known.certifications),
        )
    ]
    if not any(missing):
        return known
    async with pool.acquire() as conn:
        found = await check_codes(
            conn, errors, materials=missing[0], processes=missing[1], certifications=missing[2]
        )
    return Entries(
        materials={**known.materials, **found.materials},
        processes={**known.processes, **found.processes},
        certifications={**known.certifications, **found.certifications},
    )


_Entry = TypeVar("_Entry")


def _known(codes: dict[str, str], entries: Mapping[str, _Entry]) -> dict[str, _Entry]:
    return {code: entries[code] for code in codes.values() if code in entries}


# --- services -----------------------------------------------------------------------------------------


async def submit_rfq(
    pool: Pool, principal: Principal, data: RfqInput, *, today: dt.date, idempotency_key: str | None = None
) -> repo.Rfq:
    """Store a buyer's RFQ with all its lines and routings in one transaction, or nothing at all.

    ``today`` is today in Japan (:mod:`server.clock`): the due date and bid deadline may not lie before it.

    Buyers only. With ``idempotency_key``, a retry with the same input returns the RFQ stored the first time
    (even from another server process, and even once the input would no longer be valid, e.g. its bid
    deadline has passed); the same key with a different input is IDEMPOTENCY_CONFLICT.
    Every problem with the input is reported at once, with paths such as ``lines.2.operations.0.processCode``.

    The input is checked before any statement (catalogue codes against the in-memory catalogue); a valid
    one is then written by two statements in one transaction (:func:`repo.insert_rfq`,
    :func:`repo.insert_operations`). The idempotency key is looked up only when it matters: when the insert
    finds the key taken (then nothing was inserted), or when the input has errors.
    """
    principal.require_role(Role.BUYER)
    assert principal.buyer_id is not None
    buyer_id = principal.buyer_id
    errors = Errors()
    key = _clean_idempotency_key(errors, idempotency_key)
    digest = request_hash(data) if key is not None else None

    title = clean_text(errors, "title", data.title, max_length=200)
    description = clean_text(errors, "description", data.description, max_length=10_000, required=False)
    # None: the buyer's own currency, read by the insert itself.
    currency = None if data.currency is None else clean_currency(errors, "currency", data.currency)
    incoterm = data.incoterm.strip().upper()
    if incoterm not in INCOTERMS:
        errors.add("incoterm", ErrorCode.INVALID, f"Use an Incoterms 2020 code: {', '.join(INCOTERMS)}.")
    country = clean_country(errors, "destinationCountry", data.destination_country)
    _check_dates(errors, data, today)
    lines: list[repo.NewLine] = []
    if not data.lines:
        errors.add("lines", ErrorCode.REQUIRED, "Give the RFQ at least one line.")
    elif len(data.lines) > MAX_LINES:
        errors.add("lines", ErrorCode.OUT_OF_RANGE, f"An RFQ has at most {MAX_LINES} lines.")
    else:
        ref = await _catalogue_entries(pool, errors, data)
        lines = [_clean_line(errors, i, line, ref) for i, line in enumerate(data.lines)]
    if errors:
        if key is not None and digest is not None:
            # A retry of a submit that was stored returns its RFQ, even if the input is no longer valid.
            async with pool.acquire() as conn:
                record = await repo.idempotency_record(conn, buyer_id=buyer_id, idempotency_key=key)
                if record is not None:
                    return await _replay(conn, record, digest)
        raise ValidationFailed(errors)

    async with transaction(pool) as conn:
        rfq = await repo.insert_rfq(
            conn,
            buyer_id=buyer_id,
            title=title,
            description=description,
            currency=currency,
            incoterm=incoterm,
            destination_country=country,
            due_date=data.due_date,
            bid_deadline=data.bid_deadline,
            nda_required=data.nda_required,
            disclose_buyer=data.disclose_buyer,
            idempotency_key=key,
            request_hash=digest,
            lines=lines,
        )
        if rfq is None:
            # The buyer already has an RFQ under this key (perhaps committed by a concurrent submit, which
            # the insert waited for); this one wrote nothing.
            assert key is not None
            assert digest is not None
            record = await repo.idempotency_record(conn, buyer_id=buyer_id, idempotency_key=key)
            assert record is not None
            return await _replay(conn, record, digest)
        # One package per operation: the event's count is known before the statement that writes both.
        packages = sum(len(line.operations) for line in lines)
        event = events.values(
            principal, events.EventKind.SUBMITTED, {"lines": len(lines), "packages": packages}
        )
        stored = await repo.insert_operations(conn, rfq_id=rfq.id, lines=lines, event=event)
        assert stored == packages
        return rfq


async def cancel_rfq(
    pool: Pool, principal: Principal, *, rfq_id: UUID, reason: str | None = None, now: dt.datetime
) -> repo.Rfq:
    """Cancel an RFQ through the life cycle (:mod:`server.rfqs.lifecycle`): its owning buyer or a
    coordinator. INVALID_STATE when its state cannot become cancelled (e.g. it is cancelled already).

    An awarded RFQ only by a coordinator, with a reason: its capacity bookings are released. An issued quote
    and pending invitations are withdrawn (:func:`server.quotes.service.on_cancel`).
    """
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    errors = Errors()
    cleaned = clean_text(errors, "reason", reason, max_length=2000, required=False)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        rfq = await repo.rfq_for_update(conn, rfq_id=rfq_id)
        if rfq is None or not rules.may_manage_rfq(principal, rfq):
            # Another buyer's RFQ is reported exactly like a missing one: ids reveal nothing.
            raise NotFound("No such RFQ.")
        if lifecycle.may_transition(lifecycle.RfqStatus(rfq.status), lifecycle.RfqStatus.CANCELLED):
            await quotes_service.on_cancel(conn, principal, rfq=rfq, reason=cleaned, now=now)
        return await lifecycle.transition(
            conn, principal, rfq=rfq, to=lifecycle.RfqStatus.CANCELLED, reason=cleaned or None
        )


async def get_rfq(pool: Pool, principal: Principal, *, rfq_id: UUID) -> repo.Rfq:
    """One RFQ the caller may see; NOT_FOUND when it does not exist or is not visible (not told apart)."""
    scope = rules.visible_rfqs(principal)
    async with pool.acquire() as conn:
        rfq = await repo.visible_rfq(conn, rfq_id=rfq_id, scope=scope)
    if rfq is None:
        raise NotFound("No such RFQ.")
    return rfq


def _decode_after(after: str) -> tuple[dt.datetime, UUID]:
    created_at, rfq_id = decode_cursor(after, length=2)
    try:
        when = dt.datetime.fromisoformat(str(created_at))
        # In UTC here, not in the driver: a time near year 1 or 9999 with an offset falls outside Python's
        # dates (OverflowError), which must be the client's INVALID cursor, not a 500.
        when = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        return when, UUID(str(rfq_id))
    except (ValueError, OverflowError):
        raise fail("after", ErrorCode.INVALID, "This cursor is not valid.") from None


async def list_rfqs(
    pool: Pool,
    principal: Principal,
    *,
    status: str | None = None,
    buyer_id: UUID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[repo.Rfq]:
    """The RFQs the caller may see, newest first, one keyset page at a time."""
    scope = rules.visible_rfqs(principal)
    if buyer_id is not None and not rules.may_filter_by_buyer(principal):
        raise Forbidden("Only buyers and coordinators may list RFQs by buyer.")
    limit = page_size(first)
    if status is not None and status not in STATUSES:
        raise fail("filter.status", ErrorCode.INVALID, f"Use one of: {', '.join(STATUSES)}.")
    keyset = _decode_after(after) if after is not None else None
    search = repo.RfqSearch(scope=scope, status=status, buyer_id=buyer_id)
    async with pool.acquire() as conn:
        rows = await repo.list_rfqs(conn, search=search, after=keyset, limit=limit + 1)

    async def total_count() -> int:
        async with pool.acquire() as conn:
            return await repo.count_rfqs(conn, search=search)

    return page_of(
        rows,
        limit=limit,
        cursor_key=lambda r: [r.created_at.isoformat(), str(r.id)],
        total_count=total_count,
    )


__all__ = [
    "INCOTERMS",
    "LineInput",
    "OperationInput",
    "RfqInput",
    "cancel_rfq",
    "get_rfq",
    "list_rfqs",
    "submit_rfq",
]
