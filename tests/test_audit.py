"""The hash-chained audit trail: every write is an entry, and tampering is found."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from ndoo import audit
from ndoo.db import Database
from ndoo.db.models import audit_entry
from ndoo.register import Channel, ChoiceChange, State, set_choice
from tests.conftest import ADULT, CHILD, ELDER, OTHER


def allow_tampering(db: Database) -> None:
    """Drop the append-only triggers, as someone with direct database access could."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
            conn.execute(text("DROP TRIGGER audit_entry_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_entry_append_only ON audit_entry"))


def forge(conn, seq: int, prev: str, actor: str, action: str, detail: str) -> None:
    """Insert a well-formed entry, hash and all, as a forger who knows the scheme would."""
    at = "2026-01-01T00:00:00.000000Z"
    digest = audit.entry_hash(seq, at, actor, action, "ok", detail, prev)
    conn.execute(
        audit_entry.insert().values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            outcome="ok",
            detail=detail,
            prev_hash=prev,
            hash=digest,
        )
    )


@pytest.fixture
def five_entries(db, add_person):
    for number in (ADULT, CHILD, ELDER, OTHER):
        add_person(number, born=date(1970, 1, 1))
    set_choice(db, ChoiceChange(ADULT, State.OUT, Channel.OP, by_self=True), actor="web")
    assert audit.verify(db).checked == 5
    allow_tampering(db)
    return db


def test_intact_trail_verifies(five_entries):
    result = audit.verify(five_entries)
    assert result.ok and result.checked == 5
    assert "intact" in result.describe()


def test_entries_cannot_be_changed_through_the_database_normally(db, add_person):
    add_person(ADULT, born=date(1970, 1, 1))
    set_choice(db, ChoiceChange(ADULT, State.OUT, Channel.OP, by_self=True), actor="web")
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET outcome = 'x'"))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE choice_event SET state = 'IN'"))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM choice_event"))


def test_altered_entry_is_named(five_entries):
    with five_entries.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 3"))
    result = audit.verify(five_entries)
    assert not result.ok
    assert result.first_bad == 3
    assert "altered" in result.problem


def test_altered_detail_is_named(five_entries):
    with five_entries.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entry SET detail = :d WHERE seq = 2"), {"d": '{"people":2}'}
        )
    assert audit.verify(five_entries).first_bad == 2


def test_removed_entry_is_named(five_entries):
    with five_entries.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 2"))
    result = audit.verify(five_entries)
    assert (result.ok, result.first_bad) == (False, 2)
    assert "removed" in result.problem


def test_removed_tail_is_found_through_the_head(five_entries):
    with five_entries.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq >= 4"))
    result = audit.verify(five_entries)
    assert (result.ok, result.first_bad) == (False, 4)
    assert "tail" in result.problem


def test_entry_inserted_in_the_middle_is_named(five_entries):
    db = five_entries
    with db.engine.begin() as conn:
        # Make room after entry 2 and forge a well-formed entry 3 linked to entry 2.
        for seq in (5, 4, 3):
            conn.execute(text("UPDATE audit_entry SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
        prev = conn.execute(text("SELECT hash FROM audit_entry WHERE seq = 2")).scalar_one()
        forge(conn, 3, prev, "intruder", "person.add", '{"people":1}')
    result = audit.verify(db)
    assert (result.ok, result.first_bad) == (False, 3)
    assert "inserted" in result.problem


def test_entry_appended_behind_the_heads_back_is_named(five_entries):
    db = five_entries
    with db.engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_entry WHERE seq = 5")).scalar_one()
        forge(conn, 6, prev, "intruder", "x", "{}")
    result = audit.verify(db)
    assert (result.ok, result.first_bad) == (False, 6)
    assert "inserted" in result.problem


def test_audit_detail_refuses_nhs_numbers(db):
    with pytest.raises(ValueError, match="NHS number"), db.write() as conn:
        audit.record(conn, actor="x", action="y", note="patient 943 476 5919")
