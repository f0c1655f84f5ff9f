"""Record rules of invitations: who sees one, who answers it.

An invitation carries a member's share and price, so it is private: the invited factory's owner and the
cluster office (coordinators) see it; anybody else is told it does not exist (NOT_FOUND). Only the owner
answers it: a coordinator sees it but answering is FORBIDDEN (visible, not theirs).
"""

from __future__ import annotations

from server.auth.principal import Principal
from server.invitations.repo import Invitation


def may_see_invitation(principal: Principal, invitation: Invitation) -> bool:
    """The invited factory's owner and coordinators."""
    if principal.is_coordinator:
        return True
    return may_answer_invitation(principal, invitation)


def may_answer_invitation(principal: Principal, invitation: Invitation) -> bool:
    """Only the invited factory's owner accepts or declines its invitation."""
    return (
        principal.is_factory_owner
        and principal.user_id is not None
        and principal.user_id == invitation.owner_user_id
    )


__all__ = ["may_answer_invitation", "may_see_invitation"]
