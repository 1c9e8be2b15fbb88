"""The notification relay: trade batches mark their notifications for the one standing relay
workflow instead of starting a delivery workflow per batch.

Revision ID: 0007_notification_relay
Revises: 0006_notifications
"""

from migrations.sql import execute_script

revision = "0007_notification_relay"
down_revision = "0006_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- true from the batch's commit until the relay has run every channel for the row;
        -- the partial index keeps the relay's wait a probe of a (nearly) empty index.
        ALTER TABLE notifications ADD COLUMN relay BOOLEAN NOT NULL DEFAULT false;
        CREATE INDEX ix_notifications_relay ON notifications (id) WHERE relay;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX ix_notifications_relay;
        ALTER TABLE notifications DROP COLUMN relay;
        """
    )
