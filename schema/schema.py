"""The GraphQL schema: each domain's Query and Mutation merged into one."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.auth.mutations import AuthMutation
from schema.auth.queries import AuthQuery
from schema.bids.mutations import BidMutation
from schema.bids.queries import BidQuery
from schema.catalogue.queries import CatalogueQuery
from schema.errors import translate_errors
from schema.executor import FastExecutor
from schema.factories.mutations import FactoriesMutation
from schema.factories.queries import FactoriesQuery
from schema.invitations.mutations import InvitationsMutation
from schema.invitations.queries import InvitationsQuery
from schema.jobs.mutations import JobsMutation
from schema.jobs.queries import JobsQuery
from schema.jobs.subscriptions import JobsSubscription
from schema.limits import DepthLimiter, DocumentCache, depth_rule, limit_extensions
from schema.logistics.mutations import LogisticsMutation
from schema.logistics.queries import LogisticsQuery
from schema.partnerships.mutations import PartnershipsMutation
from schema.partnerships.queries import PartnershipsQuery
from schema.proposals.mutations import ProposalsMutation
from schema.proposals.queries import ProposalsQuery
from schema.quotes.mutations import QuotesMutation
from schema.quotes.queries import QuotesQuery
from schema.rfqs.mutations import RfqMutation
from schema.rfqs.queries import RfqQuery
from server.settings import Settings

# Each domain adds its Query / Mutation / Subscription class here.
QUERIES: tuple[type, ...] = (
    AuthQuery,
    CatalogueQuery,
    FactoriesQuery,
    RfqQuery,
    BidQuery,
    JobsQuery,
    ProposalsQuery,
    LogisticsQuery,
    PartnershipsQuery,
    QuotesQuery,
    InvitationsQuery,
)
MUTATIONS: tuple[type, ...] = (
    AuthMutation,
    FactoriesMutation,
    RfqMutation,
    BidMutation,
    JobsMutation,
    ProposalsMutation,
    LogisticsMutation,
    PartnershipsMutation,
    QuotesMutation,
    InvitationsMutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (JobsSubscription,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS)


class MachikobaSchema(strawberry.Schema):
    """Strawberry's schema with our error handling.

    Strawberry hands every result's errors to ``process_errors`` (to log them) before the response is
    built; translating there, in place, means each error is logged once and, when it is a bug, the id in
    the log is the id the client sees.
    """

    def __init__(self, *args: Any, mask_errors: bool, hide_suggestions: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mask_errors = mask_errors
        self.hide_suggestions = hide_suggestions

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        translate_errors(errors, mask_unexpected=self.mask_errors)

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        # graphql-core's execute() also suggests names when it coerces variables (enum values, input
        # fields); strawberry has no option for it, so the keyword goes in with the ones it passes.
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        return {**kwargs, "hide_suggestions": self.hide_suggestions}


def build_schema(*, mask_errors: bool, settings: Settings | None = None) -> strawberry.Schema:
    """The schema; ``mask_errors`` in production hides the texts of unexpected exceptions from clients.

    ``settings`` gives the cost limits and the prod posture (no introspection, no "Did you mean" hints);
    without it the defaults of :class:`Settings` apply (the exported SDL does not depend on them).
    """
    settings = settings or Settings()
    # Built once here, not per request (see DepthLimiter).
    depth = depth_rule(settings.max_depth)
    # Factories, not instances: Strawberry builds fresh extensions for each request.
    extensions: list[Any] = [
        *limit_extensions(
            max_tokens=settings.max_query_tokens,
            max_aliases=settings.max_aliases,
            max_root_fields=settings.max_root_fields,
            max_cost=settings.max_query_cost,
            hide_suggestions=not settings.is_dev,
            cache=DocumentCache(),
        ),
        lambda: DepthLimiter(max_depth=settings.max_depth, rule=depth),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return MachikobaSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        mask_errors=mask_errors,
        hide_suggestions=not settings.is_dev,
        # None: strawberry's own executor (MACHIKOBA_FAST_EXECUTOR=0).
        execution_context_class=FastExecutor if settings.fast_executor else None,
    )
