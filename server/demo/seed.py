"""Load the demo: ~300 factories in real clusters, a coordinator, three buyers and a few RFQs.

Deterministic (a fixed random seed), idempotent (a second run changes nothing), and for development only:
the demo credentials are printed and written in the README, so ``seed --demo`` refuses a production
environment. Every row goes in through the repositories: factories with the factories repository's bulk
functions (COPY: 300 shops with their capabilities take well under a second); buyers and RFQs through the
same services the API uses, so the demo RFQs pass the same validation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from server.auth import repo as auth_repo
from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from server.auth.tokens import API_KEY_DISPLAY_CHARS, hash_password, token_hash
from server.clock import SYSTEM_CLOCK, iso_monday
from server.clock import today as today_in_japan
from server.db import Connection, Pool, transaction
from server.demo.award import seed_demo_award
from server.demo.bids import seed_demo_bids
from server.demo.generate import DemoFactory, demo_factories
from server.demo.invitations import seed_demo_invitations
from server.demo.proposals import seed_demo_proposals
from server.factories import repo as factories_repo
from server.rfqs import service as rfq_service
from server.rfqs.service import LineInput, OperationInput, RfqInput

DEMO_PASSWORD = "machikoba-demo"
DEMO_COORDINATOR_EMAIL = "office@demo.machikoba.jp"
DEMO_OWNER_EMAIL = "owner{number:03d}@demo.machikoba.jp"

# Fixed API keys (demo only) so that the README's examples work as written.
DEMO_BUYERS: tuple[tuple[str, str, str, str], ...] = (
    ("Acme Robotics Inc.", "US", "USD", "mkb_demo-acme-robotics-us-000000000000000000000"),
    ("Rheinwerk Antriebstechnik GmbH", "DE", "EUR", "mkb_demo-rheinwerk-de-0000000000000000000000000"),
    ("Lion City Medical Devices Pte. Ltd.", "SG", "SGD", "mkb_demo-lioncity-sg-00000000000000000000000000"),
)


async def _insert_factories(conn: Connection, factories: list[DemoFactory], today: dt.date) -> None:
    """The demo owners and their factories one by one (their ids are needed), the rest in bulk."""
    owner_hash = hash_password(DEMO_PASSWORD)  # one argon2 hash for all demo owners: seeding stays fast
    monday = iso_monday(today)
    certifications: list[tuple[UUID, str, dt.date]] = []
    capabilities: list[factories_repo.NewCapability] = []
    overrides: list[factories_repo.CapacityOverride] = []
    for factory in factories:
        owner = await auth_repo.create_user(
            conn,
            email=DEMO_OWNER_EMAIL.format(number=factory.number),
            password_hash=owner_hash,
            role=Role.FACTORY_OWNER.value,
            display_name=factory.name_ja,
            organisation_id=None,
        )
        row = await factories_repo.create_factory(
            conn,
            owner_user_id=owner.id,
            name_ja=factory.name_ja,
            name_en=factory.name_en,
            prefecture=factory.prefecture,
            city=factory.city,
            cluster=factory.cluster,
            employees=factory.employees,
            founded_year=factory.founded_year,
            description=factory.description,
            approval_status="approved",  # the demo clusters' members are vetted
        )
        certifications += [(row.id, code, until) for code, until in factory.certifications]
        for cap in factory.capabilities:
            capabilities.append(
                factories_repo.NewCapability(
                    factory_id=row.id,
                    process_code=cap.process_code,
                    materials=list(cap.materials),
                    best_tolerance_um=Decimal(str(cap.best_tolerance_um)),
                    max_envelope_mm=cap.max_envelope_mm,
                    min_lot=cap.min_lot,
                    max_lot=cap.max_lot,
                    hours_per_week=Decimal(str(cap.hours_per_week)),
                    hourly_rate_jpy=cap.hourly_rate_jpy,
                    setup_cost_jpy=cap.setup_cost_jpy,
                    setup_hours=Decimal(str(cap.setup_hours)),
                    lead_days=cap.lead_days,
                )
            )
            overrides += [
                factories_repo.CapacityOverride(
                    factory_id=row.id,
                    process_code=cap.process_code,
                    week_start=monday + dt.timedelta(weeks=week),
                    hours=Decimal(str(hours)),
                )
                for week, hours in cap.busy_weeks
            ]
    await factories_repo.add_factory_certifications(conn, certifications=certifications)
    await factories_repo.add_capabilities(conn, capabilities=capabilities)
    await factories_repo.add_capacity_overrides(conn, overrides=overrides)


async def _insert_buyers(conn: Connection) -> list[Principal]:
    principals = []
    for name, country, currency, secret in DEMO_BUYERS:
        org_id = await auth_repo.create_organisation(conn, kind="buyer", name=name)
        buyer_id = await auth_repo.create_buyer(
            conn, organisation_id=org_id, country=country, currency=currency, contact_email=None
        )
        key = await auth_repo.create_api_key(
            conn,
            buyer_id=buyer_id,
            name="demo key",
            prefix=secret[:API_KEY_DISPLAY_CHARS],
            key_hash=token_hash(secret),
            created_by_user_id=None,
            created_by_api_key_id=None,
            expires_at=None,
        )
        principals.append(Principal(Role.BUYER, buyer_id=buyer_id, api_key_id=key.id))
    return principals


def demo_rfqs(today: dt.date) -> list[RfqInput]:
    """The demo RFQs, dated from ``today``. The first is too large for any single factory."""
    op = OperationInput
    return [
        RfqInput(
            title="Collaborative-robot joint: housings and output shafts, 5,000 sets",
            description="Series production for a cobot joint. Housings anodized black; shafts carburized "
            "and ground. First article inspection report required.",
            incoterm="DAP",
            destination_country="US",
            due_date=today + dt.timedelta(weeks=14),
            bid_deadline=today + dt.timedelta(weeks=2),
            disclose_buyer=True,
            lines=[
                LineInput(
                    part_number="CJ-200-H",
                    name="Joint housing",
                    material="A7075",
                    quantity=5000,
                    tolerance_um=Decimal("20"),
                    envelope_mm=180,
                    required_certifications=["ISO9001"],
                    target_unit_price=Decimal("38.50"),
                    operations=[op("cnc_milling"), op("anodizing"), op("cmm_inspection")],
                ),
                LineInput(
                    part_number="CJ-200-S",
                    name="Output shaft",
                    material="SCM440",
                    quantity=5000,
                    tolerance_um=Decimal("5"),
                    envelope_mm=120,
                    required_certifications=["ISO9001"],
                    target_unit_price=Decimal("14.20"),
                    operations=[
                        op("cnc_turning"),
                        op("carburizing"),
                        op("cylindrical_grinding"),
                        op("cleaning_inspection"),
                    ],
                ),
            ],
        ),
        RfqInput(
            title="Hydraulic manifold blocks, prototype lot",
            description="Stainless manifold, 5-axis, electropolished. Drawings under NDA.",
            incoterm="FCA",
            destination_country="DE",
            due_date=today + dt.timedelta(weeks=8),
            bid_deadline=today + dt.timedelta(weeks=1),
            nda_required=True,
            lines=[
                LineInput(
                    part_number="VB-316-07",
                    name="Ventilblock",
                    material="SUS316L",
                    quantity=200,
                    tolerance_um=Decimal("8"),
                    envelope_mm=160,
                    operations=[op("five_axis_machining"), op("electropolishing"), op("cmm_inspection")],
                )
            ],
        ),
        RfqInput(
            title="Surgical instrument hinge pins (PEEK and titanium)",
            description="Medical device components; ISO 13485 suppliers only.",
            incoterm="CIP",
            destination_country="SG",
            due_date=today + dt.timedelta(weeks=10),
            bid_deadline=today + dt.timedelta(weeks=2),
            lines=[
                LineInput(
                    part_number="LC-HP-01",
                    name="Hinge pin, titanium",
                    material="TI64",
                    quantity=30000,
                    tolerance_um=Decimal("5"),
                    envelope_mm=25,
                    required_certifications=["ISO13485"],
                    operations=[op("swiss_turning"), op("electropolishing"), op("cleaning_inspection")],
                ),
                LineInput(
                    part_number="LC-HP-02",
                    name="Insulating bush, PEEK",
                    material="PEEK",
                    quantity=30000,
                    tolerance_um=Decimal("10"),
                    envelope_mm=20,
                    required_certifications=["ISO13485"],
                    operations=[op("swiss_turning"), op("cleaning_inspection")],
                ),
            ],
        ),
    ]


async def seed_demo(
    pool: Pool,
    *,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    factory_count: int = 300,
    stages_after_review: bool = True,
) -> str:
    """Load whatever part of the demo is missing; return what to tell the person who ran it.

    Each step checks for its own rows, so a run that stopped half-way is completed by the next one.
    ``stages_after_review=False`` leaves out the stages past proposal review (issue 8: invitations, …):
    ``tests/server/test_read_snapshots.py`` compares reads of the demo as it was before them.
    ``progress`` is told what each step is about to do (the CLI prints it: the first run takes a while).
    """
    today = today or today_in_japan(SYSTEM_CLOCK)
    report = progress or (lambda _: None)
    done: list[str] = []
    factories = demo_factories(factory_count)  # more for benchmarks (bench/problem_builder.py)
    async with transaction(pool) as conn:
        first_owner = DEMO_OWNER_EMAIL.format(number=1)
        if await auth_repo.user_by_email(conn, email=first_owner) is None:
            report(f"inserting {len(factories)} factories with their owners, capabilities and capacity")
            await _insert_factories(conn, factories, today)
            capabilities = sum(len(f.capabilities) for f in factories)
            clusters = len({f.cluster for f in factories})
            done.append(f"{len(factories)} factories ({capabilities} capabilities) in {clusters} clusters")
        buyers = await _demo_buyers(conn)
        if not buyers:
            report(f"inserting {len(DEMO_BUYERS)} buyers with their API keys")
            buyers = await _insert_buyers(conn)
            done.append(f"{len(buyers)} buyers")
    submitted = 0
    for buyer, rfq in zip(buyers, demo_rfqs(today), strict=True):
        async with pool.acquire() as conn:
            has_rfqs = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM rfqs WHERE buyer_id = $1)", buyer.buyer_id
            )
        if not has_rfqs:
            report(f"submitting the RFQ {rfq.title!r}")
            await rfq_service.submit_rfq(pool, buyer, rfq, today=today)
            submitted += 1
    if submitted:
        done.append(f"{submitted} RFQs")
    bids = await seed_demo_bids(pool, rfq_title=demo_rfqs(today)[0].title, today=today, report=report)
    if bids:
        done.append(bids)
    async with pool.acquire() as conn:
        coordinator = await auth_repo.user_by_email(conn, email=DEMO_COORDINATOR_EMAIL)
    if coordinator is None:
        report("creating the coordinator")
        coordinator = await auth_service.create_coordinator(
            pool, email=DEMO_COORDINATOR_EMAIL, password=DEMO_PASSWORD, display_name="Demo cluster office"
        )
        done.append("a coordinator")
    # The second RFQ gets bids too, and is solved now: a coordinator finds proposals to review.
    second = demo_rfqs(today)[1].title
    if bids := await seed_demo_bids(pool, rfq_title=second, today=today, report=report):
        done.append(bids)
    if solved := await seed_demo_proposals(
        pool, rfq_title=second, coordinator_id=coordinator.id, today=today, report=report
    ):
        done.append(solved)
    # Issue 8 (award-quotes): one RFQ quoted, one awarded (bookings visible), one cancelled after award.
    if stages_after_review and (
        award := await seed_demo_award(
            pool,
            buyer_keys=[secret for *_, secret in DEMO_BUYERS],
            coordinator_id=coordinator.id,
            today=today,
            report=report,
        )
    ):
        done.append(award)
    if stages_after_review and (
        staged := await seed_demo_invitations(
            pool, buyer=buyers[0], coordinator_id=coordinator.id, today=today, report=report
        )
    ):
        done.append(staged)
    summary = "loaded " + ", ".join(done) if done else "demo data is already loaded"
    return summary + "\n" + credentials()


async def _demo_buyers(conn: Connection) -> list[Principal]:
    """The demo buyers, in DEMO_BUYERS order, if they exist (found by their fixed keys)."""
    principals = []
    for *_, secret in DEMO_BUYERS:
        key = await auth_repo.api_key_principal(conn, key_hash=token_hash(secret))
        if key is None:
            return []
        principals.append(Principal(Role.BUYER, buyer_id=key.buyer_id, api_key_id=key.api_key_id))
    return principals


def credentials() -> str:
    """The demo credentials (demo only: they are public in the README)."""
    lines = [
        "demo credentials (demo only):",
        f"  coordinator   {DEMO_COORDINATOR_EMAIL} / {DEMO_PASSWORD}",
        f"  factory owner {DEMO_OWNER_EMAIL.format(number=1)} … owner300@demo.machikoba.jp / {DEMO_PASSWORD}",
    ]
    lines += [f"  buyer {country} {name}: API key {secret}" for name, country, _, secret in DEMO_BUYERS]
    return "\n".join(lines)
