"""User management: API keys, deposits, withdrawals and wallet history support.

Revision ID: 0002_accounts
Revises: 0001_foundation
"""

revision = "0002_accounts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the accounts work (issue 4); kept in the chain so later revisions can follow.
    pass


def downgrade() -> None:
    pass
