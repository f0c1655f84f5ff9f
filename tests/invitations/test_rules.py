"""The invitation rules, for the allowed and every denied caller."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

from server.auth.principal import Principal, Role
from server.invitations.repo import Invitation
from server.invitations.rules import may_answer_invitation, may_see_invitation

OWNER = uuid4()
AT = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
INVITATION = Invitation(
    id=uuid4(),
    proposal_id=uuid4(),
    rfq_id=uuid4(),
    factory_id=uuid4(),
    owner_user_id=OWNER,
    status="pending",
    answer_by=AT,
    offered_price_jpy=1000,
    agreed_price_jpy=None,
    estimated=False,
    answered_at=None,
    answered_by_user_id=None,
    decline_reason="",
    carried_from_id=None,
    created_at=AT,
)


def test_the_owner_sees_and_answers() -> None:
    owner = Principal(Role.FACTORY_OWNER, user_id=OWNER)
    assert may_see_invitation(owner, INVITATION)
    assert may_answer_invitation(owner, INVITATION)


def test_a_coordinator_sees_but_does_not_answer() -> None:
    coordinator = Principal(Role.COORDINATOR, user_id=uuid4())
    assert may_see_invitation(coordinator, INVITATION)
    assert not may_answer_invitation(coordinator, INVITATION)
    # a coordinator's user id equal to the owner's would still not make it the owner
    assert not may_answer_invitation(Principal(Role.COORDINATOR, user_id=OWNER), INVITATION)


def test_everybody_else_neither_sees_nor_answers() -> None:
    for caller in (
        Principal(Role.FACTORY_OWNER, user_id=uuid4()),
        Principal(Role.BUYER, buyer_id=uuid4(), api_key_id=uuid4()),
        Principal(Role.ANONYMOUS),
    ):
        assert not may_see_invitation(caller, INVITATION)
        assert not may_answer_invitation(caller, INVITATION)
