"""Reading the catalogue, and checking the codes an input names against it.

The catalogue is public: anyone may read it, anonymous callers included (but not a caller whose credentials
were sent and are not valid). Every domain that takes catalogue codes checks them with :func:`check_codes`,
so an unknown code is reported with the same error code and words everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from server.auth.principal import Principal
from server.catalogue import repo
from server.db import Connection, Pool
from server.errors import ErrorCode
from server.validation import Errors


async def list_processes(
    pool: Pool, principal: Principal, *, category: str | None = None
) -> list[repo.Process]:
    """The process taxonomy in display order."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_processes(conn, category=category)


async def list_materials(pool: Pool, principal: Principal) -> list[repo.Material]:
    """The materials, by family then code."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_materials(conn)


async def list_certifications(pool: Pool, principal: Principal) -> list[repo.Certification]:
    """The certifications a factory may hold."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_certifications(conn)


async def list_prefectures(pool: Pool, principal: Principal) -> list[repo.Prefecture]:
    """The 47 prefectures by JIS X 0401 code."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_prefectures(conn)


def prefecture_code(value: str) -> str:
    """``"13"``, ``" 13 "`` and ``"1"`` → ``"13"`` / ``"01"``; anything else stripped (and then unknown)."""
    code = value.strip()
    return code.zfill(2) if code.isdigit() and len(code) <= 2 else code


@dataclass(frozen=True)
class Entries:
    """The catalogue entries an input names, by code; codes the catalogue does not have are absent."""

    processes: Mapping[str, repo.Process] = field(default_factory=dict)
    materials: Mapping[str, repo.Material] = field(default_factory=dict)
    prefectures: Mapping[str, repo.Prefecture] = field(default_factory=dict)
    certifications: Mapping[str, repo.Certification] = field(default_factory=dict)


async def check_codes(
    conn: Connection,
    errors: Errors,
    *,
    processes: Mapping[str, str] | None = None,
    materials: Mapping[str, str] | None = None,
    prefectures: Mapping[str, str] | None = None,
    certifications: Mapping[str, str] | None = None,
) -> Entries:
    """Look up the codes of an input, each given as ``{field: code}``, one query per kind that has any.

    Each field whose code the catalogue lacks gets UNKNOWN_PROCESS, UNKNOWN_MATERIAL, UNKNOWN_PREFECTURE or
    UNKNOWN_CERTIFICATION. Fields that already have an error are skipped: their code was not well-formed.
    """
    process_codes = _unchecked(errors, processes)
    material_codes = _unchecked(errors, materials)
    prefecture_codes = _unchecked(errors, prefectures)
    certification_codes = _unchecked(errors, certifications)
    entries = Entries(
        processes=await _by_code(conn, repo.processes_by_codes, process_codes.values()),
        materials=await _by_code(conn, repo.materials_by_codes, material_codes.values()),
        prefectures=await _by_code(conn, repo.prefectures_by_codes, prefecture_codes.values()),
        certifications=await _by_code(conn, repo.certifications_by_codes, certification_codes.values()),
    )
    _report(errors, process_codes, entries.processes, ErrorCode.UNKNOWN_PROCESS, "is not a known process.")
    _report(errors, material_codes, entries.materials, ErrorCode.UNKNOWN_MATERIAL, "is not a known material.")
    _report(
        errors,
        prefecture_codes,
        entries.prefectures,
        ErrorCode.UNKNOWN_PREFECTURE,
        "is not a JIS prefecture code (01–47).",
    )
    _report(
        errors,
        certification_codes,
        entries.certifications,
        ErrorCode.UNKNOWN_CERTIFICATION,
        "is not a known certification.",
    )
    return entries


class _Entry(Protocol):
    @property
    def code(self) -> str: ...


EntryT = TypeVar("EntryT", bound=_Entry)


def _unchecked(errors: Errors, codes: Mapping[str, str] | None) -> dict[str, str]:
    return {f: code for f, code in (codes or {}).items() if not errors.has(f)}


async def _by_code(
    conn: Connection,
    fetch: Callable[..., Awaitable[list[EntryT]]],
    codes: Collection[str],
) -> dict[str, EntryT]:
    if not codes:
        return {}
    return {entry.code: entry for entry in await fetch(conn, codes=sorted(set(codes)))}


def _report(
    errors: Errors, codes: Mapping[str, str], known: Mapping[str, object], code: ErrorCode, what: str
) -> None:
    for f, value in codes.items():
        if value not in known:
            errors.add(f, code, f"{value!r} {what}")
