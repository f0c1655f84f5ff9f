"""Hours in the model: thousandths of an hour ("mh"), with the needed total rounded up once.

A pair's need for ``q`` units is ``setup_hours + hours_per_unit · q``. The model books whole thousandths,
so the need is rounded up, but only the total: rounding the setup and the per-unit hours up separately
(as before) booked, at 0.0125 h per unit, 4 % more hours than needed. Free hours are rounded down. Hours
figures are read as exact decimals (``Fraction(str(x))``), limited to a millionth of a thousandth.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

__all__ = ["MH_PER_HOUR", "exact_mh", "free_mh", "need_mh", "total_need_mh"]

MH_PER_HOUR = 1000  # the model counts thousandths of an hour
_DENOMINATOR = 10**6  # finer than any hours figure a factory states


@lru_cache(maxsize=1 << 16)
def exact_mh(hours: float) -> Fraction:
    """``hours`` in thousandths of an hour, exactly (as the decimal that was written). Cached: a problem
    repeats few distinct figures (a factory's weekly hours, an offer's rates) many times, and the exact
    conversion is the costliest step of eligibility on large problems."""
    return (Fraction(str(hours)) * MH_PER_HOUR).limit_denominator(_DENOMINATOR)


def need_mh(hours: float) -> int:
    """Thousandths of an hour needed for ``hours``, rounded up."""
    return max(0, math.ceil(exact_mh(hours)))


def free_mh(hours: float) -> int:
    """Thousandths of an hour available, rounded down."""
    return max(0, math.floor(exact_mh(hours)))


def total_need_mh(setup: Fraction, per_unit: Fraction, quantity: int) -> int:
    """Thousandths of an hour needed for ``quantity`` units, ``setup + per_unit · quantity`` (exact
    thousandths, as :func:`exact_mh` gives them) rounded up once. In integers: Fraction arithmetic was the
    costliest step of eligibility."""
    num = setup.numerator * per_unit.denominator + per_unit.numerator * quantity * setup.denominator
    return -(-num // (setup.denominator * per_unit.denominator))
