"""Who may see and do what with an RFQ: one function per rule, used by every path that needs it.

- :func:`visible_rfqs_clause` — which RFQs a caller sees at all (``rfq(id)``, ``rfqs``, anything later).
- :func:`may_manage_rfq` — who may change an RFQ (cancel it).
- :func:`may_see_buyer` — whether the caller learns who the buyer is.
- :func:`may_see_target_price` — whether the caller sees the buyer's target unit prices.
"""

from __future__ import annotations

from server.auth.principal import Principal, Role
from server.errors import Unauthenticated
from server.rfqs.repo import Rfq, SqlArgs


def visible_rfqs_clause(principal: Principal, args: SqlArgs, *, alias: str = "r") -> str:
    """A SQL predicate over ``rfqs AS <alias>`` that holds for the RFQs ``principal`` may see.

    - a buyer sees its own RFQs, in every status;
    - a coordinator sees every RFQ;
    - a factory owner sees the **open** RFQs that have at least one operation its factories could do: a
      capability of a factory it owns with the operation's process and the line's material among the
      capability's materials. The parts are what factories bid on; who the buyer is, is a separate rule;
    - anonymous callers and invalid credentials are refused (UNAUTHENTICATED).

    Parameters the predicate needs are appended to ``args``.
    """
    principal.require_signed_in()
    r = alias
    if principal.role is Role.COORDINATOR:
        return "TRUE"
    if principal.role is Role.BUYER and principal.buyer_id is not None:
        return f"{r}.buyer_id = {args.add(principal.buyer_id)}"
    if principal.role is Role.FACTORY_OWNER and principal.user_id is not None:
        return f"""
            {r}.status = 'open' AND EXISTS (
                SELECT 1
                FROM rfq_lines vl
                JOIN rfq_operations vo ON vo.rfq_line_id = vl.id
                JOIN capabilities vc ON vc.process_code = vo.process_code AND vl.material = ANY (vc.materials)
                JOIN factories vf ON vf.id = vc.factory_id
                WHERE vl.rfq_id = {r}.id AND vf.owner_user_id = {args.add(principal.user_id)}
            )
        """
    raise Unauthenticated()


def may_manage_rfq(principal: Principal, rfq: Rfq) -> bool:
    """The owning buyer and coordinators may change an RFQ; nobody else (not even a factory that sees it)."""
    return principal.is_coordinator or (principal.is_buyer and principal.buyer_id == rfq.buyer_id)


def may_see_buyer(principal: Principal, rfq: Rfq) -> bool:
    """The buyer's identity: to its owner and coordinators; to others only when the buyer disclosed it."""
    return may_manage_rfq(principal, rfq) or rfq.disclose_buyer


def may_see_target_price(principal: Principal, rfq: Rfq) -> bool:
    """Target unit prices are the buyer's negotiating position: the owning buyer and coordinators only."""
    return may_manage_rfq(principal, rfq)
