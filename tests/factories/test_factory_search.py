"""factories(filter, first, after): filters, pagination, private fields, DataLoader batching."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from server import db
from server.catalogue.taxonomy import taxonomy_for
from server.factories import repo
from tests.conftest import Caller, GraphQLClient, QueryLog, error_code
from tests.factories.conftest import LAST_MONTH, NEXT_YEAR, TODAY, capability, make_factory

FACTORIES = """
query($filter: FactoryFilter, $first: Int, $after: String) {
  factories(filter: $filter, first: $first, after: $after) {
    edges { cursor node { nameEn } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
TOTAL = "query($filter: FactoryFilter) { factories(filter: $filter) { totalCount } }"
PRIVATE = """
query($id: ID!) {
  factory(id: $id) {
    nameEn
    capabilities {
      processCode materials bestToleranceUm hoursPerWeek hourlyRateJpy setupCostJpy setupHours leadDays
    }
    capacity(weeks: 2) { processCode hours }
  }
}
"""
NESTED_PAGE = """
query($first: Int!) {
  factories(first: $first) {
    edges { node { capabilities { process { nameEn } } certifications { code } prefecture { nameEn } } }
  }
}
"""


async def names(gql: GraphQLClient, caller: Caller, where: dict[str, Any]) -> list[str]:
    body = await gql(FACTORIES, {"filter": where, "first": 100}, token=caller.token)
    assert "errors" not in body, body
    return [e["node"]["nameEn"] for e in body["data"]["factories"]["edges"]]


@pytest.fixture
async def registry(pool: db.Pool, owner: Caller, other_owner: Caller) -> None:
    """Four factories with different processes, materials, tolerances, places and certificates."""
    await make_factory(
        pool,
        owner,
        "Arai Works",
        prefecture="13",
        cluster="Ota",
        certifications=[("ISO9001", NEXT_YEAR)],
        capabilities=[capability(materials=["SUS304"], best_tolerance_um=5)],
    )
    await make_factory(
        pool,
        owner,
        "Bando Milling",
        prefecture="27",
        cluster="Higashiosaka",
        certifications=[("ISO9001", LAST_MONTH)],
        capabilities=[capability(process_code="cnc_milling", materials=["A6061"], best_tolerance_um=10)],
    )
    await make_factory(
        pool,
        owner,
        "Chino Seiki",
        prefecture="20",
        cluster="Suwa",
        certifications=[("JISQ9100", NEXT_YEAR)],
        capabilities=[capability(materials=["A6061", "TI64"], best_tolerance_um=2)],
    )
    await make_factory(
        pool,
        other_owner,
        "Daikoku Alumite",
        prefecture="15",
        cluster="Tsubame-Sanjo",
        capabilities=[capability(process_code="anodizing", materials=["A6061"], best_tolerance_um=20)],
    )


@pytest.mark.usefixtures("registry")
async def test_filters(gql: GraphQLClient, buyer: Caller) -> None:
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["Arai Works", "Bando Milling", "Chino Seiki", "Daikoku Alumite"]),
        ({"processCode": "cnc_turning"}, ["Arai Works", "Chino Seiki"]),
        ({"processCode": " CNC_Turning "}, ["Arai Works", "Chino Seiki"]),
        ({"material": "a6061"}, ["Bando Milling", "Chino Seiki", "Daikoku Alumite"]),
        ({"toleranceUm": 5}, ["Arai Works", "Chino Seiki"]),
        ({"processCode": "cnc_turning", "toleranceUm": 3}, ["Chino Seiki"]),
        # One capability must satisfy all three: Arai turns SUS304 only to 5 µm.
        ({"processCode": "cnc_turning", "material": "SUS304", "toleranceUm": 3}, []),
        ({"processCode": "anodizing", "toleranceUm": 5}, []),
        ({"prefecture": "27"}, ["Bando Milling"]),
        ({"cluster": "ota"}, ["Arai Works"]),
        ({"cluster": "Tsubame-Sanjo", "material": "A6061"}, ["Daikoku Alumite"]),
        # Bando's ISO 9001 expired last month.
        ({"certification": "ISO9001"}, ["Arai Works"]),
        (
            {"certification": "ISO9001", "certifiedOn": (LAST_MONTH - dt.timedelta(days=1)).isoformat()},
            [
                "Arai Works",
                "Bando Milling",
            ],
        ),
        ({"certification": "ISO9001", "certifiedOn": (NEXT_YEAR + dt.timedelta(days=1)).isoformat()}, []),
        ({"certification": "JISQ9100", "prefecture": "20"}, ["Chino Seiki"]),
        # Known codes that no factory matches are no error.
        ({"processCode": "hard_chrome"}, []),
        ({"prefecture": "1"}, []),
        ({"ownedByMe": True}, []),  # a buyer owns no factory
    ]
    for where, expected in cases:
        assert await names(gql, buyer, where) == expected, where


@pytest.mark.usefixtures("registry")
async def test_owned_by_me(gql: GraphQLClient, owner: Caller, other_owner: Caller) -> None:
    assert await names(gql, owner, {"ownedByMe": True}) == ["Arai Works", "Bando Milling", "Chino Seiki"]
    assert await names(gql, other_owner, {"ownedByMe": True}) == ["Daikoku Alumite"]


@pytest.mark.usefixtures("registry")
async def test_total_count_follows_the_filter(gql: GraphQLClient, buyer: Caller) -> None:
    body = await gql(TOTAL, {"filter": {"material": "A6061"}}, token=buyer.token)
    assert body["data"]["factories"]["totalCount"] == 3


async def test_bad_filter_is_bad_user_input(gql: GraphQLClient, buyer: Caller) -> None:
    body = await gql(FACTORIES, {"filter": {"toleranceUm": 0, "cluster": "x" * 201}}, token=buyer.token)
    assert error_code(body) == "BAD_USER_INPUT"
    assert {(e["field"], e["code"]) for e in body["errors"][0]["extensions"]["errors"]} == {
        ("filter.toleranceUm", "OUT_OF_RANGE"),
        ("filter.cluster", "TOO_LONG"),
    }


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize(
    ("where", "field", "code"),
    [
        ({"processCode": "5axis"}, "filter.processCode", "UNKNOWN_PROCESS"),
        ({"material": "SUS999"}, "filter.material", "UNKNOWN_MATERIAL"),
        ({"prefecture": "48"}, "filter.prefecture", "UNKNOWN_PREFECTURE"),
        ({"certification": "ISO9999"}, "filter.certification", "UNKNOWN_CERTIFICATION"),
        ({"cluster": "Otaa"}, "filter.cluster", "UNKNOWN_CLUSTER"),
    ],
)
async def test_unknown_code_in_a_filter_is_bad_user_input(
    gql: GraphQLClient, buyer: Caller, where: dict[str, str], field: str, code: str
) -> None:
    # A typo must not look like "no factory can do this".
    body = await gql(FACTORIES, {"filter": where}, token=buyer.token)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["data"] is None
    [error] = body["errors"][0]["extensions"]["errors"]
    assert (error["field"], error["code"]) == (field, code)
    assert repr(next(iter(where.values()))).upper() in error["message"].upper()


@pytest.mark.usefixtures("registry")
async def test_every_unknown_code_is_reported_at_once(gql: GraphQLClient, buyer: Caller) -> None:
    where = {
        "processCode": "5axis",
        "material": "SUS999",
        "prefecture": "99",
        "certification": "X1",
        "cluster": "Y",
    }
    body = await gql(FACTORIES, {"filter": where}, token=buyer.token)
    assert {(e["field"], e["code"]) for e in body["errors"][0]["extensions"]["errors"]} == {
        ("filter.processCode", "UNKNOWN_PROCESS"),
        ("filter.material", "UNKNOWN_MATERIAL"),
        ("filter.prefecture", "UNKNOWN_PREFECTURE"),
        ("filter.certification", "UNKNOWN_CERTIFICATION"),
        ("filter.cluster", "UNKNOWN_CLUSTER"),
    }


CLUSTERS = "query { clusters { name factoryCount } }"


@pytest.mark.usefixtures("registry")
async def test_clusters_with_their_factory_counts(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, buyer: Caller
) -> None:
    # given: one more Ota factory, its cluster spelled in lower case (the filter ignores case, so do counts)
    await make_factory(pool, owner, "Eto Gear", cluster="ota")
    await make_factory(pool, owner, "Fuji Press", cluster=None)
    # when
    body = await gql(CLUSTERS, token=buyer.token)
    # then
    assert body["data"]["clusters"] == [
        {"name": "Higashiosaka", "factoryCount": 1},
        {"name": "Ota", "factoryCount": 2},
        {"name": "Suwa", "factoryCount": 1},
        {"name": "Tsubame-Sanjo", "factoryCount": 1},
    ]
    for cluster in body["data"]["clusters"]:
        listed = await names(gql, buyer, {"cluster": cluster["name"]})
        assert len(listed) == cluster["factoryCount"]


async def test_anonymous_cannot_list_clusters(gql: GraphQLClient) -> None:
    assert error_code(await gql(CLUSTERS)) == "UNAUTHENTICATED"


async def test_anonymous_cannot_list_factories(gql: GraphQLClient) -> None:
    assert error_code(await gql(FACTORIES)) == "UNAUTHENTICATED"


# --- pagination ---------------------------------------------------------------------------------------


async def test_pages_have_no_duplicates_and_miss_nothing(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, buyer: Caller
) -> None:
    # given: seven factories, two sharing a name (the id breaks the tie)
    for name in ["Gamma", "alpha", "Beta", "Delta", "Beta", "Epsilon", "Zeta"]:
        await make_factory(pool, owner, name)
    # when: pages of three
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        body = await gql(FACTORIES, {"first": 3, "after": after}, token=buyer.token)
        connection = body["data"]["factories"]
        seen += [e["node"]["nameEn"] for e in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]
    # then
    assert pages == 3
    assert len(seen) == 7
    async with pool.acquire() as conn:
        ordered = await conn.fetch("SELECT name_en FROM factories ORDER BY name_en, id")
    assert seen == [r["name_en"] for r in ordered]


PAGE_AND_TOTAL = """
query($filter: FactoryFilter, $first: Int, $after: String) {
  factories(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { node { nameEn } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.usefixtures("registry")
async def test_total_count_read_with_the_page_counts_every_page(
    gql: GraphQLClient, buyer: Caller, query_log: QueryLog
) -> None:
    # given: the registry, and the count of a filter asked alone (its own statement)
    where = {"material": "A6061"}
    alone = (await gql(TOTAL, {"filter": where}, token=buyer.token))["data"]["factories"]["totalCount"]
    assert alone == 3
    # when: pages of two with their totalCount, then the empty page after the last one
    totals: list[int] = []
    counting: list[list[bool]] = []  # per page, each statement that counts: is it the page's own?
    after: str | None = None
    while True:
        query_log.queries.clear()
        query_log.recording = True
        body = await gql(PAGE_AND_TOTAL, {"filter": where, "first": 2, "after": after}, token=buyer.token)
        query_log.recording = False
        counting.append(["ORDER BY" in q for q in query_log.app_queries if "count(*)" in q])
        connection = body["data"]["factories"]
        totals.append(connection["totalCount"])
        if not connection["edges"]:
            break
        after = connection["pageInfo"]["endCursor"]
    # then: every page, the cursor's or the empty one, counts the whole filter, not what follows the cursor
    assert totals == [3, 3, 3]
    # the count rides on the page's statement; the empty page has no row to carry it and counts alone
    assert counting == [[True], [True], [True, False]]


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_bad_cursor_or_page_size_is_bad_user_input(gql: GraphQLClient, buyer: Caller) -> None:
    bad_cursors = [
        "not a cursor!",
        _cursor({"a": 1}),
        _cursor(["Name", "not-a-uuid"]),
        _cursor([1, 2]),
        "%%%",
    ]
    for after in bad_cursors:
        body = await gql(FACTORIES, {"after": after}, token=buyer.token)
        assert error_code(body) == "BAD_USER_INPUT", after
        assert body["errors"][0]["extensions"]["errors"] == [
            {"field": "after", "code": "INVALID", "message": "This cursor is not valid."}
        ]
    for first in (0, 101, -5):
        body = await gql(FACTORIES, {"first": first}, token=buyer.token)
        assert error_code(body) == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["errors"][0]["code"] == "OUT_OF_RANGE"


# --- private fields -----------------------------------------------------------------------------------


async def test_owner_and_coordinator_see_private_fields(
    gql: GraphQLClient, owner: Caller, coordinator: Caller, factory: repo.Factory
) -> None:
    for caller in (owner, coordinator):
        body = await gql(PRIVATE, {"id": str(factory.id)}, token=caller.token)
        data = body["data"]["factory"]
        assert data["capabilities"] == [
            {
                "processCode": "cnc_turning",
                "materials": ["SUS304", "A6061"],
                "bestToleranceUm": 5.0,
                "hoursPerWeek": 40.0,
                "hourlyRateJpy": 8000,
                "setupCostJpy": 20000,
                "setupHours": 1.5,
                "leadDays": 10,
            }
        ]
        assert data["capacity"] == [{"processCode": "cnc_turning", "hours": 40.0}] * 2


async def test_buyer_and_other_owner_see_the_public_profile_only(
    gql: GraphQLClient, buyer: Caller, other_owner: Caller, factory: repo.Factory
) -> None:
    for caller in (buyer, other_owner):
        body = await gql(PRIVATE, {"id": str(factory.id)}, token=caller.token)
        assert "errors" not in body
        data = body["data"]["factory"]
        assert data["nameEn"] == "Sato Precision"
        assert data["capabilities"] == [
            {
                "processCode": "cnc_turning",
                "materials": ["SUS304", "A6061"],
                "bestToleranceUm": 5.0,
                "hoursPerWeek": None,
                "hourlyRateJpy": None,
                "setupCostJpy": None,
                "setupHours": None,
                "leadDays": None,
            }
        ]
        assert data["capacity"] is None


async def test_private_fields_in_a_list_follow_each_factory(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, other_owner: Caller
) -> None:
    # given: one factory each
    await make_factory(pool, owner, "Mine", capabilities=[capability()])
    await make_factory(pool, other_owner, "Theirs", capabilities=[capability()])
    query = "{ factories { edges { node { nameEn isMine capabilities { hourlyRateJpy } } } } }"
    # when
    body = await gql(query, token=owner.token)
    # then
    nodes = [e["node"] for e in body["data"]["factories"]["edges"]]
    assert nodes == [
        {"nameEn": "Mine", "isMine": True, "capabilities": [{"hourlyRateJpy": 8000}]},
        {"nameEn": "Theirs", "isMine": False, "capabilities": [{"hourlyRateJpy": None}]},
    ]


# --- batching -----------------------------------------------------------------------------------------


async def test_query_count_does_not_grow_with_page_size(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, buyer: Caller, query_log: QueryLog
) -> None:
    # given: 40 factories, each with two capabilities and two certifications, across prefectures
    for n in range(40):
        await make_factory(
            pool,
            owner,
            f"Factory {n:02d}",
            prefecture=f"{n % 47 + 1:02d}",
            certifications=[("ISO9001", NEXT_YEAR), ("ISO14001", TODAY)],
            capabilities=[capability(), capability(process_code="cnc_milling")],
        )
    await taxonomy_for(pool).current()  # the app's lifespan reads the catalogue at start
    counts = []
    for first in (5, 40):
        # when
        query_log.recording = True
        body = await gql(NESTED_PAGE, {"first": first}, token=buyer.token)
        query_log.recording = False
        # then
        edges = body["data"]["factories"]["edges"]
        assert len(edges) == first
        assert all(len(e["node"]["capabilities"]) == 2 for e in edges)
        # (the catalogue's version check runs at most once a second, whatever the page)
        counts.append(len([q for q in query_log.app_queries if "FROM catalogue_version" not in q]))
        query_log.queries.clear()
    assert counts[0] == counts[1]
    # the caller's API key (found and its use noted in one statement), the page, capabilities,
    # certifications; processes and prefectures come from the catalogue in memory
    assert counts[0] == 4
