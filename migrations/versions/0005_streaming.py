"""Streaming: each user's own stream events with a per-user sequence (replayed after Last-Event-ID).

Revision ID: 0005_streaming
Revises: 0004_resolution
"""

from migrations.sql import execute_script

revision = "0005_streaming"
down_revision = "0004_resolution"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- The last sequence number handed out on each user's stream.
        CREATE TABLE user_stream_seqs (
            user_id BIGINT CONSTRAINT pk_user_stream_seqs PRIMARY KEY
                CONSTRAINT fk_user_stream_seqs_user_id_users REFERENCES users (id),
            seq BIGINT NOT NULL CONSTRAINT ck_user_stream_seqs_seq CHECK (seq >= 0)
        );

        -- Everything a user's own stream shows (orders, fills, wallet), in order.
        CREATE TABLE user_events (
            user_id BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL,
            payload JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT pk_user_events PRIMARY KEY (user_id, seq)
        );

        -- Finding the last significant move of a market inside the detection window.
        CREATE INDEX ix_market_events_moves ON market_events (market_id, seq DESC)
            WHERE kind = 'significant_move';
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX ix_market_events_moves;
        DROP TABLE user_events;
        DROP TABLE user_stream_seqs;
        """
    )
