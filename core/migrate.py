"""Apply the Alembic migrations programmatically (used by `oddsmith migrate`, dev and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(async_database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if async_database_url:
        config.attributes["database_url"] = async_database_url
    return config


def upgrade_to_head(async_database_url: str | None = None) -> None:
    command.upgrade(alembic_config(async_database_url), "head")


def downgrade_to(revision: str, async_database_url: str | None = None) -> None:
    command.downgrade(alembic_config(async_database_url), revision)
