"""The consortium as the buyer sees it: roles only.

"lead factory: Ota, Tokyo, ISO 9001; 4 partner factories in 3 prefectures" — the lead's area (its cluster,
or else its city), prefecture and valid certifications, and how many partners in how many prefectures.
Never a factory's name or id, a share, a price or a bid: the view is built from :class:`MemberFacts` only,
which hold none of them, and stored with the quote as it was shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from server.quotes.repo import MemberFacts, Share

_CODE = re.compile(r"^([A-Z]+)(\d+)$")


def certification_label(code: str) -> str:
    """``ISO9001`` → ``ISO 9001``; ``NADCAP`` stays."""
    match = _CODE.match(code)
    return f"{match.group(1)} {match.group(2)}" if match else code


def _lead_of(facts: Sequence[MemberFacts], lead: UUID | None, shares: Sequence[Share]) -> UUID | None:
    """The proposal's lead, or else the member with the largest agreed share."""
    members = {f.factory_id for f in facts}
    if lead in members:
        return lead
    value: dict[UUID, int] = {}
    for s in shares:
        value[s.factory_id] = (
            value.get(s.factory_id, 0) + s.quantity * s.agreed_unit_price_jpy + s.setup_cost_jpy
        )
    return max(sorted(value), key=lambda f: value[f]) if value else None


def roles(facts: Sequence[MemberFacts], *, lead: UUID | None, shares: Sequence[Share]) -> dict[str, Any]:
    """The buyer-safe view stored in ``quotes.consortium``."""
    lead_id = _lead_of(facts, lead, shares)
    lead_facts = next((f for f in facts if f.factory_id == lead_id), None)
    partners = [f for f in facts if f.factory_id != lead_id]
    prefectures = len({f.prefecture for f in partners})
    parts = []
    lead_json: dict[str, Any] | None = None
    if lead_facts is not None:
        labels = [certification_label(c) for c in lead_facts.certifications]
        lead_json = {"area": lead_facts.area, "prefecture": lead_facts.prefecture, "certifications": labels}
        parts.append("lead factory: " + ", ".join([lead_facts.area, lead_facts.prefecture, *labels]))
    if partners:
        noun = "partner factory" if len(partners) == 1 else "partner factories"
        where = "prefecture" if prefectures == 1 else "prefectures"
        parts.append(f"{len(partners)} {noun} in {prefectures} {where}")
    return {
        "lead": lead_json,
        "partnerFactories": len(partners),
        "partnerPrefectures": prefectures,
        "summary": "; ".join(parts),
    }


__all__ = ["certification_label", "roles"]
