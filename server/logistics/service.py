"""Transport between prefectures: the derived figures, coordinators' overrides, and the links of a solve."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from server.auth.principal import Principal, Role
from server.catalogue.service import check_codes, prefecture_code
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, ValidationFailed
from server.logistics import repo
from server.logistics.transport import TransportLink, derived_link
from server.validation import Errors, check_range

MAX_DAYS = 60
MAX_COST_JPY = 100_000_000


async def links_between(conn: Connection, prefectures: Sequence[str]) -> list[TransportLink]:
    """The link of every unordered pair of ``prefectures`` (same-prefecture pairs included), overrides
    applied: what the Problem builder hands the solver."""
    codes = sorted(set(prefectures))
    capitals = {c.prefecture: c for c in await repo.capitals(conn, prefectures=codes)}
    overridden = {
        (o.from_prefecture, o.to_prefecture): o for o in await repo.overrides(conn, prefectures=codes)
    }
    links = []
    for low, high in itertools.combinations_with_replacement(codes, 2):
        link = derived_link(capitals[low], capitals[high])
        override = overridden.get((low, high))
        if override is not None:
            link = TransportLink(low, high, override.days, override.cost_jpy, link.road_km, overridden=True)
        links.append(link)
    return links


async def _link_of(conn: Connection, first: str, second: str) -> TransportLink:
    low, high = sorted((first, second))
    links = await links_between(conn, [low, high])
    return next(lk for lk in links if (lk.from_prefecture, lk.to_prefecture) == (low, high))


async def _checked_pair(conn: Connection, errors: Errors, from_prefecture: str, to_prefecture: str) -> None:
    await check_codes(
        conn,
        errors,
        prefectures={"from": prefecture_code(from_prefecture), "to": prefecture_code(to_prefecture)},
    )


async def transport_link(
    pool: Pool, principal: Principal, *, from_prefecture: str, to_prefecture: str
) -> TransportLink:
    """The transport figures between two prefectures, for any signed-in caller."""
    principal.require_signed_in()
    errors = Errors()
    async with pool.acquire() as conn:
        await _checked_pair(conn, errors, from_prefecture, to_prefecture)
        if errors:
            raise ValidationFailed(errors)
        return await _link_of(conn, prefecture_code(from_prefecture), prefecture_code(to_prefecture))


async def set_transport_link(
    pool: Pool,
    principal: Principal,
    *,
    from_prefecture: str,
    to_prefecture: str,
    days: int | None,
    cost_jpy: int | None,
    now: dt.datetime,
) -> TransportLink:
    """Override the figures of one pair (both directions). Coordinators only. ``days`` and ``cost_jpy``
    both None removes the override, so the derived figures apply again."""
    principal.require_role(Role.COORDINATOR)
    assert principal.user_id is not None
    errors = Errors()
    if (days is None) != (cost_jpy is None):
        field = "days" if days is None else "costJpy"
        errors.add(
            field, ErrorCode.REQUIRED, "Give both days and costJpy, or neither to remove the override."
        )
    check_range(errors, "days", days, low=0, high=MAX_DAYS)
    check_range(errors, "costJpy", cost_jpy, low=0, high=MAX_COST_JPY)
    low, high = sorted((prefecture_code(from_prefecture), prefecture_code(to_prefecture)))
    async with transaction(pool) as conn:
        await _checked_pair(conn, errors, from_prefecture, to_prefecture)
        if errors:
            raise ValidationFailed(errors)
        if days is None or cost_jpy is None:
            await repo.clear_override(conn, from_prefecture=low, to_prefecture=high)
        else:
            await repo.set_override(
                conn,
                from_prefecture=low,
                to_prefecture=high,
                days=days,
                cost_jpy=cost_jpy,
                set_by_user_id=principal.user_id,
                set_at=now,
            )
        return await _link_of(conn, low, high)


__all__ = ["links_between", "set_transport_link", "transport_link"]
