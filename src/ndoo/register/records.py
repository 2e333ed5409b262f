"""Choice records: the periods during which each person's choice held, derived from events.

Events are the truth; records are their projection, with a start and end like the
statistics publication's source table (``Record_Start_Date``/``Record_End_Date``).
Only changes open a record: an event that repeats the state before it (possible once
a late paper form is back-dated between two others) is kept as an event but opens
no record.  Records are rebuilt, in SQL, for every person an operation touched.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Connection, and_, delete, func, literal_column, or_, select
from sqlalchemy.exc import SQLAlchemyError

from ndoo.db import Database
from ndoo.db.bulk import fetch_column
from ndoo.db.models import choice_event, choice_record, register_snapshot
from ndoo.errors import StorageError
from ndoo.numberstore import decode_numbers, encode_numbers
from ndoo.timeutil import to_db, utcnow


def rebuild(conn: Connection, *, after_event_id: int) -> None:
    """Rebuild the records of everyone with an event whose id is above ``after_event_id``."""
    touched = (
        select(choice_event.c.nhs_number)
        .where(choice_event.c.id > after_event_id)
        .distinct()
        .scalar_subquery()
    )
    conn.execute(delete(choice_record).where(choice_record.c.nhs_number.in_(touched)))
    ordered = (
        select(
            choice_event.c.nhs_number,
            choice_event.c.state,
            choice_event.c.effective_at,
            func.lag(choice_event.c.state)
            .over(partition_by=choice_event.c.nhs_number, order_by=choice_event.c.effective_at)
            .label("previous"),
        )
        .where(choice_event.c.nhs_number.in_(touched))
        .subquery("ordered")
    )
    changes = (
        select(ordered.c.nhs_number, ordered.c.state, ordered.c.effective_at)
        .where(
            or_(
                and_(ordered.c.previous.is_(None), ordered.c.state == "OUT"),
                ordered.c.previous != ordered.c.state,
            )
        )
        .subquery("changes")
    )
    periods = select(
        changes.c.nhs_number,
        changes.c.state,
        changes.c.effective_at,
        func.lead(changes.c.effective_at)
        .over(partition_by=changes.c.nhs_number, order_by=changes.c.effective_at)
        .label("record_end"),
    )
    conn.execute(
        choice_record.insert().from_select(
            ["nhs_number", "state", "record_start", "record_end"], periods
        )
    )


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(choice_event.c.id), 0))).scalar_one())


def opted_out_as_of(as_of: datetime) -> ColumnElement[bool]:
    """A WHERE clause: the record is an opt-out that was in force at ``as_of``."""
    moment = to_db(as_of)
    return and_(
        choice_record.c.state == "OUT",
        choice_record.c.record_start <= moment,
        or_(choice_record.c.record_end.is_(None), choice_record.c.record_end > moment),
    )


def snapshot(db: Database, as_of: datetime | None = None) -> npt.NDArray[np.int64]:
    """The NHS numbers with an opt-out in force at ``as_of`` (default now), sorted, as int64.

    Deceased people are included: an opt-out persists after death.  The numbers are
    integers for fast set operations; :func:`ndoo.nhs_number.to_text_array` turns them
    back into ten-digit text.
    """
    moment = as_of if as_of is not None else utcnow()
    query = select(choice_record.c.nhs_number).where(opted_out_as_of(moment))
    with db.read() as conn:
        numbers = fetch_column(conn, query)
    column = pa.array(numbers, type=pa.string())
    result = np.sort(np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)))
    return result.astype(np.int64, copy=False)


def current_snapshot(db: Database) -> tuple[npt.NDArray[np.int64], datetime]:
    """The opt-outs in force now and the time they were read, reusing the stored snapshot.

    Choices cannot take effect in the future, so the set changes only when an event is
    added: the stored numbers (:data:`ndoo.db.models.register_snapshot`) are used while
    the newest event is the one they were taken after, and worked out and stored again
    otherwise.  The stored copy is written after a separate read; a change committed
    in between gives the new event a higher id, so the copy is never used for it.
    """
    moment = utcnow()
    with db.read() as conn:
        newest = last_event_id(conn)
        row = conn.execute(
            select(register_snapshot.c.event_id, register_snapshot.c.numbers).where(
                register_snapshot.c.id == 1
            )
        ).first()
    if row is not None and int(row.event_id) == newest:
        return decode_numbers(row.numbers), moment
    numbers = snapshot(db, moment)
    try:
        with db.write() as conn:
            conn.execute(delete(register_snapshot))
            conn.execute(
                register_snapshot.insert().values(
                    id=1,
                    event_id=newest,
                    taken_at=to_db(moment),
                    count=int(numbers.size),
                    numbers=encode_numbers(numbers),
                )
            )
    except (StorageError, SQLAlchemyError):
        pass  # another process stored it at the same time; the numbers are right either way
    return numbers, moment


def count_opted_out(conn: Connection, as_of: datetime) -> int:
    query = select(func.count(literal_column("*"))).select_from(choice_record)
    return int(conn.execute(query.where(opted_out_as_of(as_of))).scalar_one())
