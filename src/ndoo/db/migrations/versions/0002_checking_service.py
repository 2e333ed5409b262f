"""checking service: requests handled by the service, requests sent, cleaned-list cache

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

``pos_request`` holds the national service's processing state per MESH message id;
``check_request`` the organisation's requests; ``cache_entry`` its cleaned lists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_request",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("mailbox", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("local_id", sa.String(length=300), nullable=False),
        sa.Column("cohort", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("numbers_sent", sa.BigInteger(), nullable=False),
        sa.Column("numbers", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("response_message_id", sa.String(length=100), nullable=True),
        sa.Column("returned_count", sa.BigInteger(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("mode IN ('disclosure', 'cohort')", name=op.f("ck_check_request_mode")),
        sa.CheckConstraint(
            "state IN ('prepared', 'sent', 'received', 'failed')",
            name=op.f("ck_check_request_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_request")),
        sa.UniqueConstraint("filename", name=op.f("uq_check_request_filename")),
        sa.UniqueConstraint(
            "mailbox", "month", "sequence", name=op.f("uq_check_request_mailbox_month_sequence")
        ),
    )
    op.create_index(op.f("ix_check_request_state"), "check_request", ["state"], unique=False)
    op.create_table(
        "pos_request",
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("message_type", sa.String(length=10), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=True),
        sa.Column("workflow_id", sa.String(length=100), nullable=True),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("local_id", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("received_count", sa.BigInteger(), nullable=True),
        sa.Column("returned_count", sa.BigInteger(), nullable=True),
        sa.Column("invalid_count", sa.BigInteger(), nullable=True),
        sa.Column("invalid_lines", sa.Text(), nullable=True),
        sa.Column("snapshot_at", sa.DateTime(), nullable=True),
        sa.Column("response_message_id", sa.String(length=100), nullable=True),
        sa.Column("receipt_message_id", sa.String(length=100), nullable=True),
        sa.Column("send_marked_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('success', 'invalid', 'empty', 'missing_headers', 'report')",
            name=op.f("ck_pos_request_outcome"),
        ),
        sa.CheckConstraint(
            "state IN ('received', 'processed', 'response_sending', 'response_sent', "
            "'receipt_sending', 'receipt_sent', 'acknowledged')",
            name=op.f("ck_pos_request_state"),
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_pos_request")),
    )
    op.create_index(op.f("ix_pos_request_state"), "pos_request", ["state"], unique=False)
    op.create_table(
        "cache_entry",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("cohort", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column(
            "check_request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.Column("covered_count", sa.BigInteger(), nullable=False),
        sa.Column("kept_count", sa.BigInteger(), nullable=False),
        sa.Column("covered", sa.LargeBinary(), nullable=True),
        sa.Column("kept", sa.LargeBinary(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("mode IN ('disclosure', 'cohort')", name=op.f("ck_cache_entry_mode")),
        sa.ForeignKeyConstraint(
            ["check_request_id"],
            ["check_request.id"],
            name=op.f("fk_cache_entry_check_request_id_check_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_entry")),
    )
    op.create_index(
        "uq_cache_entry_current_cohort",
        "cache_entry",
        ["cohort"],
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.create_index(
        op.f("ix_cache_entry_cohort_superseded_at"),
        "cache_entry",
        ["cohort", "superseded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cache_entry_cohort_superseded_at"), table_name="cache_entry")
    op.drop_index("uq_cache_entry_current_cohort", table_name="cache_entry")
    op.drop_table("cache_entry")
    op.drop_index(op.f("ix_pos_request_state"), table_name="pos_request")
    op.drop_table("pos_request")
    op.drop_index(op.f("ix_check_request_state"), table_name="check_request")
    op.drop_table("check_request")
