"""GraphQL types of proposals: a consortium the solver found (or why none exists), for coordinators."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from schema.bids.loaders import packages_by_id
from schema.bids.types import WorkPackage
from schema.context import Info
from schema.factories.loaders import factories_by_id
from schema.factories.types import Factory
from schema.ids import to_id
from schema.proposals.loaders import assignments_by_proposal_id
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


async def _factory(info: Info, factory_id: UUID) -> Factory:
    row = await info.context.loader(factories_by_id).load(factory_id)
    assert row is not None  # a foreign key
    return Factory.from_row(row)


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

    @strawberry.field(description="The member that makes it.")
    async def factory(self, info: Info) -> Factory:
        return await _factory(info, self.factory_id)

    @strawberry.field(description="The work package.")
    async def package(self, info: Info) -> WorkPackage:
        row = await info.context.loader(packages_by_id).load(self.package_id)
        assert row is not None
        return WorkPackage.from_row(row, show_target_price=True)


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
    row: strawberry.Private[repo.Proposal]

    @classmethod
    def from_row(cls, row: repo.Proposal) -> Proposal:
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
            row=row,
        )

    @strawberry.field(description="The member factories.")
    async def members(self, info: Info) -> list[Factory]:
        # One batch for all members (awaiting them one by one would be one query each).
        rows = await info.context.loader(factories_by_id).load_many(self.row.members)
        return [Factory.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="The lead factory, which faces the buyer; null without a consortium.")
    async def lead(self, info: Info) -> Factory | None:
        return await _factory(info, self.row.lead_factory_id) if self.row.lead_factory_id else None

    @strawberry.field(description="Who makes what, when.")
    async def assignments(self, info: Info) -> list[ProposalAssignment]:
        rows = await info.context.loader(assignments_by_proposal_id).load(self.row.id)
        return [ProposalAssignment.from_row(r) for r in rows]

    @strawberry.field(description="Cost by component; null without a consortium.")
    def costs(self) -> CostBreakdown | None:
        costs: dict[str, Any] | None = self.row.solution.get("costs")
        if costs is None:
            return None
        return CostBreakdown(**{k: int(costs.get(k, 0)) for k in CostBreakdown.__annotations__})

    @strawberry.field(description="Completion date per line id (when its last operation's output is ready).")
    def line_completion(self) -> JSON:
        return cast(JSON, self.row.solution.get("line_completion", {}))

    @strawberry.field(
        description="Why no consortium exists, with relaxations that would restore one (the solver's words)."
    )
    def explanation(self) -> JSON | None:
        explanation = self.row.solution.get("explanation")
        return cast(JSON, explanation) if explanation is not None else None

    @strawberry.field(description="What changed against the parent version; null for a first version.")
    def diff(self) -> ProposalDiff | None:
        return ProposalDiff.from_row(DiffRow.from_json(self.row.diff)) if self.row.diff else None

    @strawberry.field(
        description="Members' accepted prices moved the total beyond the tolerance: a coordinator must "
        "confirm it (`proposalConfirmPrices`) before a quote is issued."
    )
    def price_confirmation_required(self) -> bool:
        return self.row.price_confirmation_required

    @strawberry.field(description="The invitations' answer deadline set at approval; null before.")
    def answer_by(self) -> dt.datetime | None:
        return self.row.answer_by

    @strawberry.field(description="The members' invitations, once approved (empty before).")
    async def invitations(
        self, info: Info
    ) -> list[Annotated[Invitation, strawberry.lazy("schema.invitations.types")]]:
        from schema.invitations.loaders import invitations_by_proposal_id
        from schema.invitations.types import Invitation

        rows = await info.context.loader(invitations_by_proposal_id).load(self.row.id)
        return [Invitation.from_row(r) for r in rows]

    @strawberry.field(description="The solver Problem (machikoba.problem/1) it was solved from.")
    def problem(self) -> JSON:
        return cast(JSON, self.row.problem)
