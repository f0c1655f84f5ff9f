"""Every Query and Mutation field × every kind of caller, with the expected outcome.

The matrix is built from the schema: a field without a row fails :func:`test_every_field_has_a_row`, so a
new field cannot ship without its authorization being decided here.

Callers: anonymous; owner A (owns factory A, which can work buyer X's RFQ); owner B (owns factory B, which
cannot); buyer X (owns the RFQ and an API key); buyer Y; a coordinator. Outcomes: ``OK`` means no GraphQL
error at all (a payload error such as INVALID_STATE is a business answer, not a refusal); otherwise the
expected ``extensions.code``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from schema.schema import build_schema
from server import db
from tests.conftest import Caller, GraphQLClient, error_code, make_factory_owner
from tests.quotes.conftest import Member, approved, invite, week
from tests.rfqs.conftest import add_factory, days, submitted_id

OK = "OK"
UNAUTH = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
CALLERS = ("anonymous", "owner_a", "owner_b", "buyer_x", "buyer_y", "coordinator")


@dataclass
class World:
    """The objects every row refers to, and the callers."""

    gql: GraphQLClient
    pool: db.Pool
    callers: dict[str, Caller | None]
    factory_a: str
    factory_b: str
    rfq_x: str
    buyer_x: str
    key_x: str = ""

    def token(self, caller: str) -> str | None:
        who = self.callers[caller]
        return who.token if who else None


Setup = Callable[[World], Awaitable[dict[str, Any]]]


async def _no_variables(world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Row:
    document: str
    expected: dict[str, str]
    # Run before each caller's request: fresh objects for mutations that change or use them up.
    variables: Setup = _no_variables


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(CALLERS, outcome)


def signed_in(outcome: str = OK) -> dict[str, str]:
    return {**everyone(outcome), "anonymous": UNAUTH}


def only(*allowed: str, others: str = FORBIDDEN) -> dict[str, str]:
    return {c: OK if c in allowed else others for c in CALLERS} | {"anonymous": UNAUTH}


# --- the objects rows act on --------------------------------------------------------------------------


async def _factory_a(world: World) -> dict[str, Any]:
    return {"f": world.factory_a}


async def _rfq_x(world: World) -> dict[str, Any]:
    return {"id": world.rfq_x}


async def _buyer_x(world: World) -> dict[str, Any]:
    return {"b": world.buyer_x}


async def _child_key_of_x(world: World) -> dict[str, Any]:
    """A key created with buyer X's key: X itself may revoke it, and so may a coordinator."""
    body = await world.gql(
        'mutation { apiKeyCreate(input: {name: "child"}) { apiKey { id } } }', token=world.token("buyer_x")
    )
    return {"id": body["data"]["apiKeyCreate"]["apiKey"]["id"]}


async def _fresh_partnership(world: World) -> dict[str, Any]:
    """A declared partnership A → B (any earlier one ended first, so each caller gets a live one)."""
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE factory_partnerships SET ended_at = now() WHERE ended_at IS NULL")
    body = await world.gql(
        "mutation($a: ID!, $b: ID!) { partnershipDeclare(input: {factoryId: $a, partnerFactoryId: $b}) "
        "{ partnership { id } } }",
        {"a": world.factory_a, "b": world.factory_b},
        token=world.token("owner_a"),
    )
    return {"id": body["data"]["partnershipDeclare"]["partnership"]["id"]}


async def _factories_a_b(world: World) -> dict[str, Any]:
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE factory_partnerships SET ended_at = now() WHERE ended_at IS NULL")
    return {"a": world.factory_a, "b": world.factory_b}


async def _new_rfq(world: World) -> dict[str, Any]:
    return {
        "input": {
            "title": "Bushings",
            "incoterm": "DAP",
            "destinationCountry": "US",
            "dueDate": days(90),
            "bidDeadline": days(14),
            "lines": [
                {
                    "name": "Bushing",
                    "material": "SUS304",
                    "quantity": 100,
                    "toleranceUm": 10,
                    "envelopeMm": 50,
                    "operations": [{"processCode": "cnc_turning"}],
                }
            ],
        }
    }


async def _package_of_rfq_x(world: World) -> dict[str, Any]:
    body = await world.gql(
        "query($id: ID!) { rfq(id: $id) { packages { id } } }",
        {"id": world.rfq_x},
        token=world.token("coordinator"),
    )
    return {"p": body["data"]["rfq"]["packages"][0]["id"], "f": world.factory_a, "until": days(30)}


async def _bid_of_owner_a(world: World) -> dict[str, Any]:
    variables = await _package_of_rfq_x(world)
    body = await world.gql(BID_SUBMIT, variables, token=world.token("owner_a"))
    return {"id": body["data"]["bidSubmit"]["bid"]["id"]}


async def _unknown_id(world: World) -> dict[str, Any]:
    return {"id": "00000000-0000-4000-8000-000000000000"}


async def _queued_job(world: World) -> dict[str, Any]:
    body = await world.gql(PROPOSALS_REQUEST, await _rfq_x(world), token=world.token("coordinator"))
    return {"id": body["data"]["proposalsRequest"]["job"]["id"]}


# --- quotes (issue 8, award-quotes) ---


async def _quotable_proposal(world: World) -> dict[str, Any]:
    """A fresh RFQ of buyer X with an approved proposal (factory A turns 1 h) whose member accepted."""
    member = Member(_caller(world, "owner_a"), UUID(world.factory_a))
    ready = await approved(
        world.pool,
        _caller(world, "buyer_x"),
        _caller(world, "coordinator"),
        turning=member,
        inspection=member,
        turning_hours={week(2): 1.0},
        inspection_hours={week(3): 0.0},
    )
    await invite(world.pool, ready.proposal_id)
    return {"p": str(ready.proposal_id), "until": days(10)}


async def _fresh_quote(world: World) -> dict[str, Any]:
    """An issued JPY quote to buyer X."""
    proposal = await _quotable_proposal(world)
    body = await world.gql(QUOTE_ISSUE, proposal, token=world.token("coordinator"))
    return {"id": body["data"]["quoteIssue"]["quote"]["id"]}


def _caller(world: World, name: str) -> Caller:
    caller = world.callers[name]
    assert caller is not None
    return caller


QUOTE_ISSUE = """
mutation($p: ID!, $until: Date!) {
  quoteIssue(input: {proposalId: $p, marginPct: "5", validUntil: $until, currency: "JPY"}) {
    quote { id } errors { code }
  }
}
"""


async def _invitation_of_a(world: World) -> dict[str, Any]:
    """A fresh pending invitation of factory A to a proposal of RFQ X, written with plain SQL (a real one
    needs a solve; tests/invitations/ covers that path)."""
    async with world.pool.acquire() as conn:
        proposal = await conn.fetchval(
            """
            INSERT INTO proposals (rfq_id, job_id, preset, rank, lineage_id, version, solver_status, problem,
                                   solution)
            VALUES ($1, gen_random_uuid(), 'cheapest', 0, gen_random_uuid(), 1, 'optimal', '{}', '{}')
            RETURNING id
            """,
            UUID(world.rfq_x),
        )
        invitation = await conn.fetchval(
            """
            INSERT INTO invitations (proposal_id, rfq_id, factory_id, answer_by, offered_price_jpy, estimated)
            VALUES ($1, $2, $3, now() + interval '3 days', 1000, false) RETURNING id
            """,
            proposal,
            UUID(world.rfq_x),
            UUID(world.factory_a),
        )
    return {"id": str(invitation)}


PROPOSALS_REQUEST = (
    "mutation($id: ID!) { proposalsRequest(input: {rfqId: $id}) { job { id } errors { code } } }"
)

BID_SUBMIT = """
mutation($p: ID!, $f: ID!, $until: Date!) {
  bidSubmit(input: {packageId: $p, factoryId: $f, unitPriceJpy: 900, setupCostJpy: 20000, hoursPerUnit: 0.1,
                    setupHours: 2, validUntil: $until}) { bid { id } errors { code } }
}
"""

CAPABILITY = """{processCode: "cnc_turning", materials: ["SUS304"], bestToleranceUm: 5, maxEnvelopeMm: 300,
  maxLot: 1000, hoursPerWeek: 40, hourlyRateJpy: 8000, leadDays: 10}"""

MATRIX: dict[str, Row] = {
    # --- queries ---
    "me": Row("{ me { role } }", everyone(OK)),
    "processes": Row("{ processes { code } }", everyone(OK)),
    "materials": Row("{ materials { code } }", everyone(OK)),
    "certifications": Row("{ certifications { code } }", everyone(OK)),
    "prefectures": Row("{ prefectures { code } }", everyone(OK)),
    "clusters": Row("{ clusters { name } }", signed_in()),
    "factories": Row("{ factories { totalCount } }", signed_in()),
    "factory": Row("query($f: ID!) { factory(id: $f) { nameEn } }", signed_in(), _factory_a),
    "transportLink": Row('{ transportLink(fromPrefecture: "13", toPrefecture: "27") { days } }', signed_in()),
    "buyers": Row("{ buyers { name } }", only("coordinator")),
    "apiKeys": Row("query($b: ID) { apiKeys(buyerId: $b) { id } }", only("buyer_x", "coordinator"), _buyer_x),
    "partnerships": Row(
        "query($f: ID!) { partnerships(factoryId: $f) { id } }", only("owner_a", "coordinator"), _factory_a
    ),
    "rfq": Row(
        "query($id: ID!) { rfq(id: $id) { title } }",
        only("owner_a", "buyer_x", "coordinator", others=NOT_FOUND),
        _rfq_x,
    ),
    "rfqs": Row("{ rfqs { totalCount } }", signed_in()),
    # --- mutations ---
    "accountSignUp": Row(
        'mutation { accountSignUp(input: {email: "new@koba.example", password: "long enough pw"}) '
        "{ errors { code } } }",
        {**everyone(FORBIDDEN), "anonymous": OK},
    ),
    "accountLogIn": Row(
        'mutation { accountLogIn(input: {email: "nobody@koba.example", password: "x"}) { errors { code } } }',
        everyone(OK),
    ),
    "accountLogOut": Row("mutation { accountLogOut { ok } }", only("owner_a", "owner_b", "coordinator")),
    "buyerOnboard": Row(
        'mutation { buyerOnboard(input: {name: "Nordic Pumps", country: "SE", currency: "SEK"}) '
        "{ errors { code } } }",
        only("coordinator"),
    ),
    "apiKeyCreate": Row(
        'mutation($b: ID) { apiKeyCreate(input: {name: "k", buyerId: $b}) { errors { code } } }',
        only("buyer_x", "coordinator"),
        _buyer_x,
    ),
    "apiKeyRevoke": Row(
        "mutation($id: ID!) { apiKeyRevoke(id: $id) { errors { code } } }",
        {**only("buyer_x", "coordinator"), "buyer_y": NOT_FOUND},
        _child_key_of_x,
    ),
    "factoryRegister": Row(
        'mutation { factoryRegister(input: {nameJa: "新工場", nameEn: "New Works", prefecture: "13", '
        'city: "大田区"}) { errors { code } } }',
        only("owner_a", "owner_b"),
    ),
    "factoryUpdate": Row(
        'mutation($f: ID!) { factoryUpdate(id: $f, input: {city: "品川区"}) { errors { code } } }',
        only("owner_a", "coordinator"),
        _factory_a,
    ),
    "capabilityUpsert": Row(
        f"mutation($f: ID!) {{ capabilityUpsert(factoryId: $f, input: {CAPABILITY}) "
        "{ errors { code } } }",
        only("owner_a", "coordinator"),
        _factory_a,
    ),
    "capabilityRemove": Row(
        'mutation($f: ID!) { capabilityRemove(factoryId: $f, processCode: "cnc_turning") '
        "{ errors { code } } }",
        only("owner_a", "coordinator"),
        _factory_a,
    ),
    "capacitySet": Row(
        'mutation($f: ID!) { capacitySet(factoryId: $f, processCode: "cnc_turning", weeks: []) '
        "{ errors { code } } }",
        only("owner_a", "coordinator"),
        _factory_a,
    ),
    "factoryApprove": Row(
        "mutation($f: ID!) { factoryApprove(id: $f) { errors { code } } }", only("coordinator"), _factory_a
    ),
    "factoryReject": Row(
        'mutation($f: ID!) { factoryReject(id: $f, reason: "No machine list.") { errors { code } } }',
        only("coordinator"),
        _factory_a,
    ),
    "ndaAccept": Row("mutation { ndaAccept { errors { code } } }", only("owner_a", "owner_b")),
    "biddableRfqs": Row("{ biddableRfqs { totalCount } }", only("owner_a", "owner_b")),
    "bidSubmit": Row(BID_SUBMIT, {**only("owner_a"), "owner_b": NOT_FOUND}, _package_of_rfq_x),
    "bidWithdraw": Row(
        "mutation($id: ID!) { bidWithdraw(id: $id) { errors { code } } }",
        {**only("owner_a"), "owner_b": NOT_FOUND},
        _bid_of_owner_a,
    ),
    "proposalsRequest": Row(PROPOSALS_REQUEST, only("coordinator"), _rfq_x),
    "job": Row("query($id: ID!) { job(id: $id) { status } }", only("coordinator"), _queued_job),
    "jobCancel": Row(
        "mutation($id: ID!) { jobCancel(id: $id) { errors { code } } }", only("coordinator"), _queued_job
    ),
    # Proposals exist only once a solve ran; unknown ids tell the role gate apart from the record lookup.
    "proposals": Row("query($id: ID!) { proposals(rfqId: $id) { id } }", only("coordinator"), _rfq_x),
    "proposal": Row(
        "query($id: ID!) { proposal(id: $id) { id } }",
        only("coordinator", others=FORBIDDEN) | {"coordinator": NOT_FOUND},
        _unknown_id,
    ),
    "proposalApprove": Row(
        "mutation($id: ID!) { proposalApprove(id: $id, expectedVersion: 1) { errors { code } } }",
        only("coordinator") | {"coordinator": NOT_FOUND},
        _unknown_id,
    ),
    "proposalReject": Row(
        'mutation($id: ID!) { proposalReject(id: $id, reason: "r") { errors { code } } }',
        only("coordinator") | {"coordinator": NOT_FOUND},
        _unknown_id,
    ),
    "proposalRevise": Row(
        "mutation($id: ID!) { proposalRevise(id: $id, changes: {}) { errors { code } } }",
        only("coordinator") | {"coordinator": NOT_FOUND},
        _unknown_id,
    ),
    # Invitations: the invited factory's owner (A) and coordinators see one; another owner is told it does
    # not exist. Answering is gated to owners and coordinators; who may answer which invitation is a payload
    # error (NOT_FOUND / FORBIDDEN), checked in tests/invitations/.
    "invitation": Row(
        "query($id: ID!) { invitation(id: $id) { status } }",
        {**only("owner_a", "coordinator"), "owner_b": NOT_FOUND},
        _invitation_of_a,
    ),
    "openInvitations": Row("{ openInvitations { totalCount } }", only("owner_a", "owner_b")),
    "invitationAccept": Row(
        "mutation($id: ID!) { invitationAccept(id: $id) { errors { code } } }",
        only("owner_a", "owner_b", "coordinator"),
        _invitation_of_a,
    ),
    "invitationDecline": Row(
        'mutation($id: ID!) { invitationDecline(id: $id, reason: "r") { errors { code } } }',
        only("owner_a", "owner_b", "coordinator"),
        _invitation_of_a,
    ),
    "proposalConfirmPrices": Row(
        "mutation($id: ID!) { proposalConfirmPrices(id: $id) { errors { code } } }",
        only("coordinator") | {"coordinator": NOT_FOUND},
        _unknown_id,
    ),
    "partnershipDeclare": Row(
        "mutation($a: ID!, $b: ID!) { partnershipDeclare(input: {factoryId: $a, partnerFactoryId: $b}) "
        "{ errors { code } } }",
        only("owner_a"),
        _factories_a_b,
    ),
    "partnershipConfirm": Row(
        "mutation($id: ID!) { partnershipConfirm(id: $id) { errors { code } } }",
        only("owner_b"),
        _fresh_partnership,
    ),
    "partnershipEnd": Row(
        "mutation($id: ID!) { partnershipEnd(id: $id) { errors { code } } }",
        only("owner_a", "owner_b", "coordinator"),
        _fresh_partnership,
    ),
    "rfqSubmit": Row(
        "mutation($input: RfqSubmitInput!) { rfqSubmit(input: $input) { errors { code } } }",
        only("buyer_x", "buyer_y"),
        _new_rfq,
    ),
    "rfqCancel": Row(
        "mutation($id: ID!) { rfqCancel(id: $id) { errors { code } } }",
        {**only("buyer_x", "coordinator"), "buyer_y": NOT_FOUND},
        _rfq_x,
    ),
    # --- quotes (issue 8, award-quotes) ---
    "quote": Row(
        "query($id: ID!) { quote(id: $id) { status } }",
        {**only("buyer_x", "coordinator"), "buyer_y": NOT_FOUND},
        _fresh_quote,
    ),
    "quotes": Row(
        "query($id: ID!) { quotes(rfqId: $id) { id } }",
        {**only("buyer_x", "coordinator"), "buyer_y": NOT_FOUND},
        _rfq_x,
    ),
    "exchangeRates": Row("{ exchangeRates { currency } }", only("coordinator")),
    "shippingDays": Row("{ shippingDays { days } }", signed_in()),
    "exchangeRateSet": Row(
        'mutation { exchangeRateSet(input: {currency: "USD", jpyPerUnit: "150"}) { errors { code } } }',
        only("coordinator"),
    ),
    "quoteIssue": Row(QUOTE_ISSUE, only("coordinator"), _quotable_proposal),
    # Buyer Y is refused in the payload (NOT_FOUND, like a missing quote: tests/quotes/test_quotes.py), which
    # is no GraphQL error: OK here.
    "quoteAccept": Row(
        'mutation($id: ID!) { quoteAccept(id: $id, idempotencyKey: "k") { errors { code } } }',
        only("buyer_x", "buyer_y"),
        _fresh_quote,
    ),
    "quoteDecline": Row(
        'mutation($id: ID!) { quoteDecline(id: $id, reason: "no") { errors { code } } }',
        only("buyer_x", "buyer_y"),
        _fresh_quote,
    ),
    "transportLinkSet": Row(
        'mutation { transportLinkSet(input: {fromPrefecture: "13", toPrefecture: "27", days: 1, costJpy: 1}) '
        "{ errors { code } } }",
        only("coordinator"),
    ),
}


def _schema_fields() -> dict[str, str]:
    graphql_schema = build_schema(mask_errors=False)._schema
    return {
        name: kind
        for kind in ("Query", "Mutation")
        for name in graphql_schema.type_map[kind].fields  # type: ignore[attr-defined]
    }


def test_every_field_has_a_row() -> None:
    fields = _schema_fields()
    assert sorted(set(fields) - set(MATRIX)) == [], "add a row to MATRIX for each new field"
    assert sorted(set(MATRIX) - set(fields)) == [], "MATRIX names a field the schema no longer has"
    for name, row in MATRIX.items():
        assert set(row.expected) == set(CALLERS), name


@pytest.fixture
async def world(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, other_buyer: Caller
) -> World:
    owner_a = await make_factory_owner(pool, "owner-a@koba.example")
    owner_b = await make_factory_owner(pool, "owner-b@koba.example")
    factory_a = await add_factory(pool, owner_a, [("cnc_turning", ["SUS304"])])
    factory_b = await add_factory(pool, owner_b, [("anodizing", ["A6061"])])
    rfq = await submitted_id(
        gql,
        buyer,
        lines=[
            {
                "name": "Shaft",
                "material": "SUS304",
                "quantity": 10,
                "toleranceUm": 10,
                "envelopeMm": 50,
                "operations": [{"processCode": "cnc_turning"}],
            }
        ],
    )
    assert buyer.principal.buyer_id is not None
    return World(
        gql=gql,
        pool=pool,
        callers={
            "anonymous": None,
            "owner_a": owner_a,
            "owner_b": owner_b,
            "buyer_x": buyer,
            "buyer_y": other_buyer,
            "coordinator": coordinator,
        },
        factory_a=str(factory_a),
        factory_b=str(factory_b),
        rfq_x=rfq,
        buyer_x=str(buyer.principal.buyer_id),
    )


def _outcome(body: dict[str, Any]) -> str:
    """The first error's code, or OK when the request raised no GraphQL error."""
    if not body.get("errors"):
        return OK
    return error_code(body) or "ERROR WITHOUT CODE"


@pytest.mark.parametrize("field", sorted(MATRIX))
async def test_authorization(world: World, field: str) -> None:
    row = MATRIX[field]
    # Refused callers first: a refusal changes nothing, so the allowed callers still find the objects.
    order = sorted(CALLERS, key=lambda c: row.expected[c] == OK)
    seen = {}
    for caller in order:
        variables = await row.variables(world)
        body = await world.gql(row.document, variables, token=world.token(caller))
        seen[caller] = _outcome(body)
    assert seen == row.expected
