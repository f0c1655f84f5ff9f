"""GraphQL types of proposals: a consortium the solver found (or why none exists), for coordinators."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from schema.bids.loaders import packages_by_id
from schema.bids.types import WorkPackage, factories_of, factory_of, package_of
from schema.context import Info
from schema.executor import preloaded
from schema.factories.loaders import factories_by_id
from schema.factories.types import Factory
from schema.ids import to_id
from schema.proposals.loaders import assignments_by_proposal_id
from server.bids import repo as bids_repo
from server.proposals import repo
from server.proposals.diff import ProposalDiff as DiffRow

if TYPE_CHECKING:
    from schema.invitations.types import Invitation


@strawberry.enum(description="Where a proposal stands in the coordinator's review.")
class ReviewState(enum.Enum):
    DRAFT = strawberry.enum_value("draft", description="Waiting for review.")
    APPROVED = strawberry.enum_value("approved", description="Approved: the RFQ is `PROPOSED`.")
    REJECTED = strawberry.enum_value("rejected", description="Set aside by a coordinator.")
    SUPERSEDED = strawberry.enum_value("superseded", description="Replaced by a later version.")


@strawberry.enum(description="What the solver could say about the proposal.")
class SolverStatus(enum.Enum):
    OPTIMAL = strawberry.enum_value("optimal", description="The best consortium for the preset, proven.")
    FEASIBLE = strawberry.enum_value(
        "feasible", description="A valid consortium; `gap` says how far from proven."
    )
    INFEASIBLE = strawberry.enum_value("infeasible", description="No consortium exists; see `explanation`.")
    UNKNOWN = strawberry.enum_value("unknown", description="The time limit ended before any answer.")


@strawberry.type(description="ISO week and machine hours booked in it.")
class WeekHours:
    week: str = strawberry.field(description="ISO week, e.g. `2026-W49`.")
    hours: float = strawberry.field(description="Machine hours in that week.")


@strawberry.type(description="A quantity of one work package made by one member, and when.")
class ProposalAssignment:
    quantity: int = strawberry.field(description="Pieces.")
    start_date: dt.date = strawberry.field(description="First day of the work.")
    end_date: dt.date = strawberry.field(description="Day the output is available (exclusive end).")
    weekly_hours: list[WeekHours] = strawberry.field(description="Machine hours per ISO week.")
    estimated: bool = strawberry.field(
        description="The price is an estimate from the factory's rates (it did not bid on this package)."
    )
    factory_id: strawberry.Private[UUID]
    package_id: strawberry.Private[UUID]
    # Set when a page loaded these for all its assignments at once (:func:`with_proposal_details`).
    loaded_factory: strawberry.Private[Factory | None] = None
    loaded_package: strawberry.Private[WorkPackage | None] = None

    @classmethod
    def from_row(cls, row: repo.Assignment) -> ProposalAssignment:
        return cls(
            quantity=row.quantity,
            start_date=row.start_date,
            end_date=row.end_date,
            weekly_hours=[WeekHours(week=w["week"], hours=w["hours"]) for w in row.weekly_hours],
            estimated=row.estimated,
            factory_id=row.factory_id,
            package_id=row.package_id,
        )

    # Each a plain value when the page loaded it, else an awaitable (see schema.factories.types.Factory).
    @strawberry.field(description="The member that makes it.")
    @preloaded("loaded_factory")
    def factory(self, info: Info) -> Factory:
        if self.loaded_factory is not None:
            return self.loaded_factory
        return cast(Factory, factory_of(info, self.factory_id))

    @strawberry.field(description="The work package.")
    @preloaded("loaded_package")
    def package(self, info: Info) -> WorkPackage:
        if self.loaded_package is not None:
            return self.loaded_package
        return cast(WorkPackage, package_of(info, self.package_id, assignment_package))


def assignment_package(info: Info, row: bids_repo.WorkPackage) -> WorkPackage:
    """An assignment's package: proposals are for coordinators, who see the buyer's target prices."""
    return WorkPackage.from_row(row, show_target_price=True, taxonomy=info.context.taxonomy)


@strawberry.type(description="Cost of the consortium by component, in JPY.")
class CostBreakdown:
    production: int = strawberry.field(description="Unit prices × quantities.")
    setup: int = strawberry.field(description="Setup costs of the members' work.")
    transport: int = strawberry.field(description="Shipments between members' prefectures.")
    coordination: int = strawberry.field(description="Coordination cost per member.")
    cohesion: int = strawberry.field(description="Bonus for members with confirmed partnerships (≤ 0).")
    lateness: int = strawberry.field(description="Penalty for late lines, with soft due dates.")
    total: int = strawberry.field(description="The sum.")


@strawberry.type(description="How much of one package one factory makes before and after a revision.")
class QuantityMove:
    package_id: strawberry.ID = strawberry.field(description="The work package.")
    factory_id: strawberry.ID = strawberry.field(description="The factory.")
    before: int = strawberry.field(description="Pieces in the parent version.")
    after: int = strawberry.field(description="Pieces in this version.")


@strawberry.type(description="What changed against the parent version.")
class ProposalDiff:
    joined: list[strawberry.ID] = strawberry.field(description="Factories that joined the consortium.")
    left: list[strawberry.ID] = strawberry.field(description="Factories that left it.")
    moves: list[QuantityMove] = strawberry.field(
        description="Quantities that moved, per package and factory."
    )
    cost_delta: JSON = strawberry.field(description="JPY change per cost component and `total`.")
    completion_delta_days: JSON = strawberry.field(description="Days earlier (< 0) or later, per line id.")

    @classmethod
    def from_row(cls, row: DiffRow) -> ProposalDiff:
        return cls(
            joined=[strawberry.ID(f) for f in row.joined],
            left=[strawberry.ID(f) for f in row.left],
            moves=[
                QuantityMove(
                    package_id=strawberry.ID(m.package),
                    factory_id=strawberry.ID(m.factory),
                    before=m.before,
                    after=m.after,
                )
                for m in row.moves
            ],
            cost_delta=cast(JSON, row.cost_delta),
            completion_delta_days=cast(JSON, row.completion_delta_days),
        )


@strawberry.type(
    description="A consortium proposal for an RFQ: members, assignments and schedule, costs, or the reason "
    "no consortium exists. Coordinators only."
)
class Proposal:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    rfq_id: strawberry.ID = strawberry.field(description="The RFQ.")
    job_id: strawberry.ID = strawberry.field(description="The solve job that produced it.")
    lineage_id: strawberry.ID = strawberry.field(description="The first version of this proposal.")
    parent_id: strawberry.ID | None = strawberry.field(description="The version it revises, if any.")
    version: int = strawberry.field(description="1 for a first solve, +1 per revision.")
    row_version: int = strawberry.field(
        description="Changes with every review action: pass it as `expectedVersion` to approve."
    )
    preset: str = strawberry.field(description="The objective: cheapest, fastest, fewest_members, balanced.")
    rank: int = strawberry.field(description="Order of the answer in its job (1 = the preset's best).")
    solver_status: SolverStatus = strawberry.field(description="What the solver proved.")
    review_state: ReviewState = strawberry.field(description="Where the review stands.")
    objective: float | None = strawberry.field(description="The preset's objective value.")
    bound: float | None = strawberry.field(description="Best bound the solver proved.")
    gap: float | None = strawberry.field(description="Relative distance between objective and bound.")
    total_cost_jpy: int | None = strawberry.field(description="Total cost in JPY; null without a consortium.")
    firm_share: float | None = strawberry.field(
        description="Share of the production value priced by firm bids (the rest is estimated)."
    )
    review_note: str = strawberry.field(description="The coordinator's note or rejection reason.")
    created_at: dt.datetime = strawberry.field(description="When the solve stored it.")
    costs: CostBreakdown | None = strawberry.field(
        description="Cost by component; null without a consortium."
    )
    line_completion: JSON = strawberry.field(
        description="Completion date per line id (when its last operation's output is ready)."
    )
    explanation: JSON | None = strawberry.field(
        description="Why no consortium exists, with relaxations that would restore one (the solver's words)."
    )
    diff: ProposalDiff | None = strawberry.field(
        description="What changed against the parent version; null for a first version."
    )
    price_confirmation_required: bool = strawberry.field(
        description="Members' accepted prices moved the total beyond the tolerance: a coordinator must "
        "confirm it (`proposalConfirmPrices`) before a quote is issued."
    )
    answer_by: dt.datetime | None = strawberry.field(
        description="The invitations' answer deadline set at approval; null before."
    )
    problem: JSON = strawberry.field(
        description="The solver Problem (machikoba.problem/1) it was solved from."
    )
    row: strawberry.Private[repo.Proposal]
    # Set when a page loaded these for all its proposals at once (:func:`with_proposal_details`).
    loaded_members: strawberry.Private[list[Factory] | None] = None
    loaded_lead: strawberry.Private[Factory | None] = None
    lead_loaded: strawberry.Private[bool] = False
    loaded_assignments: strawberry.Private[list[ProposalAssignment] | None] = None
    loaded_invitations: strawberry.Private[list[Any] | None] = None

    @classmethod
    def from_row(cls, row: repo.Proposal) -> Proposal:
        costs: dict[str, Any] | None = row.solution.get("costs")
        explanation = row.solution.get("explanation")
        return cls(
            id=to_id(row.id),
            rfq_id=to_id(row.rfq_id),
            job_id=to_id(row.job_id),
            lineage_id=to_id(row.lineage_id),
            parent_id=to_id(row.parent_id) if row.parent_id else None,
            version=row.version,
            row_version=row.row_version,
            preset=row.preset,
            rank=row.rank,
            solver_status=SolverStatus(row.solver_status),
            review_state=ReviewState(row.review_state),
            objective=float(row.objective) if row.objective is not None else None,
            bound=float(row.bound) if row.bound is not None else None,
            gap=float(row.gap) if row.gap is not None else None,
            total_cost_jpy=row.total_cost_jpy,
            firm_share=float(row.firm_share) if row.firm_share is not None else None,
            review_note=row.review_note,
            created_at=row.created_at,
            costs=CostBreakdown(**{k: int(costs.get(k, 0)) for k in CostBreakdown.__annotations__})
            if costs is not None
            else None,
            line_completion=cast(JSON, row.solution.get("line_completion", {})),
            explanation=cast(JSON, explanation) if explanation is not None else None,
            diff=ProposalDiff.from_row(DiffRow.from_json(row.diff)) if row.diff else None,
            price_confirmation_required=row.price_confirmation_required,
            answer_by=row.answer_by,
            problem=cast(JSON, row.problem),
            row=row,
        )

    # Each list a plain value when the page loaded it, else an awaitable (see schema.factories.types.Factory).
    @strawberry.field(description="The member factories.")
    @preloaded("loaded_members")
    def members(self, info: Info) -> list[Factory]:
        if self.loaded_members is not None:
            return self.loaded_members
        return cast(list[Factory], self._load_members(info))

    async def _load_members(self, info: Info) -> list[Factory]:
        # One batch for all members (awaiting them one by one would be one query each).
        rows = await info.context.loader(factories_by_id).load_many(self.row.members)
        return [Factory.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="The lead factory, which faces the buyer; null without a consortium.")
    def lead(self, info: Info) -> Factory | None:
        if self.lead_loaded:
            return self.loaded_lead
        if self.row.lead_factory_id is None:
            return None
        return cast(Factory, factory_of(info, self.row.lead_factory_id))

    @strawberry.field(description="Who makes what, when.")
    @preloaded("loaded_assignments")
    def assignments(self, info: Info) -> list[ProposalAssignment]:
        if self.loaded_assignments is not None:
            return self.loaded_assignments
        return cast(list[ProposalAssignment], self._load_assignments(info))

    async def _load_assignments(self, info: Info) -> list[ProposalAssignment]:
        rows = await info.context.loader(assignments_by_proposal_id).load(self.row.id)
        return [ProposalAssignment.from_row(r) for r in rows]

    @strawberry.field(description="The members' invitations, once approved (empty before).")
    def invitations(
        self, info: Info
    ) -> list[Annotated[Invitation, strawberry.lazy("schema.invitations.types")]]:
        if self.loaded_invitations is not None:
            return self.loaded_invitations
        return cast(list["Invitation"], self._load_invitations(info))

    async def _load_invitations(self, info: Info) -> list[Invitation]:
        from schema.invitations.loaders import invitations_by_proposal_id
        from schema.invitations.types import Invitation

        rows = await info.context.loader(invitations_by_proposal_id).load(self.row.id)
        return [Invitation.from_row(r) for r in rows]


async def with_proposal_details(
    info: Info,
    proposals: list[Proposal],
    *,
    selected: set[str],
    assignment_fields: set[str],
    invitation_fields: set[str],
    invitation_line_fields: set[str],
) -> None:
    """Give the proposals of one page (an RFQ's, or one) the lists the query ``selected``, loaded for all of
    them at once: assignments and invitations in one query each, the factories (members, leads, the
    assignments') and packages through the request's loaders in one batch each. Proposals are for
    coordinators (the query's role gate): the packages show target prices, as on the loader path."""
    from schema.invitations.loaders import invitations_by_proposal_id
    from schema.invitations.types import Invitation, with_invitation_details

    if not proposals:
        return
    pool = info.context.pool
    ids = [p.row.id for p in proposals]
    factories = info.context.loader(factories_by_id)
    wanted: list[UUID] = []
    if "members" in selected:
        wanted += [m for p in proposals for m in p.row.members]
    if "lead" in selected:
        wanted += [p.row.lead_factory_id for p in proposals if p.row.lead_factory_id is not None]
    if wanted:
        found = {row.id: row for row in await factories.load_many(wanted) if row is not None}
        for proposal in proposals:
            if "members" in selected:
                proposal.loaded_members = [
                    Factory.from_row(found[m]) for m in proposal.row.members if m in found
                ]
            if "lead" in selected:
                lead = proposal.row.lead_factory_id
                proposal.loaded_lead = Factory.from_row(found[lead]) if lead is not None else None
                proposal.lead_loaded = True
    if "assignments" in selected:
        rows = await assignments_by_proposal_id(pool, ids)
        for proposal, assignment_rows in zip(proposals, rows, strict=True):
            proposal.loaded_assignments = [ProposalAssignment.from_row(r) for r in assignment_rows]
        assignments = [a for p in proposals for a in p.loaded_assignments or []]
        if "factory" in assignment_fields and assignments:
            members = await factories_of(info, [a.factory_id for a in assignments])
            for assignment, member in zip(assignments, members, strict=True):
                assignment.loaded_factory = member
        if "package" in assignment_fields and assignments:
            packages = await info.context.loader(packages_by_id).load_many(
                [a.package_id for a in assignments]
            )
            for assignment, package in zip(assignments, packages, strict=True):
                assert package is not None
                assignment.loaded_package = assignment_package(info, package)
    if "invitations" in selected:
        rows_of = await invitations_by_proposal_id(pool, ids)
        invitations: list[Invitation] = []
        for proposal, invitation_rows in zip(proposals, rows_of, strict=True):
            proposal.loaded_invitations = [Invitation.from_row(r) for r in invitation_rows]
            invitations += proposal.loaded_invitations
        await with_invitation_details(
            info, invitations, selected=invitation_fields, line_fields=invitation_line_fields
        )
