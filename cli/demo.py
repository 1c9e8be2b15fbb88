"""Demo data for `oddsmith dev`: a demo admin, two traders with money, and a few open markets
with their workflows, created once (nothing is added when markets already exist)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.db import transaction
from core.temporal import connect_temporal
from models.ledger import AccountKind
from models.users import Role
from services.accounts.ledger import (
    NewTransaction,
    platform_account,
    post_transaction,
    user_accounts,
)
from services.accounts.users import create_user
from services.trading.markets import CreateMarketRequest, insert_market, start_market_workflow

DEMO_PASSWORD = "oddsmith-demo-password"
DEMO_USERS = (
    ("admin@oddsmith.dev", Role.ADMIN, 0),
    ("alice@oddsmith.dev", Role.CLIENT, 1_000),
    ("bob@oddsmith.dev", Role.CLIENT, 1_000),
)
DEMO_MARKETS = (
    ("Will the Lisbon marathon record fall this year?", None),
    ("Will it snow in Porto on New Year's Day?", None),
    ("Will the reference rate be cut at the next meeting?", "250"),  # with an LMSR market maker
)


async def seed_demo_data() -> list[str]:
    async with transaction() as conn:
        if (await conn.execute(text("SELECT count(*) FROM markets"))).scalar_one():
            return ["demo data present"]
        external = await platform_account(conn, AccountKind.EXTERNAL)
        for email, role, dollars in DEMO_USERS:
            if (
                await conn.execute(text("SELECT 1 FROM users WHERE email = :e"), {"e": email})
            ).first():
                continue
            user_id = await create_user(conn, email=email, password=DEMO_PASSWORD, role=role)
            if dollars:
                available = (await user_accounts(conn, [user_id]))[user_id].available
                micros = dollars * 1_000_000
                await post_transaction(
                    conn,
                    NewTransaction(
                        "deposit",
                        f"demo-deposit:{user_id}",
                        [(external, -micros), (available, micros)],
                        user_id=user_id,
                    ),
                )
        close = datetime.now(UTC) + timedelta(days=30)
        markets = [
            await insert_market(
                conn, CreateMarketRequest(title=title, close_time=close, amm_liquidity=liquidity)
            )
            for title, liquidity in DEMO_MARKETS
        ]
    client = await connect_temporal()
    for market in markets:
        await start_market_workflow(client, market)
    return [
        f"demo users {', '.join(e for e, _, _ in DEMO_USERS)} (password {DEMO_PASSWORD})",
        f"demo markets {', '.join(str(m.id) for m in markets)}",
    ]
