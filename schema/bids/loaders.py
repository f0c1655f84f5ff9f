"""Batch functions behind the work-package and bid fields: one round of queries per relation and request.

They do not check visibility: a field reaches them only from a parent the caller may see, behind its own
role gate (``eligibility`` for owners, ``candidates`` for coordinators, ``bids`` never for buyers). The
eligibility batches evaluate with :mod:`server.bids.eligibility`, the one place that decides it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from uuid import UUID

from server.bids import repo
from server.bids.eligibility import Eligibility
from server.bids.estimates import Offer
from server.bids.rules import BidScope
from server.bids.service import eligibility_of, offers_of_packages
from server.db import Pool


async def packages_by_rfq_id(pool: Pool, rfq_ids: list[UUID]) -> list[list[repo.WorkPackage]]:
    grouped: dict[UUID, list[repo.WorkPackage]] = defaultdict(list)
    async with pool.acquire() as conn:
        for package in await repo.packages_by_rfq_ids(conn, rfq_ids=rfq_ids):
            grouped[package.rfq_id].append(package)
    return [grouped.get(i, []) for i in rfq_ids]


async def packages_by_id(pool: Pool, ids: list[UUID]) -> list[repo.WorkPackage | None]:
    async with pool.acquire() as conn:
        found = {p.id: p for p in await repo.packages_by_ids(conn, ids=ids)}
    return [found.get(i) for i in ids]


async def owner_eligibility(pool: Pool, keys: list[tuple[UUID, UUID, dt.date]]) -> list[list[Eligibility]]:
    """Keys are (package id, owner's user id, today in JST): the verdicts for each factory of the owner."""
    results: dict[tuple[UUID, UUID, dt.date], list[Eligibility]] = {}
    groups: dict[tuple[UUID, dt.date], set[UUID]] = defaultdict(set)
    for package_id, owner, today in keys:
        groups[owner, today].add(package_id)
    async with pool.acquire() as conn:
        for (owner, today), package_ids in groups.items():
            packages = await repo.packages_by_ids(conn, ids=sorted(package_ids))
            verdicts = await eligibility_of(
                conn, packages=packages, where=repo.FactoryFilter(owner_user_id=owner), today=today
            )
            for package_id, found in verdicts.items():
                results[package_id, owner, today] = found
    return [results.get(k, []) for k in keys]


async def candidates_by_package(pool: Pool, keys: list[tuple[UUID, dt.date]]) -> list[list[Eligibility]]:
    """Keys are (package id, today in JST): every factory's verdict, in candidate order."""
    results: dict[tuple[UUID, dt.date], list[Eligibility]] = {}
    days: dict[dt.date, set[UUID]] = defaultdict(set)
    for package_id, today in keys:
        days[today].add(package_id)
    async with pool.acquire() as conn:
        for today, package_ids in days.items():
            packages = await repo.packages_by_ids(conn, ids=sorted(package_ids))
            verdicts = await eligibility_of(conn, packages=packages, where=repo.FactoryFilter(), today=today)
            for package_id, found in verdicts.items():
                results[package_id, today] = found
    return [results.get(k, []) for k in keys]


async def bids_by_package(pool: Pool, keys: list[tuple[UUID, BidScope]]) -> list[list[repo.Bid]]:
    """Keys are (package id, the caller's bid scope): the bids of the package within that scope."""
    results: dict[tuple[UUID, BidScope], list[repo.Bid]] = defaultdict(list)
    scopes: dict[BidScope, set[UUID]] = defaultdict(set)
    for package_id, scope in keys:
        scopes[scope].add(package_id)
    async with pool.acquire() as conn:
        for scope, package_ids in scopes.items():
            for bid in await repo.bids_by_package_ids(conn, package_ids=sorted(package_ids), scope=scope):
                results[bid.package_id, scope].append(bid)
    return [results.get(k, []) for k in keys]


async def offers_by_package(pool: Pool, keys: list[tuple[UUID, dt.date, bool]]) -> list[list[Offer]]:
    """Keys are (package id, today in JST, firm only): the offers a solve would use (``offers``, coordinators
    only), for every package asked about in one round of queries per (day, firm only)."""
    results: dict[tuple[UUID, dt.date, bool], list[Offer]] = {}
    groups: dict[tuple[dt.date, bool], set[UUID]] = defaultdict(set)
    for package_id, today, firm_only in keys:
        groups[today, firm_only].add(package_id)
    async with pool.acquire() as conn:
        for (today, firm_only), package_ids in groups.items():
            packages = await repo.packages_by_ids(conn, ids=sorted(package_ids))
            offers = await offers_of_packages(conn, packages=packages, today=today, firm_only=firm_only)
            for package_id, found in offers.items():
                results[package_id, today, firm_only] = found
    return [results.get(k, []) for k in keys]
