"""The GraphQL schema: each domain's Query and Mutation merged into one."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

import strawberry
from graphql import DocumentNode, GraphQLError, OperationType, execute
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import DisableIntrospection
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

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
from schema.limits import (
    DepthLimiter,
    DocumentCache,
    depth_rule,
    limit_extensions,
    operation_cost,
    select_operation,
)
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

    def __init__(
        self,
        *args: Any,
        mask_errors: bool,
        hide_suggestions: bool = False,
        documents: DocumentCache | None = None,
        max_cost: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mask_errors = mask_errors
        self.hide_suggestions = hide_suggestions
        # The limit extensions' document cache and cost limit, for :meth:`checked_document`.
        self.documents = documents
        self.max_cost = max_cost

    def checked_document(
        self, query: str, operation_name: str | None, variables: dict[str, Any]
    ) -> DocumentNode | None:
        """The parsed document of ``query`` when running it needs no check but the executor's own.

        That is when an earlier request's text was parsed within the token limit and passed validation
        (the shape and depth limits and, in prod, the introspection ban are validation rules), names a
        query or mutation, and costs no more than the limit with these ``variables``. Otherwise None:
        strawberry's execution runs the request with every check (and refuses it with its coded error).
        """
        documents = self.documents
        if documents is None:
            return None
        document = documents.parsed(query)
        if document is None or not documents.is_valid(query, document):
            return None
        operation = select_operation(document, operation_name)
        if operation is None or operation.operation not in (OperationType.QUERY, OperationType.MUTATION):
            return None
        cost = operation_cost(
            self._schema,
            document,
            operation,
            text=query,
            operation_name=operation_name,
            variables=variables,
            cache=documents,
        )
        return document if cost <= self.max_cost else None

    async def execute_checked(
        self,
        document: DocumentNode,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> ExecutionResult:
        """What :meth:`execute` answers for a document of :meth:`checked_document`, without the extension
        hooks: every one of ours acts before execution, and on such a document none of them would act.

        graphql-core's ``execute`` with the arguments strawberry gives it (no middleware: no extension of
        ours resolves), and the errors translated as :meth:`process_errors` does for every result.
        """
        outcome = execute(
            self._schema,
            document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=context,
            is_awaitable=cast(Any, optimized_is_awaitable),
            executor_class=self.execution_context_class,
            **self._get_custom_context_kwargs(None),
        )
        result = await outcome if isinstance(outcome, Awaitable) else outcome
        if result.errors:
            self.process_errors(result.errors)
        return ExecutionResult(data=result.data, errors=result.errors)

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
    documents = DocumentCache()
    # Factories, not instances: Strawberry builds fresh extensions for each request.
    extensions: list[Any] = [
        *limit_extensions(
            max_tokens=settings.max_query_tokens,
            max_aliases=settings.max_aliases,
            max_root_fields=settings.max_root_fields,
            max_cost=settings.max_query_cost,
            hide_suggestions=not settings.is_dev,
            cache=documents,
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
        documents=documents,
        max_cost=settings.max_query_cost,
        # None: strawberry's own executor (MACHIKOBA_FAST_EXECUTOR=0).
        execution_context_class=FastExecutor if settings.fast_executor else None,
    )
