"""Load the demo: ~300 factories in real clusters, a coordinator, three buyers and a few RFQs.

Deterministic (a fixed random seed), idempotent (a second run changes nothing), and for development only:
the demo credentials are printed and written in the README, so ``seed --demo`` refuses a production
environment. Factories go in with COPY (300 shops with their capabilities take well under a second);
buyers and RFQs go through the same services the API uses, so the demo RFQs pass the same validation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from server import clock
from server.auth import repo as auth_repo
from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from server.auth.tokens import API_KEY_DISPLAY_CHARS, hash_password, token_hash
from server.db import Connection, Pool, transaction
from server.demo.bids import seed_demo_bids
from server.demo.generate import DemoFactory, demo_factories
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


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


async def _insert_factories(conn: Connection, factories: list[DemoFactory], today: dt.date) -> None:
    owner_hash = hash_password(DEMO_PASSWORD)  # one argon2 hash for all demo owners: seeding stays fast
    owner_ids = []
    for factory in factories:
        owner_ids.append(
            await conn.fetchval(
                """
                INSERT INTO users (email, password_hash, role, display_name)
                VALUES ($1, $2, 'factory_owner', $3) RETURNING id
                """,
                DEMO_OWNER_EMAIL.format(number=factory.number),
                owner_hash,
                factory.name_ja,
            )
        )
    factory_ids = []
    for factory, owner_id in zip(factories, owner_ids, strict=True):
        factory_ids.append(
            await conn.fetchval(
                """
                INSERT INTO factories (owner_user_id, name_ja, name_en, prefecture, city, cluster, employees,
                                       founded_year, description)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
                """,
                owner_id,
                factory.name_ja,
                factory.name_en,
                factory.prefecture,
                factory.city,
                factory.cluster,
                factory.employees,
                factory.founded_year,
                factory.description,
            )
        )
    monday = _week_start(today)
    certifications, capabilities, capacity = [], [], []
    for factory, factory_id in zip(factories, factory_ids, strict=True):
        certifications += [(factory_id, code, until) for code, until in factory.certifications]
        for cap in factory.capabilities:
            capabilities.append(
                (
                    factory_id,
                    cap.process_code,
                    list(cap.materials),
                    Decimal(str(cap.best_tolerance_um)),
                    cap.max_envelope_mm,
                    cap.min_lot,
                    cap.max_lot,
                    Decimal(str(cap.hours_per_week)),
                    cap.hourly_rate_jpy,
                    cap.setup_cost_jpy,
                    Decimal(str(cap.setup_hours)),
                    cap.lead_days,
                )
            )
            capacity += [
                (factory_id, cap.process_code, monday + dt.timedelta(weeks=week), Decimal(str(hours)))
                for week, hours in cap.busy_weeks
            ]
    await conn.copy_records_to_table(
        "factory_certifications",
        records=certifications,
        columns=["factory_id", "certification_code", "valid_until"],
    )
    await conn.executemany(
        """
        INSERT INTO capabilities (factory_id, process_code, materials, best_tolerance_um, max_envelope_mm,
                                  min_lot, max_lot, hours_per_week, hourly_rate_jpy, setup_cost_jpy,
                                  setup_hours, lead_days)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
        capabilities,
    )
    await conn.copy_records_to_table(
        "capacity_weeks", records=capacity, columns=["factory_id", "process_code", "week_start", "hours"]
    )


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
            title="Collaborative-robot joint: housings and output shafts, 20,000 sets",
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
                    quantity=20000,
                    tolerance_um=Decimal("10"),
                    envelope_mm=180,
                    required_certifications=["ISO9001"],
                    target_unit_price=Decimal("38.50"),
                    operations=[op("cnc_milling"), op("anodizing"), op("cmm_inspection")],
                ),
                LineInput(
                    part_number="CJ-200-S",
                    name="Output shaft",
                    material="SCM440",
                    quantity=20000,
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
    pool: Pool, *, today: dt.date | None = None, progress: Callable[[str], None] | None = None
) -> str:
    """Load whatever part of the demo is missing; return what to tell the person who ran it.

    Each step checks for its own rows, so a run that stopped half-way is completed by the next one.
    ``progress`` is told what each step is about to do (the CLI prints it: the first run takes a while).
    """
    today = today or clock.today(clock.SYSTEM_CLOCK)
    report = progress or (lambda _: None)
    done: list[str] = []
    factories = demo_factories()
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
        has_coordinator = await auth_repo.user_by_email(conn, email=DEMO_COORDINATOR_EMAIL) is not None
    if not has_coordinator:
        report("creating the coordinator")
        await auth_service.create_coordinator(
            pool, email=DEMO_COORDINATOR_EMAIL, password=DEMO_PASSWORD, display_name="Demo cluster office"
        )
        done.append("a coordinator")
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
