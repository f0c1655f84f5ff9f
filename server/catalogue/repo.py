"""SQL for the catalogue: prefectures, materials, processes and certifications (seeded by migrations)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.db import Connection


@dataclass(frozen=True)
class Prefecture:
    code: str
    name_ja: str
    name_en: str


@dataclass(frozen=True)
class Material:
    code: str
    name_ja: str
    name_en: str
    family: str


@dataclass(frozen=True)
class Process:
    code: str
    name_ja: str
    name_en: str
    category: str
    material_families: list[str]
    sort_order: int


@dataclass(frozen=True)
class Certification:
    code: str
    name: str


_PROCESS_COLUMNS = "code, name_ja, name_en, category, material_families, sort_order"


async def list_prefectures(conn: Connection) -> list[Prefecture]:
    """The 47 prefectures by JIS code."""
    rows = await conn.fetch("SELECT code, name_ja, name_en FROM prefectures ORDER BY code")
    return [Prefecture(**dict(r)) for r in rows]


async def prefectures_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Prefecture]:
    """The known prefectures among ``codes`` (unknown codes are simply absent)."""
    rows = await conn.fetch(
        "SELECT code, name_ja, name_en FROM prefectures WHERE code = ANY($1::text[]) ORDER BY code",
        list(codes),
    )
    return [Prefecture(**dict(r)) for r in rows]


async def list_materials(conn: Connection) -> list[Material]:
    """The materials by family, then code."""
    rows = await conn.fetch("SELECT code, name_ja, name_en, family FROM materials ORDER BY family, code")
    return [Material(**dict(r)) for r in rows]


async def materials_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Material]:
    """The known materials among ``codes`` (unknown codes are simply absent)."""
    rows = await conn.fetch(
        "SELECT code, name_ja, name_en, family FROM materials WHERE code = ANY($1::text[])", list(codes)
    )
    return [Material(**dict(r)) for r in rows]


async def list_processes(conn: Connection, *, category: str | None = None) -> list[Process]:
    """The processes in display order, optionally of one category."""
    rows = await conn.fetch(
        f"""
        SELECT {_PROCESS_COLUMNS} FROM processes
        WHERE $1::text IS NULL OR category = $1
        ORDER BY sort_order, code
        """,
        category,
    )
    return [Process(**dict(r)) for r in rows]


async def processes_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Process]:
    """The known processes among ``codes`` (unknown codes are simply absent)."""
    rows = await conn.fetch(
        f"SELECT {_PROCESS_COLUMNS} FROM processes WHERE code = ANY($1::text[])", list(codes)
    )
    return [Process(**dict(r)) for r in rows]


async def list_certifications(conn: Connection) -> list[Certification]:
    """The certifications by code."""
    rows = await conn.fetch("SELECT code, name FROM certifications ORDER BY code")
    return [Certification(**dict(r)) for r in rows]


async def certifications_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Certification]:
    """The known certifications among ``codes`` (unknown codes are simply absent)."""
    rows = await conn.fetch("SELECT code, name FROM certifications WHERE code = ANY($1::text[])", list(codes))
    return [Certification(**dict(r)) for r in rows]
