"""The objective's weights, in one place for the model, the solve's extraction and the verifier.

* ``balanced`` preset: JPY per day of completion and per member, as shares of the production floor;
* cohesion: the bonus of each pair of factories that delivered together before (repeated collaborations
  of one pair add up their weights; the bonus is rounded to whole JPY once per pair).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from solver.problem import Problem

__all__ = [
    "BALANCED_DAY_SHARE",
    "BALANCED_MEMBER_SHARE",
    "balanced_weights",
    "cohesion_bonuses",
    "collaboration_weights",
]

BALANCED_DAY_SHARE = 0.002  # balanced preset: one day of completion costs 0.2 % of the production floor
BALANCED_MEMBER_SHARE = 0.01  # balanced preset: one more member costs 1 % of the production floor

FactoryPair = tuple[str, str]  # two factory ids, sorted


def balanced_weights(problem: Problem) -> tuple[int, int]:
    """``(per day of completion, per member)`` JPY weights of the ``balanced`` preset.

    Both are shares of the production floor: each package's quantity at the cheapest unit price among all
    its offers (eligible or not), so the preset behaves the same for small and large RFQs.
    """
    floor = 0
    for pkg in problem.packages:
        prices = [o.unit_price for o in problem.offers_by_package.get(pkg.id, ())]
        floor += min(prices, default=0) * pkg.quantity
    return max(1, round(floor * BALANCED_DAY_SHARE)), max(1, round(floor * BALANCED_MEMBER_SHARE))


def collaboration_weights(problem: Problem) -> Mapping[FactoryPair, float]:
    """Summed collaboration weight per (sorted) pair of factories: repeated collaborations add up."""
    weights: dict[FactoryPair, float] = defaultdict(float)
    for c in problem.collaborations:
        a, z = sorted((c.factory_a, c.factory_b))
        weights[a, z] += c.weight
    return dict(weights)


def cohesion_bonuses(problem: Problem) -> Mapping[FactoryPair, int]:
    """JPY credited when both factories of a pair are members (positive bonuses only)."""
    bonus = problem.policy.cohesion_bonus
    out: dict[FactoryPair, int] = {}
    for pair, weight in collaboration_weights(problem).items():
        value = round(bonus * weight)
        if value > 0:
            out[pair] = value
    return out
