"""foundation: people, practices, choices, audit trail

Revision ID: 0001
Revises:
Create Date: 2026-11-21

The register's people and practices, choice events and their derived records, and
the hash-chained audit trail. Choice events and audit entries are append-only: a
trigger refuses UPDATE and DELETE on both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

GENESIS_HASH = "0" * 64
APPEND_ONLY = ("choice_event", "audit_entry")


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "gp_practice",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sub_icb_code", sa.String(length=5), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_gp_practice")),
    )
    op.create_table(
        "person",
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("gp_practice_code", sa.String(length=8), nullable=True),
        sa.Column("lsoa_code", sa.String(length=9), nullable=True),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.Column("lacks_capacity", sa.Boolean(), nullable=False),
        sa.Column("detained", sa.Boolean(), nullable=False),
        sa.CheckConstraint("gender IN ('0', '1', '2', '9')", name=op.f("ck_person_gender")),
        sa.CheckConstraint("length(nhs_number) = 10", name=op.f("ck_person_nhs_number_length")),
        sa.ForeignKeyConstraint(
            ["gp_practice_code"],
            ["gp_practice.code"],
            name=op.f("fk_person_gp_practice_code_gp_practice"),
        ),
        sa.PrimaryKeyConstraint("nhs_number", name=op.f("pk_person")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_gp_practice_code"), ["gp_practice_code"], unique=False
        )

    op.create_table(
        "choice_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("effective_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=4), nullable=False),
        sa.Column("actor", sa.String(length=8), nullable=False),
        sa.Column("proxy_name", sa.String(length=200), nullable=True),
        sa.Column("proxy_evidence", sa.String(length=100), nullable=True),
        sa.Column("case_reference", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "actor = 'SELF' OR (proxy_name IS NOT NULL AND proxy_evidence IS NOT NULL)",
            name=op.f("ck_choice_event_proxy_details"),
        ),
        sa.CheckConstraint(
            "actor IN ('SELF', 'GUARDIAN', 'POA', 'COURTDEP', 'HCP')",
            name=op.f("ck_choice_event_actor"),
        ),
        sa.CheckConstraint(
            "channel IN ('OP', 'PFSP', 'FN', 'CC', 'PP', 'T2')",
            name=op.f("ck_choice_event_channel"),
        ),
        sa.CheckConstraint("state IN ('OUT', 'IN')", name=op.f("ck_choice_event_state")),
        sa.ForeignKeyConstraint(
            ["nhs_number"], ["person.nhs_number"], name=op.f("fk_choice_event_nhs_number_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_choice_event")),
        sa.UniqueConstraint(
            "nhs_number", "effective_at", name=op.f("uq_choice_event_nhs_number_effective_at")
        ),
    )
    op.create_table(
        "choice_record",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("record_start", sa.DateTime(), nullable=False),
        sa.Column("record_end", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('OUT', 'IN')", name=op.f("ck_choice_record_state")),
        sa.ForeignKeyConstraint(
            ["nhs_number"], ["person.nhs_number"], name=op.f("fk_choice_record_nhs_number_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_choice_record")),
    )
    with op.batch_alter_table("choice_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_choice_record_nhs_number"), ["nhs_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_choice_record_state_record_start_record_end_nhs_number"),
            ["state", "record_start", "record_end", "nhs_number"],
            unique=False,
        )

    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)").bindparams(
            h=GENESIS_HASH
        )
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION ndoo_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ndoo_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION ndoo_refuse_change()")
    with op.batch_alter_table("choice_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_choice_record_state_record_start_record_end_nhs_number"))
        batch_op.drop_index(batch_op.f("ix_choice_record_nhs_number"))

    op.drop_table("choice_record")
    op.drop_table("choice_event")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_gp_practice_code"))

    op.drop_table("person")
    op.drop_table("gp_practice")
    op.drop_table("audit_head")
    op.drop_table("audit_entry")
