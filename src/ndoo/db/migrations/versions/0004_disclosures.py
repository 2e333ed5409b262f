"""disclosures: the disclosure register with its versions, scope assessments, and the
compliance programme (steps and declarations)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "disclosure",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("organisation", sa.String(length=12), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("needs_assessment", sa.Boolean(), nullable=False),
        sa.Column("scope_changed_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
        sa.UniqueConstraint(
            "organisation", "reference", name=op.f("uq_disclosure_organisation_reference")
        ),
    )
    op.create_table(
        "disclosure_version",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("disclosure_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("change", sa.String(length=12), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("changed", sa.Text(), nullable=False),
        sa.Column("scope_changed", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            _in("change", ("created", "updated", "imported", "answered")),
            name=op.f("ck_disclosure_version_change"),
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosure.id"],
            name=op.f("fk_disclosure_version_disclosure_id_disclosure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_version")),
        sa.UniqueConstraint(
            "disclosure_id", "version", name=op.f("uq_disclosure_version_disclosure_id_version")
        ),
    )
    op.create_table(
        "assessment",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("disclosure_id", ID, nullable=False),
        sa.Column("disclosure_version", sa.Integer(), nullable=False),
        sa.Column("ruleset", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
        sa.Column("assessed_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            _in("outcome", ("APPLY", "DO NOT APPLY", "MORE INFORMATION NEEDED")),
            name=op.f("ck_assessment_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosure.id"],
            name=op.f("fk_assessment_disclosure_id_disclosure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
    )
    op.create_index(
        op.f("ix_assessment_disclosure_id_id"), "assessment", ["disclosure_id", "id"], unique=False
    )
    op.create_table(
        "compliance_step",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("organisation", sa.String(length=12), nullable=False),
        sa.Column("action", sa.Integer(), nullable=False),
        sa.Column("owner_role", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("action BETWEEN 1 AND 5", name=op.f("ck_compliance_step_action")),
        sa.CheckConstraint(
            _in(
                "owner_role",
                (
                    "ig_lead",
                    "caldicott_guardian",
                    "siro",
                    "dpo",
                    "cio",
                    "ccio",
                    "chief_executive",
                    "board",
                ),
            ),
            name=op.f("ck_compliance_step_owner_role"),
        ),
        sa.CheckConstraint(
            _in("status", ("not_started", "in_progress", "done", "not_needed")),
            name=op.f("ck_compliance_step_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_step")),
        sa.UniqueConstraint(
            "organisation", "action", name=op.f("uq_compliance_step_organisation_action")
        ),
    )
    op.create_table(
        "compliance_declaration",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("organisation", sa.String(length=12), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=200), nullable=False),
        sa.Column("technical_solution", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_declaration")),
    )
    op.create_index(
        op.f("ix_compliance_declaration_organisation_declared_at"),
        "compliance_declaration",
        ["organisation", "declared_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_compliance_declaration_organisation_declared_at"),
        table_name="compliance_declaration",
    )
    op.drop_table("compliance_declaration")
    op.drop_table("compliance_step")
    op.drop_index(op.f("ix_assessment_disclosure_id_id"), table_name="assessment")
    op.drop_table("assessment")
    op.drop_table("disclosure_version")
    op.drop_table("disclosure")
