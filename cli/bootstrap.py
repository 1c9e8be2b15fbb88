"""What `oddsmith dev` does once the database is migrated: the first admin and the demo data."""

from __future__ import annotations

from core.config import get_settings
from core.db import dispose_engine, transaction
from services.accounts.users import ensure_admin


async def bootstrap() -> list[str]:
    settings = get_settings()
    lines: list[str] = []
    try:
        if settings.admin_email and settings.admin_password:
            async with transaction() as conn:
                _, created = await ensure_admin(conn, settings.admin_email, settings.admin_password)
            lines.append(f"admin {settings.admin_email} {'created' if created else 'present'}")
        if settings.seed_demo_data:
            from cli.demo import seed_demo_data

            lines += await seed_demo_data()
    finally:
        await dispose_engine()
    return lines
