"""The hot reads answer exactly what they answered before issue 11's fast paths, for every caller class.

The demo data (fixed day, fixed random seed) is read through the GraphQL endpoint by the coordinator, the
owner of a factory that bid, another owner, the buyer of the RFQ with bids, another buyer and an anonymous
caller: the registry page with every field of a factory, one factory, the RFQ pages with their lines,
operations, packages and bids, the biddable RFQs, proposals and ``me``. Each answer is compared with
``snapshots/reads.json``, written once by this test on main's code before the fast paths existed (commit
6ad395d, ``MACHIKOBA_WRITE_SNAPSHOTS=1 pytest tests/server/test_read_snapshots.py``) and never rewritten
by the change it guards.

Ids and timestamps differ between runs; :func:`normalise` replaces each UUID by its order of first
appearance and each timestamp by a placeholder. Dates, names, figures, errors and list orders stay as they
are.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from bench.peers.common import HEAVY
from server import clock as clocks
from server import db
from server.auth import service as auth_service
from server.auth.principal import ANONYMOUS
from server.catalogue.taxonomy import taxonomy_for
from server.demo.seed import DEMO_BUYERS, DEMO_COORDINATOR_EMAIL, DEMO_PASSWORD, seed_demo
from server.settings import SessionPolicy
from tests.conftest import GraphQLClient, QueryLog

SNAPSHOTS = Path(__file__).parent / "snapshots" / "reads.json"
WRITE = os.environ.get("MACHIKOBA_WRITE_SNAPSHOTS") == "1"
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)

FACTORY_FIELDS = """
  id nameJa nameEn city cluster employees foundedYear description isMine approvalStatus approvalNote
  prefecture { code nameJa nameEn }
  certifications { code name validUntil isValid }
  capabilities {
    processCode materials bestToleranceUm maxEnvelopeMm minLot maxLot
    hoursPerWeek hourlyRateJpy setupCostJpy setupHours leadDays
    process { code nameJa nameEn category materialFamilies }
  }
"""
BID_FIELDS = """
  id unitPriceJpy setupCostJpy hoursPerUnit setupHours maxQuantity earliestStart validUntil note
  factory { id nameEn isMine }
"""
RFQ_FIELDS = """
  id title description currency incoterm destinationCountry dueDate bidDeadline ndaRequired discloseBuyer
  status buyer { id name country currency contactEmail }
  lines {
    id position partNumber name quantity toleranceUm envelopeMm requiredCertifications targetUnitPrice notes
    material { code nameJa nameEn family }
    operations { position notes process { code nameEn category } }
  }
  packages {
    id position quantity toleranceUm envelopeMm dueDate requiredCertifications
    line { id position } process { code nameEn } material { code nameEn }
  }
"""
DOCUMENTS = {
    "me": """{ me {
      role user { id email displayName role } buyer { id name country currency contactEmail } } }""",
    "me_typename": "{ me { __typename } }",
    "heavy": HEAVY,
    "registry": f"""
      {{ factories(first: 30) {{
          totalCount pageInfo {{ hasNextPage }} edges {{ node {{ {FACTORY_FIELDS} }} }} }} }}
    """,
    "registry_filtered": f"""
      {{ factories(first: 20, filter: {{processCode: "cnc_turning", cluster: "Ota"}}) {{
          edges {{ node {{ {FACTORY_FIELDS} }} }} }} }}
    """,
    "rfqs": f"{{ rfqs(first: 3) {{ totalCount edges {{ node {{ {RFQ_FIELDS} }} }} }} }}",
    "rfq_bids": f"""
      {{ rfqs(first: 3) {{ edges {{ node {{ id packages {{ id bids {{ {BID_FIELDS} }} }} }} }} }} }}
    """,
    "biddable": f"""
      {{ biddableRfqs(first: 20) {{ edges {{ node {{
          rfq {{ id title }} packages {{ id position process {{ code nameEn }} }} bids {{ {BID_FIELDS} }}
      }} }} }} }}
    """,
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")


def normalise(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with each UUID replaced by ``#n`` (order of first appearance), timestamps by ``<ts>``."""
    if isinstance(value, dict):
        return {k: normalise(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, ids) for v in value]
    if isinstance(value, str):
        value = UUID.sub(lambda m: ids.setdefault(m.group(0), f"#{len(ids)}"), value)
        return TIMESTAMP.sub("<ts>", value)
    return value


@pytest.fixture
def clock() -> clocks.Clock:
    return clocks.FixedClock(NOW)


async def _session(pool: db.Pool, email: str) -> str:
    signed = await auth_service.log_in(
        pool, ANONYMOUS, email=email, password=DEMO_PASSWORD, now=NOW, sessions=SessionPolicy()
    )
    return signed.token


async def _callers(pool: db.Pool) -> dict[str, str | None]:
    """The caller classes and their tokens: the owners are those of the first factory that bid and of a
    factory that did not; the buyers, the one whose RFQ has bids and another."""
    async with pool.acquire() as conn:
        bidder = await conn.fetchval(
            """
            SELECT u.email FROM bids b
            JOIN factories f ON f.id = b.factory_id JOIN users u ON u.id = f.owner_user_id
            ORDER BY f.name_en LIMIT 1
            """
        )
        other = await conn.fetchval(
            """
            SELECT u.email FROM factories f JOIN users u ON u.id = f.owner_user_id
            WHERE NOT EXISTS (SELECT 1 FROM bids b WHERE b.factory_id = f.id) ORDER BY f.name_en LIMIT 1
            """
        )
    assert bidder is not None
    assert other is not None
    return {
        "coordinator": await _session(pool, DEMO_COORDINATOR_EMAIL),
        "owner": await _session(pool, bidder),
        "other_owner": await _session(pool, other),
        "buyer": DEMO_BUYERS[0][3],
        "other_buyer": DEMO_BUYERS[2][3],
        "anonymous": None,
    }


async def test_hot_reads_answer_as_before_for_every_caller(pool: db.Pool, gql: GraphQLClient) -> None:
    # given the demo, seeded on the fixed day
    await seed_demo(pool, today=clocks.today(clocks.FixedClock(NOW)), stages_after_review=False)
    callers = await _callers(pool)

    # when every caller reads every hot document (the same ids map to the same labels across answers)
    ids: dict[str, str] = {}
    answers: dict[str, dict[str, Any]] = {}
    for caller, token in callers.items():
        for name, document in DOCUMENTS.items():
            answers[f"{caller}/{name}"] = normalise(await gql(document, token=token), ids)

    # then each answer is the one main's code gave
    if WRITE:
        SNAPSHOTS.write_text(json.dumps(answers, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOTS.read_text())
    assert sorted(answers) == sorted(expected)
    for key in expected:
        assert answers[key] == expected[key], key


def _without_version_checks(queries: list[str]) -> list[str]:
    """The queries but the catalogue's version check, which runs at most once a second whatever the load."""
    return [q for q in queries if "FROM catalogue_version" not in q]


async def test_pages_load_each_nested_list_in_one_query(
    pool: db.Pool, gql: GraphQLClient, query_log: QueryLog
) -> None:
    # given the demo (three RFQs with several lines each, 300 factories)
    await seed_demo(pool, today=clocks.today(clocks.FixedClock(NOW)), stages_after_review=False)
    token = (await _callers(pool))["coordinator"]
    await taxonomy_for(pool).current()  # the app's lifespan reads the catalogue at start

    # when the coordinator reads a page of RFQs with their lines, operations and packages, and a page of
    # factories with their certifications and capabilities
    query_log.recording = True
    rfqs = await gql(DOCUMENTS["rfqs"], token=token)
    rfq_queries = _without_version_checks(query_log.app_queries)
    query_log.queries.clear()
    factories = await gql(DOCUMENTS["registry"], token=token)
    factory_queries = _without_version_checks(query_log.app_queries)
    query_log.recording = False

    # then each nested list took one query for the whole page, whatever the number of items
    assert len(rfqs["data"]["rfqs"]["edges"]) == 3
    # the session, the page, its count, the buyers, the lines, the operations, the packages
    assert len(rfq_queries) == 7, rfq_queries
    assert len(factories["data"]["factories"]["edges"]) == 30
    # the session, the page with its count (one statement), the certifications, the capabilities
    assert len(factory_queries) == 4, factory_queries
