"""The GraphQL schema: each domain's Query and Mutation merged into one."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.auth.mutations import AuthMutation
from schema.auth.queries import AuthQuery
from schema.errors import translate_errors
from schema.factories.mutations import FactoriesMutation
from schema.factories.queries import FactoriesQuery
from schema.jobs.mutations import JobsMutation
from schema.jobs.queries import JobsQuery
from schema.jobs.subscriptions import JobsSubscription
from schema.rfqs.mutations import RfqMutation
from schema.rfqs.queries import RfqQuery

# Each domain adds its Query / Mutation / Subscription class here.
QUERIES: tuple[type, ...] = (AuthQuery, FactoriesQuery, RfqQuery, JobsQuery)
MUTATIONS: tuple[type, ...] = (AuthMutation, FactoriesMutation, RfqMutation, JobsMutation)
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

    def __init__(self, *args: Any, mask_errors: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mask_errors = mask_errors

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        translate_errors(errors, mask_unexpected=self.mask_errors)


def build_schema(*, mask_errors: bool) -> strawberry.Schema:
    """The schema; ``mask_errors`` in production hides the texts of unexpected exceptions from clients."""
    # Factories, not instances: Strawberry builds fresh extensions for each request.
    extensions: list[Any] = [lambda: QueryDepthLimiter(max_depth=12)]
    return MachikobaSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        mask_errors=mask_errors,
    )
