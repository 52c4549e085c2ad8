"""Initial tables: users, question_logs, feedback.

Revision ID: 0001_initial
Revises:
Create Date: 2026-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create users, question_logs and feedback."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("area", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("channel", "external_id", name="uq_users_channel_external_id"),
    )
    op.create_table(
        "question_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("normalized_text", sa.Text(), nullable=False),
        sa.Column("matched_id", sa.String(100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_question_logs"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_question_logs_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_question_logs_user_id", "question_logs", ["user_id"])
    op.create_index("ix_question_logs_decision", "question_logs", ["decision"])
    op.create_index("ix_question_logs_created_at", "question_logs", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_log_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.String(100), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_feedback_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["question_log_id"],
            ["question_logs.id"],
            name="fk_feedback_question_log_id_question_logs",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_feedback_user_id", "feedback", ["user_id"])
    op.create_index("ix_feedback_question_log_id", "feedback", ["question_log_id"])


def downgrade() -> None:
    """Drop feedback, question_logs and users."""
    op.drop_index("ix_feedback_question_log_id", table_name="feedback")
    op.drop_index("ix_feedback_user_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_question_logs_created_at", table_name="question_logs")
    op.drop_index("ix_question_logs_decision", table_name="question_logs")
    op.drop_index("ix_question_logs_user_id", table_name="question_logs")
    op.drop_table("question_logs")
    op.drop_table("users")
