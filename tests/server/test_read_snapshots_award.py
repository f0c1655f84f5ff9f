"""The reads of bids, proposals, invitations, quotes and RFQs answer exactly what they answered before their
page fast paths (issue 11, "the same patterns for the proposals and award reads"), for every caller class.

The whole demo (fixed day, fixed random seed, solves bounded by deterministic time), the award and
invitation stages included, is read through the GraphQL endpoint by the coordinator, the owner of a factory
invited to the invitations stage's consortium (which bid), another owner (no bid, no invitation), the buyer
of the invitations and awarded RFQs, another buyer and an anonymous caller: RFQ pages and single RFQs with
their lines, operations, packages, bids, eligibility, candidates, offers and events, the biddable RFQs,
proposals with their members, assignments, invitations and diffs, open invitations with their lines,
quotes with their lines and roles. Each answer is compared with ``snapshots/reads_award.json``, written by
this test on main's code before the fast paths (``MACHIKOBA_WRITE_SNAPSHOTS=1 pytest
tests/server/test_read_snapshots_award.py``) and not rewritten by the change it guards.

The demo's ids are random, and some of its answers follow them: the order of a proposal's members and
assignments, the member that declines in the invitations stage, hence the repair solve. So the test's
database draws its ids from a sequence instead (:func:`deterministic_ids`): the same demo, the same ids,
the same answers in every run. Timestamps are normalised as in :mod:`tests.server.test_read_snapshots`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from bench.api_pages import DOCUMENTS as BENCH_DOCUMENTS
from bench.api_pages import tokens_of as bench_tokens
from bench.api_pages import variables_of as bench_variables
from server import clock as clocks
from server import db
from server.catalogue.taxonomy import taxonomy_for
from server.demo.award import AWARDED, QUOTED
from server.demo.invitations import INVITATIONS_RFQ_TITLE, pending_invitee_email
from server.demo.seed import DEMO_BUYERS, DEMO_COORDINATOR_EMAIL, demo_rfqs, seed_demo
from server.settings import Settings
from tests.conftest import GraphQLClient, QueryLog
from tests.server.test_read_snapshots import NOW, _session, normalise

SNAPSHOTS = Path(__file__).parent / "snapshots" / "reads_award.json"
WRITE = os.environ.get("MACHIKOBA_WRITE_SNAPSHOTS") == "1"

FACTORY = "id nameEn isMine"
LINE_FIELDS = """
  id position partNumber name quantity toleranceUm envelopeMm requiredCertifications targetUnitPrice notes
  material { code nameEn family }
  operations { position notes process { code nameEn category } }
"""
PACKAGE_FIELDS = """
  id position quantity toleranceUm envelopeMm dueDate requiredCertifications
  process { code nameEn } material { code nameEn } line { id position name targetUnitPrice }
"""
BID_FIELDS = f"""
  id unitPriceJpy setupCostJpy hoursPerUnit setupHours maxQuantity earliestStart validUntil note
  submittedAt updatedAt factory {{ {FACTORY} }} package {{ id position }}
"""
ELIGIBILITY = f"eligible reasons {{ code message }} freeHours factory {{ {FACTORY} }}"
RFQ_FIELDS = f"""
  id title description currency incoterm destinationCountry dueDate bidDeadline ndaRequired discloseBuyer
  status createdAt cancelledAt buyer {{ id name country currency }}
  lines {{ {LINE_FIELDS} }}
  packages {{ {PACKAGE_FIELDS} }}
  events {{ id at kind actor payload }}
"""
INVITATION_LINE = f"""
  quantity startDate endDate weeklyHours {{ week hours }} unitPriceJpy setupCostJpy estimated
  agreedUnitPriceJpy package {{ {PACKAGE_FIELDS} }}
"""
INVITATION_FIELDS = f"""
  id rfqId proposalId status answerBy offeredPriceJpy agreedPriceJpy estimated answeredAt declineReason
  carriedFromId createdAt factory {{ {FACTORY} }} lines {{ {INVITATION_LINE} }}
  events {{ id at kind actor payload }}
"""
PROPOSAL_FIELDS = f"""
  id rfqId jobId lineageId parentId version rowVersion preset rank solverStatus reviewState objective bound
  gap totalCostJpy firmShare reviewNote createdAt priceConfirmationRequired answerBy lineCompletion
  explanation
  costs {{ production setup transport coordination cohesion lateness total }}
  diff {{ joined left moves {{ packageId factoryId before after }} costDelta completionDeltaDays }}
  members {{ {FACTORY} city }} lead {{ {FACTORY} }}
  assignments {{
    quantity startDate endDate weeklyHours {{ week hours }} estimated factory {{ {FACTORY} }}
    package {{ {PACKAGE_FIELDS} }}
  }}
  invitations {{ {INVITATION_FIELDS} }}
"""
QUOTE_FIELDS = """
  id rfqId status currency minorUnits totalAmount jpyPerUnit completionDate shippingDays deliveryDate
  validUntil issuedAt answeredAt declineReason costJpy marginPct
  consortium { summary lead { area prefecture certifications } partnerFactories partnerPrefectures }
  exchangeRate { id currency jpyPerUnit setOn setAt }
  lines { lineId position name partNumber quantity unitPrice amount }
"""

# Each document, and the variable sets it is read with (names of the entries of :func:`_variables`).
DOCUMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rfqs_page": (f"{{ rfqs(first: 10) {{ totalCount edges {{ node {{ {RFQ_FIELDS} }} }} }} }}", ("",)),
    "rfqs_page_owner_fields": (
        f"""{{ rfqs(first: 10) {{ edges {{ node {{ id packages {{ id
              eligibility {{ {ELIGIBILITY} }} bids {{ {BID_FIELDS} }} }} }} }} }} }}""",
        ("",),
    ),
    "rfq": ("query($rfq: ID!) { rfq(id: $rfq) { " + RFQ_FIELDS + " } }", ("invited", "awarded")),
    "rfq_office_fields": (
        "query($rfq: ID!) { rfq(id: $rfq) { id packages { id "
        f"candidates(eligibleOnly: true) {{ {ELIGIBILITY} }} "
        f"offers {{ unitPriceJpy setupCostJpy hoursPerUnit setupHours maxQuantity earliestStart estimated "
        f"factory {{ {FACTORY} }} }} "
        f"bids {{ {BID_FIELDS} }} }} }} }}",
        ("invited",),
    ),
    "biddable": (
        f"""{{ biddableRfqs(first: 20) {{ totalCount edges {{ node {{
              rfq {{ id title status lines {{ {LINE_FIELDS} }} packages {{ id }} }}
              packages {{ {PACKAGE_FIELDS} eligibility {{ {ELIGIBILITY} }} bids {{ {BID_FIELDS} }} }}
              bids {{ {BID_FIELDS} }}
            }} }} }} }}""",
        ("",),
    ),
    "proposals": (
        "query($rfq: ID!) { proposals(rfqId: $rfq) { " + PROPOSAL_FIELDS + " } }",
        ("invited", "second", "awarded"),
    ),
    "proposal": (
        "query($proposal: ID!) { proposal(id: $proposal) { " + PROPOSAL_FIELDS + " } }",
        ("proposal",),
    ),
    "open_invitations": (
        f"{{ openInvitations(first: 20) {{ totalCount pageInfo {{ hasNextPage }} edges {{ node {{ "
        f"{INVITATION_FIELDS} }} }} }} }}",
        ("",),
    ),
    "invitation": (
        "query($invitation: ID!) { invitation(id: $invitation) { " + INVITATION_FIELDS + " } }",
        ("invitation",),
    ),
    "quotes": ("query($rfq: ID!) { quotes(rfqId: $rfq) { " + QUOTE_FIELDS + " } }", ("awarded", "quoted")),
    "quote": ("query($quote: ID!) { quote(id: $quote) { " + QUOTE_FIELDS + " } }", ("quote",)),
}


async def deterministic_ids(pool: db.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids from a sequence, in this test's database and process: every column that defaults to
    ``gen_random_uuid()`` takes the next of ``md5('machikoba-<n>')`` instead, and so does ``uuid.uuid4``
    (which the RFQ and proposal services call)."""
    async with pool.acquire() as conn:
        await conn.execute(
            """
            CREATE SEQUENCE test_ids;
            CREATE FUNCTION test_uuid() RETURNS uuid LANGUAGE sql
              AS $$ SELECT md5('machikoba-' || nextval('test_ids'))::uuid $$;
            """
        )
        columns = await conn.fetch(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND column_default = 'gen_random_uuid()'
            """
        )
        assert columns
        for column in columns:
            await conn.execute(
                f'ALTER TABLE "{column["table_name"]}" ALTER COLUMN "{column["column_name"]}" '
                "SET DEFAULT test_uuid()"
            )
    counter = itertools.count()
    monkeypatch.setattr(
        uuid, "uuid4", lambda: uuid.UUID(hashlib.md5(f"machikoba-py-{next(counter)}".encode()).hexdigest())
    )


@pytest.fixture
def clock() -> clocks.Clock:
    return clocks.FixedClock(NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The deep documents above cost more than the default limit allows: what is compared is their answer."""
    return Settings(database_url="unused-in-tests", data_dir=tmp_path, env="dev", max_query_cost=10_000_000)


async def _callers(pool: db.Pool) -> dict[str, str | None]:
    """The caller classes: the owner of the first invited factory (by name) of the invitations stage that
    has a pending invitation, an owner with neither bid nor invitation, the buyer of the invitations stage
    (and of the awarded RFQ), another buyer, the coordinator, anonymous."""
    async with pool.acquire() as conn:
        invited = await pending_invitee_email(conn)
        other = await conn.fetchval(
            """
            SELECT u.email FROM factories f JOIN users u ON u.id = f.owner_user_id
            WHERE NOT EXISTS (SELECT 1 FROM bids b WHERE b.factory_id = f.id)
              AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.factory_id = f.id)
            ORDER BY f.name_en LIMIT 1
            """
        )
    assert invited is not None
    assert other is not None
    return {
        "coordinator": await _session(pool, DEMO_COORDINATOR_EMAIL),
        "owner": await _session(pool, invited),
        "other_owner": await _session(pool, other),
        "buyer": DEMO_BUYERS[0][3],
        "other_buyer": DEMO_BUYERS[2][3],
        "anonymous": None,
    }


async def _variables(pool: db.Pool) -> dict[str, dict[str, str]]:
    """The ids the documents name: RFQs by title, the invitations stage's approved proposal, a pending
    invitation of the invited owner (the same choice as :func:`_callers`), the awarded RFQ's quote."""
    async with pool.acquire() as conn:

        async def rfq(title: str) -> str:
            found = await conn.fetchval("SELECT id FROM rfqs WHERE title = $1", title)
            assert found is not None, title
            return str(found)

        invited = await rfq(INVITATIONS_RFQ_TITLE)
        awarded = await rfq(AWARDED)
        proposal = await conn.fetchval(
            "SELECT id FROM proposals WHERE rfq_id = $1 AND review_state = 'approved'", invited
        )
        invitation = await conn.fetchval(
            """
            SELECT i.id FROM invitations i JOIN factories f ON f.id = i.factory_id
            WHERE i.rfq_id = $1 AND i.status = 'pending'
              AND EXISTS (SELECT 1 FROM bids b WHERE b.factory_id = f.id)
            ORDER BY f.name_en LIMIT 1
            """,
            invited,
        )
        quote = await conn.fetchval("SELECT id FROM quotes WHERE rfq_id = $1", awarded)
        assert proposal is not None
        assert invitation is not None
        assert quote is not None
        return {
            "": {},
            "invited": {"rfq": invited},
            "awarded": {"rfq": awarded},
            "quoted": {"rfq": await rfq(QUOTED)},
            "second": {"rfq": await rfq(demo_rfqs(clocks.today(clocks.FixedClock(NOW)))[1].title)},
            "proposal": {"proposal": str(proposal)},
            "invitation": {"invitation": str(invitation)},
            "quote": {"quote": str(quote)},
        }


async def read_all(pool: db.Pool, gql: GraphQLClient) -> dict[str, Any]:
    """Every document read by every caller with each of its variable sets, normalised (the demo seeded)."""
    callers = await _callers(pool)
    variables = await _variables(pool)
    ids: dict[str, str] = {}
    answers: dict[str, Any] = {}
    for caller, token in callers.items():
        for name, (document, variable_sets) in DOCUMENTS.items():
            for variable_set in variable_sets:
                key = f"{caller}/{name}" + (f"/{variable_set}" if variable_set else "")
                answer = await gql(document, variables[variable_set], token=token)
                answers[key] = normalise(answer, ids)
    return answers


async def test_award_reads_answer_as_before_for_every_caller(
    pool: db.Pool, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the whole demo, seeded on the fixed day, with ids from a sequence
    await deterministic_ids(pool, monkeypatch)
    await seed_demo(pool, today=clocks.today(clocks.FixedClock(NOW)))

    # when every caller reads every document
    answers = await read_all(pool, gql)

    # then each answer is the one main's code gave
    if WRITE:
        SNAPSHOTS.write_text(json.dumps(answers, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOTS.read_text())
    assert sorted(answers) == sorted(expected)
    for key in expected:
        assert comparable(answers[key]) == comparable(expected[key]), key


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` as compared. When an error nulled the whole answer (``data: null``: a non-null field of a
    list item failed, e.g. a role-gated field on every package), graphql-core reports the error of the item
    whose completion failed first, and which item that is depends on which siblings completed synchronously
    (a page's preloaded lists) or later (loader calls): the list indices of those errors' paths are not
    compared. Every other error, and all data, are compared as they are."""
    if answer.get("data") is not None or not answer.get("errors"):
        return answer
    errors = [
        {**e, "path": ["*" if isinstance(p, int) else p for p in e.get("path") or []]}
        for e in answer["errors"]
    ]
    return {**answer, "errors": errors}


# Statements per request of bench/api_pages.py's documents, read by their usual callers: the session or API
# key, the page and its count, then one query per nested list.
STATEMENTS = {
    # the key (its last-use stamp in the same statement), the page, buyers, lines, operations, packages, count
    "rfqs_buyer": 7,
    # the session, the page, lines (the packages' line), packages, bids, the bids' factories
    "rfqs_bids_coordinator": 6,
    # the session, the RFQ, buyer, events, lines, operations, packages, bids, the bids' factories
    "rfq_coordinator": 9,
    # the session, the RFQ, its packages; candidates: packages, factories, certifications, capacity,
    # bookings, capabilities; offers: packages, bids, factories, certifications, capacity, bookings,
    # capabilities; the candidates' and offers' factories
    "candidates_coordinator": 17,
    # the session, the RFQ ids, RFQs, packages, the owner's factories, certifications, capacity, bookings,
    # capabilities (one eligibility round), bids, the RFQs' lines, the factories shown
    "biddable_owner": 12,
    # the session, the RFQ, proposals, members, assignments, packages, invitations, invitation lines
    "proposals_coordinator": 8,
    # the session, the page, factories, lines, packages, events, the count, the packages' lines
    "open_invitations_owner": 8,
    # the key, the RFQ, quotes, quote lines, RFQ lines, exchange rates
    "quotes_buyer": 6,
}


async def test_pages_load_each_nested_list_once(
    pool: db.Pool, gql: GraphQLClient, query_log: QueryLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the whole demo and the callers of bench/api_pages.py
    await deterministic_ids(pool, monkeypatch)
    await seed_demo(pool, today=clocks.today(clocks.FixedClock(NOW)))
    await taxonomy_for(pool).current()  # the app's lifespan reads the catalogue at start
    tokens = await bench_tokens(pool)
    variables = await bench_variables(pool)

    counted: dict[str, int] = {}
    for name, (caller, variable_set, document) in BENCH_DOCUMENTS.items():
        # when each document is read once to warm the connections' type caches, then once counted
        answer = await gql(document, variables[variable_set], token=tokens[caller])
        assert "errors" not in answer, answer
        query_log.queries.clear()
        query_log.recording = True
        await gql(document, variables[variable_set], token=tokens[caller])
        query_log.recording = False
        counted[name] = len([q for q in query_log.app_queries if "FROM catalogue_version" not in q])

    # then each takes the statements of its page and one per nested list, whatever the number of items
    assert counted == STATEMENTS
