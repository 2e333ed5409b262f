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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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


# ---------------------------------------------------------------------------
# The national checking service (``ndoo.pos``)

POS_STATES = (
    "received",
    "processed",
    "response_sending",
    "response_sent",
    "receipt_sending",
    "receipt_sent",
    "acknowledged",
)
POS_OUTCOMES = ("success", "invalid", "empty", "missing_headers", "report")

#: One row per MESH message the service has seen, keyed by MESH message id.  The
#: state records the last step whose effect is certain, so a restart resumes after it
#: and never answers a request twice.  ``send_marked_at`` is written just before a
#: send, so a restart can tell an interrupted send from one never started.
pos_request = Table(
    "pos_request",
    metadata,
    Column("message_id", String(100), primary_key=True),
    Column("message_type", String(10), nullable=False),
    Column("sender", String(20)),
    Column("workflow_id", String(100)),
    Column("filename", String(300)),
    Column("subject", String(500)),
    Column("local_id", String(300)),
    Column("state", String(20), nullable=False),
    Column("outcome", String(20)),
    Column("received_count", BigInteger),
    Column("returned_count", BigInteger),
    Column("invalid_count", BigInteger),
    Column("invalid_lines", Text),
    Column("snapshot_at", DateTime),
    Column("response_message_id", String(100)),
    Column("receipt_message_id", String(100)),
    Column("send_marked_at", DateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("first_seen_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(_in("state", POS_STATES), name="state"),
    CheckConstraint(f"outcome IS NULL OR {_in('outcome', POS_OUTCOMES)}", name="outcome"),
    Index(None, "state"),
)

# ---------------------------------------------------------------------------
# The organisation's side (``ndoo.uphold``)

CHECK_STATES = ("prepared", "sent", "received", "failed")
CACHE_MODES = ("disclosure", "cohort")

#: Requests this organisation sent to the checking service.  ``sequence`` is the
#: monthly four-digit sequence in the file name; ``numbers`` holds the list sent
#: (the organisation's own data) so the response can be checked against it.
check_request = Table(
    "check_request",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("mailbox", String(20), nullable=False),
    Column("recipient", String(20), nullable=False),
    Column("month", String(7), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("filename", String(300), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("local_id", String(300), nullable=False),
    Column("cohort", String(200), nullable=False),
    Column("mode", String(12), nullable=False),
    Column("numbers_sent", BigInteger, nullable=False),
    Column("numbers", LargeBinary, nullable=False),
    Column("state", String(10), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("message_id", String(100)),
    Column("received_at", DateTime),
    Column("response_message_id", String(100)),
    Column("returned_count", BigInteger),
    Column("receipt", Text),
    Column("error", Text),
    UniqueConstraint("mailbox", "month", "sequence"),
    UniqueConstraint("filename"),
    CheckConstraint(_in("state", CHECK_STATES), name="state"),
    CheckConstraint(_in("mode", CACHE_MODES), name="mode"),
    Index(None, "state"),
)

#: The organisation's cache of cleaned lists: service data under the Check service's
#: licence.  ``covered`` is the list that was checked, ``kept`` the cleaned list the
#: service returned (both compressed Arrow arrays).  A newer check of the same cohort
#: supersedes an entry; its lists are then erased and only the metadata kept.
cache_entry = Table(
    "cache_entry",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("cohort", String(200), nullable=False),
    Column("mode", String(12), nullable=False),
    Column("check_request_id", Id, ForeignKey("check_request.id"), nullable=False),
    Column("message_id", String(100), nullable=False),
    Column("checked_at", DateTime, nullable=False),
    Column("stored_at", DateTime, nullable=False),
    Column("covered_count", BigInteger, nullable=False),
    Column("kept_count", BigInteger, nullable=False),
    Column("covered", LargeBinary),
    Column("kept", LargeBinary),
    Column("superseded_at", DateTime),
    CheckConstraint(_in("mode", CACHE_MODES), name="mode"),
    Index(None, "cohort", "superseded_at"),
    # At most one current entry per cohort, even with two stores at once.
    Index(
        "uq_cache_entry_current_cohort",
        "cohort",
        unique=True,
        sqlite_where=text("superseded_at IS NULL"),
        postgresql_where=text("superseded_at IS NULL"),
    ),
)


#: Every run of ``ndoo apply``: the release manifest as written to its JSON file, with
#: the fields a list of releases shows.  ``digest`` is the SHA-256 of the manifest's
#: canonical JSON, so a file that was edited afterwards no longer matches.
release = Table(
    "release",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("release_id", String(40), nullable=False, unique=True),
    Column("disclosure", String(200), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("engine", String(20), nullable=False),
    Column("source", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("rows_in", BigInteger, nullable=False),
    Column("rows_out", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("manifest", Text, nullable=False),
    Index(None, "disclosure", "started_at"),
)


#: The opt-outs in force, stored after they were last worked out (one row), so that a
#: release does not read millions of records when nothing has changed.  Choices cannot
#: take effect in the future, so the set in force changes only when an event is added:
#: the row holds while the newest event is still ``event_id``.
register_snapshot = Table(
    "register_snapshot",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("event_id", BigInteger, nullable=False),
    Column("taken_at", DateTime, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("numbers", LargeBinary, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)


DISCLOSURE_CHANGES = ("created", "updated", "imported", "answered")
OUTCOMES = ("APPLY", "DO NOT APPLY", "MORE INFORMATION NEEDED")
STEP_STATUSES = ("not_started", "in_progress", "done", "not_needed")
OWNER_ROLES = (
    "ig_lead",
    "caldicott_guardian",
    "siro",
    "dpo",
    "cio",
    "ccio",
    "chief_executive",
    "board",
)

#: The organisation's register of disclosures: the current record of each (as JSON,
#: the shape of :class:`ndoo.disclosures.record.Disclosure`), its version, and whether
#: a change to a fact that bears on scope awaits a new assessment.
disclosure = Table(
    "disclosure",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organisation", String(12), nullable=False),
    Column("reference", String(60), nullable=False),
    Column("version", Integer, nullable=False),
    Column("record", Text, nullable=False),
    Column("needs_assessment", Boolean, nullable=False),
    Column("scope_changed_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    UniqueConstraint("organisation", "reference"),
)

#: Every version of every disclosure, never changed once written.
disclosure_version = Table(
    "disclosure_version",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("disclosure_id", Id, ForeignKey("disclosure.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("change", String(12), nullable=False),
    Column("record", Text, nullable=False),
    Column("changed", Text, nullable=False),
    Column("scope_changed", Boolean, nullable=False),
    CheckConstraint(_in("change", DISCLOSURE_CHANGES), name="change"),
    UniqueConstraint("disclosure_id", "version"),
)

#: Every scope assessment: the disclosure version and rule-set version it used, the
#: outcome, and the whole result (reasons, missing facts, contradictions) as JSON.
assessment = Table(
    "assessment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("disclosure_id", Id, ForeignKey("disclosure.id"), nullable=False),
    Column("disclosure_version", Integer, nullable=False),
    Column("ruleset", String(20), nullable=False),
    Column("outcome", String(30), nullable=False),
    Column("result", Text, nullable=False),
    Column("assessed_at", DateTime, nullable=False),
    Column("assessed_by", String(200), nullable=False),
    CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    Index(None, "disclosure_id", "id"),
)

#: The compliance programme: the five actions of the implementation guide, per
#: organisation, with who owns each, its status, due date and evidence.
compliance_step = Table(
    "compliance_step",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organisation", String(12), nullable=False),
    Column("action", Integer, nullable=False),
    Column("owner_role", String(30), nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_date", Date),
    Column("evidence", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    CheckConstraint("action BETWEEN 1 AND 5", name="action"),
    CheckConstraint(_in("owner_role", OWNER_ROLES), name="owner_role"),
    CheckConstraint(_in("status", STEP_STATUSES), name="status"),
    UniqueConstraint("organisation", "action"),
)

#: Each declaration of compliance, with the picture it was made on (JSON).
compliance_declaration = Table(
    "compliance_declaration",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organisation", String(12), nullable=False),
    Column("declared_on", Date, nullable=False),
    Column("declared_at", DateTime, nullable=False),
    Column("declared_by", String(200), nullable=False),
    Column("technical_solution", String(20), nullable=False),
    Column("summary", Text, nullable=False),
    Index(None, "organisation", "declared_at"),
)


STAFF_ROLES = ("agent", "proxy_reviewer", "ig_lead", "analyst", "administrator")
PROXY_ROLES = ("GUARDIAN", "POA", "COURTDEP")
PROXY_STATUSES = ("pending", "approved", "rejected")
CODE_STATUSES = ("open", "used", "dead")
MESSAGE_CHANNELS = ("sms", "email")

#: The demographics held for the population, standing in for the national demographics
#: service (PDS): what a person's details are matched against, and the mobile number or
#: email address a one-time code may be sent to.
demographics = Table(
    "demographics",
    metadata,
    Column("nhs_number", String(10), ForeignKey("person.nhs_number"), primary_key=True),
    Column("given_name", String(60), nullable=False),
    Column("family_name", String(60), nullable=False),
    Column("postcode", String(8), nullable=False),
    Column("mobile", String(20)),
    Column("email", String(200)),
    Index(None, "postcode"),
)

#: One-time codes sent to verify a citizen: only a hash of the code is kept.
one_time_code = Table(
    "one_time_code",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("journey", String(64), nullable=False),
    Column("nhs_number", String(10), ForeignKey("person.nhs_number"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("channel", String(5), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("tries", Integer, nullable=False),
    Column("status", String(5), nullable=False),
    CheckConstraint(_in("channel", MESSAGE_CHANNELS), name="channel"),
    CheckConstraint(_in("status", CODE_STATUSES), name="status"),
    Index(None, "nhs_number", "created_at"),
    Index(None, "journey"),
)

#: The local outbox: messages the demo "sends", shown on a page so a new user can finish
#: the journey.  Production uses GOV.UK Notify or SMTP instead.
outbox_message = Table(
    "outbox_message",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("channel", String(5), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("subject", String(200)),
    Column("body", Text, nullable=False),
    Column("reference", String(60)),
    CheckConstraint(_in("channel", MESSAGE_CHANNELS), name="channel"),
    Index(None, "created_at"),
)

#: Staff of the service and of organisations, with one role each.
staff_account = Table(
    "staff_account",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", DateTime),
    CheckConstraint(_in("role", STAFF_ROLES), name="role"),
)

#: Web sessions, server side: the browser holds only a random token, this table its
#: SHA-256, the session's data and its CSRF token.
web_session = Table(
    "web_session",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("staff_id", Id, ForeignKey("staff_account.id")),
    Column("data", Text, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    CheckConstraint("kind IN ('citizen', 'staff', 'learner')", name="kind"),
    Index(None, "expires_at"),
)

#: Applications by a proxy (a parent or guardian of a child under 13, an attorney or a
#: court-appointed deputy) to set a person's choice; nothing changes until staff approve.
#: The person's details are kept as given, with whether they matched a demographic
#: record: an application is received the same way either way, so the form cannot be
#: used to learn whether a person exists.
proxy_application = Table(
    "proxy_application",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("nhs_number", String(10), nullable=False),
    Column("given_name", String(60), nullable=False),
    Column("family_name", String(60), nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("postcode", String(8), nullable=False),
    Column("matched", Boolean, nullable=False),
    Column("proxy_name", String(200), nullable=False),
    Column("proxy_role", String(10), nullable=False),
    Column("proxy_email", String(200)),
    Column("proxy_phone", String(20)),
    Column("evidence_reference", String(200), nullable=False),
    Column("requested_state", String(3), nullable=False),
    Column("status", String(10), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("reviewed_by", String(200)),
    Column("reviewed_at", DateTime),
    Column("review_note", Text),
    Column("choice_event_id", Id, ForeignKey("choice_event.id")),
    CheckConstraint(_in("proxy_role", PROXY_ROLES), name="proxy_role"),
    CheckConstraint(_in("requested_state", STATES), name="requested_state"),
    CheckConstraint(_in("status", PROXY_STATUSES), name="status"),
    Index(None, "status", "submitted_at"),
)

# ---------------------------------------------------------------------------
# Staff training

TRAINEE_CHANGES = ("joined", "changed", "left", "rejoined")
ATTEMPT_STATUSES = ("open", "passed", "abandoned")
ATTEMPT_STAGES = ("teach", "ask", "lesson", "summary", "done")
REMINDER_STATUSES = ("claimed", "sent", "superseded", "uncertain")

#: The organisation's staff roster: everyone who may have to take the training, with
#: their team and job role (not a console role).  Leavers stay, with ``left_on``, so the
#: evidence of their training is kept.
trainee = Table(
    "trainee",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("team", String(100), nullable=False),
    Column("role", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("joined_on", Date, nullable=False),
    Column("role_since", Date, nullable=False),
    Column("left_on", Date),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

#: Every change to the roster: joining, leaving, coming back, a new name, team or role.
trainee_change = Table(
    "trainee_change",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trainee_id", Id, ForeignKey("trainee.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("change", String(10), nullable=False),
    Column("detail", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    CheckConstraint(_in("change", TRAINEE_CHANGES), name="change"),
    Index(None, "trainee_id", "at"),
)

#: Sign-in codes for the learner's pages, sent to the email address on the roster.
trainee_code = Table(
    "trainee_code",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trainee_id", Id, ForeignKey("trainee.id"), nullable=False),
    Column("journey", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("tries", Integer, nullable=False),
    Column("status", String(5), nullable=False),
    CheckConstraint(_in("status", CODE_STATUSES), name="status"),
    Index(None, "trainee_id", "created_at"),
)

#: One go at the module.  ``stage``, ``section``, ``point`` and ``question`` say where
#: the learner is; the question shown is fixed here, so reloading a page cannot change
#: it.  ``language`` is the one the learner last used; records never hold the text.
training_attempt = Table(
    "training_attempt",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trainee_id", Id, ForeignKey("trainee.id"), nullable=False),
    Column("module_version", String(20), nullable=False),
    Column("language", String(5), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(10), nullable=False),
    Column("stage", String(10), nullable=False),
    Column("section", Integer, nullable=False),
    Column("point", String(80)),
    Column("question", String(80)),
    Column("option_order", String(40)),
    CheckConstraint(_in("status", ATTEMPT_STATUSES), name="status"),
    CheckConstraint(_in("stage", ATTEMPT_STAGES), name="stage"),
    Index(None, "trainee_id", "status"),
)

#: Every answer given: which variant of which learning point, which option, and whether
#: it was right.
training_answer = Table(
    "training_answer",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("attempt_id", Id, ForeignKey("training_attempt.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("point", String(80), nullable=False),
    Column("question", String(80), nullable=False),
    Column("option", String(10), nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("answered_at", DateTime, nullable=False),
    UniqueConstraint("attempt_id", "seq"),
)

#: A passed module: valid for a year from ``completed_on`` (``expires_on`` is the first
#: day it no longer counts).  Name, team and role are kept as they were, for evidence.
training_completion = Table(
    "training_completion",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trainee_id", Id, ForeignKey("trainee.id"), nullable=False),
    Column("attempt_id", Id, ForeignKey("training_attempt.id"), nullable=False, unique=True),
    Column("module_id", String(60), nullable=False),
    Column("module_version", String(20), nullable=False),
    Column("language", String(5), nullable=False),
    Column("name", String(200), nullable=False),
    Column("team", String(100), nullable=False),
    Column("role", String(100), nullable=False),
    Column("completed_at", DateTime, nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("points", Integer, nullable=False),
    Column("first_time_correct", Integer, nullable=False),
    Column("score", Integer, nullable=False),
    Index(None, "trainee_id", "expires_on"),
)

#: Renewal reminders: one row per completion and kind, claimed before it is sent, so a
#: reminder goes once however often ``ndoo training remind`` runs or wherever it stops.
training_reminder = Table(
    "training_reminder",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("completion_id", Id, ForeignKey("training_completion.id"), nullable=False),
    Column("trainee_id", Id, ForeignKey("trainee.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("claimed_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    CheckConstraint(_in("status", REMINDER_STATUSES), name="status"),
    UniqueConstraint("completion_id", "kind"),
    Index(None, "status"),
)
