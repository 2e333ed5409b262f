"""web: demographics for matching, one-time codes, the local outbox, staff accounts,
web sessions and proxy applications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f("ck_outbox_message_channel")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    op.create_index(
        op.f("ix_outbox_message_created_at"), "outbox_message", ["created_at"], unique=False
    )
    op.create_table(
        "staff_account",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('agent', 'proxy_reviewer', 'ig_lead', 'analyst', 'administrator')",
            name=op.f("ck_staff_account_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_account")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_account_username")),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('citizen', 'staff')", name=op.f("ck_web_session_kind")),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_account.id"], name=op.f("fk_web_session_staff_id_staff_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_expires_at"), "web_session", ["expires_at"], unique=False)
    op.create_table(
        "demographics",
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("given_name", sa.String(length=60), nullable=False),
        sa.Column("family_name", sa.String(length=60), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("mobile", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["nhs_number"], ["person.nhs_number"], name=op.f("fk_demographics_nhs_number_person")
        ),
        sa.PrimaryKeyConstraint("nhs_number", name=op.f("pk_demographics")),
    )
    op.create_index(op.f("ix_demographics_postcode"), "demographics", ["postcode"], unique=False)
    op.create_table(
        "one_time_code",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("journey", sa.String(length=64), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=5), nullable=False),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f("ck_one_time_code_channel")),
        sa.CheckConstraint(
            "status IN ('open', 'used', 'dead')", name=op.f("ck_one_time_code_status")
        ),
        sa.ForeignKeyConstraint(
            ["nhs_number"], ["person.nhs_number"], name=op.f("fk_one_time_code_nhs_number_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_code")),
    )
    op.create_index(op.f("ix_one_time_code_journey"), "one_time_code", ["journey"], unique=False)
    op.create_index(
        op.f("ix_one_time_code_nhs_number_created_at"),
        "one_time_code",
        ["nhs_number", "created_at"],
        unique=False,
    )
    op.create_table(
        "proxy_application",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("given_name", sa.String(length=60), nullable=False),
        sa.Column("family_name", sa.String(length=60), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("proxy_name", sa.String(length=200), nullable=False),
        sa.Column("proxy_role", sa.String(length=10), nullable=False),
        sa.Column("proxy_email", sa.String(length=200), nullable=True),
        sa.Column("proxy_phone", sa.String(length=20), nullable=True),
        sa.Column("evidence_reference", sa.String(length=200), nullable=False),
        sa.Column("requested_state", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column(
            "choice_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "proxy_role IN ('GUARDIAN', 'POA', 'COURTDEP')",
            name=op.f("ck_proxy_application_proxy_role"),
        ),
        sa.CheckConstraint(
            "requested_state IN ('OUT', 'IN')", name=op.f("ck_proxy_application_requested_state")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_proxy_application_status"),
        ),
        sa.ForeignKeyConstraint(
            ["choice_event_id"],
            ["choice_event.id"],
            name=op.f("fk_proxy_application_choice_event_id_choice_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_application")),
        sa.UniqueConstraint("reference", name=op.f("uq_proxy_application_reference")),
    )
    op.create_index(
        op.f("ix_proxy_application_status_submitted_at"),
        "proxy_application",
        ["status", "submitted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_proxy_application_status_submitted_at"), table_name="proxy_application")
    op.drop_table("proxy_application")
    op.drop_index(op.f("ix_one_time_code_nhs_number_created_at"), table_name="one_time_code")
    op.drop_index(op.f("ix_one_time_code_journey"), table_name="one_time_code")
    op.drop_table("one_time_code")
    op.drop_index(op.f("ix_demographics_postcode"), table_name="demographics")
    op.drop_table("demographics")
    op.drop_index(op.f("ix_web_session_expires_at"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_table("staff_account")
    op.drop_index(op.f("ix_outbox_message_created_at"), table_name="outbox_message")
    op.drop_table("outbox_message")
