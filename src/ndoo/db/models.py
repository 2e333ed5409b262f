"""The tables of ndoo.  Migrations in ``ndoo/db/migrations`` create exactly these.

Times are stored as naive UTC ``DateTime`` values; the library converts at the
boundary (:func:`ndoo.timeutil.to_db`).  NHS numbers are stored as their bare
ten-digit text, never as integers, so a leading zero survives.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

#: Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

STATES = ("OUT", "IN")
CHANNELS = ("OP", "PFSP", "FN", "CC", "PP", "T2")
ACTORS = ("SELF", "GUARDIAN", "POA", "COURTDEP", "HCP")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


gp_practice = Table(
    "gp_practice",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sub_icb_code", String(5), nullable=False),
    Column("postcode", String(8)),
)

person = Table(
    "person",
    metadata,
    Column("nhs_number", String(10), primary_key=True),
    Column("date_of_birth", Date, nullable=False),
    Column("gender", String(1), nullable=False),
    Column("gp_practice_code", String(8), ForeignKey("gp_practice.code")),
    Column("lsoa_code", String(9)),
    Column("date_of_death", Date),
    Column("lacks_capacity", Boolean, nullable=False, default=False),
    Column("detained", Boolean, nullable=False, default=False),
    CheckConstraint("gender IN ('0', '1', '2', '9')", name="gender"),
    CheckConstraint("length(nhs_number) = 10", name="nhs_number_length"),
    Index(None, "gp_practice_code"),
)

choice_event = Table(
    "choice_event",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("nhs_number", String(10), ForeignKey("person.nhs_number"), nullable=False),
    Column("state", String(3), nullable=False),
    Column("effective_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("channel", String(4), nullable=False),
    Column("actor", String(8), nullable=False),
    Column("proxy_name", String(200)),
    Column("proxy_evidence", String(100)),
    Column("case_reference", String(40)),
    UniqueConstraint("nhs_number", "effective_at"),
    CheckConstraint(_in("state", STATES), name="state"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint(_in("actor", ACTORS), name="actor"),
    CheckConstraint(
        "actor = 'SELF' OR (proxy_name IS NOT NULL AND proxy_evidence IS NOT NULL)",
        name="proxy_details",
    ),
)

#: Periods derived from the events (SCD type 2): one row per run of a state, with
#: ``record_end`` null for the current one.  Rebuilt for a person on every write.
choice_record = Table(
    "choice_record",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("nhs_number", String(10), ForeignKey("person.nhs_number"), nullable=False),
    Column("state", String(3), nullable=False),
    Column("record_start", DateTime, nullable=False),
    Column("record_end", DateTime),
    CheckConstraint(_in("state", STATES), name="state"),
    Index(None, "nhs_number"),
    Index(None, "state", "record_start", "record_end", "nhs_number"),
)

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: One row (id 1) holding the last sequence number and hash of the chain; every
#: append locks it, so appends are serialised and a truncated tail is detectable.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Id, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
