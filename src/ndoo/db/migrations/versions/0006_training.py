"""training: the staff roster, sign-in codes, attempts and answers, completions and
renewal reminders; learner web sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trainee",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("role_since", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainee")),
        sa.UniqueConstraint("email", name=op.f("uq_trainee_email")),
    )
    op.create_table(
        "trainee_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trainee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "change IN ('joined', 'changed', 'left', 'rejoined')",
            name=op.f("ck_trainee_change_change"),
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainee.id"], name=op.f("fk_trainee_change_trainee_id_trainee")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainee_change")),
    )
    op.create_index(
        op.f("ix_trainee_change_trainee_id_at"),
        "trainee_change",
        ["trainee_id", "at"],
        unique=False,
    )
    op.create_table(
        "trainee_code",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trainee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("journey", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=5), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'used', 'dead')", name=op.f("ck_trainee_code_status")
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainee.id"], name=op.f("fk_trainee_code_trainee_id_trainee")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainee_code")),
    )
    op.create_index(
        op.f("ix_trainee_code_trainee_id_created_at"),
        "trainee_code",
        ["trainee_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "training_attempt",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trainee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("module_version", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("section", sa.Integer(), nullable=False),
        sa.Column("point", sa.String(length=80), nullable=True),
        sa.Column("question", sa.String(length=80), nullable=True),
        sa.Column("option_order", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "stage IN ('teach', 'ask', 'lesson', 'summary', 'done')",
            name=op.f("ck_training_attempt_stage"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'passed', 'abandoned')", name=op.f("ck_training_attempt_status")
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainee.id"], name=op.f("fk_training_attempt_trainee_id_trainee")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attempt")),
    )
    op.create_index(
        op.f("ix_training_attempt_trainee_id_status"),
        "training_attempt",
        ["trainee_id", "status"],
        unique=False,
    )
    op.create_table(
        "training_answer",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("point", sa.String(length=80), nullable=False),
        sa.Column("question", sa.String(length=80), nullable=False),
        sa.Column("option", sa.String(length=10), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["training_attempt.id"],
            name=op.f("fk_training_answer_attempt_id_training_attempt"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_answer")),
        sa.UniqueConstraint("attempt_id", "seq", name=op.f("uq_training_answer_attempt_id_seq")),
    )
    op.create_table(
        "training_completion",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trainee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("module_id", sa.String(length=60), nullable=False),
        sa.Column("module_version", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("first_time_correct", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["training_attempt.id"],
            name=op.f("fk_training_completion_attempt_id_training_attempt"),
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainee.id"], name=op.f("fk_training_completion_trainee_id_trainee")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_completion")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_training_completion_attempt_id")),
    )
    op.create_index(
        op.f("ix_training_completion_trainee_id_expires_on"),
        "training_completion",
        ["trainee_id", "expires_on"],
        unique=False,
    )
    op.create_table(
        "training_reminder",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "completion_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "trainee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('claimed', 'sent', 'superseded', 'uncertain')",
            name=op.f("ck_training_reminder_status"),
        ),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["training_completion.id"],
            name=op.f("fk_training_reminder_completion_id_training_completion"),
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainee.id"], name=op.f("fk_training_reminder_trainee_id_trainee")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_reminder")),
        sa.UniqueConstraint(
            "completion_id", "kind", name=op.f("uq_training_reminder_completion_id_kind")
        ),
    )
    op.create_index(
        op.f("ix_training_reminder_status"), "training_reminder", ["status"], unique=False
    )

    with op.batch_alter_table("web_session", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_web_session_kind"), type_="check")
        batch.create_check_constraint(
            op.f("ck_web_session_kind"), "kind IN ('citizen', 'staff', 'learner')"
        )


def downgrade() -> None:

    op.execute("DELETE FROM web_session WHERE kind = 'learner'")
    with op.batch_alter_table("web_session", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_web_session_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_web_session_kind"), "kind IN ('citizen', 'staff')")

    op.drop_index(op.f("ix_training_reminder_status"), table_name="training_reminder")
    op.drop_table("training_reminder")
    op.drop_index(
        op.f("ix_training_completion_trainee_id_expires_on"), table_name="training_completion"
    )
    op.drop_table("training_completion")
    op.drop_table("training_answer")
    op.drop_index(op.f("ix_training_attempt_trainee_id_status"), table_name="training_attempt")
    op.drop_table("training_attempt")
    op.drop_index(op.f("ix_trainee_code_trainee_id_created_at"), table_name="trainee_code")
    op.drop_table("trainee_code")
    op.drop_index(op.f("ix_trainee_change_trainee_id_at"), table_name="trainee_change")
    op.drop_table("trainee_change")
    op.drop_table("trainee")
