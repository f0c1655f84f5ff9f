"""Sealed bids and the eligibility views, for every caller class: the owner, another owner, the buyer,
another buyer, a coordinator, anonymous."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from server import db
from server.bids import service as bid_service
from server.rfqs.service import LineInput, OperationInput
from tests.bids.conftest import Cap, add_factory, bid_input, package_ids, submit_rfq
from tests.conftest import Caller, GraphQLClient, error_code, jst_today

SUBMIT = "mutation($input: BidSubmitInput!) { bidSubmit(input: $input) { bid { id } errors { code } } }"
BIDS = """
query($id: ID!) {
  rfq(id: $id) { packages { position bids { unitPriceJpy factory { nameEn } } } }
}
"""
PACKAGES = """
query($id: ID!) {
  rfq(id: $id) {
    packages {
      id position quantity toleranceUm envelopeMm dueDate requiredCertifications
      line { position name targetUnitPrice } process { code } material { code }
    }
  }
}
"""
ELIGIBILITY = """
query($id: ID!) {
  rfq(id: $id) {
    packages { position eligibility { eligible reasons { code message } factory { nameEn } } }
  }
}
"""
CANDIDATES = """
query($id: ID!) {
  rfq(id: $id) { packages { position candidates { eligible reasons { code } factory { nameEn } } } }
}
"""
OFFERS = """
query($id: ID!, $firmOnly: Boolean!) {
  rfq(id: $id) {
    packages { position offers(firmOnly: $firmOnly) { unitPriceJpy estimated factory { nameEn } } }
  }
}
"""
BIDDABLE = """
{ biddableRfqs { totalCount edges { node { rfq { title } packages { position } bids { unitPriceJpy } } } } }
"""


async def _two_bids(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> UUID:
    """An RFQ on whose turning package the owner (1800 ¥) and the other owner (1500 ¥) bid."""
    mine = await add_factory(pool, owner, name="Mine")
    theirs = await add_factory(pool, other_owner, name="Theirs")
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    for token, factory_id, price in ((owner.token, mine, 1800), (other_owner.token, theirs, 1500)):
        body = await gql(SUBMIT, {"input": bid_input(turning, factory_id, unitPriceJpy=price)}, token=token)
        assert body["data"]["bidSubmit"]["errors"] == []
    return rfq.id


def _bids(body: dict[str, Any]) -> list[tuple[str, int]]:
    turning = body["data"]["rfq"]["packages"][0]
    return [(b["factory"]["nameEn"], b["unitPriceJpy"]) for b in turning["bids"]]


async def test_an_owner_sees_only_its_own_bids(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> None:
    rfq_id = await _two_bids(gql, pool, buyer, owner, other_owner)
    assert _bids(await gql(BIDS, {"id": str(rfq_id)}, token=owner.token)) == [("Mine", 1800)]
    assert _bids(await gql(BIDS, {"id": str(rfq_id)}, token=other_owner.token)) == [("Theirs", 1500)]


async def test_a_coordinator_sees_every_bid_cheapest_first(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller, coordinator: Caller
) -> None:
    rfq_id = await _two_bids(gql, pool, buyer, owner, other_owner)
    body = await gql(BIDS, {"id": str(rfq_id)}, token=coordinator.token)
    assert _bids(body) == [("Theirs", 1500), ("Mine", 1800)]


async def test_buyers_never_see_bids_nor_who_bid(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller, other_buyer: Caller
) -> None:
    rfq_id = await _two_bids(gql, pool, buyer, owner, other_owner)
    body = await gql(BIDS, {"id": str(rfq_id)}, token=buyer.token)
    assert error_code(body) == "FORBIDDEN"
    assert body["data"] is None
    assert error_code(await gql(BIDS, {"id": str(rfq_id)}, token=other_buyer.token)) == "NOT_FOUND"
    assert error_code(await gql(BIDS, {"id": str(rfq_id)})) == "UNAUTHENTICATED"
    # nor through the event log
    events = await gql('query($id: ID!) { rfq(id: $id) { events { kind payload } } }', {"id": str(rfq_id)},
                       token=buyer.token)  # fmt: skip
    assert [e["kind"] for e in events["data"]["rfq"]["events"]] == ["SUBMITTED"]


async def test_every_caller_who_sees_the_rfq_sees_its_packages(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, coordinator: Caller
) -> None:
    await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    for caller, price in ((buyer, "12.50"), (coordinator, "12.50"), (owner, None)):
        body = await gql(PACKAGES, {"id": str(rfq.id)}, token=caller.token)
        packages = body["data"]["rfq"]["packages"]
        assert [(p["position"], p["process"]["code"]) for p in packages] == [
            (1, "cnc_turning"),
            (2, "cmm_inspection"),
        ]
        assert packages[0]["line"] == {"position": 1, "name": "Drive shaft", "targetUnitPrice": price}
        assert packages[0]["material"] == {"code": "SUS304"}
        assert (packages[0]["quantity"], packages[0]["toleranceUm"], packages[0]["envelopeMm"]) == (
            500,
            10.0,
            120,
        )
        assert packages[0]["dueDate"] == rfq.due_date.isoformat()
        assert packages[0]["requiredCertifications"] == ["ISO9001"]


async def test_owners_see_the_eligibility_of_their_own_factories(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> None:
    # given: the owner has a turning-only shop and a shop with a lapsing ISO 9001; the other owner a shop too
    await add_factory(pool, owner, name="Turner", capabilities=(Cap(),))
    lapsing = {"ISO9001": jst_today() + dt.timedelta(days=30)}
    await add_factory(pool, owner, name="Lapsing", certifications=lapsing)
    await add_factory(pool, other_owner, name="Someone else")
    rfq = await submit_rfq(pool, buyer)
    # when
    body = await gql(ELIGIBILITY, {"id": str(rfq.id)}, token=owner.token)
    # then
    turning, inspection = body["data"]["rfq"]["packages"]
    seen = {
        e["factory"]["nameEn"]: (e["eligible"], [r["code"] for r in e["reasons"]])
        for e in turning["eligibility"]
    }
    assert seen == {"Turner": (True, []), "Lapsing": (False, ["CERTIFICATION_EXPIRING"])}
    reasons = {e["factory"]["nameEn"]: [r["code"] for r in e["reasons"]] for e in inspection["eligibility"]}
    assert reasons == {"Turner": ["PROCESS"], "Lapsing": ["CERTIFICATION_EXPIRING"]}


async def test_eligibility_is_for_owners_and_candidates_for_coordinators(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, coordinator: Caller
) -> None:
    await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    variables = {"id": str(rfq.id)}
    assert error_code(await gql(ELIGIBILITY, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(ELIGIBILITY, variables, token=coordinator.token)) == "FORBIDDEN"
    assert error_code(await gql(CANDIDATES, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(CANDIDATES, variables, token=owner.token)) == "FORBIDDEN"
    assert error_code(await gql(OFFERS, {**variables, "firmOnly": False}, token=owner.token)) == "FORBIDDEN"


async def test_candidates_list_every_factory_eligible_first_then_by_reason(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller, coordinator: Caller
) -> None:
    await add_factory(pool, owner, name="Zen Turning", capabilities=(Cap(),))
    await add_factory(
        pool, owner, name="Edm Only", capabilities=(Cap(process_code="wire_edm", materials=("S45C",)),)
    )
    await add_factory(pool, other_owner, name="No Cert", certifications={})
    await add_factory(pool, other_owner, name="Able Turning")
    rfq = await submit_rfq(pool, buyer)
    body = await gql(CANDIDATES, {"id": str(rfq.id)}, token=coordinator.token)
    turning = body["data"]["rfq"]["packages"][0]["candidates"]
    assert [(c["factory"]["nameEn"], c["eligible"], [r["code"] for r in c["reasons"]]) for c in turning] == [
        ("Able Turning", True, []),
        ("Zen Turning", True, []),
        ("Edm Only", False, ["PROCESS"]),
        ("No Cert", False, ["CERTIFICATION_MISSING"]),
    ]


async def test_coordinators_see_firm_and_estimated_offers(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller, coordinator: Caller
) -> None:
    rfq_id = await _two_bids(gql, pool, buyer, owner, other_owner)
    await add_factory(pool, other_owner, name="Quiet", capabilities=(Cap(hourly_rate_jpy=8000),))
    body = await gql(OFFERS, {"id": str(rfq_id), "firmOnly": False}, token=coordinator.token)
    offers = body["data"]["rfq"]["packages"][0]["offers"]
    assert [(o["factory"]["nameEn"], o["estimated"], o["unitPriceJpy"]) for o in offers] == [
        ("Theirs", False, 1500),
        ("Mine", False, 1800),
        ("Quiet", True, 2000),  # 8000 ¥/h × 0.25 h, the median of the two firm bids
    ]
    firm = await gql(OFFERS, {"id": str(rfq_id), "firmOnly": True}, token=coordinator.token)
    assert [o["estimated"] for o in firm["data"]["rfq"]["packages"][0]["offers"]] == [False, False]
    # no firm bid on inspection: no estimate either
    assert body["data"]["rfq"]["packages"][1]["offers"] == []


async def test_biddable_rfqs_lists_my_eligible_packages_and_my_bids(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller, coordinator: Caller
) -> None:
    await _two_bids(gql, pool, buyer, owner, other_owner)
    # an RFQ the owner's factory cannot do (tolerance) does not show up
    await submit_rfq(pool, buyer, title="Too fine", lines=[_fine_line()])
    body = await gql(BIDDABLE, token=owner.token)
    assert body["data"]["biddableRfqs"] == {
        "totalCount": 1,
        "edges": [{"node": {"rfq": {"title": "Shafts"}, "packages": [{"position": 1}, {"position": 2}],
                            "bids": [{"unitPriceJpy": 1800}]}}],
    }  # fmt: skip
    assert error_code(await gql(BIDDABLE, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(BIDDABLE, token=coordinator.token)) == "FORBIDDEN"
    assert error_code(await gql(BIDDABLE)) == "UNAUTHENTICATED"


def _fine_line() -> LineInput:
    return LineInput(
        name="Pin",
        material="SUS304",
        quantity=100,
        tolerance_um=Decimal(1),
        envelope_mm=20,
        operations=[OperationInput("cnc_turning")],
    )


async def test_the_offer_snapshot_gives_the_problem_builder_firm_and_estimated_offers(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> None:
    rfq_id = await _two_bids(gql, pool, buyer, owner, other_owner)
    await add_factory(pool, other_owner, name="Quiet", capabilities=(Cap(hourly_rate_jpy=8000),))
    async with pool.acquire() as conn:
        snapshot = await bid_service.offer_snapshot(conn, rfq_id=rfq_id, today=jst_today())
        firm = await bid_service.offer_snapshot(conn, rfq_id=rfq_id, today=jst_today(), firm_only=True)
    names = {f.id: f.name for f in snapshot.factories}
    assert sorted(names.values()) == ["Mine", "Quiet", "Theirs"]
    assert [(names[o.factory_id], o.estimated) for o in snapshot.offers] == [
        ("Theirs", False),
        ("Mine", False),
        ("Quiet", True),
    ]
    assert [o.estimated for o in firm.offers] == [False, False]
