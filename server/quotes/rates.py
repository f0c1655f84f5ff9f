"""Exchange rates, kept by coordinators: ``exchangeRateSet`` adds a rate; the newest of a currency applies.

Every rate stays in ``exchange_rates`` (the history), with the JST day it was set, when and by whom; a quote
stores the rate it used (``quotes.exchange_rate_id`` and ``jpy_per_unit``), so a later rate never changes an
issued quote. A rate is JPY per one unit of the currency (1 USD = 151.25 JPY → ``151.25``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from server.auth.principal import Principal, Role
from server.db import Pool, transaction
from server.errors import ErrorCode, ValidationFailed
from server.quotes import repo
from server.validation import Errors, clean_currency

MAX_RATE = Decimal("99999999")  # numeric(14, 6)
MAX_HISTORY = 500


async def set_rate(
    pool: Pool,
    principal: Principal,
    *,
    currency: str,
    jpy_per_unit: Decimal | float | str,
    today: dt.date,
    now: dt.datetime,
) -> repo.ExchangeRate:
    """Add the current rate of ``currency``: coordinators only. UNKNOWN_CURRENCY for a code that is not ISO
    4217, INVALID for JPY itself or more than six decimals, OUT_OF_RANGE for a rate not above 0."""
    principal.require_role(Role.COORDINATOR)
    errors = Errors()
    code = clean_currency(errors, "currency", currency)
    if code == "JPY":
        errors.add("currency", ErrorCode.INVALID, "JPY is the base currency: it has no rate.")
    try:
        rate = Decimal(str(jpy_per_unit))
    except InvalidOperation:
        rate = Decimal(0)
    if not rate.is_finite() or not Decimal(0) < rate <= MAX_RATE:
        errors.add(
            "jpyPerUnit", ErrorCode.OUT_OF_RANGE, f"jpyPerUnit must be above 0 and at most {MAX_RATE}."
        )
    elif rate != rate.quantize(Decimal("0.000001")):
        errors.add("jpyPerUnit", ErrorCode.INVALID, "jpyPerUnit has at most six decimals.")
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        return await repo.insert_rate(
            conn, currency=code, jpy_per_unit=rate, set_on=today, set_at=now, user_id=principal.user_id
        )


async def rate_history(
    pool: Pool, principal: Principal, *, currency: str | None, limit: int = 100
) -> list[repo.ExchangeRate]:
    """Rates newest first (of one currency, or all): coordinators only."""
    principal.require_role(Role.COORDINATOR)
    errors = Errors()
    code = clean_currency(errors, "currency", currency) if currency is not None else None
    if not 1 <= limit <= MAX_HISTORY:
        errors.add("first", ErrorCode.OUT_OF_RANGE, f"first must be between 1 and {MAX_HISTORY}.")
    if errors:
        raise ValidationFailed(errors)
    async with pool.acquire() as conn:
        return await repo.rate_history(conn, currency=code, limit=limit)


__all__ = ["rate_history", "set_rate"]
