"""Transport days and cost between two prefectures, derived from the distance between their capitals.

The derivation, so that a coordinator can judge (and override) it:

1. Great-circle distance between the prefectural capitals (haversine, Earth radius 6,371 km).
2. Times 1.3, a usual ratio of road to straight-line distance in Japan's mountainous terrain.
3. Banded into one shipment's days in transit and charter cost (a small truck, one consignment), at the
   order of magnitude of Japanese domestic trucking tariffs:

   | road distance      | days | JPY per shipment |
   |--------------------|------|------------------|
   | same prefecture    | 0    | 5,000            |
   | under 150 km       | 1    | 15,000           |
   | under 400 km       | 1    | 30,000           |
   | under 800 km       | 2    | 55,000           |
   | under 1,500 km     | 3    | 85,000           |
   | 1,500 km or more   | 4    | 120,000          |

4. Okinawa is reached by sea from anywhere else: two more days and 40,000 JPY more.

Same-prefecture shipments take 0 days: a part made in Ota on Monday can be at the next shop in Ota that day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

EARTH_RADIUS_KM = 6371.0
ROAD_FACTOR = 1.3
OKINAWA = "47"
SEA_LEG_DAYS = 2
SEA_LEG_COST_JPY = 40_000
SAME_PREFECTURE = (0, 5_000)
# (road distance under, days, JPY per shipment), nearest first; the last band has no upper bound.
BANDS: tuple[tuple[float, int, int], ...] = (
    (150.0, 1, 15_000),
    (400.0, 1, 30_000),
    (800.0, 2, 55_000),
    (1_500.0, 3, 85_000),
    (math.inf, 4, 120_000),
)


@dataclass(frozen=True)
class Capital:
    """A prefecture's capital: where its shipments are taken to start and end."""

    prefecture: str
    latitude: Decimal | float
    longitude: Decimal | float


@dataclass(frozen=True)
class TransportLink:
    """Days in transit and JPY per shipment between two prefectures (either direction)."""

    from_prefecture: str
    to_prefecture: str
    days: int
    cost_jpy: int
    road_km: float
    overridden: bool = False


def great_circle_km(a: Capital, b: Capital) -> float:
    """Haversine distance between two capitals."""
    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (a.latitude, a.longitude, b.latitude, b.longitude)))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def derived_link(a: Capital, b: Capital) -> TransportLink:
    """The banded transport figures between the prefectures of ``a`` and ``b``."""
    first, second = sorted((a, b), key=lambda c: c.prefecture)
    if first.prefecture == second.prefecture:
        days, cost = SAME_PREFECTURE
        return TransportLink(first.prefecture, second.prefecture, days, cost, road_km=0.0)
    road_km = great_circle_km(first, second) * ROAD_FACTOR
    days, cost = next((d, c) for limit, d, c in BANDS if road_km < limit)
    if OKINAWA in (first.prefecture, second.prefecture):
        days, cost = days + SEA_LEG_DAYS, cost + SEA_LEG_COST_JPY
    return TransportLink(first.prefecture, second.prefecture, days, cost, road_km=round(road_km, 1))


__all__ = ["BANDS", "Capital", "TransportLink", "derived_link", "great_circle_km"]
